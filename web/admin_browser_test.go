package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// TestConsole_WorkspacesSettingsKeys: the deployment admin creates a
// workspace from the picker, sees W3's consequences before changing plan,
// creates a workspace admin key (shown once) and signs in with it.
func TestConsole_WorkspacesSettingsKeys(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.fill("#ws-id", "initech")
	b.fill("#ws-name", "Initech")
	b.fill("#ws-plan", "free")
	b.submit(`form[action="/workspaces"] button[type=submit]`)
	b.waitText(".flash.ok", "Workspace Initech created")
	// W2: the free plan has no custom roles, and says so before a refusal.
	b.waitText("#plan-limit", "only its predefined roles")
	if !eval[bool](b, `document.querySelector('#new-role button[type=submit]').disabled`) {
		t.Fatal("W2: creating a role on the free plan must be disabled")
	}
	b.open("/w/initech/settings")
	b.waitText(".plans", "Adds the predefined roles Head, Head of sales, Sales manager, HR")
	b.shot("settings-plans")
	b.click(`input[name=plan][value=standard]`)
	b.submit(`form[action="/w/initech/settings"] button[type=submit]`)
	b.waitText(".flash.ok", "Plan changed to standard. No role or assignment was deleted.")
	roles, _ := w.Admin.Roles(context.Background(), "initech", "", "")
	if len(roles) != 6 { // W3: the upgrade adds the missing predefined roles; Manager stays
		t.Fatalf("after the upgrade: %d roles", len(roles))
	}

	// X2: an admin key, shown once, signs in to its workspace only.
	b.fill("#key-name", "ops")
	b.fill("#key-scope", "admin")
	b.submit(`form[action="/w/initech/keys"] button[type=submit]`)
	key := eval[string](b, `document.getElementById("new-key").value`)
	if !strings.HasPrefix(key, "ghk_") {
		t.Fatalf("new key = %q", key)
	}
	b.submit(`form[action="/signout"] button`)
	b.signIn(key)
	b.waitText("main h1", "Roles")
	if loc := eval[string](b, "location.pathname"); loc != "/w/initech/roles" {
		t.Fatalf("a workspace key lands on %s", loc)
	}
	if eval[bool](b, `!!document.querySelector('a[href="/workspaces"]')`) {
		t.Fatal("a workspace key must not see the workspace picker")
	}
}

// TestConsole_DepartmentsTree: add, rename, move and delete departments.
func TestConsole_DepartmentsTree(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/departments")
	b.fill("#d-id", "apac")
	b.fill("#d-name", "Sales APAC")
	b.fill("#d-parent", "sales")
	b.submit(`form[action="/w/acme/departments"] button.primary`)
	b.waitText(`li[data-dept="sales"] ul`, "Sales APAC")
	// Rename and move EMEA to the top level.
	b.click(`li[data-dept="emea"] > .tree-row summary`)
	b.fill("#rn-emea", "Europe")
	b.fill("#mv-emea", "")
	b.submit(`li[data-dept="emea"] form.inline-form button`)
	b.waitText(".flash.ok", "Department Europe saved")
	ds, _ := w.Admin.Departments(context.Background(), "acme")
	for _, d := range ds {
		if d.ID == "emea" && (d.Name != "Europe" || d.ParentID != "") {
			t.Fatalf("emea = %+v", d)
		}
	}
	b.shot("departments-tree")
	b.click(`li[data-dept="apac"] > .tree-row summary`)
	b.submit(`li[data-dept="apac"] form[action$="/delete"] button`)
	b.waitText(".flash.ok", "Department apac deleted")
	if eval[bool](b, `!!document.querySelector('li[data-dept="apac"]')`) {
		t.Fatal("apac still shown")
	}
}

// TestConsole_D6_Explain: the explain tool traces a denied record check.
func TestConsole_D6_Explain(t *testing.T) {
	w := newWorld(t)
	if _, _, err := w.Admin.UpsertMember(context.Background(), "acme", admin.Write{}, admin.MemberInput{UserID: "dee", Name: "Dee", DepartmentIDs: []string{"emea"}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/explain")
	b.fill("#x-user", "bob")
	b.fill("#x-perm", "deals_edit")
	b.fill("#x-owner", "cy")
	b.submit(`#explain-form button[type=submit]`)
	got := b.waitText("#explanation", "Denied")
	if !strings.Contains(got, "Sales manager") || !strings.Contains(got, "Scope against the record") {
		t.Fatalf("explanation lacks the role trace or the scope steps: %q", got)
	}
	// deals_view is department-wide for Sales manager; dee is in bob's
	// department.
	b.fill("#x-perm", "deals_view")
	b.fill("#x-owner", "dee")
	b.submit(`#explain-form button[type=submit]`)
	b.waitText("#explanation", "Allowed")
	b.fill("#x-perm", "deal_edit")
	b.submit(`#explain-form button[type=submit]`)
	b.waitText(".flash.error", "deals_edit") // C1: a suggestion, not a silent deny
}
