package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// gatewayForm is the form the gateway editor posts: one value of each
// field per route, in order.
func gatewayForm(csrf, base string, routes ...policy.GatewayRoute) url.Values {
	f := url.Values{"csrf": {csrf}, "base": {base}}
	for _, r := range routes {
		f.Add("method", r.Method)
		f.Add("path", r.Path)
		f.Add("permission", r.Permission)
		f.Add("owner", r.Owner)
		f.Add("department", r.Department)
	}
	return f
}

// hiddenValue reads a hidden field's value from a page.
func hiddenValue(t *testing.T, body, name string) string {
	t.Helper()
	needle := `name="` + name + `" value="`
	i := strings.Index(body, needle)
	if i < 0 {
		t.Fatalf("no field %s in the page", name)
	}
	rest := body[i+len(needle):]
	return rest[:strings.Index(rest, `"`)]
}

// mainOf is the page's <main>, without the header's sign-out form.
func mainOf(body string) string {
	i, j := strings.Index(body, "<main"), strings.Index(body, "</main>")
	if i < 0 || j < i {
		return ""
	}
	return body[i:j]
}

func (w *memberWorld) routes() []policy.GatewayRoute {
	w.t.Helper()
	rs, err := w.Admin.GatewayRoutes(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

func (w *memberWorld) revision() int64 {
	w.t.Helper()
	ws, err := w.Admin.Workspace(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	return ws.Revision
}

// leadsAtAll gives eddie every leads permission at all: an editor maps a
// route only onto permissions it holds at all (X3a.1, see admin's
// checkMappings), and eddie's own leads_view is department-wide.
func (w *memberWorld) leadsAtAll() {
	w.t.Helper()
	ctx := context.Background()
	r, _, err := w.Admin.CreateRole(ctx, "acme", admin.Write{Reason: "the gateway tests"}, admin.RoleInput{Name: "Leads at all", Grants: policy.Grants{
		"leads_view": policy.LevelAll, "leads_edit": policy.LevelAll, "leads_delete": policy.LevelAll}})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.Admin.AddRoleMembers(ctx, "acme", admin.Write{}, r.ID, []string{"eddie"}); err != nil {
		w.t.Fatal(err)
	}
}

// TestGateway_EditorSavesAsTheMember: an editor of roles opens the page
// (the nav names it, the explanation and the snippets carry the
// workspace's forward-auth URL), builds a draft with add, move and delete
// without writing anything, and saves it in one call audited under its
// name, with the reason; the page shows the routes back.
func TestGateway_EditorSavesAsTheMember(t *testing.T) {
	w := newMemberWorld(t)
	w.leadsAtAll()
	ctx := context.Background()
	if _, _, err := w.Admin.SetActionAliases(ctx, "acme", admin.Write{}, map[string]string{"read_lead": "leads_view"}); err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, w.URL)
	v.follow(w.mint("eddie", ""))
	resp, body := v.do("GET", "/w/acme/gateway", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`href="/w/acme/gateway" aria-current="page">Gateway</a>`,
		"first match decides", "Denied by default",
		w.URL + "/v1/workspaces/acme/forward-auth",
		"proxy_pass " + w.URL + "/v1/workspaces/acme/forward-auth;",
		"uri /v1/workspaces/acme/forward-auth",
		`<option value="read_lead">alias of leads_view</option>`,
		`<option value="leads_view">`,
		`id="gateway-save"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	csrf := hiddenValue(t, body, "csrf")
	base := hiddenValue(t, body, "base")
	rev := w.revision()

	// Draft actions write nothing and come back with the draft changed.
	a := policy.GatewayRoute{Method: "GET", Path: "/leads/{id}", Permission: "read_lead", Owner: "{owner}"}
	b := policy.GatewayRoute{Method: "*", Path: "/leads/*", Permission: "leads_edit"}
	draft := func(op string, rs ...policy.GatewayRoute) string {
		t.Helper()
		f := gatewayForm(csrf, base, rs...)
		f.Set("op", op)
		resp, body := v.do("POST", "/w/acme/gateway/draft", f, map[string]string{"HX-Request": "true", "HX-Target": "gateway-editor"})
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), `<div id="gateway-editor">`) {
			t.Fatalf("draft %s: %d %.200s", op, resp.StatusCode, body)
		}
		return body
	}
	if body := draft("add"); strings.Count(body, `name="path"`) != 1 || !strings.Contains(body, "autofocus") {
		t.Fatalf("add: %s", body)
	}
	body = draft("up:1", policy.GatewayRoute{Method: "GET", Path: "/leads/{owner}/{id}", Permission: "read_lead", Owner: "owner"}, b)
	if i, j := strings.Index(body, `value="/leads/*"`), strings.Index(body, `value="/leads/{owner}/{id}"`); i < 0 || j < 0 || i > j {
		t.Fatalf("up:1 did not move the second route first")
	}
	if body = draft("delete:0", b, a); strings.Contains(body, `value="/leads/*"`) || !strings.Contains(body, "Unsaved changes") {
		t.Fatalf("delete:0: %s", body)
	}
	if w.revision() != rev || len(w.routes()) != 0 {
		t.Fatal("a draft action wrote")
	}

	// Save: one call, as eddie, with the reason; "{owner}" is taken as
	// the parameter's name.
	a.Path = "/leads/{owner}/{id}"
	f := gatewayForm(csrf, base, a, b)
	f.Set("reason", "gateway for the leads app")
	resp, _ = v.do("POST", "/w/acme/gateway", f, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/w/acme/gateway" {
		t.Fatalf("save: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	a.Owner = "owner"
	if got := w.routes(); !slices.Equal(got, []policy.GatewayRoute{a, b}) {
		t.Fatalf("saved routes %+v", got)
	}
	es, err := w.Admin.Audit(ctx, "acme", admin.Actor{}, admin.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	last := es[len(es)-1]
	if last.Action != "gateway.put" || last.Actor != "eddie" || last.Reason != "gateway for the leads app" {
		t.Fatalf("audit entry %+v", last)
	}
	_, body = v.do("GET", "/w/acme/gateway", nil, nil)
	if !strings.Contains(body, "Saved 2 gateway routes") || !strings.Contains(body, `value="/leads/{owner}/{id}"`) ||
		strings.Index(body, `value="/leads/{owner}/{id}"`) > strings.Index(body, `value="/leads/*"`) {
		t.Fatal("the page does not show the saved routes in order, with the flash")
	}

	// Saving the same routes writes nothing.
	rev = w.revision()
	resp, _ = v.do("POST", "/w/acme/gateway", gatewayForm(csrf, hiddenValue(t, body, "base"), a, b), nil)
	if resp.StatusCode != http.StatusSeeOther || w.revision() != rev {
		t.Fatalf("an unchanged save: %d, revision %d → %d", resp.StatusCode, rev, w.revision())
	}
}

// TestGateway_RefusalKeepsTheForm: admin's refusals come back in place,
// naming the refused route, with every route as typed; nothing is
// written. A stale draft is stopped once.
func TestGateway_RefusalKeepsTheForm(t *testing.T) {
	w := newMemberWorld(t)
	v := newVisitor(t, w.URL)
	v.follow(w.mint("olga", ""))
	_, body := v.do("GET", "/w/acme/gateway", nil, nil)
	csrf, base := hiddenValue(t, body, "csrf"), hiddenValue(t, body, "base")
	rev := w.revision()
	ok := policy.GatewayRoute{Method: "GET", Path: "/deals", Permission: "deals_view"}
	for _, tc := range []struct {
		name  string
		bad   policy.GatewayRoute
		htmx  bool
		wants []string
	}{
		{"unknown permission, with suggestions", policy.GatewayRoute{Method: "GET", Path: "/leads/{id}", Permission: "leads_veiw"}, false,
			[]string{"Route 2: unknown permission", "did you mean", `value="leads_veiw"`}},
		{"owner naming no parameter (htmx)", policy.GatewayRoute{Method: "POST", Path: "/leads", Permission: "leads_edit", Owner: "id"}, true,
			[]string{"Route 2: route POST /leads: owner names {id}", `value="id"`}},
		{"a bad segment", policy.GatewayRoute{Method: "GET", Path: "/a?b", Permission: "leads_view"}, false,
			[]string{"Route 2: route GET /a?b", `value="/a?b"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.htmx {
				hdr = map[string]string{"HX-Request": "true", "HX-Target": "gateway-editor"}
			}
			resp, body := v.do("POST", "/w/acme/gateway", gatewayForm(csrf, base, ok, tc.bad), hdr)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d, want the form again", resp.StatusCode)
			}
			if tc.htmx == strings.Contains(body, "<html") {
				t.Fatalf("htmx %v: whole page %v", tc.htmx, !tc.htmx)
			}
			for _, want := range append(tc.wants, `id="gw-problem-1"`, "Not saved: route 2 was refused", `value="/deals"`, `data-route="1" class="invalid"`) {
				if !strings.Contains(body, want) {
					t.Errorf("the answer lacks %q", want)
				}
			}
			if w.revision() != rev || len(w.routes()) != 0 {
				t.Fatal("a refused save wrote")
			}
		})
	}

	// Someone else saves meanwhile: the stale draft is stopped once, then
	// a second save replaces theirs.
	if _, _, err := w.Admin.SetGatewayRoutes(context.Background(), "acme", admin.Write{}, []policy.GatewayRoute{ok}); err != nil {
		t.Fatal(err)
	}
	mine := policy.GatewayRoute{Method: "GET", Path: "/leads", Permission: "leads_view"}
	resp, body := v.do("POST", "/w/acme/gateway", gatewayForm(csrf, base, mine), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "someone else changed the gateway routes") || !strings.Contains(body, `value="/leads"`) {
		t.Fatalf("stale save: %d", resp.StatusCode)
	}
	if got := w.routes(); !slices.Equal(got, []policy.GatewayRoute{ok}) {
		t.Fatalf("a stale save wrote %+v", got)
	}
	resp, _ = v.do("POST", "/w/acme/gateway", gatewayForm(csrf, hiddenValue(t, body, "base"), mine), nil)
	if resp.StatusCode != http.StatusSeeOther || !slices.Equal(w.routes(), []policy.GatewayRoute{mine}) {
		t.Fatalf("the second save: %d %+v", resp.StatusCode, w.routes())
	}

	// More than policy.MaxGatewayRoutes: admin's refusal, not tied to a row.
	many := make([]policy.GatewayRoute, policy.MaxGatewayRoutes+1)
	for i := range many {
		many[i] = mine
	}
	_, body = v.do("GET", "/w/acme/gateway", nil, nil)
	_, body = v.do("POST", "/w/acme/gateway", gatewayForm(csrf, hiddenValue(t, body, "base"), many...), nil)
	if !strings.Contains(body, "Not saved: a workspace has at most 500 gateway routes") {
		t.Fatal("501 routes: no refusal shown")
	}
}

