package policy

import (
	"fmt"
	"slices"
	"testing"
)

// TestUpdate_KeepsDepartmentRangesOfMembersWhoseDepartmentsStay: an update
// replacing members without moving them between departments (an applied
// role edit moves thousands) adds nothing to the department arena, while
// a member that does move gets its new departments, and the snapshot
// places members in departments exactly as a compile of the same state
// does, which department scopes (D2) and Filter (D5) read.
func TestUpdate_KeepsDepartmentRangesOfMembersWhoseDepartmentsStay(t *testing.T) {
	t.Parallel()
	st := State{Workspace: "w", Revision: 1, Catalog: DefaultCatalog(),
		Departments: []Department{{ID: "sales"}, {ID: "ops"}},
		Roles:       []RoleRevision{{RoleID: "rep", Revision: 1, Audience: Internal, Grants: Grants{"deals_view": LevelDepartment}}}}
	for i := range 600 {
		st.Members = append(st.Members, Member{UserID: fmt.Sprintf("u%04d", i), Kind: Internal,
			DepartmentIDs: []string{[]string{"sales", "ops"}[i%2]}, Roles: []RoleRef{{RoleID: "rep", Revision: 1}}})
	}
	s, err := Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	d := Delta{Revision: 2, Roles: []RoleRevision{{RoleID: "rep", Revision: 2, Audience: Internal, Grants: Grants{"deals_view": LevelAll}}}}
	for _, m := range st.Members {
		m.Roles = []RoleRef{{RoleID: "rep", Revision: 2}}
		d.Members = append(d.Members, m)
	}
	ns, err := s.Update(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.deptArena) != len(s.deptArena) {
		t.Errorf("an update keeping every member's departments grew the arena from %d to %d", len(s.deptArena), len(ns.deptArena))
	}
	d = Delta{Revision: 3, Members: []Member{d.Members[0]}}
	d.Members[0].DepartmentIDs = []string{"ops", "sales"}
	ns2, err := ns.Update(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns2.deptArena) != len(ns.deptArena)+2 {
		t.Errorf("moving one member into two departments grew the arena by %d, want 2", len(ns2.deptArena)-len(ns.deptArena))
	}
	st.Revision = 3
	st.Roles = append(st.Roles, RoleRevision{RoleID: "rep", Revision: 2, Audience: Internal, Grants: Grants{"deals_view": LevelAll}})
	for i := range st.Members {
		st.Members[i].Roles = []RoleRef{{RoleID: "rep", Revision: 2}}
	}
	st.Members[0].DepartmentIDs = []string{"ops", "sales"}
	want, err := Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		gi, _ := ns2.byUser.lookup(ns2, m.UserID)
		wi, _ := want.byUser.lookup(want, m.UserID)
		got, exp := ns2.memberDepts(ns2.members.at(int(gi))), want.memberDepts(want.members.at(int(wi)))
		if !slices.Equal(got, exp) || ns2.hot.at(int(gi)).dept != want.hot.at(int(wi)).dept {
			t.Errorf("%s: departments %v (hot %d) after updates, %v (hot %d) compiled", m.UserID, got, ns2.hot.at(int(gi)).dept, exp, want.hot.at(int(wi)).dept)
		}
	}
}
