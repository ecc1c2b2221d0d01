package policy_test

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// moveDelta is an applied edit of the role most members hold, written
// the way a store-wide apply is (R6): a new revision; the holders of the
// revision most of them are on, with no direct grants and not owners,
// moved by a RoleMove and given their epochs only (every other one
// bumped); every other holder given in full.
func moveDelta(rng *rand.Rand, w *world, st policy.State, rev int64) (policy.Delta, policy.State) {
	held := map[policy.RoleRef]int{}
	for _, m := range st.Members {
		for _, r := range m.Roles {
			held[r]++
		}
	}
	refs := slices.Collect(maps.Keys(held))
	slices.SortFunc(refs, func(a, b policy.RoleRef) int { // the first most held, reproducibly
		return cmp.Or(cmp.Compare(a.RoleID, b.RoleID), cmp.Compare(a.Revision, b.Revision))
	})
	var from policy.RoleRef
	for _, ref := range refs {
		if held[ref] > held[from] {
			from = ref
		}
	}
	i := slices.IndexFunc(st.Roles, func(r policy.RoleRevision) bool { return r.RoleID == from.RoleID })
	nr := st.Roles[i]
	nr.Revision = rev * 1000
	nr.Grants = randomGrants(rng, w.cat, rng.IntN(12))
	d := policy.Delta{Revision: rev, Roles: []policy.RoleRevision{nr},
		Moves: []policy.RoleMove{{RoleID: from.RoleID, From: from.Revision, To: nr.Revision}}}
	next := st
	next.Revision = rev
	next.Roles = append(slices.Clone(st.Roles), nr)
	next.Members = slices.Clone(st.Members)
	for i, m := range next.Members {
		j := slices.IndexFunc(m.Roles, func(r policy.RoleRef) bool { return r.RoleID == from.RoleID })
		if j < 0 {
			continue
		}
		onFrom := slices.Contains(m.Roles, from)
		m.Roles = slices.Clone(m.Roles)
		for k := range m.Roles { // a random member may hold a role twice
			if m.Roles[k].RoleID == from.RoleID {
				m.Roles[k].Revision = nr.Revision
			}
		}
		bump := rng.IntN(2) == 0
		if bump {
			m.Epoch++
		}
		next.Members[i] = m
		switch {
		case onFrom && !slices.ContainsFunc(st.Members[i].Roles, func(r policy.RoleRef) bool { return r.RoleID == from.RoleID && r != from }) &&
			len(m.Grants) == 0 && !m.Owner:
			if bump {
				d.Epochs = append(d.Epochs, policy.MemberEpoch{UserID: m.UserID, Epoch: m.Epoch})
			}
		default:
			d.Members = append(d.Members, m)
		}
	}
	return d, next
}

// TestDifferential_R6_RoleMoveAgreesWithCompile: an update that moves a
// role revision's members by a RoleMove, naming only the members it must
// (direct grants, owners, other revisions), decides exactly as a compile
// of the state after the apply, and so do the updates after it: random
// worlds, with and without conditional grants, moves alternating with
// random deltas.
func TestDifferential_R6_RoleMoveAgreesWithCompile(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 40; seed++ {
		w := randomWorld(t, seed)
		if seed%2 == 0 {
			withConditions(w, seed)
		}
		rng := rand.New(rand.NewPCG(seed, 6))
		snap, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		st := w.st
		moves := 0
		for step := int64(1); step <= 4; step++ {
			d, next := moveDelta(rng, w, st, st.Revision+step*100)
			if step == 3 {
				d, next = randomDelta(rng, w, st, st.Revision+step*100)
			}
			if len(d.Moves) > 0 && len(d.Members) < countHolders(st, d.Moves[0].RoleID) {
				moves++
			}
			if snap, err = snap.Update(d); err != nil {
				t.Fatalf("seed %d step %d: update: %v", seed, step, err)
			}
			want, err := policy.Compile(next)
			if err != nil {
				t.Fatalf("seed %d step %d: compile: %v", seed, step, err)
			}
			st = next
			compareSnapshots(t, fmt.Sprintf("seed %d step %d", seed, step), w, rng, snap, want)
		}
		if moves == 0 {
			t.Fatalf("seed %d: no move left a holder out of the delta", seed)
		}
	}
}

func countHolders(st policy.State, role string) int {
	n := 0
	for _, m := range st.Members {
		if slices.ContainsFunc(m.Roles, func(r policy.RoleRef) bool { return r.RoleID == role }) {
			n++
		}
	}
	return n
}

// TestR6_RoleMoveNeedsMembersWithDirectGrantsInFull: a move cannot
// compute the access of a member with direct grants (the snapshot does
// not keep them apart from the access), so an update that leaves such a
// member out fails rather than decide on stale levels.
func TestR6_RoleMoveNeedsMembersWithDirectGrantsInFull(t *testing.T) {
	t.Parallel()
	cat := policy.DefaultCatalog()
	perm := cat.Permissions()[0].Key
	st := policy.State{Workspace: "w", Revision: 1, Catalog: cat,
		Roles: []policy.RoleRevision{{RoleID: "rep", Revision: 1, Name: "Rep", Audience: policy.Internal, Grants: policy.Grants{perm: policy.LevelOwn}}},
		Members: []policy.Member{
			{UserID: "plain", Kind: policy.Internal, Roles: []policy.RoleRef{{RoleID: "rep", Revision: 1}}},
			{UserID: "granted", Kind: policy.Internal, Roles: []policy.RoleRef{{RoleID: "rep", Revision: 1}}, Grants: policy.Grants{cat.Permissions()[1].Key: policy.LevelOwn}},
		}}
	snap, err := policy.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	nr := st.Roles[0]
	nr.Revision, nr.Grants = 2, policy.Grants{perm: policy.LevelAll}
	d := policy.Delta{Revision: 2, Roles: []policy.RoleRevision{nr}, Moves: []policy.RoleMove{{RoleID: "rep", From: 1, To: 2}}}
	if _, err := snap.Update(d); policy.ErrorCode(err) != policy.CodeInvalidArgument {
		t.Fatalf("a move leaving out a member with direct grants: got %v, want invalid_argument", err)
	}
	g := st.Members[1]
	g.Roles = []policy.RoleRef{{RoleID: "rep", Revision: 2}}
	d.Members = []policy.Member{g}
	next, err := snap.Update(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"plain", "granted"} {
		if dec, _ := next.Check(u, perm); dec.Level != policy.LevelAll {
			t.Errorf("%s after the move: %s, want all", u, dec.Level)
		}
	}
	if dec, _ := snap.Check("plain", perm); dec.Level != policy.LevelOwn {
		t.Errorf("the snapshot updated from changed: plain has %s, want own", dec.Level)
	}
}
