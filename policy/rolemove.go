package policy

import (
	"iter"
	"maps"
	"slices"
)

// RoleMove moves every member holding role RoleID at revision From to
// revision To (R6, "save and apply"), without naming them: the slot of
// From takes To's compiled levels, so that the members on it, however
// many, hold To with no record of theirs rewritten. Accesses on the slot
// whose vectors are materialized are computed again, and their members
// pointed at the new ones.
//
// An access with direct grants or the owner flag cannot be computed
// without its members' grants, which the snapshot does not keep: Update
// fails unless the delta gives every member on such an access in full
// (Delta.Members), and the caller then compiles afresh.
type RoleMove struct {
	RoleID   string
	From, To int64
}

// MemberEpoch is a member's new epoch (A1), for a member the delta does
// not otherwise change: one whose role a RoleMove moved.
type MemberEpoch struct {
	UserID string
	Epoch  int64
}

// moveRoles applies d's role moves and epochs to s, an Update's copy,
// before its members are compiled: replaced are the members d gives in
// full or removes, whose old accesses do not matter.
func (s *Snapshot) moveRoles(d *Delta, hot *pagedWriter[hotMember], members *pagedWriter[member]) error {
	if len(d.Moves) == 0 && len(d.Epochs) == 0 {
		return nil
	}
	moved := map[int32]bool{} // slots now holding another revision
	var perms []PermID        // where their levels changed
	if len(d.Moves) > 0 {
		s.roleIdx = maps.Clone(s.roleIdx)
		s.roles = slices.Clone(s.roles)
		s.roleLevels = slices.Clone(s.roleLevels) // shared by content: never written in place
		for _, mv := range d.Moves {
			to, ok := s.roleIdx[RoleRef{mv.RoleID, mv.To}]
			if !ok {
				return Errorf(CodeInvalidArgument, "update %s: role revision %s@%d to move to is not in the snapshot", s.workspace, mv.RoleID, mv.To)
			}
			if mv.From == mv.To {
				continue
			}
			// Every slot on From: an earlier move leaves its members on
			// their slot, which then holds the same revision as the one
			// the index names.
			n, keep := 0, RoleRevision{}
			for j := range s.roles {
				if cr := &s.roles[j]; cr.RoleID != mv.RoleID || cr.Revision != mv.From || int32(j) == to {
					continue
				}
				keep = s.roles[j].RoleRevision
				s.roles[j] = compiledRole{RoleRevision: s.roles[to].RoleRevision, vec: s.roles[to].vec, orphaned: s.roles[to].orphaned}
				seg, next := s.roleLevels[(j+1)*s.stride:(j+2)*s.stride], s.roleLevels[int(to+1)*s.stride:int(to+2)*s.stride]
				for p := range seg {
					if seg[p] != next[p] && !slices.Contains(perms, PermID(p)) {
						perms = append(perms, PermID(p))
					}
				}
				copy(seg, next)
				moved[int32(j)] = true
				n++
			}
			if n == 0 {
				return Errorf(CodeInvalidArgument, "update %s: role revision %s@%d to move is not in the snapshot", s.workspace, mv.RoleID, mv.From)
			}
			// From is held by nobody now, but stays a revision a later
			// update may assign: in a slot of its own, after every other.
			if len(s.roles)+1 >= 1<<16-1 {
				return Errorf(CodeInvalidArgument, "update %s: more than %d role revisions in one workspace", s.workspace, 1<<16-2)
			}
			s.roleIdx[RoleRef{mv.RoleID, mv.From}] = int32(len(s.roles))
			cr := s.cat.compileRole(keep)
			s.roleLevels = append(s.roleLevels, cr.vec...)
			s.roles = append(s.roles, cr)
			moved[int32(len(s.roles)-1)] = true // for its conditions
		}
		s.pointRoleVectors()
		for i := range moved {
			s.roleConds(i)
		}
	}
	replaced := make(map[int32]bool, len(d.Members)+len(d.Removed))
	for i := range d.Members {
		if mi, ok := s.byUser.lookup(s, d.Members[i].UserID); ok {
			replaced[mi] = true
		}
	}
	for _, u := range d.Removed {
		if mi, ok := s.byUser.lookup(s, u); ok {
			replaced[mi] = true
		}
	}
	// Accesses on a moved slot: those a check reads from the role
	// vectors alone follow the slot; the others, if a member the delta
	// leaves in place is on them, are computed again (accesses that
	// updates left behind are many, and nobody's).
	if len(moved) > 0 {
		if err := s.recomputeMoved(moved, perms, replaced, hot, members); err != nil {
			return err
		}
	}
	for _, e := range d.Epochs {
		i, ok := s.byUser.lookup(s, e.UserID)
		if !ok || replaced[i] {
			return Errorf(CodeInvalidArgument, "update %s: epoch of %q, which is not a member the delta leaves in place", s.workspace, e.UserID)
		}
		members.set(int(i)).epoch = e.Epoch
	}
	return nil
}

