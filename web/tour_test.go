package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// world is a running server with a seeded workspace "acme" (professional
// plan): two departments and three members.
type world struct {
	*apitest.Env
	t *testing.T
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return seedWorld(t, apitest.Start(t, apitest.Options{}))
}

// seedWorld seeds workspace acme on a running node.
func seedWorld(t *testing.T, env *apitest.Env) *world {
	t.Helper()
	ctx := context.Background()
	a := env.Admin
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "acme", Name: "Acme Corp", Plan: admin.PlanProfessional})
	must(err)
	_, _, err = a.PutDepartment(ctx, "acme", admin.Write{}, admin.Department{ID: "sales", Name: "Sales"})
	must(err)
	_, _, err = a.PutDepartment(ctx, "acme", admin.Write{}, admin.Department{ID: "emea", Name: "Sales EMEA", ParentID: "sales"})
	must(err)
	for _, m := range []admin.MemberInput{
		{UserID: "ann", Name: "Ann Lee", Email: "ann@acme.test", DepartmentIDs: []string{"sales"}},
		{UserID: "bob", Name: "Bob Kim", Email: "bob@acme.test", DepartmentIDs: []string{"emea"}, RoleIDs: []string{admin.RoleSalesManager}},
		{UserID: "cy", Name: "Cy Dorn", Email: "cy@acme.test", RoleIDs: []string{admin.RoleHead}},
	} {
		_, _, err := a.UpsertMember(ctx, "acme", admin.Write{}, m)
		must(err)
	}
	return &world{Env: env, t: t}
}

// check asks the decision API, as a host platform would.
func (w *world) check(user, permission string) policy.Decision {
	w.t.Helper()
	body, _ := json.Marshal(map[string]string{"user": user, "permission": permission})
	req, _ := http.NewRequest("POST", w.URL+"/v1/workspaces/acme/check", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apitest.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var d policy.Decision
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&d) != nil {
		w.t.Fatalf("check %s %s: status %d", user, permission, resp.StatusCode)
	}
	return d
}

func (b *browser) signIn(key string) {
	b.t.Helper()
	b.open("/")
	b.fill("#key", key)
	b.submit(`form[action="/signin"] button[type=submit]`)
}

// TestConsole_Tour signs in with the deployment key and opens every main
// page, saving a screenshot of each.
func TestConsole_Tour(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.open("/")
	b.shot("signin")
	b.signIn(apitest.AdminKey)
	b.waitText("h1", "Workspaces")
	b.shot("workspaces")
	for _, p := range []struct{ path, heading, name string }{
		{"/w/acme/roles", "Roles", "roles"},
		{"/w/acme/roles/sales_manager", "Sales manager", "role-editor"},
		{"/w/acme/members", "Members", "members"},
		{"/w/acme/members/bob", "Bob Kim", "member"},
		{"/w/acme/departments", "Departments", "departments"},
		{"/w/acme/audit", "Audit log", "audit"},
		{"/w/acme/usage", "Usage", "usage"},
		{"/w/acme/explain?user=bob&permission=deals_edit&owner_id=ann", "Explain", "explain"},
		{"/w/acme/settings", "Workspace settings", "settings"},
	} {
		b.open(p.path)
		b.waitText("main h1", p.heading)
		b.shot(p.name)
	}
	// U1: nothing was checked yet, so every grant is unused, role by role.
	b.open("/w/acme/usage?days=7")
	b.waitText("#unused", "Sales manager")
}
