package policy_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

func gatewaySnapshot(t testing.TB, routes []policy.GatewayRoute) *policy.Snapshot {
	t.Helper()
	s, err := policy.Compile(policy.State{Workspace: "w", Catalog: policy.DefaultCatalog(), Gateway: routes,
		Aliases: map[string]string{"can_read": "deals_view"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGateway_Match: the first matching route decides; parameters become
// the record's owner and department; "*" takes any rest; GET routes answer
// HEAD; a request no route names matches nothing (deny by default).
func TestGateway_Match(t *testing.T) {
	t.Parallel()
	s := gatewaySnapshot(t, []policy.GatewayRoute{
		{Method: "GET", Path: "/deals", Permission: "can_read"},
		{Method: "DELETE", Path: "/teams/{team}/deals/{owner}/{id}", Permission: "deals_delete", Owner: "owner", Department: "team"},
		{Method: "*", Path: "/files/*", Permission: "contacts_view"},
		{Method: "GET", Path: "/deals/{id}", Permission: "deals_view"},
		{Method: "GET", Path: "/deals/{id}", Permission: "deals_edit"}, // never reached: the one above matches first
		{Method: "GET", Path: "/gone", Permission: "vanished_view"},    // unknown permission: left out (C7)
	})
	for _, c := range []struct {
		method, path, perm, owner, dept string
	}{
		{"GET", "/deals", "deals_view", "", ""},
		{"HEAD", "/deals", "deals_view", "", ""},
		{"DELETE", "/teams/east/deals/ana/7", "deals_delete", "ana", "east"},
		{"POST", "/files/a/b/c", "contacts_view", "", ""},
		{"GET", "/deals/7", "deals_view", "", ""},
		{"POST", "/deals", "", "", ""},
		{"GET", "/deals/7/notes", "", "", ""},
		{"GET", "/teams//deals/ana/7", "", "", ""},
		{"GET", "/gone", "", "", ""},
		{"GET", "deals", "", "", ""},
	} {
		m, ok := s.MatchGateway(c.method, c.path)
		if ok != (c.perm != "") || m.Permission != c.perm {
			t.Errorf("%s %s: %v %+v, want %q", c.method, c.path, ok, m, c.perm)
			continue
		}
		if c.owner != "" && (m.Record == nil || m.Record.OwnerID != c.owner || m.Record.DepartmentID != c.dept) {
			t.Errorf("%s %s: record %+v", c.method, c.path, m.Record)
		}
	}
}

func TestGateway_Validate(t *testing.T) {
	t.Parallel()
	for _, r := range []policy.GatewayRoute{
		{Method: "FETCH", Path: "/x", Permission: "p"}, {Method: "GET", Path: "x", Permission: "p"},
		{Method: "GET", Path: "/a//b", Permission: "p"}, {Method: "GET", Path: "/*/a", Permission: "p"},
		{Method: "GET", Path: "/{a}/{a}", Permission: "p"}, {Method: "GET", Path: "/{}", Permission: "p"},
		{Method: "GET", Path: "/a?b", Permission: "p"}, {Method: "GET", Path: "/{a}", Permission: "p", Owner: "b"},
		{Method: "GET", Path: "/" + strings.Repeat("a", 600), Permission: "p"},
	} {
		if err := r.Validate(); policy.ErrorCode(err) != policy.CodeInvalidArgument {
			t.Errorf("%+v: %v, want invalid_argument", r, err)
		}
	}
	for _, r := range []policy.GatewayRoute{{Method: "*", Path: "/", Permission: "p"}, {Method: "GET", Path: "/a/{b}/*", Permission: "p", Owner: "b"}} {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

// FuzzGatewayRoute: any route either fails Validate with invalid_argument
// or compiles; matching any request never panics, and a valid route
// without parameters or "*" matches its own path.
func FuzzGatewayRoute(f *testing.F) {
	f.Add("GET", "/teams/{team}/deals/{owner}/{id}", "owner", "team", "DELETE", "/teams/a/deals/b/c")
	f.Add("*", "/files/*", "", "", "POST", "/files/x/y")
	f.Add("GET", "/", "", "", "GET", "/")
	f.Fuzz(func(t *testing.T, method, path, owner, dept, reqMethod, reqPath string) {
		r := policy.GatewayRoute{Method: method, Path: path, Permission: "deals_view", Owner: owner, Department: dept}
		if err := r.Validate(); err != nil {
			if policy.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Fatalf("%+v: %v", r, err)
			}
			return
		}
		s := gatewaySnapshot(t, []policy.GatewayRoute{r})
		s.MatchGateway(reqMethod, reqPath)
		if !strings.ContainsAny(path, "{*") && method != "*" {
			if _, ok := s.MatchGateway(method, path); !ok {
				t.Fatalf("%+v does not match its own path", r)
			}
		}
	})
}
