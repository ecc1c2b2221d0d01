package web

import (
	"net/http"
	"net/url"
	"strings"
)

// home sends a signed-in person to their workspace (or the picker) and
// anyone else to the sign-in page.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	s, _, ok := c.currentSession(r)
	switch {
	case !ok:
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
	case s.Deployment:
		http.Redirect(w, r, "/workspaces", http.StatusSeeOther)
	case s.UserID != "":
		http.Redirect(w, r, wsPath(s.Workspace)+"/", http.StatusSeeOther)
	default:
		http.Redirect(w, r, wsPath(s.Workspace, "roles"), http.StatusSeeOther)
	}
}

type signInView struct {
	Next, Error string
}

// safeNext keeps a post-sign-in (or post-error) destination to this
// console's own paths: one leading slash, no backslash, no control
// character (browsers drop tabs and newlines, so "/\t/evil" would become
// "//evil"), and nothing that parses with a scheme or a host.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return ""
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return ""
	}
	return next
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, &request{Request: r}, http.StatusOK, "signin", "", signInView{Next: safeNext(r.URL.Query().Get("next"))})
}

// signInPost opens a session. The form needs no CSRF token (there is no
// session yet); http.CrossOriginProtection refuses cross-site posts, so
// another site cannot sign a browser in with its own key.
func (c *Console) signInPost(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	s, err := c.signIn(r.PostFormValue("key"))
	if err != nil {
		c.render(w, &request{Request: r}, http.StatusOK, "signin", "", signInView{Next: next, Error: err.Error()})
		return
	}
	c.setSession(w, r, s)
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, rq *request) error {
	c.clearCookie(w, rq.Request, sessionCookie)
	http.Redirect(w, rq.Request, "/signin", http.StatusSeeOther)
	return nil
}
