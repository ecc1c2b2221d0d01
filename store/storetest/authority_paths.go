package storetest

import (
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// The tests of this file each close a path found by a review of the
// delegated administration (2026-12-05): writes that a limited
// administrator could make although they widen access or touch what lies
// outside its authority, which the level and span checks did not see.

// refused asserts that err is a refusal with code and that nothing was
// committed since revision rev.
func (e *env) refused(t *testing.T, err error, code policy.Code, rev int64) {
	t.Helper()
	wantCode(t, err, code)
	if got := e.revision("w"); got != rev {
		t.Errorf("a refused write committed: revision %d, was %d", got, rev)
	}
}

// testX3OwnerRemoval: removing an owner is a change of ownership, which is
// the owners' alone (X3). ra administers everyone (settings_roles_edit at
// all, a span that holds the owner too) yet may not remove an owner; an
// owner may.
func testX3OwnerRemoval(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	e.member("w", admin.MemberInput{UserID: "boss2", Name: "Second owner", Owner: ptr(true)})
	rev := e.revision("w")
	_, err := e.svc.RemoveMember(e.ctx, "w", as("ra"), "boss")
	e.refused(t, err, policy.CodeForbidden, rev)
	if _, err := e.svc.Member(e.ctx, "w", admin.Actor{}, "boss"); err != nil {
		t.Fatalf("the owner is gone after a refused removal: %v", err)
	}
	_, err = e.svc.RemoveMember(e.ctx, "w", as("ra"), "wes")
	must(t, err) // members who own nothing stay ra's to remove
	_, err = e.svc.RemoveMember(e.ctx, "w", as("boss"), "boss2")
	must(t, err)
}

// testX3aDepartmentMove: a move changes the tree where the department
// leaves and where it lands (X3a.2). An administrator's span is measured
// from its own departments, which stay in it wherever they go; so it may
// move departments within its span, but not its own department: that
// would take it out of its supervisor's span or into another branch.
func testX3aDepartmentMove(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	for _, d := range []admin.Department{{ID: "east_support", Name: "East support", ParentID: "east"}} {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, d)
		must(t, err)
	}
	local := e.role("w", "Team admin", policy.Internal, policy.Grants{"settings_roles_view": dept, "settings_roles_edit": dept})
	e.member("w", admin.MemberInput{UserID: "sal", Name: "Sal", DepartmentIDs: []string{"east_sales"}, RoleIDs: []string{local.ID}})

	// Within hana's span (east and below), a move is hers to make.
	_, _, err := e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "east_support", Name: "East support", ParentID: "east_sales"})
	must(t, err)
	_, _, err = e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "east_support", Name: "East support", ParentID: "east"})
	must(t, err)
	// sal may rename its own department: a rename moves nothing.
	_, _, err = e.svc.PutDepartment(e.ctx, "w", as("sal"), admin.Department{ID: "east_sales", Name: "Sales (east)", ParentID: "east"})
	must(t, err)
	for _, c := range []struct {
		name, actor string
		d           admin.Department
	}{
		{"own department under another branch", "hana", admin.Department{ID: "east", Name: "East", ParentID: "west"}},
		{"own department to the top", "sal", admin.Department{ID: "east_sales", Name: "Sales (east)"}},
		{"own department out of its parent", "sal", admin.Department{ID: "east_sales", Name: "Sales (east)", ParentID: "finance"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rev := e.revision("w")
			_, _, err := e.svc.PutDepartment(e.ctx, "w", as(c.actor), c.d)
			e.refused(t, err, policy.CodePrivilegeEscalation, rev)
		})
	}
	// hana still administers ed, in east_sales under east.
	if _, err := e.svc.Member(e.ctx, "w", admin.Actor{UserID: "hana"}, "ed"); err != nil {
		t.Errorf("hana lost sight of ed: %v", err)
	}
	// An administrator at all moves any department.
	_, _, err = e.svc.PutDepartment(e.ctx, "w", as("ra"), admin.Department{ID: "east_sales", Name: "Sales (east)", ParentID: "finance"})
	must(t, err)
}

