package policyref_test

import (
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestM9_T1_ReferenceHeldRoles: the reference gives department roles to
// the members they reach, never across audiences (M6), and drops what has
// expired (T1).
func TestM9_T1_ReferenceHeldRoles(t *testing.T) {
	cat := policy.DefaultCatalog()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := policy.State{Workspace: "w", Revision: 1, Catalog: cat,
		Roles: []policy.RoleRevision{
			{RoleID: "sales", Revision: 1, Audience: policy.Internal, Grants: policy.Grants{"deals_view": policy.LevelAll}},
			{RoleID: "temp", Revision: 1, Audience: policy.Internal, Grants: policy.Grants{"leads_view": policy.LevelAll}},
		},
		Departments: []policy.Department{{ID: "s", Name: "S"}, {ID: "e", Name: "E", ParentID: "s"}},
		Members: []policy.Member{
			{UserID: "top", Kind: policy.Internal, DepartmentIDs: []string{"s"}},
			{UserID: "low", Kind: policy.Internal, DepartmentIDs: []string{"e"}, Roles: []policy.RoleRef{{RoleID: "temp", Revision: 1}},
				Grants: policy.Grants{"contacts_view": policy.LevelAll}},
			{UserID: "cli", Kind: policy.Client, DepartmentIDs: []string{"s"}},
		}}
	acc := policyref.Access{Now: now,
		DeptRoles:   []policyref.DeptRole{{Department: "s", Role: policy.RoleRef{RoleID: "sales", Revision: 1}}},
		RoleExpiry:  map[string]map[string]time.Time{"low": {"temp": now}},
		GrantExpiry: map[string]map[string]time.Time{"low": {"contacts_view": now.Add(time.Second)}}}
	for _, tc := range []struct {
		name       string
		includeSub bool
		user, perm string
		want       policy.Level
	}{
		{"in the department", false, "top", "deals_view", policy.LevelAll},
		{"below, without sub-departments", false, "low", "deals_view", policy.LevelNone},
		{"below, with sub-departments", true, "low", "deals_view", policy.LevelAll},
		{"a client never gets an internal role (M6)", true, "cli", "deals_view", policy.LevelNone},
		{"expired at its instant (T1)", false, "low", "leads_view", policy.LevelNone},
		{"a grant before its instant", false, "low", "contacts_view", policy.LevelAll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := acc
			a.DeptRoles = []policyref.DeptRole{{Department: "s", Role: policy.RoleRef{RoleID: "sales", Revision: 1}, IncludeSub: tc.includeSub}}
			if got := policyref.NewWith(cat, st, a).Level(tc.user, tc.perm); got != tc.want {
				t.Errorf("%s %s = %s, want %s", tc.user, tc.perm, got, tc.want)
			}
		})
	}
}
