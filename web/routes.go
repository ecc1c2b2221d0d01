package web

import (
	"net/http"

	"github.com/gatehouse-authz/gatehouse/admin"
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

	// A member's console link (X6).
	mux.HandleFunc("GET "+linkPath, c.redeemLink)

	// Every workspace page names the authority it needs (X3), like the
	// API's routes; admin checks every write again.
	const (
		workspace  = admin.AreaWorkspace
		rolesRead  = admin.AreaRolesRead
		peopleRead = admin.AreaPeopleRead
		peopleEdit = admin.AreaPeopleEdit
		reports    = admin.AreaReports
		rolesEdit  = admin.AreaRolesEdit
		owner      = admin.AreaOwner
	)
	ws := "/w/{ws}"
	mux.Handle("GET "+ws+"/{$}", c.inWorkspace(workspace, c.workspaceHome))
	mux.Handle("GET "+ws+"/settings", c.inWorkspace(owner, c.settingsPage))
	mux.Handle("POST "+ws+"/settings", c.inWorkspace(owner, c.updateSettings))
	mux.Handle("POST "+ws+"/keys", c.inWorkspace(owner, c.createKey))
	mux.Handle("POST "+ws+"/keys/{id}/revoke", c.inWorkspace(owner, c.revokeKey))

	mux.Handle("GET "+ws+"/roles", c.inWorkspace(rolesRead, c.rolesPage))
	mux.Handle("POST "+ws+"/roles", c.inWorkspace(rolesEdit, c.createRole))
	mux.Handle("GET "+ws+"/roles/{role}", c.inWorkspace(rolesRead, c.rolePage))
	mux.Handle("POST "+ws+"/roles/{role}/details", c.inWorkspace(rolesEdit, c.updateRoleDetails))
	mux.Handle("POST "+ws+"/roles/{role}/draft", c.inWorkspace(rolesEdit, c.draftRole))
	mux.Handle("POST "+ws+"/roles/{role}/review", c.inWorkspace(rolesEdit, c.reviewRole))
	mux.Handle("POST "+ws+"/roles/{role}/condition", c.inWorkspace(rolesEdit, c.validateCondition))
	mux.Handle("POST "+ws+"/roles/{role}/save", c.inWorkspace(rolesEdit, c.saveRole))
	mux.Handle("POST "+ws+"/roles/{role}/duplicate", c.inWorkspace(rolesEdit, c.duplicateRole))
	mux.Handle("GET "+ws+"/roles/{role}/delete", c.inWorkspace(rolesEdit, c.deleteRoleDialog))
	mux.Handle("POST "+ws+"/roles/{role}/delete", c.inWorkspace(rolesEdit, c.deleteRole))

	mux.Handle("GET "+ws+"/members", c.inWorkspace(peopleRead, c.membersPage))
	mux.Handle("POST "+ws+"/members", c.inWorkspace(peopleEdit, c.addMember))
	mux.Handle("GET "+ws+"/members/{user}", c.inWorkspace(peopleRead, c.memberPage))
	mux.Handle("POST "+ws+"/members/{user}/roles", c.inWorkspace(peopleEdit, c.assignRole))
	mux.Handle("POST "+ws+"/members/{user}/roles/{role}/remove", c.inWorkspace(peopleEdit, c.removeRole))
	mux.Handle("POST "+ws+"/members/{user}/roles/{role}/expiry", c.inWorkspace(peopleEdit, c.setRoleExpiry))
	mux.Handle("POST "+ws+"/members/{user}/grants", c.inWorkspace(peopleEdit, c.setGrants))
	mux.Handle("POST "+ws+"/members/{user}/condition", c.inWorkspace(peopleEdit, c.validateCondition))
	mux.Handle("POST "+ws+"/members/{user}/grants/{perm}/expiry", c.inWorkspace(peopleEdit, c.setGrantExpiry))

	mux.Handle("GET "+ws+"/departments", c.inWorkspace(rolesRead, c.departmentsPage))
	mux.Handle("POST "+ws+"/departments", c.inWorkspace(peopleEdit, c.putDepartment))
	mux.Handle("POST "+ws+"/departments/{id}/delete", c.inWorkspace(peopleEdit, c.deleteDepartment))

	// Gateway routes (forward authorization) are role definitions.
	mux.Handle("GET "+ws+"/gateway", c.inWorkspace(rolesRead, c.gatewayPage))
	mux.Handle("POST "+ws+"/gateway", c.inWorkspace(rolesEdit, c.saveGateway))
	mux.Handle("POST "+ws+"/gateway/draft", c.inWorkspace(rolesEdit, c.draftGateway))

	// Below reports, the audit page shows the history of one member in
	// the span (admin.Audit decides).
	mux.Handle("GET "+ws+"/sod", c.inWorkspace(reports, c.sodPage))
	mux.Handle("POST "+ws+"/sod", c.inWorkspace(rolesEdit, c.putSoD))
	mux.Handle("POST "+ws+"/sod/{id}/delete", c.inWorkspace(rolesEdit, c.deleteSoD))
	mux.Handle("POST "+ws+"/sod/{id}/exceptions", c.inWorkspace(rolesEdit, c.exceptSoD))
	mux.Handle("GET "+ws+"/reviews", c.inWorkspace(peopleRead, c.reviewsPage))
	mux.Handle("POST "+ws+"/reviews", c.inWorkspace(rolesEdit, c.openReview))
	mux.Handle("GET "+ws+"/reviews/{id}", c.inWorkspace(peopleRead, c.reviewPage))
	mux.Handle("POST "+ws+"/reviews/{id}/decide", c.inWorkspace(peopleEdit, c.decideReview))
	mux.Handle("POST "+ws+"/reviews/{id}/close", c.inWorkspace(rolesEdit, c.closeReviewPost))
	mux.Handle("GET "+ws+"/reviews/{id}/csv", c.inWorkspace(reports, c.reviewCSV))

	mux.Handle("GET "+ws+"/audit", c.inWorkspace(peopleRead, c.auditPage))
	mux.Handle("GET "+ws+"/usage", c.inWorkspace(reports, c.usagePage))
	mux.Handle("GET "+ws+"/explain", c.inWorkspace(peopleRead, c.explainPage))

	mux.HandleFunc("/", c.notFound)
	return c.securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

// securityHeaders sets what every console answer carries: scripts and
// styles only from the console itself, and no framing (clickjacking)
// except by the origins the deployment allows (X6). Those get no
// X-Frame-Options, which cannot name them; frame-ancestors wins over it
// anyway in every browser that knows CSP.
func (c *Console) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", c.csp)
		if !c.framed {
			hd.Set("X-Frame-Options", "DENY")
		}
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// auth serves h to signed-in requests; a state-changing request must carry
// the session's CSRF token. Others are sent to the sign-in page.
func (c *Console) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, m, ok := c.currentSession(r)
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
		rq := &request{Request: r, sess: s, member: m}
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

// inWorkspace serves h for a workspace the session may manage, when the
// session has the authority area needs there (X3), computed afresh for
// this request. Another workspace looks exactly like a missing one (W1).
func (c *Console) inWorkspace(area admin.Area, h handler) http.Handler {
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
		if rq.auth, err = c.cfg.Admin.Authority(rq.Context(), ws, rq.actor()); err != nil {
			return err
		}
		if err := rq.auth.Can(area); err != nil {
			return err
		}
		return h(w, rq)
	})
}