// testX3aActionMappings: an action alias or a gateway route decides which
// permission a host's action stands for (Z2). Re-pointing one changes no
// member's levels but hands the action to every holder of the new
// permission, so a limited administrator may change a mapping only between
// permissions it holds at all (X3a.1).
func testX3aActionMappings(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	viewer := e.role("w", "Invoice viewer", policy.Internal, policy.Grants{"invoices_view": all})
	_, err := e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, viewer.ID, []string{"ra"})
	must(t, err)
	_, _, err = e.svc.SetActionAliases(e.ctx, "w", admin.Write{}, map[string]string{"can_delete_invoice": "invoices_delete"})
	must(t, err)
	route := policy.GatewayRoute{Method: "DELETE", Path: "/invoices/*", Permission: "invoices_delete"}
	_, _, err = e.svc.SetGatewayRoutes(e.ctx, "w", admin.Write{}, []policy.GatewayRoute{route})
	must(t, err)

	weak := route
	weak.Permission = "invoices_view"
	for name, write := range map[string]func() error{
		"alias re-pointed at a permission held": func() error {
			return third(e.svc.SetActionAliases(e.ctx, "w", as("ra"), map[string]string{"can_delete_invoice": "invoices_view"}))
		},
		"alias removed": func() error {
			return third(e.svc.SetActionAliases(e.ctx, "w", as("ra"), map[string]string{}))
		},
		"route re-pointed": func() error {
			return third(e.svc.SetGatewayRoutes(e.ctx, "w", as("ra"), []policy.GatewayRoute{weak}))
		},
		"route removed": func() error {
			return third(e.svc.SetGatewayRoutes(e.ctx, "w", as("ra"), nil))
		},
		"route re-pointed through a policy import": func() error {
			out, err := e.svc.ExportPolicy(e.ctx, "w")
			must(t, err)
			f, err := admin.ParsePolicy(out)
			must(t, err)
			f.GatewayRoutes = &[]admin.PolicyRoute{{Method: weak.Method, Path: weak.Path, Permission: weak.Permission}}
			return second(e.svc.ImportPolicy(e.ctx, "w", as("ra"), f.Marshal()))
		},
	} {
		t.Run(name, func(t *testing.T) {
			e.refused(t, write(), policy.CodePrivilegeEscalation, e.revision("w"))
		})
	}
	// Between permissions ra holds at all, mappings are ra's to make.
	_, _, err = e.svc.SetActionAliases(e.ctx, "w", as("ra"), map[string]string{"can_delete_invoice": "invoices_delete", "can_read_invoice": "invoices_view"})
	must(t, err)
	read := policy.GatewayRoute{Method: "GET", Path: "/invoices/*", Permission: "can_read_invoice"}
	_, _, err = e.svc.SetGatewayRoutes(e.ctx, "w", as("ra"), []policy.GatewayRoute{route, read})
	must(t, err)
	// The host may re-point anything.
	_, _, err = e.svc.SetGatewayRoutes(e.ctx, "w", admin.Write{}, []policy.GatewayRoute{weak})
	must(t, err)
}

// testX3aConditionLifted: a conditional grant counts at its level (G1), so
// lifting or changing its condition leaves the level where it was while
// what the grant reaches widens (X3a.1). Above the actor's own level that
// is refused on every path: a role edit, an apply of a revision an owner
// saved, a direct grant. Adding a condition narrows, and a grant brought
// down to the actor's own level may lose its condition.
func testX3aConditionLifted(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	small := policy.Conditions{"deals_view": "record.amount <= 100"}
	// The host's role: every deal, but small ones only. ra holds
	// deals_view at department.
	r, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{Reason: "test"}, admin.RoleInput{Name: "Small deals", Audience: policy.Internal,
		Grants: policy.Grants{"deals_view": all}, When: small})
	must(t, err)
	_, err = e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, r.ID, []string{"ed"})
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsWhen(e.ctx, "w", admin.Write{}, "fin", policy.Grants{"deals_view": all}, small)
	must(t, err)

	for name, write := range map[string]func() error{
		"role edit lifts the condition": func() error {
			return third(e.svc.UpdateRole(e.ctx, "w", as("ra"), r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}}))
		},
		"role edit widens the condition": func() error {
			return third(e.svc.UpdateRole(e.ctx, "w", as("ra"), r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all},
				When: policy.Conditions{"deals_view": "record.amount <= 100000000"}}))
		},
		"saved, not applied, lifting it": func() error {
			return third(e.svc.UpdateRole(e.ctx, "w", as("ra"), r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: ptr(false)}))
		},
		"direct grant loses its condition": func() error {
			return fourth(e.svc.SetDirectGrantsWhen(e.ctx, "w", as("ra"), "fin", policy.Grants{"deals_view": all}, nil))
		},
	} {
		t.Run(name, func(t *testing.T) {
			e.refused(t, write(), policy.CodePrivilegeEscalation, e.revision("w"))
		})
	}
	// An owner saves the lifted revision without applying it; ra may not
	// apply it, an owner may.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", as("boss"), r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: ptr(false)})
	must(t, err)
	t.Run("apply of an owner's saved revision", func(t *testing.T) {
		rev := e.revision("w")
		_, _, err := e.svc.UpdateRole(e.ctx, "w", as("ra"), r.ID, admin.RoleUpdate{Apply: ptr(true)})
		e.refused(t, err, policy.CodePrivilegeEscalation, rev)
	})
	_, _, err = e.svc.UpdateRole(e.ctx, "w", as("boss"), r.ID, admin.RoleUpdate{Apply: ptr(true)})
	must(t, err)

	// Narrowing passes: a condition added to the unconditional role.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", as("ra"), r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all},
		When: policy.Conditions{"deals_view": "record.amount <= 5"}})
	must(t, err)
	// Down to ra's own level, the condition may go.
	m, _, _, err := e.svc.SetDirectGrantsWhen(e.ctx, "w", as("ra"), "fin", policy.Grants{"deals_view": dept}, nil)
	must(t, err)
	if m.Grants["deals_view"] != dept || len(m.When) != 0 {
		t.Errorf("fin's direct grants after ra's edit: %v when %v", m.Grants, m.When)
	}
	if got := e.getMember("w", "ed").Roles; !slices.ContainsFunc(got, func(a admin.Assignment) bool { return a.RoleID == r.ID }) {
		t.Errorf("ed lost the role: %v", got)
	}
}
