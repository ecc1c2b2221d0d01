package policy

import (
	"fmt"
	"testing"
)

// TestZ2_UpdateKeepingEmailsAddsNoIndexEntries: an update that changes
// a thousand members but none of their emails (an applied role edit)
// leaves them in the sorted email index and adds nothing to the
// additions, which every later update copies; a changed email is added.
func TestZ2_UpdateKeepingEmailsAddsNoIndexEntries(t *testing.T) {
	t.Parallel()
	st := State{Workspace: "w", Revision: 1, Catalog: DefaultCatalog(),
		Roles: []RoleRevision{{RoleID: "rep", Revision: 1, Audience: Internal, Grants: Grants{"deals_view": LevelOwn}}}}
	for i := range 2_000 {
		st.Members = append(st.Members, Member{UserID: fmt.Sprintf("u%04d", i), Email: fmt.Sprintf("u%04d@example.com", i), Kind: Internal})
	}
	s, err := Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	d := Delta{Revision: 2, Roles: []RoleRevision{{RoleID: "rep", Revision: 2, Audience: Internal}}}
	for _, m := range st.Members[:1_000] {
		m.Roles = []RoleRef{{RoleID: "rep", Revision: 2}}
		d.Members = append(d.Members, m)
	}
	d.Members[0].Email = "renamed@example.com"
	ns, err := s.Update(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.emailsAdded) != 1 || len(ns.emailsAdded["renamed@example.com"]) != 1 {
		t.Errorf("additions after an update keeping 999 emails and changing one: %v", ns.emailsAdded)
	}
	for _, c := range [][2]string{{"u0999@example.com", "u0999"}, {"renamed@example.com", "u0000"}, {"u0000@example.com", ""}} {
		if u, _ := ns.MemberByEmail(c[0]); u != c[1] {
			t.Errorf("MemberByEmail(%s) = %q, want %q", c[0], u, c[1])
		}
	}
}
