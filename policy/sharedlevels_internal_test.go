package policy

import "testing"

// TestW1_SharedRoleLevelsStayPerWorkspace: two workspaces compiled with
// the same roles share one role-level array (issue 17: a node holds
// 100,000 workspaces); a new role revision added to one (Update) changes
// neither the other's array nor its decisions.
func TestW1_SharedRoleLevelsStayPerWorkspace(t *testing.T) {
	state := func(ws string) State {
		return State{Workspace: ws, Revision: 1, Catalog: DefaultCatalog(),
			Roles:   []RoleRevision{{RoleID: "rep", Revision: 1, Audience: Internal, Grants: Grants{"deals_view": LevelOwn}}},
			Members: []Member{{UserID: "u", Kind: Internal, Roles: []RoleRef{{RoleID: "rep", Revision: 1}}}}}
	}
	a, err := Compile(state("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile(state("b"))
	if err != nil {
		t.Fatal(err)
	}
	if &a.roleLevels[0] != &b.roleLevels[0] {
		t.Error("identical roles compiled into two arrays")
	}
	before := append([]Level(nil), b.roleLevels...)
	a2, err := a.Update(Delta{Revision: 2,
		Roles:   []RoleRevision{{RoleID: "rep", Revision: 2, Audience: Internal, Grants: Grants{"deals_view": LevelAll}}},
		Members: []Member{{UserID: "u", Kind: Internal, Roles: []RoleRef{{RoleID: "rep", Revision: 2}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := a2.Check("u", "deals_view"); d.Level != LevelAll {
		t.Fatalf("a after the update: %v, want all", d.Level)
	}
	if d, _ := b.Check("u", "deals_view"); d.Level != LevelOwn {
		t.Errorf("b after a's update: %v, want own", d.Level)
	}
	if d, _ := a.Check("u", "deals_view"); d.Level != LevelOwn {
		t.Errorf("a's old snapshot after the update: %v, want own", d.Level)
	}
	for i := range before {
		if b.roleLevels[i] != before[i] {
			t.Fatalf("b's role levels changed at %d", i)
		}
	}
}
