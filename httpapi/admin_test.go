package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

func TestR7_IfMatch(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	g := w.admin.ok(200, "GET", w.path("/roles/sales_rep"), nil)
	etag := g.header.Get("ETag")
	if etag != `"1"` || g.num("revision") != 1 {
		t.Fatalf("ETag %q, revision %d", etag, g.num("revision"))
	}
	edit := map[string]any{"grants": map[string]any{"contacts_view": "all"}, "apply": false}
	u := w.admin.ok(200, "PATCH", w.path("/roles/sales_rep"), edit, "If-Match", etag)
	if u.header.Get("ETag") != `"2"` || u.num("revision") != 2 || u.num("workspace_revision") <= 2 {
		t.Fatalf("edit: %s %v", u.raw, u.header)
	}
	w.admin.fails(412, "revision_conflict", "PATCH", w.path("/roles/sales_rep"), edit, "If-Match", etag)
	w.admin.fails(400, "invalid_argument", "PATCH", w.path("/roles/sales_rep"), edit, "If-Match", "yesterday")
	// R8 through PATCH set_all.
	a := w.admin.ok(200, "PATCH", w.path("/roles/sales_rep"), map[string]any{"set_all": "deny"}, "If-Match", `"2"`)
	if len(a.body["grants"].(map[string]any)) != 0 {
		t.Fatalf("deny everything left grants: %s", a.raw)
	}
	w.admin.fails(400, "invalid_argument", "PATCH", w.path("/roles/sales_rep"), map[string]any{"set_all": "maybe"})
	// R6a: revisions, one with its diff, restore.
	revs := w.admin.ok(200, "GET", w.path("/roles/sales_rep/revisions"), nil).items()
	if len(revs) != 3 {
		t.Fatalf("revisions: %v", revs)
	}
	d := w.admin.ok(200, "GET", w.path("/roles/sales_rep/revisions/2"), nil)
	if len(d.body["changes"].([]any)) == 0 {
		t.Fatalf("diff of revision 2: %s", d.raw)
	}
	w.admin.fails(404, "not_found", "GET", w.path("/roles/sales_rep/revisions/9"), nil)
	w.admin.fails(400, "invalid_argument", "GET", w.path("/roles/sales_rep/revisions/x"), nil)
	rs := w.admin.ok(200, "POST", w.path("/roles/sales_rep/revisions/1/restore"), map[string]any{"reason": "undo"})
	if rs.num("revision") != 4 {
		t.Fatalf("restore: %s", rs.raw)
	}
}

func TestR5_DeleteWithReassignThroughHTTP(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	r := w.admin.fails(409, "role_in_use", "DELETE", w.path("/roles/sales_rep"), nil)
	if !strings.Contains(string(r.raw), `"members":1`) && !strings.Contains(string(r.raw), `"member_count":1`) {
		t.Errorf("role_in_use without the member count: %s", r.raw)
	}
	w.admin.fails(409, "role_protected", "DELETE", w.path("/roles/employee"), nil)
	w.admin.ok(200, "DELETE", w.path("/roles/sales_rep?reassign_to=head"), nil)
	m := w.admin.ok(200, "GET", w.path("/members/rep"), nil)
	if roles := m.body["roles"].([]any); len(roles) != 1 || roles[0].(map[string]any)["role_id"] != "head" {
		t.Fatalf("member after reassign: %s", m.raw)
	}
	dup := w.admin.ok(201, "POST", w.path("/roles/sales_manager/duplicate"), nil)
	if dup.body["name"] != "Sales manager (Copy)" && !strings.HasSuffix(dup.body["name"].(string), "(Copy)") {
		t.Errorf("R4 duplicate name: %s", dup.raw)
	}
	w.admin.fails(409, "role_protected", "POST", w.path("/roles/head/duplicate"), map[string]any{})
}

