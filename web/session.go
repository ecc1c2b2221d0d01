package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// session is who is signed in to the console. It lives in a signed
// cookie, so any node that shares the store's secret accepts it and
// nothing is kept server-side; revocation still works because every
// request re-checks the key or the member it was made with.
type session struct {
	// Deployment is set for the deployment admin key (X1): every
	// workspace is reachable.
	Deployment bool `json:"d,omitempty"`
	// KeyID and Workspace name the workspace admin key (X2) the session
	// was opened with; the session ends when that key is revoked.
	KeyID     string `json:"k,omitempty"`
	Workspace string `json:"w,omitempty"`
	// UserID names the member of Workspace a console link signed in (X6):
	// the console acts as that member. Since is the member's creation
	// time (Unix microseconds, as stored): the session ends when the
	// member is removed, and a member removed and added again is another
	// member whose old sessions stay ended.
	UserID string `json:"u,omitempty"`
	Since  int64  `json:"m,omitempty"`
	// CSRF is the token every form and htmx request must echo.
	CSRF    string `json:"c"`
	Expires int64  `json:"e"`
	// SignedBy is the id of the ring key the cookie's MAC key derives from.
	SignedBy string `json:"s"`
}

const (
	sessionCookie = "gatehouse_console"
	flashCookie   = "gatehouse_flash"
	sessionTTL    = 12 * time.Hour
)

var errBadSession = errors.New("web: bad session cookie")

// cookiePurpose names the keys derived from the session key ring for
// console cookies.
const cookiePurpose = "console-session"

// sessionMAC is the MAC key of a session signed with secret. Deployment
// sessions are signed with a key that also covers the deployment admin key,
// so changing that key (a new one is generated on each run unless
// configured) signs every such session out.
func (c *Console) sessionMAC(secret []byte, deployment bool) []byte {
	m := hmac.New(sha256.New, secret)
	if deployment {
		m.Write([]byte("console-session:deployment\x00"))
		m.Write(c.adminSum[:])
	} else {
		m.Write([]byte("console-session:workspace"))
	}
	return m.Sum(nil)
}

func (c *Console) encodeSession(s session) string {
	id, secret := c.keys.MACKey(cookiePurpose, c.now())
	s.SignedBy = id
	payload, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, c.sessionMAC(secret, s.Deployment))
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) decodeSession(v string) (session, error) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return session{}, errBadSession
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(p)
	if err != nil {
		return session{}, errBadSession
	}
	var s session
	if err := json.Unmarshal(payload, &s); err != nil {
		return session{}, errBadSession
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return session{}, errBadSession
	}
	secret, ok := c.keys.MACKeyByID(s.SignedBy, cookiePurpose, c.now())
	if !ok {
		return session{}, errBadSession
	}
	m := hmac.New(sha256.New, c.sessionMAC(secret, s.Deployment))
	m.Write([]byte(p))
	if !hmac.Equal(got, m.Sum(nil)) {
		return session{}, errBadSession
	}
	if c.now().Unix() >= s.Expires {
		return session{}, errBadSession
	}
	return s, nil
}

// currentSession returns the request's valid session, if any, and for a
// member's session the member. A workspace session whose key was revoked
// (or lost its admin scope) is not valid, nor is a member's session once
// the member was removed.
func (c *Console) currentSession(r *http.Request) (session, *admin.Member, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, nil, false
	}
	s, err := c.decodeSession(ck.Value)
	if err != nil {
		return session{}, nil, false
	}
	switch {
	case s.Deployment:
		return s, nil, c.adminKey != ""
	case s.UserID != "":
		// An in-process read (no actor): the session's own member, whatever
		// that member may see.
		m, err := c.cfg.Admin.Member(r.Context(), s.Workspace, admin.Actor{}, s.UserID)
		if err != nil || m.CreatedAt.UnixMicro() != s.Since {
			return session{}, nil, false
		}
		return s, &m, true
	}
	k, ok := c.cfg.Admin.KeyByID(s.KeyID)
	if !ok || k.Workspace != s.Workspace || k.Scope != adminScope {
		return session{}, nil, false
	}
	return s, nil, true
}

func newToken() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// cookie makes one of the console's cookies. A console that may be framed
// by other sites (Config.FrameAncestors) sends them SameSite=None, so that
// the browser keeps sending them inside the host's iframe, and so Secure
// (browsers refuse SameSite=None without it; they treat localhost as
// secure) and Partitioned (CHIPS: the cookie is kept per top-level site,
// the way browsers that block third-party cookies still allow). Otherwise
// they are SameSite=Strict, Secure when the request came over TLS.
func (c *Console) cookie(r *http.Request, name, value string) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)}
	if c.framed {
		ck.SameSite, ck.Secure, ck.Partitioned = http.SameSiteNoneMode, true, true
	}
	return ck
}

func (c *Console) setSession(w http.ResponseWriter, r *http.Request, s session) {
	ck := c.cookie(r, sessionCookie, c.encodeSession(s))
	ck.Expires = time.Unix(s.Expires, 0)
	http.SetCookie(w, ck)
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	ck := c.cookie(r, name, "")
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

// checkCSRF verifies a state-changing request's token, sent as the csrf
// form field or, by htmx, the X-CSRF-Token header. Cross-origin requests
// are already refused by http.CrossOriginProtection; the token also covers
// browsers that send neither Origin nor Sec-Fetch-Site.
func checkCSRF(r *http.Request, s session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && hmac.Equal([]byte(got), []byte(s.CSRF))
}

// flash is a one-shot message shown on the next page after a redirect.
// Its cookie is signed like the session's, with a key of its own derived
// from the session key ring: anyone who can set a cookie for the host
// (a sibling subdomain, a man in the middle of plain HTTP) could
// otherwise show any text on every page, the sign-in page included.
type flash struct {
	Kind    string `json:"k"` // "ok" or "error"
	Message string `json:"m"`
	Expires int64  `json:"e"`
	// SignedBy is the id of the ring key the cookie's MAC key derives from.
	SignedBy string `json:"s"`
}

// flashPurpose names the keys derived from the session key ring for the
// flash cookie: never the session cookie's, so that neither cookie's
// value is ever accepted as the other.
const flashPurpose = "console-flash"

// flashTTL is how long a flash message waits for the next page.
const flashTTL = 60 * time.Second

func (c *Console) setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	id, secret := c.keys.MACKey(flashPurpose, c.now())
	payload, _ := json.Marshal(flash{Kind: kind, Message: msg, Expires: c.now().Add(flashTTL).Unix(), SignedBy: id})
	p := base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	ck := c.cookie(r, flashCookie, p+"."+base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
	ck.MaxAge = int(flashTTL / time.Second)
	http.SetCookie(w, ck)
}

// takeFlash returns the request's flash message and clears it; a cookie
// that is not one this console signed, or too old, shows nothing.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	c.clearCookie(w, r, flashCookie)
	f, err := c.decodeFlash(ck.Value)
	if err != nil {
		return nil
	}
	return &f
}

func (c *Console) decodeFlash(v string) (flash, error) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return flash{}, errBadSession
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(p)
	if err != nil {
		return flash{}, errBadSession
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return flash{}, errBadSession
	}
	var f flash
	if err := json.Unmarshal(payload, &f); err != nil || f.Message == "" {
		return flash{}, errBadSession
	}
	secret, ok := c.keys.MACKeyByID(f.SignedBy, flashPurpose, c.now())
	if !ok {
		return flash{}, errBadSession
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(p))
	if !hmac.Equal(got, m.Sum(nil)) || c.now().Unix() >= f.Expires {
		return flash{}, errBadSession
	}
	return f, nil
}
