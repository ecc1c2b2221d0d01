package httpapi_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// TestX3_EveryRouteByAuthority walks every workspace route with the
// workspace's admin key as: a member without authority, a member with
// settings_roles_view at all only, a member with view and edit at all, an
// owner, and no actor. Each gets forbidden exactly on the areas it lacks,
// with one answer per area whatever the route (X3, W4).
func TestX3_EveryRouteByAuthority(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "Viewer", "grants": map[string]any{"settings_roles_view": "all"}})
	w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "Editor", "grants": map[string]any{
		"settings_roles_view": "all", "settings_roles_edit": "all", "crm_view": "all", "crm_edit": "all"}})
	for u, role := range map[string]string{"nobody": "employee", "viewer": "viewer", "editor": "editor"} {
		w.admin.ok(200, "PUT", w.path("/members/"+u), map[string]any{"name": u, "kind": "internal",
			"department_ids": []string{"sales"}, "role_ids": []string{role}})
	}
	// Which areas each actor may use; "" is the key acting for itself.
	may := map[string]map[string]bool{
		"nobody": {"workspace": true},
		"viewer": {"workspace": true, "roles (read)": true, "members (read)": true, "reports": true},
		"editor": {"workspace": true, "roles (read)": true, "members (read)": true, "reports": true, "members": true, "roles": true},
		"boss":   nil, // everything
		"":       nil,
	}
	authorities := env.API.Authorities()
	fill := strings.NewReplacer("{ws}", "acme", "{id}", "sales", "{role}", "sales_rep", "{user}", "rep", "{n}", "1")
	refusal := map[string]string{} // actor + area → the one answer
	walked := 0
	for _, actor := range []string{"nobody", "viewer", "editor", "boss", ""} {
		for _, rt := range env.API.Routes() {
			method, path, _ := strings.Cut(rt, " ")
			area, ok := authorities[rt]
			if !ok || !strings.HasPrefix(path, "/v1/workspaces/{ws}") || area == "decision" {
				continue
			}
			if method == "DELETE" && actor != "nobody" && actor != "viewer" {
				continue // keep the world for the next actors
			}
			walked++
			var hdr []string
			if actor != "" {
				hdr = []string{"Gatehouse-Actor", actor}
			}
			body := "{}"
			if method == "GET" || method == "DELETE" {
				body = ""
			}
			r := w.admin.do(method, fill.Replace(path), body, hdr...)
			allowed := may[actor] == nil || may[actor][area]
			switch {
			case allowed && r.code() == "forbidden":
				t.Errorf("%s as %q (area %s): forbidden: %s", rt, actor, area, r.raw)
			case !allowed && (r.status != 403 || r.code() != "forbidden"):
				t.Errorf("%s as %q (area %s): %d %s, want 403 forbidden", rt, actor, area, r.status, r.code())
			case !allowed:
				key := actor + " / " + area
				if prev, seen := refusal[key]; seen && prev != string(r.raw) {
					t.Errorf("%s as %q: the refusal differs from another route of area %s:\n%s\n%s", rt, actor, area, r.raw, prev)
				}
				refusal[key] = string(r.raw)
			}
		}
	}
	if walked < 150 {
		t.Errorf("walked %d route × actor pairs; the table looks short", walked)
	}
	// The plan is the deployment key's alone (W2).
	for _, actor := range []string{"boss", "editor"} {
		w.admin.fails(403, "forbidden", "PATCH", w.path(""), map[string]any{"plan": "free"}, "Gatehouse-Actor", actor)
	}
	w.admin.fails(403, "forbidden", "PATCH", w.path(""), map[string]any{"plan": "free"})
	w.deployment.ok(200, "PATCH", w.path(""), map[string]any{"plan": "standard"})
}

// TestX3_ReadsFollowTheSpan: a department head reads only its span, over
// HTTP: lists leave others out, addressing one is forbidden, who-can and
// explain follow.
func TestX3_ReadsFollowTheSpan(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	w.admin.ok(200, "PUT", w.path("/departments/finance"), map[string]any{"name": "Finance"})
	w.admin.ok(200, "PUT", w.path("/members/head"), map[string]any{"name": "Head", "kind": "internal",
		"department_ids": []string{"sales"}, "role_ids": []string{"employee", "head"}})
	w.admin.ok(200, "PUT", w.path("/members/fin"), map[string]any{"name": "Fin", "kind": "internal", "department_ids": []string{"finance"}})
	as := []string{"Gatehouse-Actor", "head"}
	list := w.admin.ok(200, "GET", w.path("/members"), nil, as...)
	var ids []string
	for _, it := range list.items() {
		ids = append(ids, it.(map[string]any)["user_id"].(string))
	}
	if strings.Join(ids, ",") != "head,rep" {
		t.Errorf("the head lists %v, want head and rep (sales and below)", ids)
	}
	w.admin.fails(403, "forbidden", "GET", w.path("/members/fin"), nil, as...)
	w.admin.fails(403, "forbidden", "GET", w.path("/members/fin/permissions"), nil, as...)
	w.admin.fails(403, "forbidden", "POST", w.path("/explain"), map[string]any{"user": "fin", "permission": "deals_view"}, as...)
	w.admin.ok(200, "POST", w.path("/explain"), map[string]any{"user": "rep", "permission": "deals_view"}, as...)
	who := w.admin.ok(200, "GET", w.path("/who-can?permission=crm_view"), nil, as...)
	for _, it := range who.items() {
		if u := it.(map[string]any)["user_id"]; u == "fin" || u == "boss" {
			t.Errorf("who-can as the head lists %v", u)
		}
	}
	w.admin.fails(403, "forbidden", "GET", w.path("/audit"), nil, as...)
	w.admin.ok(200, "GET", w.path("/audit?target=rep"), nil, as...)
	w.admin.fails(403, "forbidden", "GET", w.path("/audit?target=fin"), nil, as...)
	w.admin.fails(403, "forbidden", "GET", w.path("/policy"), nil, as...)
	w.admin.fails(403, "forbidden", "GET", w.path("/keys"), nil, as...)
	// Attack 1: an actor with edit rights cannot mint a key to act as
	// the host.
	w.admin.fails(403, "forbidden", "POST", w.path("/keys"), map[string]any{"scope": "admin"}, as...)
	// Attack 2: joining another department, or moving it under one's own.
	w.admin.fails(403, "privilege_escalation", "PUT", w.path("/members/head"), map[string]any{"name": "Head", "kind": "internal",
		"department_ids": []string{"sales", "finance"}}, as...)
	w.admin.fails(403, "privilege_escalation", "PUT", w.path("/departments/finance"), map[string]any{"name": "Finance", "parent_id": "sales"}, as...)
	// Within the span, within its levels: fine.
	w.admin.ok(200, "PUT", w.path("/departments/sales_west"), map[string]any{"name": "Sales West", "parent_id": "sales"}, as...)
}
