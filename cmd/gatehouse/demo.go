package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/node"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// demoWorkspace is the id of the workspace --demo seeds.
const demoWorkspace = "demo"

// seedDemo creates a small, realistic workspace once: an org tree, roles
// from the templates (R9), members across departments, an owner, a direct
// grant. A newcomer can click around and call the API at once. A second
// start finds it and leaves it alone.
func seedDemo(ctx context.Context, n *node.Node, stdout io.Writer) error {
	if _, err := n.Admin.Workspace(ctx, demoWorkspace); err == nil {
		fmt.Fprintf(stdout, "demo workspace %q is already there\n", demoWorkspace)
		return nil
	}
	svc := n.Admin
	if _, err := svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: demoWorkspace, Name: "Acme Demo", Plan: admin.PlanProfessional}); err != nil {
		return err
	}
	w := admin.Write{Reason: "demo seed"}
	for _, d := range []admin.Department{
		{ID: "sales", Name: "Sales"},
		{ID: "sales_east", Name: "Sales East", ParentID: "sales"},
		{ID: "sales_west", Name: "Sales West", ParentID: "sales"},
		{ID: "support", Name: "Customer Support"},
		{ID: "finance", Name: "Finance"},
	} {
		if _, _, err := svc.PutDepartment(ctx, demoWorkspace, w, d); err != nil {
			return err
		}
	}
	roles := map[string]string{}
	for _, t := range []struct {
		template, name string
		grants         policy.Grants
	}{
		{"sales", "Sales rep", policy.Grants{"deals_view": policy.LevelDepartment, "deals_create": policy.LevelAll, "deals_edit": policy.LevelOwn,
			"leads_view": policy.LevelSubdepartments, "leads_edit": policy.LevelOwn}},
		{"support", "Support agent", nil}, {"billing", "Billing clerk", nil},
		{"analyst", "Analyst", nil}, {"readonly_client", "Client portal", nil},
	} {
		r, _, err := svc.CreateRole(ctx, demoWorkspace, w, admin.RoleInput{Name: t.name, Template: t.template, Grants: t.grants})
		if err != nil {
			return fmt.Errorf("role %s: %w", t.name, err)
		}
		roles[t.template] = r.ID
	}
	yes := true
	members := []admin.MemberInput{
		{UserID: "alice", Name: "Alice Owner", Email: "alice@acme.example", Owner: &yes},
		{UserID: "hank", Name: "Hank Head", Email: "hank@acme.example", DepartmentIDs: []string{"sales"}, RoleIDs: []string{admin.RoleHead}},
		{UserID: "sam", Name: "Sam Sales Head", Email: "sam@acme.example", DepartmentIDs: []string{"sales"}, RoleIDs: []string{admin.RoleSalesHead}},
		{UserID: "erin", Name: "Erin East", Email: "erin@acme.example", DepartmentIDs: []string{"sales_east"}, RoleIDs: []string{roles["sales"]}},
		{UserID: "ed", Name: "Ed East", Email: "ed@acme.example", DepartmentIDs: []string{"sales_east"}, RoleIDs: []string{roles["sales"]}},
		{UserID: "wendy", Name: "Wendy West", Email: "wendy@acme.example", DepartmentIDs: []string{"sales_west"}, RoleIDs: []string{roles["sales"], admin.RoleSalesManager}},
		{UserID: "will", Name: "Will West", Email: "will@acme.example", DepartmentIDs: []string{"sales_west"}, RoleIDs: []string{roles["sales"]}},
		{UserID: "sue", Name: "Sue Support", Email: "sue@acme.example", DepartmentIDs: []string{"support"}, RoleIDs: []string{roles["support"]}},
		{UserID: "sid", Name: "Sid Support", Email: "sid@acme.example", DepartmentIDs: []string{"support"}, RoleIDs: []string{roles["support"]}},
		{UserID: "fay", Name: "Fay Finance", Email: "fay@acme.example", DepartmentIDs: []string{"finance"}, RoleIDs: []string{roles["billing"]}},
		{UserID: "ann", Name: "Ann Analyst", Email: "ann@acme.example", DepartmentIDs: []string{"finance"}, RoleIDs: []string{roles["analyst"]}},
		{UserID: "hr1", Name: "Holly HR", Email: "holly@acme.example", RoleIDs: []string{admin.RoleHR}},
		{UserID: "newbie", Name: "Nina New", Email: "nina@acme.example", DepartmentIDs: []string{"support"}},
		{UserID: "client1", Name: "Carl Client", Email: "carl@client.example", Kind: policy.Client, RoleIDs: []string{roles["readonly_client"]}},
	}
	if _, err := svc.ImportMembers(ctx, demoWorkspace, w, members); err != nil {
		return err
	}
	if _, _, _, err := svc.SetDirectGrants(ctx, demoWorkspace, w, "erin", policy.Grants{"reports_view": policy.LevelAll}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo workspace %q seeded: %d members, roles from the templates\n", demoWorkspace, len(members))
	return nil
}
