package policy

import (
	"fmt"
	"testing"
	"unsafe"
)

// copiedPages counts the pages of old that cur no longer shares.
func copiedPages[T any](old, cur paged[T]) int {
	n := 0
	for p := range old.pages {
		if len(old.pages[p]) > 0 && &old.pages[p][0] != &cur.pages[p][0] {
			n++
		}
	}
	return n
}

// TestD8_UpdateCopiesOnlyThePagesItChanges: an update that changes one
// member of a 5,000-member workspace (five pages) and adds another shares
// every other page of the member arrays and ids, and the main index, with
// the snapshot it derives from, which still decides as it did (issue 17: a write costs
// what it changes, not the workspace's size).
func TestD8_UpdateCopiesOnlyThePagesItChanges(t *testing.T) {
	st := State{Workspace: "w", Revision: 1, Catalog: DefaultCatalog(),
		Roles: []RoleRevision{{RoleID: "rep", Revision: 1, Audience: Internal, Grants: Grants{"deals_view": LevelOwn}}}}
	for i := range 5_000 {
		st.Members = append(st.Members, Member{UserID: fmt.Sprintf("u%04d", i), Kind: Internal})
	}
	s0, err := Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	s, err := s0.Update(Delta{Revision: 2, Members: []Member{{UserID: "first", Kind: Internal}}})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := s.Update(Delta{Revision: 3, Members: []Member{
		{UserID: "u2500", Kind: Internal, Roles: []RoleRef{{RoleID: "rep", Revision: 1}}},
		{UserID: "new", Kind: Internal},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// u2500's page; "new" went into the last page's spare capacity, which
	// the first update left when it copied that page.
	if n := copiedPages(s.hot, ns.hot); n != 1 {
		t.Errorf("hot: %d of %d pages copied, want 1", n, len(s.hot.pages))
	}
	if n := copiedPages(s.members, ns.members); n != 1 {
		t.Errorf("members: %d of %d pages copied, want 1", n, len(s.members.pages))
	}
	// A second update of s copies what it appends to.
	ns2, err := s.Update(Delta{Revision: 3, Members: []Member{{UserID: "other", Kind: Internal}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := copiedPages(s.hot, ns2.hot); n != 1 {
		t.Errorf("hot, second update of one snapshot: %d of %d pages copied, want 1 (the last)", n, len(s.hot.pages))
	}
	if !ns2.HasMember("other") || ns2.HasMember("new") || !ns.HasMember("new") || ns.HasMember("other") {
		t.Error("two updates of one snapshot see each other's members")
	}
	for p := range s.ids {
		moved := unsafe.StringData(s.ids[p]) != unsafe.StringData(ns.ids[p])
		if last := p == len(s.ids)-1; moved != last {
			t.Errorf("id page %d of %d: copied %v", p, len(s.ids), moved)
		}
	}
	if &s0.byUser.slots[0] != &ns.byUser.slots[0] || len(ns.byUser.recent) == 0 {
		t.Error("members added went into a copy of the main index, not into its recent table")
	}
	if d, _ := s.Check("u2500", "deals_view"); d.Allowed {
		t.Error("the older snapshot sees the update")
	}
	if d, _ := ns.Check("u2500", "deals_view"); !d.Allowed {
		t.Error("the updated snapshot misses the update")
	}
	if s.HasMember("new") || !ns.HasMember("new") || !ns.HasMember("first") || !ns.HasMember("u4999") || !s0.HasMember("u0000") || s0.HasMember("first") {
		t.Error("membership differs from the states")
	}
}
