package httpapi

import (
	"net/http"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// route is one endpoint of the API.
type route struct {
	method, path string
	access       access
	// area is the authority an acting member needs (X3), or one of
	// areaDecision and areaDeployment.
	area admin.Area
	h    http.Handler
}

// Areas beyond admin's: decision calls act as their key, whatever
// Gatehouse-Actor says (they are the host's own questions); deployment
// routes are the deployment admin key's.
const (
	areaDecision   admin.Area = -1
	areaDeployment admin.Area = -2
)

// AreaName names a route's authority as the OpenAPI document gives it
// (x-gatehouse-authority).
func AreaName(a admin.Area) string {
	switch a {
	case areaDecision:
		return "decision"
	case areaDeployment:
		return "deployment"
	}
	return a.String()
}

// KeyScopes lists every workspace route as "METHOD /path" with the key
// scope it takes: "check" (any key of the workspace) or "admin".
func (s *Server) KeyScopes() map[string]string {
	out := map[string]string{}
	for _, rt := range s.routes {
		switch rt.access {
		case checker, keyed:
			out[rt.method+" "+rt.path] = "check"
		case manager:
			out[rt.method+" "+rt.path] = "admin"
		}
	}
	return out
}

// Authorities lists every route as "METHOD /path" with the name of the
// authority it needs, for the contract test and the documents.
func (s *Server) Authorities() map[string]string {
	out := map[string]string{}
	for _, rt := range s.routes {
		if rt.h != nil && (rt.access != public || rt.area == areaDecision) {
			out[rt.method+" "+rt.path] = AreaName(rt.area)
		}
	}
	return out
}

// routeTable is the whole API surface, in one place (DESIGN.md §3). The
// contract test checks that the OpenAPI document lists exactly these.
func (s *Server) routeTable() []route {
	const ws = "/v1/workspaces/{ws}"
	r := func(method, path string, a access, area admin.Area, h handler) route {
		return route{method: method, path: path, area: area, access: a, h: s.serve(a, area, h)}
	}
	z := func(method, path string, a access, h handler) route {
		return route{method: method, path: path, area: areaDecision, access: a, h: s.serveAuthZEN(a, h)}
	}
	const (
		workspace   = admin.AreaWorkspace
		rolesRead   = admin.AreaRolesRead
		peopleRead  = admin.AreaPeopleRead
		peopleEdit  = admin.AreaPeopleEdit
		reports     = admin.AreaReports
		rolesEdit   = admin.AreaRolesEdit
		owner       = admin.AreaOwner
		decision    = areaDecision
		deployments = areaDeployment
	)
	return []route{
		{method: "GET", path: "/healthz", h: http.HandlerFunc(s.healthz)},
		{method: "GET", path: "/readyz", h: http.HandlerFunc(s.readyz)},
		{method: "GET", path: "/openapi.json", h: http.HandlerFunc(serveOpenAPI)},

		r("GET", "/v1/catalog", public, decision, s.getCatalog),
		r("GET", "/v1/templates", public, decision, s.listTemplates),

		r("POST", "/v1/workspaces", deployment, deployments, s.idempotent(s.createWorkspace)),
		r("GET", "/v1/workspaces", deployment, deployments, s.listWorkspaces),
		r("GET", "/v1/session-keys", deployment, deployments, s.listSessionKeys),
		r("POST", "/v1/session-keys/rotate", deployment, deployments, s.rotateSessionKey),
		r("GET", ws, checker, workspace, s.getWorkspace),
		r("PATCH", ws, manager, owner, s.updateWorkspace),
		r("GET", ws+"/catalog", checker, rolesRead, s.getWorkspaceCatalog),
		r("PUT", ws+"/catalog/objects/{id}", manager, rolesEdit, s.putObject),
		r("DELETE", ws+"/catalog/objects/{id}", manager, rolesEdit, s.deleteObject),

		r("POST", ws+"/keys", manager, owner, s.idempotent(s.createKey)),
		r("GET", ws+"/keys", manager, owner, s.listKeys),
		r("DELETE", ws+"/keys/{id}", manager, owner, s.revokeKey),
		r("POST", ws+"/console-links", manager, owner, s.idempotent(s.createConsoleLink)),

		r("GET", ws+"/roles", manager, rolesRead, s.listRoles),
		r("POST", ws+"/roles", manager, rolesEdit, s.idempotent(s.createRole)),
		r("GET", ws+"/roles/{role}", manager, rolesRead, s.getRole),
		r("PATCH", ws+"/roles/{role}", manager, rolesEdit, s.updateRole),
		r("DELETE", ws+"/roles/{role}", manager, rolesEdit, s.deleteRole),
		r("POST", ws+"/roles/{role}/duplicate", manager, rolesEdit, s.idempotent(s.duplicateRole)),
		r("POST", ws+"/roles/{role}/preview", manager, reports, s.previewRole),
		r("GET", ws+"/roles/{role}/revisions", manager, rolesRead, s.listRevisions),
		r("GET", ws+"/roles/{role}/revisions/{n}", manager, rolesRead, s.getRevision),
		r("POST", ws+"/roles/{role}/revisions/{n}/restore", manager, rolesEdit, s.idempotent(s.restoreRevision)),
		r("GET", ws+"/roles/{role}/members", manager, peopleRead, s.listRoleMembers),
		r("POST", ws+"/roles/{role}/members", manager, peopleEdit, s.addRoleMembers),
		r("DELETE", ws+"/roles/{role}/members/{user}", manager, peopleEdit, s.removeRoleMember),

		r("GET", ws+"/members", manager, peopleRead, s.listMembers),
		r("POST", ws+"/members/import", manager, peopleEdit, s.importMembers),
		r("PUT", ws+"/members/{user}", manager, peopleEdit, s.putMember),
		r("GET", ws+"/members/{user}", manager, peopleRead, s.getMember),
		r("DELETE", ws+"/members/{user}", manager, peopleEdit, s.deleteMember),
		r("PUT", ws+"/members/{user}/roles", manager, peopleEdit, s.setMemberRoles),
		r("PUT", ws+"/members/{user}/grants", manager, peopleEdit, s.setMemberGrants),
		r("GET", ws+"/members/{user}/permissions", manager, peopleRead, s.memberPermissions),

		r("GET", ws+"/departments", manager, rolesRead, s.listDepartments),
		r("PUT", ws+"/departments/{id}", manager, peopleEdit, s.putDepartment),
		r("GET", ws+"/departments/{id}", manager, rolesRead, s.getDepartment),
		r("DELETE", ws+"/departments/{id}", manager, peopleEdit, s.deleteDepartment),

		r("POST", ws+"/check", checker, decision, s.check),
		r("POST", ws+"/check/batch", checker, decision, s.checkBatch),
		r("POST", ws+"/check/resources", checker, decision, s.checkResources),
		r("POST", ws+"/filter", checker, decision, s.filter),
		r("POST", ws+"/explain", checker, peopleRead, s.explain),
		r("GET", ws+"/who-can", checker, peopleRead, s.whoCan),
		r("POST", ws+"/sessions", checker, decision, s.idempotent(s.createSession)),
		r("GET", ws+"/events", checker, decision, s.events),

		r("PUT", ws+"/action-aliases", manager, rolesEdit, s.putActionAliases),
		r("GET", ws+"/action-aliases", manager, rolesRead, s.getActionAliases),

		r("PUT", ws+"/gateway-routes", manager, rolesEdit, s.putGatewayRoutes),
		r("GET", ws+"/gateway-routes", manager, rolesRead, s.getGatewayRoutes),

		// Separation of duties (S1–S3): rules are role definitions to
		// write, reports to read (they name members).
		r("GET", ws+"/sod-rules", manager, reports, s.listSoDRules),
		r("PUT", ws+"/sod-rules/{id}", manager, rolesEdit, s.putSoDRule),
		r("GET", ws+"/sod-rules/{id}", manager, reports, s.getSoDRule),
		r("DELETE", ws+"/sod-rules/{id}", manager, rolesEdit, s.deleteSoDRule),
		r("GET", ws+"/sod-rules/{id}/violations", manager, reports, s.listSoDViolations),

		// Access reviews (V1–V3): campaigns are role definitions to write;
		// reviewers read and decide the items they may (admin decides who).
		r("POST", ws+"/reviews", manager, rolesEdit, s.createReview),
		r("GET", ws+"/reviews", manager, peopleRead, s.listReviews),
		r("GET", ws+"/reviews/{id}", manager, peopleRead, s.getReview),
		r("PATCH", ws+"/reviews/{id}", manager, rolesEdit, s.updateReview),
		r("GET", ws+"/reviews/{id}/items", manager, peopleRead, s.listReviewItems),
		r("PUT", ws+"/reviews/{id}/items/{item}", manager, peopleEdit, s.decideReviewItem),
		r("POST", ws+"/reviews/{id}/close", manager, rolesEdit, s.closeReview),
		// Forward authorization for gateways: the session token of the
		// original request is the credential (forwardauth.go).
		r("GET", ws+"/forward-auth", public, decision, s.forwardAuth),

		// AuthZEN (Z1): at the root with a workspace key, and under the
		// workspace; the metadata document is public and reads nothing.
		z("POST", "/access/v1/evaluation", keyed, s.azEvaluate),
		z("POST", "/access/v1/evaluations", keyed, s.azEvaluations),
		z("POST", "/access/v1/search/subject", keyed, s.azSearchSubject),
		z("POST", "/access/v1/search/action", keyed, s.azSearchAction),
		z("POST", ws+"/access/v1/evaluation", checker, s.azEvaluate),
		z("POST", ws+"/access/v1/evaluations", checker, s.azEvaluations),
		z("POST", ws+"/access/v1/search/subject", checker, s.azSearchSubject),
		z("POST", ws+"/access/v1/search/action", checker, s.azSearchAction),
		z("GET", "/.well-known/authzen-configuration", public, s.azConfiguration),
		z("GET", "/.well-known/authzen-configuration/v1/workspaces/{ws}", public, s.azConfiguration),
		z("GET", ws+"/.well-known/authzen-configuration", public, s.azConfiguration),

		r("GET", ws+"/audit", manager, peopleRead, s.listAudit),
		r("GET", ws+"/audit/verify", manager, reports, s.verifyAudit),
		r("GET", ws+"/usage", manager, reports, s.usage),
		r("GET", ws+"/policy", manager, reports, s.exportPolicy),
		r("PUT", ws+"/policy", manager, rolesEdit, s.importPolicy),
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
