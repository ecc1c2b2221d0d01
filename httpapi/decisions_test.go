package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

func TestD1_D2_CheckThroughHTTP(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	cases := []struct {
		name    string
		body    map[string]any
		allowed bool
		reason  string
	}{
		{"D1 section", map[string]any{"user": "rep", "permission": "contacts_view"}, true, "granted"},
		{"D2 own record", map[string]any{"user": "rep", "permission": "deals_edit", "resource": map[string]any{"owner_id": "rep"}}, true, ""},
		{"D2 colleague's record", map[string]any{"user": "rep", "permission": "deals_edit", "resource": map[string]any{"owner_id": "boss"}}, false, ""},
		{"D3 not a member", map[string]any{"user": "ghost", "permission": "contacts_view"}, false, "not_a_member"},
		{"W4 owner", map[string]any{"user": "boss", "permission": "settings_roles_edit"}, true, ""},
	}
	for _, tc := range cases {
		r := w.check.ok(200, "POST", w.path("/check"), tc.body)
		if r.body["allowed"] != tc.allowed || (tc.reason != "" && r.body["reason"] != tc.reason) || r.num("revision") < 1 {
			t.Errorf("%s: %s", tc.name, r.raw)
		}
	}
	r := w.check.fails(422, "unknown_permission", "POST", w.path("/check"), map[string]any{"user": "rep", "permission": "contact_view"})
	if !strings.Contains(string(r.raw), "contacts_view") {
		t.Errorf("C1 suggestion missing: %s", r.raw)
	}
	w.check.fails(400, "invalid_argument", "POST", w.path("/check"), map[string]any{"permission": "contacts_view"})
	w.check.fails(400, "invalid_argument", "POST", w.path("/check"), map[string]any{"user": "rep"})
}

func TestD4_Batch(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	checks := []map[string]any{
		{"user": "rep", "permission": "contacts_view"},
		{"user": "rep", "permission": "nope_view"},
		{"user": "ghost", "permission": "contacts_view"},
		{"user": "boss", "permission": "wallet_refill"},
	}
	r := w.check.ok(200, "POST", w.path("/check/batch"), map[string]any{"checks": checks})
	res := r.body["results"].([]any)
	if len(res) != 4 {
		t.Fatalf("results: %s", r.raw)
	}
	get := func(i int) map[string]any { return res[i].(map[string]any) }
	if get(0)["allowed"] != true || get(1)["error"].(map[string]any)["code"] != "unknown_permission" ||
		get(2)["reason"] != "not_a_member" || get(3)["allowed"] != true {
		t.Fatalf("results out of order or wrong: %s", r.raw)
	}
	big := make([]map[string]any, 1001)
	for i := range big {
		big[i] = checks[0]
	}
	w.check.fails(400, "invalid_argument", "POST", w.path("/check/batch"), map[string]any{"checks": big})
	w.check.ok(200, "POST", w.path("/check/batch"), map[string]any{"checks": big[:1000]})
}

func TestD8_MinRevision(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	wr := w.admin.ok(200, "PUT", w.path("/members/rep/roles"), map[string]any{"role_ids": []string{"employee", "sales_rep"}})
	rev := wr.num("workspace_revision")
	if rev < 2 || wr.header.Get("Gatehouse-Revision") != fmt.Sprint(rev) {
		t.Fatalf("write revision %d, header %q", rev, wr.header.Get("Gatehouse-Revision"))
	}
	r := w.check.ok(200, "POST", w.path("/check"), map[string]any{"user": "rep", "permission": "contacts_view", "min_revision": rev})
	if r.num("revision") < rev {
		t.Fatalf("decided at %d, before %d", r.num("revision"), rev)
	}
	start := time.Now()
	r = w.check.fails(503, "revision_unavailable", "POST", w.path("/check"), map[string]any{"user": "rep", "permission": "contacts_view", "min_revision": rev + 5})
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("waited %v for an unreachable revision; D8 says about 1 s", d)
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
}

func TestA2_Sessions(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	other := newWorld(t, env, "other")
	s := w.check.ok(201, "POST", w.path("/sessions"), map[string]any{"user": "rep", "ttl_seconds": 600})
	token := s.body["token"].(string)
	if s.num("epoch") < 1 || s.body["expires_at"] == nil {
		t.Fatalf("session: %s", s.raw)
	}
	check := map[string]any{"session": token, "permission": "contacts_view"}
	if r := w.check.ok(200, "POST", w.path("/check"), check); r.body["allowed"] != true {
		t.Fatalf("check with a fresh session: %s", r.raw)
	}
	w.check.fails(404, "not_found", "POST", w.path("/sessions"), map[string]any{"user": "ghost"})
	w.check.fails(400, "invalid_argument", "POST", w.path("/sessions"), map[string]any{"user": "rep", "ttl_seconds": 999999})
	// Another workspace's session is not a session here.
	os := other.check.ok(201, "POST", other.path("/sessions"), map[string]any{"user": "rep"}).body["token"].(string)
	w.check.fails(401, "unauthenticated", "POST", w.path("/check"), map[string]any{"session": os, "permission": "contacts_view"})
	// A forged token.
	forged := token[:len(token)-5] + strings.Repeat("A", 5)
	w.check.fails(401, "unauthenticated", "POST", w.path("/check"), map[string]any{"session": forged, "permission": "contacts_view"})
	w.check.fails(401, "unauthenticated", "POST", w.path("/check"), map[string]any{"session": "gh1.bad", "permission": "contacts_view"})
	// A1: a role change moves the epoch; the old session must re-authenticate.
	wr := w.admin.ok(200, "PUT", w.path("/members/rep/roles"), map[string]any{"role_ids": []string{"employee"}})
	check["min_revision"] = wr.num("workspace_revision")
	w.check.fails(401, "reauthentication_required", "POST", w.path("/check"), check)
	w.check.fails(401, "reauthentication_required", "POST", w.path("/filter"), check)
	fresh := w.check.ok(201, "POST", w.path("/sessions"), map[string]any{"user": "rep"}).body["token"].(string)
	w.check.ok(200, "POST", w.path("/check"), map[string]any{"session": fresh, "permission": "contacts_view"})
	// A session of a removed member fails too.
	del := w.admin.ok(200, "DELETE", w.path("/members/rep"), nil)
	w.check.fails(401, "reauthentication_required", "POST", w.path("/check"), map[string]any{"session": fresh, "permission": "contacts_view", "min_revision": del.num("workspace_revision")})
	// A1: the member added again under the same id starts above every
	// epoch the removed one reached, so its sessions stay dead.
	again := w.admin.ok(200, "PUT", w.path("/members/rep"), map[string]any{"name": "Rep again"})
	if again.num("epoch") <= s.num("epoch") {
		t.Errorf("re-added member's epoch %d, the removed one's session had %d", again.num("epoch"), s.num("epoch"))
	}
	for _, tok := range []string{token, fresh} {
		w.check.fails(401, "reauthentication_required", "POST", w.path("/check"),
			map[string]any{"session": tok, "permission": "contacts_view", "min_revision": again.num("workspace_revision")})
	}
}

