package policy_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestDifferential_CompactAgreesWithCompile: a snapshot compacted after
// each update of a chain (random deltas: roles, members changed, added,
// removed and re-added, direct grants, owners, conditions) decides
// exactly as one compiled from the whole state, the update it was made
// from still decides as before (D8), and the next update starts from the
// compacted one. Equal combinations are merged: no more accesses are left
// than the compile's, beyond one per member with direct grants, whose
// accesses are not merged.
func TestDifferential_CompactAgreesWithCompile(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 40; seed++ {
		w := randomWorld(t, seed)
		if seed%2 == 0 {
			withConditions(w, seed)
			w.conditions = true
		}
		rng := rand.New(rand.NewPCG(seed, 19))
		snap, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		st := w.st
		for step := int64(1); step <= 4; step++ {
			d, next := randomDelta(rng, w, st, st.Revision+step*100)
			updated, err := snap.Update(d)
			if err != nil {
				t.Fatalf("seed %d step %d: update: %v", seed, step, err)
			}
			want, err := policy.Compile(next)
			if err != nil {
				t.Fatalf("seed %d step %d: compile: %v", seed, step, err)
			}
			compacted := updated.Compacted()
			where := fmt.Sprintf("seed %d step %d", seed, step)
			compareSnapshots(t, where+" (compacted)", w, rng, compacted, want)
			compareSnapshots(t, where+" (the update compacted from)", w, rng, updated, want)
			unmerged := 0
			for _, m := range next.Members {
				if len(m.Grants) > 0 {
					unmerged++
				}
			}
			if got, limit := compacted.NumAccessVectors(), want.NumAccessVectors()+unmerged; got > limit {
				t.Fatalf("%s: %d accesses after compacting, want at most %d (%d compiled, %d unmerged)",
					where, got, limit, want.NumAccessVectors(), unmerged)
			}
			snap, st = compacted, next
		}
	}
}

// TestUpdate_CompactsAccessesLeftBehind: a chain of applied role edits,
// each moving every holder of a role to its new revision, leaves the
// holders' old accesses behind; Update drops them once they outgrow the
// live ones, so the snapshot stays within a bound, never turns Stale
// (which made the writer compile the whole workspace every few edits),
// and decides as a compile of each state, emails included.
func TestUpdate_CompactsAccessesLeftBehind(t *testing.T) {
	t.Parallel()
	w := randomWorld(t, 3)
	rng := rand.New(rand.NewPCG(3, 23))
	growWorld(rng, w, 3_000)
	for i := range w.st.Members {
		// A direct grant each: most members get an access of their own,
		// so an apply leaves about a thousand behind.
		w.st.Members[i].Grants = randomGrants(rng, w.cat, 1+rng.IntN(2))
	}
	snap, err := policy.Compile(w.st)
	if err != nil {
		t.Fatal(err)
	}
	st, compactions := w.st, 0
	for step := int64(1); step <= 8; step++ {
		d, next := roleApplyDelta(rng, w, st, st.Revision+step)
		prev := snap.NumAccessVectors()
		if snap, err = snap.Update(d); err != nil {
			t.Fatalf("step %d: update: %v", step, err)
		}
		want, err := policy.Compile(next)
		if err != nil {
			t.Fatalf("step %d: compile: %v", step, err)
		}
		if snap.NumAccessVectors() < prev {
			compactions++
		}
		if snap.Stale() {
			t.Fatalf("step %d: stale after an applied edit", step)
		}
		if got, limit := snap.NumAccessVectors(), 2*want.NumAccessVectors()+1024; got > limit {
			t.Fatalf("step %d: %d accesses, want at most %d (%d compiled)", step, got, limit, want.NumAccessVectors())
		}
		compareSnapshotsSampled(t, fmt.Sprintf("step %d", step), w, rng, snap, want)
		st = next
	}
	if compactions == 0 {
		t.Fatal("no update compacted")
	}
}

// roleApplyDelta is an applied edit of the role most members hold: a new
// revision with new grants, every holder moved to it with its epoch
// bumped (the write a role edit with apply makes).
func roleApplyDelta(rng *rand.Rand, w *world, st policy.State, rev int64) (policy.Delta, policy.State) {
	held := map[string]int{}
	for _, m := range st.Members {
		for _, r := range m.Roles {
			held[r.RoleID]++
		}
	}
	role := ""
	for _, r := range st.Roles {
		if role == "" || held[r.RoleID] > held[role] {
			role = r.RoleID
		}
	}
	i := slices.IndexFunc(st.Roles, func(r policy.RoleRevision) bool { return r.RoleID == role })
	nr := st.Roles[i]
	nr.Revision = rev * 1000
	nr.Grants = randomGrants(rng, w.cat, rng.IntN(12))
	d := policy.Delta{Revision: rev, Roles: []policy.RoleRevision{nr}}
	next := st
	next.Revision = rev
	next.Roles = append(slices.Clone(st.Roles), nr)
	next.Members = slices.Clone(st.Members)
	for i, m := range next.Members {
		j := slices.IndexFunc(m.Roles, func(r policy.RoleRef) bool { return r.RoleID == role })
		if j < 0 {
			continue
		}
		m.Roles = slices.Clone(m.Roles)
		m.Roles[j].Revision = nr.Revision
		m.Epoch++
		next.Members[i] = m
		d.Members = append(d.Members, m)
	}
	return d, next
}

// TestM6_CompactKeepsOwnersOfEachKindApart: an owner's access depends on
// its kind (a client owner gets nothing of internal-only modules), so
// compacting must not merge an internal and a client owner holding the
// same roles.
func TestM6_CompactKeepsOwnersOfEachKindApart(t *testing.T) {
	t.Parallel()
	cat, err := policy.ParseCatalog("owners.yaml", []byte(`version: 1
actions:
  view: {}
modules:
  - id: staff
    description: Staff records
    internal_only: true
    actions: [view]
  - id: tickets
    description: Tickets
    actions: [view]
`))
	if err != nil {
		t.Fatal(err)
	}
	st := policy.State{Workspace: "w", Revision: 1, Catalog: cat, Members: []policy.Member{
		{UserID: "client-owner", Kind: policy.Client, Owner: true},
		{UserID: "internal-owner", Kind: policy.Internal, Owner: true},
	}}
	snap, err := policy.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	// Each owner touched by its own update: two accesses per kind, one
	// of each left behind.
	for i, m := range st.Members {
		m.Epoch = int64(i + 1)
		st.Members[i], st.Revision = m, st.Revision+1
		if snap, err = snap.Update(policy.Delta{Revision: st.Revision, Members: []policy.Member{m}}); err != nil {
			t.Fatal(err)
		}
	}
	snap = snap.Compacted()
	for _, c := range []struct {
		user string
		want bool
	}{{"internal-owner", true}, {"client-owner", false}} {
		d, err := snap.Check(c.user, "staff_view")
		if err != nil || d.Allowed != c.want {
			t.Errorf("%s staff_view after compacting: %+v %v, want allowed %v", c.user, d, err, c.want)
		}
	}
}