// slotsOf marks, by slot, the slots holding role revision ref: the one
// the index names and any a RoleMove left on it. It returns nil for none.
func (s *Snapshot) slotsOf(ref RoleRef) []bool {
	var out []bool
	for j := range s.roles {
		if s.roles[j].RoleID == ref.RoleID && s.roles[j].Revision == ref.Revision {
			if out == nil {
				out = make([]bool, len(s.roles))
			}
			out[j] = true
		}
	}
	return out
}

// plainOn marks the accesses that hold one of slots and have neither
// direct grants nor the owner flag: their levels come from role vectors
// alone.
func (s *Snapshot) plainOn(slots []bool) []bool {
	out := make([]bool, len(s.accesses))
	for i := range s.accesses {
		a := &s.accesses[i]
		if a.direct != nil || a.owner {
			continue
		}
		for _, r := range a.roles {
			if slots[r] {
				out[i] = true
				break
			}
		}
	}
	return out
}

// PlainHolders yields the members holding role revision ref with neither
// direct grants nor ownership, and their epochs: those a RoleMove from
// ref moves without the delta naming them. Ids are slices of the
// snapshot's pages: clone one to keep it.
func (s *Snapshot) PlainHolders(ref RoleRef) iter.Seq2[string, int64] {
	return func(yield func(string, int64) bool) {
		slots := s.slotsOf(ref)
		if slots == nil {
			return
		}
		plain := s.plainOn(slots)
		for i := range s.members.len() {
			m := s.members.at(i)
			if m.gone || !plain[m.access] {
				continue
			}
			if !yield(s.userID(int32(i)), m.epoch) {
				return
			}
		}
	}
}

// MoveChanges calls fn for each plain holder of ref (see PlainHolders)
// and each permission of perms whose level for it changes when ref's
// levels become to's (in the snapshot's catalog): what a RoleMove would
// change, computed once per combination of roles, not per member.
func (s *Snapshot) MoveChanges(ref RoleRef, to Vector, perms []PermID, fn func(user string, p PermID, from, to Level)) {
	slots := s.slotsOf(ref)
	if slots == nil || len(perms) == 0 {
		return
	}
	plain := s.plainOn(slots)
	type change struct {
		p        PermID
		from, to Level
	}
	changes := make([][]change, len(s.accesses))
	done := make([]bool, len(s.accesses))
	for i := range s.members.len() {
		m := s.members.at(i)
		if m.gone || !plain[m.access] {
			continue
		}
		ai := m.access
		if !done[ai] {
			done[ai] = true
			a := &s.accesses[ai]
			for _, p := range perms {
				from, next := s.accessLevel(a, p), s.roleLevels[p] // the no-role vector
				for _, r := range a.roles {
					if slots[r] {
						next = max(next, to[p])
					} else {
						next = max(next, s.roles[r].vec[p])
					}
				}
				if from != next {
					changes[ai] = append(changes[ai], change{p, from, next})
				}
			}
		}
		for _, c := range changes[ai] {
			fn(s.userID(int32(i)), c.p, c.from, c.to)
		}
	}
}

