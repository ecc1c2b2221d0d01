package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// ConsoleLinks mints one-time console sign-in links (X6). The console
// served by the same node implements it (web.Console): links are signed
// with its keys and redeemed at its paths.
type ConsoleLinks interface {
	// Mint signs a link for member user of workspace ws that opens
	// returnTo (a console path; the workspace's home if empty), valid
	// from now for admin.ConsoleLinkTTL. It returns the link's path and
	// query and its expiry; invalid_argument for a bad returnTo.
	Mint(ws, user, returnTo string, now time.Time) (path string, expires time.Time, err error)
}

type consoleLinkRequest struct {
	UserID   string `json:"user_id"`
	ReturnTo string `json:"return_to"`
}

type consoleLinkJSON struct {
	URL       string    `json:"url"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// createConsoleLink answers a one-time link that signs member user_id in
// to the console as itself (X6). The host's backend asks for it and hands
// it to that user's browser, typically as an iframe's src. Minting is the
// owners' (X3); admin audits it.
func (s *Server) createConsoleLink(w http.ResponseWriter, r *http.Request, c *call) error {
	var in consoleLinkRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.UserID == "" {
		return invalid("user_id", "user_id is required: the member the link signs in")
	}
	if s.cfg.ConsoleLinks == nil {
		return policy.Errorf(policy.CodeUnavailable, "this server does not serve the console")
	}
	path, exp, err := s.cfg.ConsoleLinks.Mint(c.ws, in.UserID, in.ReturnTo, s.now())
	if err != nil {
		return err
	}
	_, rev, err := s.cfg.Admin.ConsoleLink(r.Context(), c.ws, c.write, in.UserID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeWritten(w, http.StatusCreated, consoleLinkJSON{URL: origin(r) + path, UserID: in.UserID, ExpiresAt: exp.UTC()}, rev)
	return nil
}

// origin is the scheme and host the request came to: where the console
// that redeems a link is served. Behind a proxy that terminates TLS,
// X-Forwarded-Proto says https.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