func TestM_MembersThroughHTTP(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	// M4 via the role-member route: last role → default; default alone → last_role naming it.
	w.admin.ok(200, "DELETE", w.path("/roles/sales_rep/members/rep"), nil)
	m := w.admin.ok(200, "GET", w.path("/members/rep"), nil)
	if roles := m.body["roles"].([]any); len(roles) != 1 || roles[0].(map[string]any)["role_id"] != "employee" {
		t.Fatalf("M4 fallback: %s", m.raw)
	}
	r := w.admin.fails(409, "last_role", "DELETE", w.path("/roles/employee/members/rep"), nil)
	if !strings.Contains(r.body["error"].(map[string]any)["message"].(string), "Employee") {
		t.Errorf("M4 message does not name the default role: %s", r.raw)
	}
	w.admin.ok(200, "POST", w.path("/roles/sales_rep/members"), map[string]any{"user_ids": []string{"rep", "boss"}})
	list := w.admin.ok(200, "GET", w.path("/roles/sales_rep/members"), nil)
	if len(list.items()) != 2 {
		t.Fatalf("role members: %s", list.raw)
	}
	// M5: redundant direct grants are reported.
	g := w.admin.ok(200, "PUT", w.path("/members/rep/grants"), map[string]any{"grants": map[string]any{"contacts_view": "own", "reports_view": "all"}})
	if fmt.Sprint(g.body["redundant"]) != "[contacts_view]" {
		t.Errorf("M5 redundant: %s", g.raw)
	}
	// M6: a client cannot get an internal role.
	w.admin.fails(409, "audience_mismatch", "PUT", w.path("/members/cl"), map[string]any{"name": "C", "kind": "client", "role_ids": []string{"sales_rep"}})
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/members/rep"), map[string]any{"user_id": "other", "name": "x"})
	// Paging with cursors.
	for i := range 5 {
		w.admin.ok(200, "PUT", w.path(fmt.Sprintf("/members/p%d", i)), map[string]any{"name": "P", "department_ids": []string{"sales"}})
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		r := w.admin.ok(200, "GET", w.path("/members?department=sales&limit=2&cursor="+cursor), nil)
		for _, it := range r.items() {
			seen[it.(map[string]any)["user_id"].(string)] = true
		}
		c, ok := r.body["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = c
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged members: %v", seen)
	}
	w.admin.fails(400, "invalid_argument", "GET", w.path("/members?cursor=!!!"), nil)
	w.admin.fails(400, "invalid_argument", "GET", w.path("/members?limit=0"), nil)
}

func TestImport_LimitAndAllOrNothing(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	mk := func(n int, bad int) map[string]any {
		ms := make([]map[string]any, n)
		for i := range ms {
			ms[i] = map[string]any{"user_id": fmt.Sprintf("imp%05d", i), "name": "Imported", "email": "i@x.example", "department_ids": []string{"sales"}}
		}
		if bad >= 0 {
			ms[bad]["role_ids"] = []string{"no_such_role"}
		}
		return map[string]any{"members": ms}
	}
	w.admin.fails(400, "invalid_argument", "POST", w.path("/members/import"), mk(10_001, -1))
	w.admin.fails(404, "not_found", "POST", w.path("/members/import"), mk(100, 99))
	if r := w.admin.ok(200, "GET", w.path("/members?q=imp"), nil); len(r.items()) != 0 {
		t.Fatalf("a failed import wrote members: %d", len(r.items()))
	}
	r := w.admin.ok(200, "POST", w.path("/members/import"), mk(10_000, -1))
	if r.num("imported") != 10_000 {
		t.Fatalf("import: %s", r.raw)
	}
	c := w.check.ok(200, "POST", w.path("/check"), map[string]any{"user": "imp09999", "permission": "contacts_view", "min_revision": r.num("workspace_revision")})
	if c.body["reason"] == "not_a_member" {
		t.Fatalf("imported member unknown to decisions: %s", c.raw)
	}
}

func TestPolicyAsCodeThroughHTTP(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	exp := w.admin.ok(200, "GET", w.path("/policy"), nil)
	if ct := exp.header.Get("Content-Type"); ct != "application/yaml" || !strings.Contains(string(exp.raw), "sales_rep") {
		t.Fatalf("export %q: %s", ct, exp.raw)
	}
	before := w.admin.ok(200, "GET", w.path(""), nil).num("revision")
	imp := w.admin.ok(200, "PUT", w.path("/policy"), exp.raw, "Content-Type", "application/yaml")
	if imp.num("workspace_revision") != before {
		t.Errorf("re-importing the export moved the revision %d → %d", before, imp.num("workspace_revision"))
	}
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/policy"), "roles: [", "Content-Type", "application/yaml")
}

func TestHardening(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{}) // unknown routes on purpose: no contract
	w := newWorld(t, env, "acme")
	big := `{"user":"rep","permission":"` + strings.Repeat("x", 1<<20) + `"}`
	w.check.fails(413, "payload_too_large", "POST", w.path("/check"), big)
	cases := map[string]string{
		"malformed":     `{"user":"rep",`,
		"not an object": `[1,2]`,
		"trailing data": `{"user":"rep","permission":"leads_view"} {}`,
		"wrong type":    `{"user":5,"permission":"leads_view"}`,
		"unknown field": `{"user":"rep","permission":"leads_view","colour":"red"}`,
		"empty":         ``,
		"bad level":     `{"name":"R","grants":{"leads_view":"everything"}}`,
	}
	for name, body := range cases {
		path := w.path("/check")
		if name == "bad level" {
			path = w.path("/roles")
		}
		r := w.admin.do("POST", path, body)
		msg, _ := r.body["error"].(map[string]any)["message"].(string)
		if r.status != 400 || r.code() != "invalid_argument" || msg == "" {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	r := w.admin.do("POST", w.path("/check"), `{"user":5,"permission":"leads_view"}`)
	if !strings.Contains(string(r.raw), `"user"`) {
		t.Errorf("a type error does not name the field: %s", r.raw)
	}
	r = w.admin.do("POST", w.path("/check"), `{"user":"rep","permission":"leads_view","colour":"red"}`)
	if !strings.Contains(string(r.raw), "colour") {
		t.Errorf("an unknown field is not named: %s", r.raw)
	}
	// A route that does not exist, and a method a route does not take.
	if r := w.admin.do("GET", "/v1/nothing", nil); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}
	if r := w.admin.do("DELETE", w.path("/check"), nil); r.status != 405 {
		t.Errorf("wrong method: %d", r.status)
	}
}

func TestOperations_HealthReadyMetrics(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t), MetricsPerWorkspace: true})
	w := newWorld(t, env, "acme")
	anon := newCaller(t, env, "")
	if r := anon.ok(200, "GET", "/healthz", nil); r.body["status"] != "ok" {
		t.Errorf("healthz: %s", r.raw)
	}
	if r := anon.ok(200, "GET", "/readyz", nil); r.body["ready"] != true {
		t.Errorf("readyz: %s", r.raw)
	}
	w.check.ok(200, "POST", w.path("/check"), map[string]any{"user": "rep", "permission": "contacts_view"})
	w.check.ok(200, "POST", w.path("/check"), map[string]any{"user": "rep", "permission": "wallet_refill"})
	w.check.do("POST", w.path("/check"), `{`)
	m := string(caller{t: t, url: env.MetricsURL}.ok(200, "GET", "", nil).raw)
	for _, want := range []string{
		`gatehouse_http_requests_total{code="200",route="POST /v1/workspaces/{ws}/check"} 2`,
		`gatehouse_http_requests_total{code="400",route="POST /v1/workspaces/{ws}/check"} 1`,
		`gatehouse_http_request_duration_seconds_bucket{route="POST /v1/workspaces/{ws}/check"`,
		`gatehouse_decisions_total{result="allowed"} 1`,
		`gatehouse_decisions_total{result="denied"} 1`,
		`gatehouse_snapshot_revision{workspace="acme"}`,
		`gatehouse_usage_flushes_total{result="ok"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, w.checkKey) || strings.Contains(m, apitest.AdminKey) {
		t.Error("metrics contain a key")
	}
}

// TestX4_ReasonBounded: a reason is at most 1,000 characters, in the body
// and in the Gatehouse-Reason header alike; past it, invalid_argument and
// nothing written.
func TestX4_ReasonBounded(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	long := strings.Repeat("é", 1001)
	w.admin.fails(400, "invalid_argument", "POST", w.path("/roles"), map[string]any{"name": "A", "reason": long})
	w.admin.fails(400, "invalid_argument", "POST", w.path("/roles"), map[string]any{"name": "A"}, "Gatehouse-Reason", long)
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/members/rep/grants"), map[string]any{"grants": map[string]any{}, "reason": long})
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/members/x"), map[string]any{"name": "X"}, "Gatehouse-Reason", strings.Repeat("x", 60_000))
	w.admin.fails(404, "not_found", "GET", w.path("/roles/a"), nil)
	w.admin.fails(404, "not_found", "GET", w.path("/members/x"), nil)
	w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "A", "reason": strings.Repeat("é", 1000)})
}

// TestP1_PreviewIsPaged: an allow-all preview on a large role answers a
// bounded page plus a summary over every member (it answered 101 MB for
// 15,000 members before), and the pages together list every affected
// member once.
func TestP1_PreviewIsPaged(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	const n = 3000
	w.importSalesReps(t, n)
	// The set_all preview is what the review measured: every permission
	// at its highest level. Take the grants of an allow-all edit saved
	// without apply.
	saved := w.admin.ok(200, "PATCH", w.path("/roles/sales_rep"), map[string]any{"set_all": "allow", "apply": false, "reason": "preview test"})
	grants := saved.body["grants"]
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		path := w.path("/roles/sales_rep/preview?limit=1000")
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		p := w.admin.ok(200, "POST", path, map[string]any{"grants": grants})
		if len(p.raw) > 8<<20 { // 1,000 members × every permission of the catalog
			t.Fatalf("page %d is %d bytes", page, len(p.raw))
		}
		if p.num("affected") != n+1 || len(p.body["permissions"].([]any)) < 10 {
			t.Fatalf("summary: affected %d, %d permissions", p.num("affected"), len(p.body["permissions"].([]any)))
		}
		perm := p.body["permissions"].([]any)[0].(map[string]any)
		if perm["gaining"].(float64)+perm["losing"].(float64) < 1 {
			t.Fatalf("a permission in the summary changes for nobody: %v", perm)
		}
		items := p.body["members"].([]any)
		if len(items) > 1000 {
			t.Fatalf("page %d lists %d members, limit 1000", page, len(items))
		}
		for _, it := range items {
			u := it.(map[string]any)["user_id"].(string)
			if seen[u] {
				t.Fatalf("%s listed twice", u)
			}
			seen[u] = true
		}
		cursor = p.str("next_cursor")
		if cursor == "" {
			break
		}
		if page > 5 {
			t.Fatal("the pages never end")
		}
	}
	if len(seen) != n+1 {
		t.Fatalf("the pages list %d members, want %d", len(seen), n+1)
	}
	first := w.admin.ok(200, "POST", w.path("/roles/sales_rep/preview"), map[string]any{"grants": grants})
	if len(first.body["members"].([]any)) != 100 || first.str("next_cursor") == "" || len(first.raw) > 1<<20 {
		t.Errorf("the default page: %d members, %d bytes, next %q", len(first.body["members"].([]any)), len(first.raw), first.str("next_cursor"))
	}
	t.Logf("allow-all preview of %d members: default page %d bytes", n+1, len(first.raw))
	w.admin.fails(400, "invalid_argument", "POST", w.path("/roles/sales_rep/preview?cursor=bogus"), map[string]any{"grants": grants})
	w.admin.fails(400, "invalid_argument", "POST", w.path("/roles/sales_rep/preview?limit=1001"), map[string]any{"grants": grants})
}

// TestW1_MetricsApartFromTheAPI: the API does not serve /metrics, to a key
// or without one; the metrics listener does, and names no workspace
// unless per-workspace series are asked for (they list every tenant and
// its write activity).
func TestW1_MetricsApartFromTheAPI(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	for _, c := range []caller{newCaller(t, env, ""), w.check, w.deployment} {
		if r := c.do("GET", "/metrics", nil); r.status != 404 || strings.Contains(string(r.raw), "gatehouse_") {
			t.Errorf("the API answers /metrics: %d %.200s", r.status, r.raw)
		}
	}
	m := string(caller{t: t, url: env.MetricsURL}.ok(200, "GET", "", nil).raw)
	if strings.Contains(m, "acme") || strings.Contains(m, `workspace="`) {
		t.Errorf("metrics name a workspace without --metrics-per-workspace")
	}
	for _, want := range []string{"gatehouse_workspaces 1", "gatehouse_members 2", "gatehouse_http_requests_total"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestP1_G1_PreviewShowsConditionChanges: the preview body takes
// conditional grant values ({level, when}), and a preview that only adds a
// condition at the same level lists the member with the old and new
// condition and counts it as changing (G1), nothing written.
func TestP1_G1_PreviewShowsConditionChanges(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	const capped = "record.amount <= 10000"
	role := w.admin.ok(200, "GET", w.path("/roles/sales_rep"), nil)
	grants := map[string]any{}
	var lvl any
	for k, v := range role.body["grants"].(map[string]any) {
		if strings.HasPrefix(k, "deals_") { // the module's grants share one condition (C4 per record)
			grants[k] = map[string]any{"level": v, "when": capped}
			if k == "deals_view" {
				lvl = v
			}
			continue
		}
		grants[k] = v
	}
	if lvl == nil {
		t.Fatal("the sales template grants no deals_view")
	}
	p := w.admin.ok(200, "POST", w.path("/roles/sales_rep/preview"), map[string]any{"grants": grants})
	if p.num("affected") != 1 {
		t.Fatalf("affected %v: %s", p.body["affected"], p.raw)
	}
	var change map[string]any
	for _, m := range p.body["members"].([]any) {
		for _, c := range m.(map[string]any)["changes"].([]any) {
			if c := c.(map[string]any); c["permission"] == "deals_view" {
				change = c
			}
		}
	}
	if change == nil || change["old"] != lvl || change["new"] != lvl || change["new_when"] != capped || change["old_when"] != nil {
		t.Errorf("deals_view change %v, want %v → %v when %q", change, lvl, lvl, capped)
	}
	var counted bool
	for _, pi := range p.body["permissions"].([]any) {
		if pi := pi.(map[string]any); pi["permission"] == "deals_view" {
			counted = pi["changing"] == float64(1) && pi["gaining"] == float64(0) && pi["losing"] == float64(0)
		}
	}
	if !counted {
		t.Errorf("summary does not count deals_view as changing: %v", p.body["permissions"])
	}
	if after := w.admin.ok(200, "GET", w.path("/roles/sales_rep"), nil); string(after.raw) != string(role.raw) {
		t.Error("preview wrote")
	}
	bad := map[string]any{"deals_view": map[string]any{"level": lvl, "when": "record.amount <="}}
	w.admin.fails(422, "invalid_condition", "POST", w.path("/roles/sales_rep/preview"), map[string]any{"grants": bad})
}
