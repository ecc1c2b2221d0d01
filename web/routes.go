package web

import (
	"net/http"
)

// routes is the console's whole surface, in one place.
func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /{$}", c.home)
	mux.HandleFunc("GET /signin", c.signInPage)
	mux.HandleFunc("POST /signin", c.signInPost)
	mux.Handle("POST /signout", c.auth(c.signOut))

	mux.Handle("GET /workspaces", c.deploymentOnly(c.workspacesPage))
	mux.Handle("POST /workspaces", c.deploymentOnly(c.createWorkspace))

	ws := "/w/{ws}"
	mux.Handle("GET "+ws+"/{$}", c.inWorkspace(c.workspaceHome))
	mux.Handle("GET "+ws+"/settings", c.inWorkspace(c.settingsPage))
	mux.Handle("POST "+ws+"/settings", c.inWorkspace(c.updateSettings))
	mux.Handle("POST "+ws+"/keys", c.inWorkspace(c.createKey))
	mux.Handle("POST "+ws+"/keys/{id}/revoke", c.inWorkspace(c.revokeKey))

	mux.Handle("GET "+ws+"/roles", c.inWorkspace(c.rolesPage))
	mux.Handle("POST "+ws+"/roles", c.inWorkspace(c.createRole))
	mux.Handle("GET "+ws+"/roles/{role}", c.inWorkspace(c.rolePage))
	mux.Handle("POST "+ws+"/roles/{role}/details", c.inWorkspace(c.updateRoleDetails))
	mux.Handle("POST "+ws+"/roles/{role}/draft", c.inWorkspace(c.draftRole))
	mux.Handle("POST "+ws+"/roles/{role}/review", c.inWorkspace(c.reviewRole))
	mux.Handle("POST "+ws+"/roles/{role}/save", c.inWorkspace(c.saveRole))
	mux.Handle("POST "+ws+"/roles/{role}/duplicate", c.inWorkspace(c.duplicateRole))
	mux.Handle("GET "+ws+"/roles/{role}/delete", c.inWorkspace(c.deleteRoleDialog))
	mux.Handle("POST "+ws+"/roles/{role}/delete", c.inWorkspace(c.deleteRole))

	mux.Handle("GET "+ws+"/members", c.inWorkspace(c.membersPage))
	mux.Handle("POST "+ws+"/members", c.inWorkspace(c.addMember))
	mux.Handle("GET "+ws+"/members/{user}", c.inWorkspace(c.memberPage))
	mux.Handle("POST "+ws+"/members/{user}/roles", c.inWorkspace(c.assignRole))
	mux.Handle("POST "+ws+"/members/{user}/roles/{role}/remove", c.inWorkspace(c.removeRole))
	mux.Handle("POST "+ws+"/members/{user}/grants", c.inWorkspace(c.setGrants))

	mux.Handle("GET "+ws+"/departments", c.inWorkspace(c.departmentsPage))
	mux.Handle("POST "+ws+"/departments", c.inWorkspace(c.putDepartment))
	mux.Handle("POST "+ws+"/departments/{id}/delete", c.inWorkspace(c.deleteDepartment))

	mux.Handle("GET "+ws+"/audit", c.inWorkspace(c.auditPage))
	mux.Handle("GET "+ws+"/usage", c.inWorkspace(c.usagePage))
	mux.Handle("GET "+ws+"/explain", c.inWorkspace(c.explainPage))

	mux.HandleFunc("/", c.notFound)
	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

// securityHeaders sets what every console answer carries: no framing
// (clickjacking), scripts and styles only from the console itself.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// auth serves h to signed-in requests; a state-changing request must carry
// the session's CSRF token. Others are sent to the sign-in page.
func (c *Console) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.currentSession(r)
		if !ok {
			if r.Method == http.MethodGet {
				redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()))
			} else {
				redirect(w, r, "/signin")
			}
			return
		}
		if r.Method != http.MethodGet && !checkCSRF(r, s) {
			http.Error(w, "the form's security token is missing or stale: reload the page and try again", http.StatusForbidden)
			return
		}
		rq := &request{Request: r, sess: s}
		if err := h(w, rq); err != nil {
			c.fail(w, rq, err)
		}
	})
}

// deploymentOnly serves h to deployment admin sessions only.
func (c *Console) deploymentOnly(h handler) http.Handler {
	return c.auth(func(w http.ResponseWriter, rq *request) error {
		if !rq.sess.Deployment {
			c.notFound(w, rq.Request)
			return nil
		}
		return h(w, rq)
	})
}

// inWorkspace serves h for a workspace the session may manage. Another
// workspace looks exactly like a missing one (W1).
func (c *Console) inWorkspace(h handler) http.Handler {
	return c.auth(func(w http.ResponseWriter, rq *request) error {
		ws := rq.PathValue("ws")
		if !rq.sess.Deployment && ws != rq.sess.Workspace {
			c.notFound(w, rq.Request)
			return nil
		}
		space, err := c.cfg.Admin.Workspace(rq.Context(), ws)
		if err != nil {
			c.notFound(w, rq.Request)
			return nil
		}
		cat, err := c.cfg.Admin.WorkspaceCatalog(rq.Context(), ws)
		if err != nil {
			return err
		}
		rq.ws, rq.space, rq.cat = ws, space, cat
		return h(w, rq)
	})
}
