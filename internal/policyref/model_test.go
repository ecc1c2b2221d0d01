package policyref_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

const (
	none = policy.LevelNone
	own  = policy.LevelOwn
	dept = policy.LevelDepartment
	sub  = policy.LevelSubdepartments
	all  = policy.LevelAll
)

// world is a small workspace on the default catalog:
//
//	sales ── east ── nyc
//	support
func world() *policyref.Model {
	cat := policy.DefaultCatalog()
	return policyref.New(cat, policy.State{Workspace: "w", Revision: 7, Catalog: cat,
		Departments: []policy.Department{{ID: "sales"}, {ID: "east", ParentID: "sales"}, {ID: "nyc", ParentID: "east"}, {ID: "support"}},
		Roles: []policy.RoleRevision{
			{RoleID: "employee", Revision: 1, Audience: policy.Internal, Predefined: true, Grants: policy.Grants{"contacts_view": own}},
			{RoleID: "employee", Revision: 2, Audience: policy.Internal, Predefined: true, Grants: policy.Grants{"contacts_view": all}},
			{RoleID: "head", Revision: 1, Audience: policy.Internal, Predefined: true, Grants: policy.Grants{"crm_view": sub, "leads_view": none}},
			{RoleID: "portal", Revision: 1, Audience: policy.Client, Grants: policy.Grants{"crm_view": all, "invoices_view": all}},
		},
		Members: []policy.Member{
			{UserID: "old", Kind: policy.Internal, DepartmentIDs: []string{"nyc"}, Roles: []policy.RoleRef{{RoleID: "employee", Revision: 1}}},
			{UserID: "new", Kind: policy.Internal, Roles: []policy.RoleRef{{RoleID: "employee", Revision: 2}}},
			{UserID: "head", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, Roles: []policy.RoleRef{{RoleID: "head", Revision: 1}},
				Grants: policy.Grants{"leads_view": own}},
			{UserID: "client", Kind: policy.Client, Roles: []policy.RoleRef{{RoleID: "portal", Revision: 1}}},
			{UserID: "boss", Kind: policy.Internal, Owner: true},
		},
	})
}

// TestLevel pins the model's levels to DESIGN.md's rules, so that the
// differential tests compare against the rules and not against a model
// that drifted with the code.
func TestLevel(t *testing.T) {
	t.Parallel()
	m := world()
	for _, c := range []struct {
		user, perm string
		want       policy.Level
		rule       string
	}{
		{"old", "contacts_view", own, "R6: a member stays on its revision"},
		{"new", "contacts_view", all, "R6: the newer revision"},
		{"head", "deals_view", sub, "C6: a group grant reaches its modules"},
		{"head", "leads_view", own, "C6 explicit none overrides; M5 direct grants add"},
		{"head", "tasks_view", all, "R10: predefined Head sees all tasks"},
		{"head", "tasks_edit", own, "R10: relation access only"},
		{"client", "deals_view", all, "M3"},
		{"client", "invoices_view", none, "M6: internal-only modules never reach clients"},
		{"boss", "settings_roles_edit", all, "W4: owners can do everything"},
		{"stranger", "contacts_view", none, "D3"},
		{"old", "no_such_view", none, "C1: unknown permissions have no level"},
	} {
		if got := m.Level(c.user, c.perm); got != c.want {
			t.Errorf("%s: Level(%s, %s) = %s, want %s", c.rule, c.user, c.perm, got, c.want)
		}
	}
	if !m.IsMember("old") || m.IsMember("stranger") || !m.Known("leads_view") || m.Known("lead_view") {
		t.Error("IsMember or Known")
	}
}

