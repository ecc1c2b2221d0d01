package httpapi

import "net/http"

// route is one endpoint of the API.
type route struct {
	method, path string
	h            http.Handler
}

// routeTable is the whole API surface, in one place (DESIGN.md §3). The
// contract test checks that the OpenAPI document lists exactly these.
func (s *Server) routeTable() []route {
	const ws = "/v1/workspaces/{ws}"
	r := func(method, path string, a access, h handler) route {
		return route{method: method, path: path, h: s.serve(a, h)}
	}
	return []route{
		{method: "GET", path: "/healthz", h: http.HandlerFunc(s.healthz)},
		{method: "GET", path: "/readyz", h: http.HandlerFunc(s.readyz)},
		{method: "GET", path: "/metrics", h: s.metricsHandler()},
		{method: "GET", path: "/openapi.json", h: http.HandlerFunc(serveOpenAPI)},

		r("GET", "/v1/catalog", public, s.getCatalog),
		r("GET", "/v1/templates", public, s.listTemplates),

		r("POST", "/v1/workspaces", deployment, s.createWorkspace),
		r("GET", "/v1/workspaces", deployment, s.listWorkspaces),
		r("GET", "/v1/session-keys", deployment, s.listSessionKeys),
		r("POST", "/v1/session-keys/rotate", deployment, s.rotateSessionKey),
		r("GET", ws, checker, s.getWorkspace),
		r("PATCH", ws, manager, s.updateWorkspace),
		r("GET", ws+"/catalog", checker, s.getWorkspaceCatalog),
		r("PUT", ws+"/catalog/objects/{id}", manager, s.putObject),
		r("DELETE", ws+"/catalog/objects/{id}", manager, s.deleteObject),

		r("POST", ws+"/keys", manager, s.createKey),
		r("GET", ws+"/keys", manager, s.listKeys),
		r("DELETE", ws+"/keys/{id}", manager, s.revokeKey),

		r("GET", ws+"/roles", manager, s.listRoles),
		r("POST", ws+"/roles", manager, s.createRole),
		r("GET", ws+"/roles/{role}", manager, s.getRole),
		r("PATCH", ws+"/roles/{role}", manager, s.updateRole),
		r("DELETE", ws+"/roles/{role}", manager, s.deleteRole),
		r("POST", ws+"/roles/{role}/duplicate", manager, s.duplicateRole),
		r("POST", ws+"/roles/{role}/preview", manager, s.previewRole),
		r("GET", ws+"/roles/{role}/revisions", manager, s.listRevisions),
		r("GET", ws+"/roles/{role}/revisions/{n}", manager, s.getRevision),
		r("POST", ws+"/roles/{role}/revisions/{n}/restore", manager, s.restoreRevision),
		r("GET", ws+"/roles/{role}/members", manager, s.listRoleMembers),
		r("POST", ws+"/roles/{role}/members", manager, s.addRoleMembers),
		r("DELETE", ws+"/roles/{role}/members/{user}", manager, s.removeRoleMember),

		r("GET", ws+"/members", manager, s.listMembers),
		r("POST", ws+"/members/import", manager, s.importMembers),
		r("PUT", ws+"/members/{user}", manager, s.putMember),
		r("GET", ws+"/members/{user}", manager, s.getMember),
		r("DELETE", ws+"/members/{user}", manager, s.deleteMember),
		r("PUT", ws+"/members/{user}/roles", manager, s.setMemberRoles),
		r("PUT", ws+"/members/{user}/grants", manager, s.setMemberGrants),
		r("GET", ws+"/members/{user}/permissions", manager, s.memberPermissions),

		r("GET", ws+"/departments", manager, s.listDepartments),
		r("PUT", ws+"/departments/{id}", manager, s.putDepartment),
		r("GET", ws+"/departments/{id}", manager, s.getDepartment),
		r("DELETE", ws+"/departments/{id}", manager, s.deleteDepartment),

		r("POST", ws+"/check", checker, s.check),
		r("POST", ws+"/check/batch", checker, s.checkBatch),
		r("POST", ws+"/filter", checker, s.filter),
		r("POST", ws+"/explain", checker, s.explain),
		r("GET", ws+"/who-can", checker, s.whoCan),
		r("POST", ws+"/sessions", checker, s.createSession),
		r("GET", ws+"/events", checker, s.events),

		r("GET", ws+"/audit", manager, s.listAudit),
		r("GET", ws+"/audit/verify", manager, s.verifyAudit),
		r("GET", ws+"/usage", manager, s.usage),
		r("GET", ws+"/policy", manager, s.exportPolicy),
		r("PUT", ws+"/policy", manager, s.importPolicy),
	}
}

// Routes lists the API's endpoints as "METHOD /path/{param}", in the
// order they are declared.
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}
