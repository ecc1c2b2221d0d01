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
	raiseRep(t, a)
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

// TestW1_SharedRoleTablesStayPerWorkspace: workspaces compiled from the
// same role revisions (the same parsed grants, as the stores intern them)
// share one compiled role table; an Update adding a revision to one
// changes neither the other's table nor its decisions. Revisions with
// equal grants in different maps, or with conditions (G1), get tables of
// their own.
func TestW1_SharedRoleTablesStayPerWorkspace(t *testing.T) {
	grants := Grants{"deals_view": LevelOwn}
	state := func(ws string, g Grants, when Conditions) State {
		return State{Workspace: ws, Revision: 1, Catalog: DefaultCatalog(),
			Roles:   []RoleRevision{{RoleID: "rep", Revision: 1, Audience: Internal, Grants: g, When: when}},
			Members: []Member{{UserID: "u", Kind: Internal, Roles: []RoleRef{{RoleID: "rep", Revision: 1}}}}}
	}
	a, b := mustCompile(t, state("a", grants, nil)), mustCompile(t, state("b", grants, nil))
	if &a.roles[0] != &b.roles[0] {
		t.Error("the same role revisions compiled into two tables")
	}
	if c := mustCompile(t, state("c", Grants{"deals_view": LevelOwn}, nil)); &c.roles[0] == &a.roles[0] {
		t.Error("revisions with grants of their own share a table")
	}
	cond := Grants{"deals_view": LevelAll}
	when := Conditions{"deals_view": `record.attributes.region == "eu"`}
	c1, c2 := mustCompile(t, state("c1", cond, when)), mustCompile(t, state("c2", cond, when))
	if &c1.roles[0] == &c2.roles[0] {
		t.Error("conditional revisions share a table")
	}
	raiseRep(t, a)
	if len(b.roles) != 1 || len(b.roleIdx) != 1 {
		t.Errorf("b's table after a's update: %d roles, %d indexed", len(b.roles), len(b.roleIdx))
	}
	if d, _ := b.Check("u", "deals_view"); d.Level != LevelOwn {
		t.Errorf("b after a's update: %v, want own", d.Level)
	}
}

// TestW1_SharedDeptTreesByContent: workspaces with the same departments
// share one compiled org tree; a tree differing in one parent gets its
// own, and each decides department scope (R3) by its own tree.
func TestW1_SharedDeptTreesByContent(t *testing.T) {
	tree := func(parentOfTeam string) []Department {
		return []Department{{ID: "root"}, {ID: "sales", ParentID: "root"}, {ID: "ops", ParentID: "root"}, {ID: "team", ParentID: parentOfTeam}}
	}
	state := func(ws string, ds []Department) State {
		return State{Workspace: ws, Revision: 1, Catalog: DefaultCatalog(), Departments: ds,
			Roles:   []RoleRevision{{RoleID: "lead", Revision: 1, Audience: Internal, Grants: Grants{"deals_view": LevelSubdepartments}}},
			Members: []Member{{UserID: "u", Kind: Internal, DepartmentIDs: []string{"sales"}, Roles: []RoleRef{{RoleID: "lead", Revision: 1}}}}}
	}
	a, b, c := mustCompile(t, state("a", tree("sales"))), mustCompile(t, state("b", tree("sales"))), mustCompile(t, state("c", tree("ops")))
	if &a.depts.nodes[0] != &b.depts.nodes[0] {
		t.Error("the same departments compiled into two trees")
	}
	if &c.depts.nodes[0] == &a.depts.nodes[0] {
		t.Error("a different tree shares the first one")
	}
	rec := &Resource{OwnerID: "x", DepartmentID: "team"}
	if d, _ := b.CheckRecord("u", "deals_view", rec); !d.Allowed {
		t.Errorf("b: a lead of sales is refused a record of sales' team: %+v", d)
	}
	if d, _ := c.CheckRecord("u", "deals_view", rec); d.Allowed {
		t.Errorf("c: a lead of sales may see a record of ops' team: %+v", d)
	}
	if _, err := Compile(state("d", []Department{{ID: "x", ParentID: "y"}, {ID: "y", ParentID: "x"}})); err == nil {
		t.Error("a cyclic tree compiled")
	}
}

// raiseRep updates s with a revision 2 of role rep granting deals_view at
// all, held by member u, and checks that s's update decides so.
func raiseRep(t *testing.T, s *Snapshot) {
	t.Helper()
	s2, err := s.Update(Delta{Revision: 2,
		Roles:   []RoleRevision{{RoleID: "rep", Revision: 2, Audience: Internal, Grants: Grants{"deals_view": LevelAll}}},
		Members: []Member{{UserID: "u", Kind: Internal, Roles: []RoleRef{{RoleID: "rep", Revision: 2}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := s2.Check("u", "deals_view"); d.Level != LevelAll {
		t.Fatalf("after the update: %v, want all", d.Level)
	}
}

func mustCompile(t *testing.T, st State) *Snapshot {
	t.Helper()
	s, err := Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
