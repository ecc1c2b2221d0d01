package policy

import (
	"fmt"
	"strings"
)

// GatewayRoute maps requests a gateway forwards (nginx auth_request, Caddy
// forward_auth) to the permission they need: Method ("GET", …, or "*" for
// any) and Path, a pattern of literal segments and {name} parameters, with
// a final "*" matching any rest. Owner and Department name the parameters
// whose values are the record's owner_id and department_id (D2); without
// them the question is D1's.
type GatewayRoute struct {
	Method     string
	Path       string
	Permission string // a permission key or a workspace action alias (Z2)
	Owner      string
	Department string
}

// MaxGatewayRoutes bounds a workspace's gateway routes.
const MaxGatewayRoutes = 500

var gatewayMethods = map[string]bool{"*": true, "GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// Validate checks a route's shape: a known method, a path of non-empty
// segments starting with "/", parameters named once, "*" only last, and
// Owner and Department naming parameters of the path. The permission is
// checked by the caller, which knows the workspace's aliases.
func (r GatewayRoute) Validate() error {
	if !gatewayMethods[r.Method] {
		return Errorf(CodeInvalidArgument, "route %s %s: method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or *", text(r.Method), text(r.Path))
	}
	if !strings.HasPrefix(r.Path, "/") || len(r.Path) > 500 {
		return Errorf(CodeInvalidArgument, "route %s %s: the path must start with / and hold at most 500 characters", r.Method, text(r.Path))
	}
	params := map[string]bool{}
	segs := strings.Split(r.Path[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "*" && i == len(segs)-1:
		case seg == "" && i == len(segs)-1 && len(segs) == 1: // "/" itself
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			if name == "" || params[name] || strings.ContainsAny(name, "{}*") {
				return Errorf(CodeInvalidArgument, "route %s %s: parameter %q is empty or named twice", r.Method, text(r.Path), name)
			}
			params[name] = true
		case seg == "" || strings.ContainsAny(seg, "{}*?#"):
			return Errorf(CodeInvalidArgument, "route %s %s: segment %d (%q) must be literal text, {name} or a final *", r.Method, text(r.Path), i+1, text(seg))
		}
	}
	for what, p := range map[string]string{"owner": r.Owner, "department": r.Department} {
		if p != "" && !params[p] {
			return Errorf(CodeInvalidArgument, "route %s %s: %s names {%s}, which the path does not have", r.Method, text(r.Path), what, text(p))
		}
	}
	return nil
}

// gatewayRoute is a compiled GatewayRoute.
type gatewayRoute struct {
	GatewayRoute
	segs []string
	perm PermID
}

// compileGateway resolves routes against the catalog and aliases; routes
// whose permission is unknown are left out, like orphaned grants (C7).
func (c *Catalog) compileGateway(routes []GatewayRoute, aliases map[string]PermID) []gatewayRoute {
	out := make([]gatewayRoute, 0, len(routes))
	for _, r := range routes {
		id, ok := c.byKey[r.Permission]
		if !ok {
			if id, ok = aliases[r.Permission]; !ok {
				continue
			}
		}
		out = append(out, gatewayRoute{GatewayRoute: r, segs: strings.Split(r.Path[1:], "/"), perm: id})
	}
	return out
}

// match returns the path parameters when path matches the route.
func (g *gatewayRoute) match(method, path string) (map[string]string, bool) {
	if g.Method != "*" && g.Method != method && !(g.Method == "GET" && method == "HEAD") {
		return nil, false
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	got := strings.Split(path[1:], "/")
	var params map[string]string
	for i, seg := range g.segs {
		if seg == "*" && i == len(g.segs)-1 {
			return params, true
		}
		if i >= len(got) {
			return nil, false
		}
		if strings.HasPrefix(seg, "{") {
			if got[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[seg[1:len(seg)-1]] = got[i]
			continue
		}
		if seg != got[i] {
			return nil, false
		}
	}
	return params, len(got) == len(g.segs)
}

// GatewayMatch is the question a gateway route makes of a request.
type GatewayMatch struct {
	Route      GatewayRoute
	Permission string
	Record     *Resource // nil: D1's question
}

// MatchGateway finds the first gateway route that matches a request (its
// method and its path, without the query), or false: a request no route
// names is denied (deny by default).
func (s *Snapshot) MatchGateway(method, path string) (GatewayMatch, bool) {
	for i := range s.gateway {
		g := &s.gateway[i]
		params, ok := g.match(method, path)
		if !ok {
			continue
		}
		m := GatewayMatch{Route: g.GatewayRoute, Permission: s.cat.perms[g.perm].Key}
		if g.Owner != "" || g.Department != "" {
			m.Record = &Resource{OwnerID: params[g.Owner], DepartmentID: params[g.Department]}
		}
		return m, true
	}
	return GatewayMatch{}, false
}

// String renders a route as "GET /todos/{id} → todos_view".
func (r GatewayRoute) String() string {
	return fmt.Sprintf("%s %s → %s", r.Method, r.Path, r.Permission)
}

// text bounds client input quoted in messages.
func text(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}
