package policy_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// growWorld adds n members to w, drawn like randomWorld's, so that the
// snapshot's member arrays span several pages (1,024 members each).
func growWorld(rng *rand.Rand, w *world, n int) {
	for i := range n {
		m := policy.Member{UserID: fmt.Sprintf("g%d", i), Kind: policy.Internal, Epoch: int64(i)}
		if rng.IntN(4) == 0 {
			m.Kind = policy.Client
		}
		if rng.IntN(3) != 0 {
			m.DepartmentIDs = []string{w.depts[rng.IntN(len(w.depts))]}
		}
		for range rng.IntN(4) {
			ro := w.st.Roles[rng.IntN(len(w.st.Roles))]
			m.Roles = append(m.Roles, policy.RoleRef{RoleID: ro.RoleID, Revision: ro.Revision})
		}
		if rng.IntN(20) == 0 {
			m.Email = m.UserID + "@example.com"
		}
		w.st.Members = append(w.st.Members, m)
		w.users = append(w.users, m.UserID)
	}
}

// sparseDelta changes a few members anywhere in st, removes a few, brings
// one back and adds add new ones: the writes a large workspace mostly
// sees, each touching a few pages.
func sparseDelta(rng *rand.Rand, w *world, st policy.State, rev int64, add int) (policy.Delta, policy.State) {
	d := policy.Delta{Revision: rev}
	next := st
	next.Revision = rev
	next.Members = slices.Clone(st.Members)
	pick := map[int]bool{}
	for range 6 {
		pick[rng.IntN(len(next.Members))] = true
	}
	var removed []int
	for i := range next.Members {
		if !pick[i] {
			continue
		}
		if rng.IntN(3) == 0 {
			d.Removed = append(d.Removed, next.Members[i].UserID)
			removed = append(removed, i)
			continue
		}
		m := next.Members[i]
		m.Epoch = rev
		m.DepartmentIDs = nil
		if rng.IntN(2) == 0 {
			m.DepartmentIDs = []string{w.depts[rng.IntN(len(w.depts))]}
		}
		ro := st.Roles[rng.IntN(len(st.Roles))]
		m.Roles = []policy.RoleRef{{RoleID: ro.RoleID, Revision: ro.Revision}}
		m.Email = "" // gained, kept or lost: MemberByEmail must follow
		if rng.IntN(2) == 0 {
			m.Email = m.UserID + "@example.com"
		}
		next.Members[i] = m
		d.Members = append(d.Members, m)
	}
	for _, i := range slices.Backward(removed) {
		next.Members = slices.Delete(next.Members, i, i+1)
	}
	for i := range add {
		id := fmt.Sprintf("a%d_%d", rev, i)
		m := policy.Member{UserID: id, Kind: policy.Internal, Epoch: rev,
			DepartmentIDs: []string{w.depts[rng.IntN(len(w.depts))]}}
		if i%3 == 0 {
			ro := st.Roles[rng.IntN(len(st.Roles))]
			m.Roles = []policy.RoleRef{{RoleID: ro.RoleID, Revision: ro.Revision}}
			m.Email = id + "@example.com"
		}
		d.Members = append(d.Members, m)
		next.Members = append(next.Members, m)
		w.users = append(w.users, id)
	}
	return d, next
}

// TestDifferential_UpdateAcrossPages: on workspaces of a few thousand
// members, whose arrays span several pages, a chain of updates (sparse
// changes and removals anywhere, additions that fill the last page and
// open new ones, and dense random deltas) decides exactly as a compile of
// each new state; so does a workspace that starts small enough to be
// scanned (smallScan) and grows past it. Each snapshot is also updated a
// second time, by a sibling delta, before or after the first: only one of
// the two may append in place (Snapshot.tail). At the end every snapshot,
// sibling or older, still decides as it did, so no update wrote into
// memory another reads (D8: a snapshot is immutable once published).
func TestDifferential_UpdateAcrossPages(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 4; seed++ {
		w := randomWorld(t, seed)
		rng := rand.New(rand.NewPCG(seed, 11))
		adds := []int{0, 1_100, 0, 7, 2_100}
		if seed == 4 {
			growWorld(rng, w, 60) // 65 to 95 members: under smallScan until step 4
			adds = []int{0, 7, 0, 100, 2_100}
		} else {
			growWorld(rng, w, 2_000+rng.IntN(1_500))
		}
		snap, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		type kept struct {
			snap, want *policy.Snapshot
			users      []string
		}
		var chain []kept
		st := w.st
		for step := int64(1); step <= 5; step++ {
			var d policy.Delta
			var next policy.State
			switch step {
			case 3:
				d, next = randomDelta(rng, w, st, st.Revision+step*100)
			default:
				d, next = sparseDelta(rng, w, st, st.Revision+step*100, adds[step-1])
			}
			sd, snext := sparseDelta(rng, w, st, st.Revision+step*100+50, 300)
			prev := snap
			var sib *policy.Snapshot
			if step%2 == 0 {
				sib, err = prev.Update(sd)
			}
			if err == nil {
				snap, err = prev.Update(d)
			}
			if err == nil && sib == nil {
				sib, err = prev.Update(sd)
			}
			if err != nil {
				t.Fatalf("seed %d step %d: update: %v", seed, step, err)
			}
			want, err := policy.Compile(next)
			if err != nil {
				t.Fatalf("seed %d step %d: compile: %v", seed, step, err)
			}
			swant, err := policy.Compile(snext)
			if err != nil {
				t.Fatalf("seed %d step %d: compile the sibling: %v", seed, step, err)
			}
			st = next
			chain = append(chain, kept{snap, want, slices.Clone(w.users)}, kept{sib, swant, slices.Clone(w.users)})
		}
		for i, k := range chain { // the oldest last changed before the newest were made
			sub := *w
			sub.users = k.users
			compareSnapshotsSampled(t, fmt.Sprintf("seed %d step %d (sibling %v)", seed, i/2+1, i%2 == 1), &sub, rng, k.snap, k.want)
		}
	}
}

// compareSnapshotsSampled is compareSnapshots over a sample of w's users
// (every tenth, the last 50 and the strangers) and every email: a full
// comparison of a few thousand members is slow under -race.
func compareSnapshotsSampled(t *testing.T, where string, w *world, rng *rand.Rand, got, want *policy.Snapshot) {
	t.Helper()
	sample := *w
	sample.users = nil
	for i, u := range w.users {
		if i%10 == 0 || i >= len(w.users)-50 {
			sample.users = append(sample.users, u)
		}
	}
	compareSnapshots(t, where, &sample, rng, got, want)
	for _, u := range w.users {
		e := u + "@example.com"
		gu, gok := got.MemberByEmail(e)
		wu, wok := want.MemberByEmail(e)
		if gu != wu || gok != wok {
			t.Fatalf("%s: MemberByEmail(%s) = %q %v, want %q %v", where, e, gu, gok, wu, wok)
		}
	}
}
