package policy_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// The admin model keeps its members only as the records a snapshot holds
// (one copy of each member): every snapshot, old or new, must return
// exactly the id, email, epoch and data each of its members was compiled
// or updated with, and no member it does not hold.
func TestM1_SnapshotKeepsMemberRecords(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("l", 300) + "@x.test" // a two-byte length
	st := emailWorld(1500)
	for i := range st.Members {
		m := &st.Members[i]
		m.Epoch = int64(i)
		switch i % 4 {
		case 0:
			m.Data = fmt.Sprintf("data of %d \x00\xff", i)
		case 1:
			m.Data = strings.Repeat("d", 200)
		case 2:
			m.Email = long
		}
	}
	d := policy.Delta{Revision: 2, Removed: []string{"u0", "u1", "u1499"}}
	for _, i := range []int{2, 3, 1024, 1025} { // on the first and second pages
		m := st.Members[i]
		m.Email, m.Data, m.Epoch = "", "new data", 99
		d.Members = append(d.Members, m)
	}
	d.Members = append(d.Members, policy.Member{UserID: "added", Kind: policy.Internal, Email: "a@x.test", Data: "added data", Epoch: 1,
		Roles: []policy.RoleRef{{RoleID: "employee", Revision: 1}}})
	after := applyDelta(st, d)

	old, err := policy.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := old.Update(d)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := policy.Compile(after)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		s    *policy.Snapshot
		want policy.State
	}{"old": {old, st}, "updated": {updated, after}, "compiled": {compiled, after}} {
		want := map[string]policy.MemberRecord{}
		for _, m := range c.want.Members {
			want[m.UserID] = policy.MemberRecord{UserID: m.UserID, Email: m.Email, Epoch: m.Epoch, Data: m.Data}
		}
		got := map[string]policy.MemberRecord{}
		for r := range c.s.Members() {
			if _, dup := got[r.UserID]; dup {
				t.Fatalf("%s: Members yields %s twice", name, r.UserID)
			}
			got[r.UserID] = r
		}
		if !maps.Equal(got, want) {
			for u, w := range want {
				if got[u] != w {
					t.Errorf("%s: Members has %s as %+v, want %+v", name, u, got[u], w)
				}
			}
			t.Fatalf("%s: Members yields %d records, want %d", name, len(got), len(want))
		}
		for u, w := range want {
			if r, ok := c.s.Member(u); !ok || r != w {
				t.Fatalf("%s: Member(%s) = %+v %v, want %+v", name, u, r, ok, w)
			}
		}
		for _, u := range []string{"", "nobody", "u1500"} {
			if r, ok := c.s.Member(u); ok {
				t.Fatalf("%s: Member(%q) = %+v, want none", name, u, r)
			}
		}
	}
	if _, ok := updated.Member("u0"); ok {
		t.Fatal("a removed member keeps its record")
	}
	if r, ok := old.Member("u0"); !ok || r.Data != st.Members[0].Data {
		t.Fatal("an update changed the record of the snapshot it updated")
	}
}