// TestAllowed covers D1, D2 and R10 on records.
func TestAllowed(t *testing.T) {
	t.Parallel()
	m := world()
	for _, c := range []struct {
		user, perm string
		rec        *policy.Resource
		want       bool
		rule       string
	}{
		{"old", "contacts_view", nil, true, "D1"},
		{"old", "contacts_view", &policy.Resource{OwnerID: "old"}, true, "D2 own"},
		{"old", "contacts_view", &policy.Resource{OwnerID: "x", Relations: policy.Relations{Responsible: []string{"old"}}}, true, "D2 responsible"},
		{"old", "contacts_view", &policy.Resource{OwnerID: "x"}, false, "D2 own only"},
		{"head", "deals_view", &policy.Resource{OwnerID: "x", DepartmentID: "nyc"}, true, "D2 subdepartments"},
		{"head", "deals_view", &policy.Resource{OwnerID: "x", DepartmentID: "support"}, false, "D2 outside the subtree"},
		{"head", "deals_view", &policy.Resource{OwnerID: "old"}, true, "D2 the owner's departments"},
		{"head", "tasks_edit", &policy.Resource{OwnerID: "head"}, false, "R10 ignores ownership"},
		{"head", "tasks_edit", &policy.Resource{Relations: policy.Relations{Participant: []string{"head"}}}, true, "R10 participant edits"},
		{"old", "tasks_edit", &policy.Resource{Relations: policy.Relations{Observer: []string{"old"}}}, false, "R10 observer only views"},
	} {
		if got := m.Allowed(c.user, c.perm, c.rec); got != c.want {
			t.Errorf("%s: Allowed(%s, %s, %+v) = %v, want %v", c.rule, c.user, c.perm, c.rec, got, c.want)
		}
	}
}

// TestViolations: C4 pairs after inheritance, for roles and members.
func TestViolations(t *testing.T) {
	t.Parallel()
	m := world()
	if v := m.GrantViolations(policy.Grants{"crm_view": own, "crm_edit": own, "leads_edit": dept}, policy.Internal); !slices.Equal(v,
		[]string{"leads_edit=department requires leads_view=own"}) {
		t.Errorf("GrantViolations = %q", v)
	}
	if !m.Valid(policy.Grants{"crm_view": all, "leads_create": all}, policy.Internal) {
		t.Error("a valid set judged invalid")
	}
	for _, g := range []policy.Grants{{"leads_create": all}, {"leads_create": own}, {"tasks_view": all}, {"nope_view": all}} {
		if m.Valid(g, policy.Internal) {
			t.Errorf("%v judged valid", g)
		}
	}
	if m.Valid(policy.Grants{"invoices_view": all}, policy.Client) {
		t.Error("M6: an internal-only grant judged valid for a client role")
	}
	if v := m.MemberViolations("head"); len(v) != 0 {
		t.Errorf("MemberViolations(head) = %q", v)
	}
}

// TestS1_SoDHeld pins the reference's reading of an SoD rule: a group
// key covers its modules (C6), a role set is about assignments, owners
// hold nothing (W4), a client never holds an internal-only module (M6).
func TestS1_SoDHeld(t *testing.T) {
	t.Parallel()
	m := world()
	perms := [][]string{{"billing_view"}, {"crm_view", "leads_view"}}
	for _, c := range []struct {
		user  string
		sets  [][]string
		roles bool
		want  [][]string
	}{
		{"head", perms, false, [][]string{nil, {"crm_view", "leads_view"}}},
		{"client", perms, false, [][]string{nil, {"crm_view", "leads_view"}}}, // invoices_view is internal-only (M6)
		{"boss", perms, false, [][]string{nil, nil}},
		{"old", [][]string{{"employee"}, {"head"}}, true, [][]string{{"employee"}, nil}},
		{"nobody", perms, false, [][]string{nil, nil}},
	} {
		got := m.SoDHeld(c.user, c.sets, c.roles)
		if !slices.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("%s: held %v, want %v", c.user, got, c.want)
		}
		if policyref.Breaks(got) {
			t.Errorf("%s breaks a rule it holds one side of", c.user)
		}
	}
}
