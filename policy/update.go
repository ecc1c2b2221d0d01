package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
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
	// Moves move every member on a role revision to another revision of
	// the role without naming them (an apply, R6; see RoleMove), and
	// Epochs set the epochs of members otherwise left as they are.
	Moves  []RoleMove
	Epochs []MemberEpoch
}

// Update returns the snapshot of s's workspace after d, sharing with s
// everything d leaves alone: decisions on the result are exactly those of
// Compile on the whole new state (a differential test holds it to that).
// s itself is not changed and stays valid.
//
// The cost is a copy of the pages of the member arrays that d changes
// (see paged.go), their page tables and the index's table of recent
// additions, instead of a whole compile. The members an update changes share new accesses among
// themselves but not with the members it leaves alone, so memory grows
// with every update until the next Compile: see Stale.
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
	// The first Update of s appends to s's arrays in place, past s's
	// length, where s never reads; any other caps them, so that its appends
	// copy (see Snapshot.tail).
	inPlace := s.tail != nil && s.tail.CompareAndSwap(false, true)
	ns.tail = new(atomic.Bool)
	if !inPlace {
		ns.accesses = slices.Clip(s.accesses)
		ns.levels = slices.Clip(s.levels)
		ns.deptArena = slices.Clip(s.deptArena)
	}
	hot, members := derive(&ns.hot, inPlace), derive(&ns.members, inPlace)
	from := len(ns.accesses)
	// The department index is rebuilt only when a member left or changed
	// departments; members added are appended to it.
	reindex := len(d.Removed) > 0
	if err := ns.moveRoles(&d, &hot, &members); err != nil {
		return nil, err
	}

	seen := make(map[string]bool, len(d.Members)+len(d.Removed))
	for _, u := range d.Removed {
		if seen[u] {
			return nil, Errorf(CodeInvalidArgument, "update %s: member %q removed twice", s.workspace, u)
		}
		seen[u] = true
		if i, ok := ns.byUser.lookup(&ns, u); ok {
			ns.remove(&hot, &members, i)
		}
	}
	ids := idAppender{s: &ns, n: s.hot.len(), p: -1}
	// Members the update gives the same combination share one new access,
	// as in Compile: an applied role edit moves thousands of members to a
	// few combinations, and an access each would make the snapshot Stale.
	c := memberCompiler{interned: map[string]int32{}}
	for i := range d.Members {
		m := &d.Members[i]
		if seen[m.UserID] {
			return nil, Errorf(CodeInvalidArgument, "update %s: member %q appears twice", s.workspace, m.UserID)
		}
		seen[m.UserID] = true
		if mi, ok := ns.byUser.lookup(&ns, m.UserID); ok {
			// Replace in place: the id stays where it is.
			old := ns.members.at(int(mi))
			h, cm, err := c.compile(&ns, m, ns.hot.at(int(mi)).idOff, old)
			if err != nil {
				return nil, err
			}
			if cm.deptOff != old.deptOff || cm.deptLen != old.deptLen {
				reindex = true
			}
			// The email index still finds a member whose email stayed.
			cm.sorted = old.sorted && old.email() == cm.email()
			*hot.set(int(mi)), *members.set(int(mi)) = h, cm
			continue
		}
		h, cm, err := c.compile(&ns, m, ids.add(m.UserID), nil)
		if err != nil {
			return nil, err
		}
		hot.push(h)
		members.push(cm)
	}
	ids.flush()
	// New members go into the index once ids holds their bytes.
	ns.addMembers(s.hot.len())
	ns.flattenVectors(from)
	if ns.needsCompact() {
		ns.compact()
	}
	if reindex {
		ns.indexDepartments()
	} else {
		ns.appendDepartments(s.members.len(), inPlace)
	}
	ns.addEmails(d.Members)
	return &ns, nil
}

// appendDepartments adds members first… to the department index that
// Update copied from the snapshot it updates, appending to the lists of
// departments that gain members in place when inPlace, else to copies:
// the result equals indexDepartments'.
func (s *Snapshot) appendDepartments(first int, inPlace bool) {
	if first == s.members.len() {
		return
	}
	if s.deptMembers == nil {
		if s.members.len() > smallScan { // grown past scanning
			s.indexDepartments()
		}
		return
	}
	s.deptMembers = slices.Clone(s.deptMembers)
	var clipped []bool // when appends must copy: the lists cut to their length
	if !inPlace {
		clipped = make([]bool, len(s.deptMembers))
	}
	for i := first; i < s.members.len(); i++ {
		for _, d := range s.memberDepts(s.members.at(i)) {
			if clipped != nil && !clipped[d] {
				clipped[d] = true
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
func (s *Snapshot) remove(hot *pagedWriter[hotMember], members *pagedWriter[member], i int32) {
	hot.set(int(i)).idLen = 0
	members.set(int(i)).gone = true
	s.gone++
}

// idAppender appends the ids of members an Update adds to the snapshot's
// id pages: it copies the page table once and rebuilds the strings of the
// pages that gain ids, the last one and any new, keeping id0 in step.
type idAppender struct {
	s      *Snapshot
	n      int // members, with the ones added so far
	p      int // the page page holds, or -1
	page   strings.Builder
	copied bool
}

// add appends id, the id of member n, and returns its offset in its page.
func (a *idAppender) add(id string) uint32 {
	if p := a.n >> pageShift; p != a.p {
		a.flush()
		a.p = p
		if p < len(a.s.ids) {
			a.page.WriteString(a.s.ids[p])
		}
	}
	off := a.page.Len()
	a.page.WriteString(id)
	a.n++
	return uint32(off)
}

// flush stores the page being built.
func (a *idAppender) flush() {
	if a.p < 0 {
		return
	}
	if !a.copied {
		a.s.ids = slices.Clone(a.s.ids)
		a.copied = true
	}
	if a.p < len(a.s.ids) {
		a.s.ids[a.p] = a.page.String()
	} else {
		a.s.ids = append(a.s.ids, a.page.String())
	}
	a.s.id0 = a.s.ids[0]
	a.page = strings.Builder{}
	a.p = -1
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

// Stale reports whether updates have grown the snapshot enough (removed
// members still held, role revisions no member may hold any more) that
// compiling the whole state again would pay for itself. Accesses left
// behind do not make it stale: Update compacts them (see compact.go).
func (s *Snapshot) Stale() bool {
	return s.gone > max(1024, s.hot.len()/4) || len(s.roles) > max(256, 2*s.compiledRoles)
}
