package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Delta is a change to a workspace that leaves its catalog and departments
// as they are: what most writes are (member upserts and removals, role
// assignments, direct grants, role edits).
type Delta struct {
	Revision int64
	// Roles are role revisions the snapshot does not hold yet.
	Roles []RoleRevision
	// Members are members added or changed, in full.
	Members []Member
	// Removed are the user ids of members removed.
	Removed []string
}

// Update returns the snapshot of s's workspace after d, sharing with s
// everything d leaves alone: decisions on the result are exactly those of
// Compile on the whole new state (a differential test holds it to that).
// s itself is not changed and stays valid.
//
// The cost is a copy of the member arrays and index (a few MB at 100,000
// members) instead of a whole compile. Members changed by an update get
// accesses of their own rather than shared ones, so memory grows with
// every update until the next Compile: see Stale.
//
// It returns invalid_argument, like Compile, when d refers to a role
// revision or department the result does not hold or repeats a member.
func (s *Snapshot) Update(d Delta) (*Snapshot, error) {
	ns := *s
	ns.revision = d.Revision
	ns.condsOwned, ns.condPermsOwned = false, false // copied on first write
	if err := ns.addRoles(d.Roles); err != nil {
		return nil, err
	}
	// Every slice that Update appends to is capped at its length, so that
	// appends copy instead of writing into s's backing arrays.
	ns.accesses = s.accesses[:len(s.accesses):len(s.accesses)]
	ns.levels = s.levels[:len(s.levels):len(s.levels)]
	ns.deptArena = s.deptArena[:len(s.deptArena):len(s.deptArena)]
	ns.hot = slices.Clone(s.hot)
	ns.members = slices.Clone(s.members)
	ns.byUser = userIndex{seed: s.byUser.seed, slots: slices.Clone(s.byUser.slots)}
	from := len(ns.accesses)
	// The department index is rebuilt only when a member left or changed
	// departments; members added are appended to it.
	reindex := len(d.Removed) > 0

	seen := make(map[string]bool, len(d.Members)+len(d.Removed))
	for _, u := range d.Removed {
		if seen[u] {
			return nil, Errorf(CodeInvalidArgument, "update %s: member %q removed twice", s.workspace, u)
		}
		seen[u] = true
		if i, ok := ns.byUser.lookup(&ns, u); ok {
			ns.remove(i)
		}
	}
	var ids strings.Builder
	ids.WriteString(s.ids)
	var c memberCompiler
	for i := range d.Members {
		m := &d.Members[i]
		if seen[m.UserID] {
			return nil, Errorf(CodeInvalidArgument, "update %s: member %q appears twice", s.workspace, m.UserID)
		}
		seen[m.UserID] = true
		if mi, ok := ns.byUser.lookup(&ns, m.UserID); ok {
			// Replace in place: the id stays where it is.
			h, cm, err := c.compile(&ns, m, ns.hot[mi].idOff)
			if err != nil {
				return nil, err
			}
			if !slices.Equal(ns.memberDepts(&ns.members[mi]), ns.memberDepts(&cm)) {
				reindex = true
			}
			ns.hot[mi], ns.members[mi] = h, cm
			continue
		}
		h, cm, err := c.compile(&ns, m, uint32(ids.Len()))
		if err != nil {
			return nil, err
		}
		ids.WriteString(m.UserID)
		ns.hot = append(ns.hot, h)
		ns.members = append(ns.members, cm)
	}
	ns.ids = ids.String()
	// New members go into the index once ids holds their bytes; a table
	// past half full is rebuilt at the new size.
	live := len(ns.hot) - ns.gone
	if 2*(len(ns.hot)) >= len(ns.byUser.slots) {
		ns.byUser = newUserIndex(live + live/4) // headroom for the next updates
		for i := range ns.hot {
			if !ns.members[i].gone {
				ns.byUser.insert(ns.userID(int32(i)), int32(i))
			}
		}
	} else {
		for i := len(s.hot); i < len(ns.hot); i++ {
			ns.byUser.insert(ns.userID(int32(i)), int32(i))
		}
	}
	ns.flattenVectors(from)
	if reindex {
		ns.indexDepartments()
	} else {
		ns.appendDepartments(len(s.members))
	}
	ns.addEmails(d.Members)
	return &ns, nil
}

// appendDepartments adds members first… to the department index that
// Update copied from the snapshot it updates, copying only the lists of
// departments that gain members: the result equals indexDepartments'.
func (s *Snapshot) appendDepartments(first int) {
	if first == len(s.members) {
		return
	}
	s.deptMembers = slices.Clone(s.deptMembers)
	copied := make([]bool, len(s.deptMembers))
	for i := first; i < len(s.members); i++ {
		for _, d := range s.memberDepts(&s.members[i]) {
			if !copied[d] {
				copied[d] = true
				l := s.deptMembers[d]
				s.deptMembers[d] = l[:len(l):len(l)] // the next append copies
			}
			s.deptMembers[d] = append(s.deptMembers[d], int32(i))
		}
	}
}

// remove makes member i unreachable: an empty id never equals a looked-up
// one (ids are at least one byte), so the index skips its slot without a
// change to the check path, and scans skip it by its gone flag.
func (s *Snapshot) remove(i int32) {
	s.hot[i].idLen = 0
	s.members[i].gone = true
	s.gone++
}

// addRoles appends compiled role revisions: slots after every existing one,
// so no hot member record moves.
func (s *Snapshot) addRoles(rs []RoleRevision) error {
	if len(rs) == 0 {
		return nil
	}
	idx := make(map[RoleRef]int32, len(s.roleIdx)+len(rs))
	for k, v := range s.roleIdx {
		idx[k] = v
	}
	roles := slices.Clip(slices.Clone(s.roles))
	levels := slices.Clip(s.roleLevels)
	for _, r := range rs {
		ref := RoleRef{r.RoleID, r.Revision}
		if _, dup := idx[ref]; dup {
			return Errorf(CodeInvalidArgument, "update %s: role revision %s already in the snapshot", s.workspace, ref)
		}
		if len(roles)+1 >= 1<<16-1 {
			return fmt.Errorf("update %s: %w", s.workspace, Errorf(CodeInvalidArgument, "more than %d role revisions in one workspace", 1<<16-2))
		}
		idx[ref] = int32(len(roles))
		cr := s.cat.compileRole(r)
		levels = append(levels, cr.vec...)
		roles = append(roles, cr)
	}
	first := len(s.roles)
	s.roleIdx, s.roles, s.roleLevels = idx, roles, levels
	for i := first; i < len(s.roles); i++ {
		s.roleConds(int32(i))
	}
	s.pointRoleVectors()
	return nil
}

// Stale reports whether updates have grown the snapshot enough (accesses no
// longer shared, removed members still held) that compiling the whole
// state again would pay for itself.
func (s *Snapshot) Stale() bool {
	extra := len(s.accesses) - s.compiled
	return extra > max(1024, s.compiled) || s.gone > max(1024, len(s.hot)/4)
}