// recomputeMoved gives the members a delta leaves in place, whose access
// holds a moved slot and is not read from role vectors alone, a new
// access computed with the slots' new levels: a materialized vector is
// its old one with perms (where the moved slots changed) computed again,
// an access with conditions is built afresh. Accesses with direct grants
// or the owner flag cannot be (see RoleMove).
func (s *Snapshot) recomputeMoved(moved map[int32]bool, perms []PermID, replaced map[int32]bool, hot *pagedWriter[hotMember], members *pagedWriter[member]) error {
	isMoved := make([]bool, len(s.roles))
	for r := range moved {
		isMoved[r] = true
	}
	const (
		undecided = iota
		unchanged
		remapped
	)
	state := make([]uint8, len(s.accesses))
	var todo []int32    // accesses to compute again, in order
	var repoint []int32 // members on them
	for i := range s.members.len() {
		m := s.members.at(i)
		if m.gone || replaced[int32(i)] {
			continue
		}
		ai := m.access
		if state[ai] == undecided {
			state[ai] = unchanged
			a := &s.accesses[ai]
			on, conds := false, a.cond != nil
			for _, r := range a.roles {
				on = on || isMoved[r]
				conds = conds || s.roles[r].conds != nil
			}
			switch {
			case !on || (a.vecIdx < 0 && !conds):
			case a.direct != nil || a.owner:
				return Errorf(CodeInvalidArgument, "update %s: member %q holds a moved role with direct grants or as owner; give it in full", s.workspace, s.userID(int32(i)))
			default:
				state[ai] = remapped
				todo = append(todo, ai)
			}
		}
		if state[ai] == remapped {
			repoint = append(repoint, int32(i))
		}
	}
	if len(todo) == 0 {
		return nil
	}
	remap := make(map[int32]int32, len(todo))
	s.accesses = room(s.accesses, len(todo))
	s.levels = room(s.levels, len(todo)*s.stride)
	for _, ai := range todo {
		a := &s.accesses[ai]
		remap[ai] = int32(len(s.accesses))
		if !patchable(s, a) {
			s.accesses = append(s.accesses, s.newAccess(a.roles, nil, nil, false, ""))
			continue
		}
		// The old vector, with the moved levels again: the highest of the
		// no-role vector's and the roles' (Catalog.roleLevels).
		off := len(s.levels)
		s.levels = append(s.levels, a.vec...)
		vec := s.levels[off : off+s.stride : off+s.stride]
		for _, p := range perms {
			l := s.roleLevels[p]
			for _, r := range a.roles {
				l = max(l, s.roles[r].vec[p])
			}
			vec[p] = l
		}
		s.accesses = append(s.accesses, access{roles: a.roles, vec: vec, vecIdx: int32(off / s.stride)})
	}
	for _, i := range repoint {
		to := remap[members.a.at(int(i)).access]
		members.set(int(i)).access = to
		h := hot.set(int(i))
		h.flags = 0 // setHot sets flagVector again for a vector
		if err := s.setHot(h, &s.accesses[to]); err != nil {
			return err
		}
	}
	return nil
}

// patchable reports whether access a is a materialized vector of role
// levels alone, which recomputeMoved patches where moved slots changed;
// conditions are compiled afresh.
func patchable(s *Snapshot, a *access) bool {
	if a.cond != nil || a.vec == nil {
		return false
	}
	for _, r := range a.roles {
		if s.roles[r].conds != nil {
			return false
		}
	}
	return true
}

// room returns a with room for n more elements, copying it at most once.
// A copy doubles a: every apply of a large role appends a few thousand
// accesses and vectors to arrays of tens of thousands, and growing them
// by n (or by a quarter, as append grows large slices) copied megabytes
// on nearly every apply. Doubled, the next applies append in place (see
// Snapshot.tail) until the next compaction.
func room[E any](a []E, n int) []E {
	if cap(a)-len(a) >= n {
		return a
	}
	return slices.Grow(a, max(n, len(a)))
}