// TestGateway_ReadOnlyMember: a member who may read role definitions but
// not edit them sees the routes and the snippets without a control, and
// its crafted posts (save and draft, with its own CSRF token) write
// nothing; a member without settings_roles_view gets no page and no nav
// entry.
func TestGateway_ReadOnlyMember(t *testing.T) {
	w := newMemberWorld(t)
	route := policy.GatewayRoute{Method: "GET", Path: "/leads/{id}", Permission: "leads_view", Department: "id"}
	if _, _, err := w.Admin.SetGatewayRoutes(context.Background(), "acme", admin.Write{}, []policy.GatewayRoute{route}); err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, w.URL)
	v.follow(w.mint("vera", ""))
	resp, body := v.do("GET", "/w/acme/gateway", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	m := mainOf(body)
	for _, want := range []string{`id="read-only"`, "<code>/leads/{id}</code>", "<code>leads_view</code>", "<code>{id}</code>", "forward-auth"} {
		if !strings.Contains(m, want) {
			t.Errorf("the read-only page lacks %q", want)
		}
	}
	for _, control := range []string{"<form", "<input", "<select", "hx-post", `name="op"`, "gateway-save"} {
		if strings.Contains(m, control) {
			t.Errorf("a read-only page has %q", control)
		}
	}
	if strings.Count(m, "<button") != strings.Count(m, "data-copy=") {
		t.Error("a read-only page has buttons other than Copy")
	}
	csrf := v.csrfOf("/w/acme/gateway")
	rev := w.revision()
	evil := policy.GatewayRoute{Method: "*", Path: "/*", Permission: "leads_view"}
	for _, p := range []string{"/w/acme/gateway", "/w/acme/gateway/draft"} {
		f := gatewayForm(csrf, "", evil)
		f.Set("op", "add")
		resp, _ := v.do("POST", p, f, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("crafted post to %s: %d, want the refusal's redirect", p, resp.StatusCode)
		}
		resp, body := v.do("POST", p, f, map[string]string{"HX-Request": "true", "HX-Target": "gateway-editor"})
		if strings.Contains(body, "gateway-editor") || !strings.Contains(body, "settings_roles_edit") {
			t.Errorf("crafted htmx post to %s: %d %.300s", p, resp.StatusCode, body)
		}
	}
	if w.revision() != rev || !slices.Equal(w.routes(), []policy.GatewayRoute{route}) {
		t.Fatalf("a read-only member's crafted posts wrote: revision %d → %d", rev, w.revision())
	}

	// Bob holds no settings_roles_view: no page, no nav entry.
	b := newVisitor(t, w.URL)
	b.follow(w.mint("bob", ""))
	resp, body = b.do("GET", "/w/acme/gateway", nil, nil)
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, `>Gateway</a>`) {
		t.Fatalf("bob: %d", resp.StatusCode)
	}
}
