package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Console sign-in links (X6). The host platform's backend asks the API for
// a link for one of its users (POST …/console-links, an owner's write that
// admin audits); the console signs it here, with a key derived from the
// session key ring like its cookies, so any node of the deployment accepts
// it and a rotation keeps it valid until it expires. Redeeming claims the
// link's nonce in the store (admin.ClaimConsoleLink), so it works once
// across every node, and opens a session that acts as the member.

// linkPath is where links are redeemed.
const linkPath = "/console/link"

// linkPurpose names the keys derived from the session key ring for links.
const linkPurpose = "console-link"

// link is what a sign-in link carries, signed.
type link struct {
	Workspace string `json:"w"`
	UserID    string `json:"u"`
	ReturnTo  string `json:"r,omitempty"`
	Nonce     string `json:"n"`
	Expires   int64  `json:"e"`
	SignedBy  string `json:"s"`
}

// maxReturnTo bounds a link's return_to, which travels in the URL.
const maxReturnTo = 1000

// Mint signs a one-time console sign-in link for member user of workspace
// ws, valid for admin.ConsoleLinkTTL from now, that opens returnTo (a path
// of this console; the workspace's home if empty). It returns the link's
// path and query, to be resolved against the server's own origin, and its
// expiry. It returns invalid_argument for a returnTo that is not one of
// the console's paths. Whether the caller may mint it, and whether user is
// a member, is admin's (admin.ConsoleLink).
func (c *Console) Mint(ws, user, returnTo string, now time.Time) (string, time.Time, error) {
	if returnTo != "" && (len(returnTo) > maxReturnTo || safeNext(returnTo) == "") {
		return "", time.Time{}, &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("return_to must be a path of the console of at most %d bytes, such as /w/%s/roles", maxReturnTo, ws),
			Details: map[string]any{"field": "return_to"}}
	}
	exp := now.Add(admin.ConsoleLinkTTL)
	id, secret := c.keys.MACKey(linkPurpose, now)
	l := link{Workspace: ws, UserID: user, ReturnTo: returnTo, Nonce: newToken(), Expires: exp.Unix(), SignedBy: id}
	payload, _ := json.Marshal(l)
	p := base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	token := p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return linkPath + "?t=" + url.QueryEscape(token), time.Unix(exp.Unix(), 0), nil
}

// linkError is why a link is refused, as the person holding it reads it.
type linkError string

func (e linkError) Error() string { return string(e) }

const (
	errLinkInvalid linkError = "This sign-in link is not valid. Ask the application that sent you here for a new one."
	errLinkExpired linkError = "This sign-in link has expired: links work for 5 minutes. Ask the application that sent you here for a new one."
	errLinkUsed    linkError = "This sign-in link was already used: each link works once. Ask the application that sent you here for a new one."
	errLinkMember  linkError = "This sign-in link is for someone who is not a member of the workspace."
	errLinkFailed  linkError = "The sign-in could not be completed just now. Ask for a new link and try again."
)

// decodeLink verifies a link's signature and expiry.
func (c *Console) decodeLink(token string) (link, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return link{}, errLinkInvalid
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(p)
	if err != nil {
		return link{}, errLinkInvalid
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return link{}, errLinkInvalid
	}
	var l link
	if err := json.Unmarshal(payload, &l); err != nil {
		return link{}, errLinkInvalid
	}
	secret, ok := c.keys.MACKeyByID(l.SignedBy, linkPurpose, c.now())
	if !ok {
		return link{}, errLinkInvalid
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	if !hmac.Equal(got, m.Sum(nil)) || l.Workspace == "" || l.UserID == "" || l.Nonce == "" {
		return link{}, errLinkInvalid
	}
	if c.now().Unix() >= l.Expires {
		return link{}, errLinkExpired
	}
	return l, nil
}

// redeemLink signs a member in with a link: it checks the link, that the
// member still exists, claims the link's one use and opens a session that
// acts as the member, then goes to the link's return_to or the workspace's
// home. A refused link answers 403 with why, and leaves any session the
// browser had as it was.
func (c *Console) redeemLink(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	refuse := func(err error) {
		c.render(w, &request{Request: r}, http.StatusForbidden, "error", "", errorView{Heading: "Cannot sign in", Message: err.Error()})
	}
	l, err := c.decodeLink(r.URL.Query().Get("t"))
	if err != nil {
		refuse(err)
		return
	}
	m, err := c.cfg.Admin.Member(r.Context(), l.Workspace, admin.Actor{}, l.UserID)
	if err != nil {
		refuse(errLinkMember)
		return
	}
	switch err := c.cfg.Admin.ClaimConsoleLink(r.Context(), l.Nonce, time.Unix(l.Expires, 0)); {
	case errors.Is(err, admin.ErrLinkUsed):
		refuse(errLinkUsed)
		return
	case err != nil:
		c.log.Error("console link claim", "err", err)
		refuse(errLinkFailed)
		return
	}
	c.setSession(w, r, session{Workspace: l.Workspace, UserID: l.UserID, Since: m.CreatedAt.UnixMicro(),
		CSRF: newToken(), Expires: c.now().Add(sessionTTL).Unix()})
	to := safeNext(l.ReturnTo)
	if to == "" {
		to = wsPath(l.Workspace) + "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
