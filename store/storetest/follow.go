package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testFollow: a second service on the same store (another node) learns of
// what the first commits through Heads and Sync: new workspaces, role
// edits, members, keys, and changes whose notice it never saw. Follow
// with a revision it already has changes nothing.
func testFollow(t *testing.T, h Harness) {
	e := newEnv(t, h)
	other, otherSnaps := e.service()
	must(t, other.Open(e.ctx))

	e.workspace("a", admin.PlanProfessional)
	e.workspace("b", admin.PlanStandard)
	r := e.role("a", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	for i := range 5 {
		e.member("a", admin.MemberInput{UserID: fmt.Sprintf("u%d", i), RoleIDs: []string{r.ID}})
	}
	_, secret, _, err := e.svc.CreateKey(e.ctx, "a", admin.Write{}, admin.ScopeCheck, "ci")
	must(t, err)

	heads, err := e.store.Heads(e.ctx)
	must(t, err)
	want := []admin.Head{{Workspace: "a", Revision: e.revision("a")}, {Workspace: "b", Revision: e.revision("b")}}
	if !slices.Equal(heads, want) {
		t.Fatalf("Heads = %v, want %v", heads, want)
	}

	n, err := other.Sync(e.ctx)
	if err != nil || n != 2 {
		t.Fatalf("Sync = %d, %v; want 2 workspaces followed", n, err)
	}
	sameSnapshots(t, e.snaps.get("a"), otherSnaps.get("a"), "u0", "u4")
	if _, err := other.Authenticate(secret); err != nil {
		t.Errorf("a key created on the first node must authenticate on the second: %v", err)
	}

	// A change whose notice was lost: Follow at the old revision is a
	// no-op, Sync brings it.
	old := e.revision("a")
	_, _, err = e.svc.UpdateRole(e.ctx, "a", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: ptr(true)})
	must(t, err)
	must(t, other.Follow(e.ctx, "a", old))
	if got := otherSnaps.get("a").Revision(); got != old {
		t.Fatalf("Follow to a revision already held moved the snapshot to %d", got)
	}
	if n, err := other.Sync(e.ctx); err != nil || n != 1 {
		t.Fatalf("Sync after a missed change = %d, %v; want 1", n, err)
	}
	sameSnapshots(t, e.snaps.get("a"), otherSnaps.get("a"), "u0", "u4")
	if d, _ := otherSnaps.get("a").Check("u3", "deals_view"); d.Level != policy.LevelAll {
		t.Errorf("u3's deals_view on the second node = %v, want all", d.Level)
	}
	if n, err := other.Sync(e.ctx); err != nil || n != 0 {
		t.Errorf("Sync with nothing new = %d, %v; want 0", n, err)
	}

	// The second node writes too; the first follows by notice.
	_, _, err = other.UpsertMember(e.ctx, "a", admin.Write{}, admin.MemberInput{UserID: "late", RoleIDs: []string{r.ID}})
	must(t, err)
	must(t, e.svc.Follow(e.ctx, "a", e.revision("a")+1))
	sameSnapshots(t, otherSnaps.get("a"), e.snaps.get("a"), "late", "u0")
	if rev, ok := e.svc.Revision("a"); !ok || rev != otherSnaps.get("a").Revision() {
		t.Errorf("Revision = %d, %v", rev, ok)
	}
	if _, ok := e.svc.Revision("nope"); ok {
		t.Error("Revision of an unknown workspace must report false")
	}
	wantCode(t, other.Follow(e.ctx, "nope", 1), policy.CodeNotFound)
}

// sameSnapshots fails unless two nodes' snapshots are at one revision and
// agree on the given members.
func sameSnapshots(t *testing.T, a, b *policy.Snapshot, users ...string) {
	t.Helper()
	if a == nil || b == nil {
		t.Fatalf("snapshots %v / %v", a, b)
	}
	if a.Revision() != b.Revision() || a.NumMembers() != b.NumMembers() {
		t.Fatalf("revision %d/%d, members %d/%d", a.Revision(), b.Revision(), a.NumMembers(), b.NumMembers())
	}
	for _, u := range users {
		va, okA := a.Effective(u)
		vb, okB := b.Effective(u)
		if okA != okB || !slices.Equal(va, vb) {
			t.Errorf("member %s differs between the nodes", u)
		}
	}
}
