package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/policy"
	keyring "github.com/gatehouse-authz/gatehouse/session"
)

// Config is what the console is built from.
type Config struct {
	Admin  *admin.Service
	Engine *engine.Engine
	// AdminKey is the deployment admin key (X1); empty disables signing in
	// with it.
	AdminKey string
	// Keys sign session cookies, with keys derived from the session key
	// ring (A2) that every node of a deployment shares: a cookie signed
	// before a rotation stays valid until it expires.
	Keys *keyring.Keys
	// FrameAncestors are the origins that may show the console in a frame
	// (CSP frame-ancestors), such as "https://crm.example.com": a host
	// platform embedding it for its own admins (X6). None: the console is
	// never framed.
	FrameAncestors []string
	Logger         *slog.Logger
	Now            func() time.Time
}

// Console is the admin console, an http.Handler served at /.
type Console struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	keys     *keyring.Keys
	adminKey string
	adminSum [32]byte
	pages    *pages
	handler  http.Handler
	// framed is set when other sites may frame the console: its cookies
	// then work in a cross-site frame (see cookie).
	framed bool
	csp    string
}

const adminScope = admin.ScopeAdmin

// New returns the console for cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Keys == nil {
		return nil, errors.New("web: no keys to sign session cookies with")
	}
	c := &Console{cfg: cfg, log: cfg.Logger, now: cfg.Now, keys: cfg.Keys, adminKey: cfg.AdminKey}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.adminSum = sha256.Sum256([]byte(cfg.AdminKey))
	ancestors := "'none'"
	if len(cfg.FrameAncestors) > 0 {
		for _, o := range cfg.FrameAncestors {
			if err := CheckFrameAncestor(o); err != nil {
				return nil, err
			}
		}
		c.framed = true
		ancestors = strings.Join(cfg.FrameAncestors, " ")
	}
	c.csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors " + ancestors + "; form-action 'self'; base-uri 'none'"
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = p
	c.handler = c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// request is one signed-in console request.
type request struct {
	*http.Request
	sess session
	// member is the member a member's session acts as (X6), as of this
	// request; nil for key sessions.
	member *admin.Member
	// ws is the workspace of a /w/{ws}/… page, loaded and authorized.
	ws    string
	space admin.Workspace
	cat   *policy.Catalog
	// auth is what the session may do in ws (X3), computed for this
	// request from the workspace's current state: a member's session
	// follows every change of its authority at once.
	auth admin.Authority
}

// actor is who the console acts as (X3, X5): the member a console link
// signed in, the key the session was opened with, or the deployment admin.
func (rq *request) actor() admin.Actor {
	return admin.Actor{UserID: rq.sess.UserID, KeyID: rq.sess.KeyID, Deployment: rq.sess.Deployment}
}

// can reports whether the session may use area of the workspace (X3).
func (rq *request) can(area admin.Area) bool { return rq.auth.Can(area) == nil }

// write is what a write from this request carries: its actor and reason.
func (rq *request) write(reason string) admin.Write {
	return admin.Write{Actor: rq.actor(), Reason: reason}
}

// handler is a console page or action: it returns an error instead of
// writing one.
type handler func(w http.ResponseWriter, rq *request) error

// signIn checks a key typed into the sign-in form: the deployment admin
// key, or a workspace key of scope admin.
func (c *Console) signIn(key string) (session, error) {
	key = strings.TrimSpace(key)
	s := session{CSRF: newToken(), Expires: c.now().Add(sessionTTL).Unix()}
	if c.adminKey != "" {
		sum := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(sum[:], c.adminSum[:]) == 1 {
			s.Deployment = true
			return s, nil
		}
	}
	k, err := c.cfg.Admin.Authenticate(key)
	if err != nil {
		return session{}, errors.New("that key is not valid: paste the deployment admin key or a workspace admin key")
	}
	if k.Scope != adminScope {
		return session{}, errors.New("that key has scope check (decisions only); the console needs a key of scope admin")
	}
	s.KeyID, s.Workspace = k.ID, k.Workspace
	return s, nil
}

// wsPath is the path of a workspace page.
func wsPath(ws string, parts ...string) string {
	p := "/w/" + url.PathEscape(ws)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// redirect answers a form post: htmx gets HX-Redirect (a full navigation),
// a plain form a 303.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// message is what a person reads for an error: a domain error's own
// message, a generic line for anything else (logged).
func (c *Console) message(err error) string {
	var pe *policy.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	c.log.Error("console", "err", err)
	return "something went wrong on the server; the error is logged"
}
