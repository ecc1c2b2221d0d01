package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// TestT1_T2_T3_ExpiryThroughHTTP gives a member a role and a direct grant
// until an instant 2 s ahead through the API: the member, effective
// permissions and explain show the expiry (T3); after the instant checks
// deny without any write (T1), and the audit log shows the expiry
// committed by system (T2, X5).
func TestT1_T2_T3_ExpiryThroughHTTP(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	w.admin.fails(400, "invalid_argument", "POST", w.path("/roles/sales_manager/members"), map[string]any{"user_ids": []string{"rep"}, "expires_at": past})
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/members/rep/grants"), map[string]any{"grants": map[string]any{"invoices_view": "all"}, "expires_at": "friday"})
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/members/rep/roles"), map[string]any{"role_ids": []string{"sales_rep"}, "expires_at": map[string]any{"head": time.Now().Add(time.Hour)}})

	at := time.Now().Add(2 * time.Second).UTC().Truncate(time.Millisecond)
	w.admin.ok(200, "POST", w.path("/roles/sales_manager/members"), map[string]any{"user_ids": []string{"rep"}, "expires_at": at})
	g := w.admin.ok(200, "PUT", w.path("/members/rep/grants"), map[string]any{"grants": map[string]any{"invoices_view": "all"}, "expires_at": at})
	if ge, _ := g.body["grant_expires_at"].(map[string]any); ge["invoices_view"] == nil {
		t.Fatalf("the grant's expiry is not in the answer: %s", g.raw)
	}
	m := w.admin.ok(200, "GET", w.path("/members/rep"), nil)
	var shown bool
	for _, r := range m.body["roles"].([]any) {
		a := r.(map[string]any)
		if a["role_id"] == "sales_manager" {
			got, err := time.Parse(time.RFC3339Nano, a["expires_at"].(string))
			shown = err == nil && got.Equal(at)
		} else if a["expires_at"] != nil {
			t.Errorf("a role without expiry shows one: %v", a)
		}
	}
	if !shown {
		t.Fatalf("the member does not show the role's expiry %s: %s", at, m.raw)
	}
	ex := w.check.ok(200, "POST", w.path("/explain"), map[string]any{"user": "rep", "permission": "invoices_view"})
	if re, _ := ex.body["role_expires_at"].(map[string]any); re["sales_manager"] == nil {
		t.Errorf("explain does not show the role's expiry: %s", ex.raw)
	}
	if ge, _ := ex.body["grant_expires_at"].(map[string]any); ge["invoices_view"] == nil {
		t.Errorf("explain does not show the grant's expiry: %s", ex.raw)
	}
	p := w.admin.ok(200, "GET", w.path("/members/rep/permissions"), nil)
	if !strings.Contains(string(p.raw), `"expires_at"`) {
		t.Errorf("effective permissions do not show the expiry: %s", p.raw)
	}
	check := func() bool {
		return w.check.ok(200, "POST", w.path("/check"), map[string]any{"user": "rep", "permission": "invoices_view"}).body["allowed"].(bool)
	}
	if !check() {
		t.Fatal("access is not honoured before its instant")
	}
	// No write happens from here on: the node stops honouring it by
	// itself, no later than 1 s after the instant (T1).
	time.Sleep(time.Until(at.Add(time.Second)))
	if check() {
		t.Fatalf("a check 1 s after the instant still honours the expired grant (T1): %s", w.check.ok(200, "POST", w.path("/explain"), map[string]any{"user": "rep", "permission": "invoices_view"}).raw)
	}
	// The expiry is committed by system (T2), once.
	var entries []any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		entries = w.admin.ok(200, "GET", w.path("/audit?actor=system"), nil).items()
		if len(entries) > 0 {
			break
		}
	}
	if len(entries) != 1 {
		t.Fatalf("audit entries by system: %v, want one member.expire", entries)
	}
	e := entries[0].(map[string]any)
	if e["action"] != "member.expire" || e["target"] != "member:rep" {
		t.Errorf("audit entry %v", e)
	}
	m = w.admin.ok(200, "GET", w.path("/members/rep"), nil)
	if strings.Contains(string(m.raw), "sales_manager") || strings.Contains(string(m.raw), "invoices_view") {
		t.Errorf("the expired role or grant is still stored: %s", m.raw)
	}
}

// TestM9_DepartmentRolesThroughHTTP gives a department a role with its
// sub-departments: its members hold it, their member records, the role's
// member list, effective permissions and explain say "through department
// sales"; an unknown role or an expiry in the past writes nothing.
func TestM9_DepartmentRolesThroughHTTP(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	w.admin.fails(404, "not_found", "PUT", w.path("/departments/sales"), map[string]any{"name": "Sales", "role_ids": []string{"nope"}})
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/departments/sales"), map[string]any{"name": "Sales", "role_ids": []string{"sales_manager"},
		"expires_at": map[string]any{"sales_manager": time.Now().Add(-time.Hour)}})
	if w.check.ok(200, "POST", w.path("/check"), map[string]any{"user": "rep", "permission": "invoices_view"}).body["allowed"].(bool) {
		t.Fatal("rep may view invoices before any department role")
	}
	d := w.admin.ok(200, "PUT", w.path("/departments/sales"), map[string]any{"name": "Sales", "role_ids": []string{"hr"}, "include_subdepartments": true})
	if roles, _ := d.body["roles"].([]any); len(roles) != 1 || d.body["include_subdepartments"] != true {
		t.Fatalf("department: %s", d.raw)
	}
	// Renaming keeps the roles.
	d = w.admin.ok(200, "PUT", w.path("/departments/sales"), map[string]any{"name": "Sales team"})
	if roles, _ := d.body["roles"].([]any); len(roles) != 1 {
		t.Fatalf("a rename dropped the roles: %s", d.raw)
	}
	m := w.admin.ok(200, "GET", w.path("/members/rep"), nil)
	held, _ := m.body["department_roles"].([]any)
	if len(held) != 1 || held[0].(map[string]any)["department_id"] != "sales" || held[0].(map[string]any)["role_id"] != "hr" {
		t.Fatalf("rep (in sales_east) does not show hr through sales: %s", m.raw)
	}
	list := w.admin.ok(200, "GET", w.path("/roles/hr/members"), nil).items()
	if len(list) != 1 || list[0].(map[string]any)["user_id"] != "rep" {
		t.Errorf("hr's member list: %v, want rep (through sales)", list)
	}
	ex := w.check.ok(200, "POST", w.path("/explain"), map[string]any{"user": "rep", "permission": "settings_roles_view"})
	if rd, _ := ex.body["role_departments"].(map[string]any); rd["hr"] == nil {
		t.Errorf("explain does not name the department: %s", ex.raw)
	}
	p := w.admin.ok(200, "GET", w.path("/members/rep/permissions"), nil)
	if !strings.Contains(string(p.raw), `"through_departments":["sales"]`) {
		t.Errorf("effective permissions do not name the department: %s", p.raw)
	}
	// Leaving the department leaves the role.
	w.admin.ok(200, "PUT", w.path("/members/rep"), map[string]any{"name": "Rep", "email": "rep@x.example", "kind": "internal", "department_ids": []string{}})
	m = w.admin.ok(200, "GET", w.path("/members/rep"), nil)
	if held, _ := m.body["department_roles"].([]any); len(held) != 0 {
		t.Errorf("rep left sales and still holds %v", held)
	}
}