func TestD5_D6_D7_FilterExplainWhoCan(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	f := w.check.ok(200, "POST", w.path("/filter"), map[string]any{"user": "boss", "permission": "deals_view"})
	if f.body["kind"] != "all" {
		t.Errorf("owner's filter: %s", f.raw)
	}
	f = w.check.ok(200, "POST", w.path("/filter"), map[string]any{"user": "rep", "permission": "wallet_refill"})
	if f.body["kind"] != "none" {
		t.Errorf("filter without grant: %s", f.raw)
	}
	e := w.check.ok(200, "POST", w.path("/explain"), map[string]any{"user": "rep", "permission": "contacts_view"})
	if e.body["member"] != true || e.body["decided_by"] == "" || len(e.body["roles"].([]any)) == 0 {
		t.Errorf("explain: %s", e.raw)
	}
	// D3: only the deployment key learns where a stranger is a member.
	other := newWorld(t, env, "other")
	other.admin.ok(200, "PUT", other.path("/members/wanderer"), map[string]any{"name": "W"})
	e = w.check.ok(200, "POST", w.path("/explain"), map[string]any{"user": "wanderer", "permission": "contacts_view"})
	if _, ok := e.body["member_of"]; ok {
		t.Errorf("a workspace key learns about other workspaces: %s", e.raw)
	}
	e = w.deployment.ok(200, "POST", w.path("/explain"), map[string]any{"user": "wanderer", "permission": "contacts_view"})
	if m, _ := e.body["member_of"].([]any); len(m) != 1 || m[0] != "other" {
		t.Errorf("D3 member_of: %s", e.raw)
	}
	wc := w.check.ok(200, "GET", w.path("/who-can?permission=contacts_view&limit=1"), nil)
	if len(wc.items()) != 1 || wc.body["next_cursor"] == nil {
		t.Fatalf("who-can page 1: %s", wc.raw)
	}
	wc2 := w.check.ok(200, "GET", w.path("/who-can?permission=contacts_view&limit=1&cursor="+wc.body["next_cursor"].(string)), nil)
	if len(wc2.items()) != 1 || wc2.items()[0].(map[string]any)["user_id"] == wc.items()[0].(map[string]any)["user_id"] {
		t.Fatalf("who-can page 2: %s", wc2.raw)
	}
	w.check.fails(400, "invalid_argument", "GET", w.path("/who-can?permission=contacts_view&cursor=junk"), nil)
	w.check.fails(400, "invalid_argument", "GET", w.path("/who-can?permission=contacts_view&level=most"), nil)
	w.check.fails(400, "invalid_argument", "GET", w.path("/who-can?permission=contacts_view&cursor="+wc.body["next_cursor"].(string)[:4]), nil)
	p := w.admin.ok(200, "GET", w.path("/members/rep/permissions"), nil)
	perms := p.body["permissions"].([]any)
	if len(perms) == 0 || len(perms[0].(map[string]any)["sources"].([]any)) == 0 {
		t.Errorf("member permissions with sources: %s", p.raw)
	}
}

// TestA2_SessionTTLBounded: a ttl_seconds whose nanoseconds overflow
// int64 (9223372037 s) once wrapped into a negative lifetime and signed a
// token that expired in 1734; every out-of-range ttl is invalid_argument.
func TestA2_SessionTTLBounded(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	for _, ttl := range []int64{-1, 9223372037, 9223372036854775807, 1 << 40} {
		w.check.fails(400, "invalid_argument", "POST", w.path("/sessions"), map[string]any{"user": "rep", "ttl_seconds": ttl})
	}
	s := w.check.ok(201, "POST", w.path("/sessions"), map[string]any{"user": "rep", "ttl_seconds": 60})
	exp, err := time.Parse(time.RFC3339, s.str("expires_at"))
	if err != nil || time.Until(exp) < 30*time.Second || time.Until(exp) > 2*time.Minute {
		t.Fatalf("a 60 s session expires at %q (%v)", s.str("expires_at"), err)
	}
}
