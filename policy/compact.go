package policy

import (
	"slices"
	"strconv"
)

// An Update gives the members it changes new accesses and leaves the ones
// they had, which the snapshot it derives from still reads. An applied
// edit of a role held by thousands moves them all to a few new
// combinations, so every such write leaves a few hundred accesses behind
// in a large workspace. Compiling the whole workspace again when they
// pile up cost a writer (and every node following it) a quarter of a
// second per 100,000 members every few applied edits. compact drops them
// instead: it renumbers the accesses members use, merging equal ones, and
// rewrites the member records that point to them, leaving everything
// else (roles, departments, ids, indexes) shared.

// needsCompact reports whether the accesses added since the last Compile
// or compaction outgrow the ones it left.
func (s *Snapshot) needsCompact() bool {
	return len(s.accesses)-s.compiled > max(1024, s.compiled)
}

// compact keeps the accesses some member of s points to, each combination
// without direct grants once (one with direct grants is a member's own,
// rarely shared, and keeps its access), and points the members at them. s must be an Update's result not
// yet published: its page tables may be copied, never the published
// pages, which compact copies before it writes them.
func (s *Snapshot) compact() {
	remap := make([]int32, len(s.accesses))
	for i := range remap {
		remap[i] = -1
	}
	var (
		live   []access
		levels []Level
		merged = map[string]int32{}
		key    []byte
	)
	for i := range s.members.len() {
		m := s.members.at(i)
		if m.gone || remap[m.access] >= 0 {
			continue
		}
		a := s.accesses[m.access]
		if a.direct == nil {
			// Without direct grants, equal roles, owner flag and (for an
			// owner) kind make an equal access, conditions included (they
			// come from the roles): as Compile interns them (accessKey).
			key = key[:0]
			if a.owner {
				key = append(key, 'O')
				key = strconv.AppendBool(key, m.client)
			}
			for _, r := range a.roles {
				key = strconv.AppendInt(append(key, ','), int64(r), 36)
			}
			if j, ok := merged[string(key)]; ok {
				remap[m.access] = j
				continue
			}
			merged[string(key)] = int32(len(live))
		}
		remap[m.access] = int32(len(live))
		if a.vecIdx >= 0 {
			a.vecIdx = int32(len(levels) / s.stride)
			levels = append(levels, a.vec...)
		}
		live = append(live, a)
	}
	hot, members := derive(&s.hot, false), derive(&s.members, false)
	for i := range s.members.len() {
		from := s.members.at(i).access
		to := remap[from]
		if to < 0 {
			// A removed member's, which nothing reads (it is unreachable
			// by id and scans skip it): any live access will do, and it
			// keeps no access alive. Without one, its own is kept.
			if len(live) == 0 {
				remap[from] = 0
				a := s.accesses[from]
				if a.vecIdx >= 0 {
					a.vecIdx = 0
					levels = append(levels, a.vec...)
				}
				live = append(live, a)
			}
			to = 0
		}
		if to != from {
			members.set(i).access = to
		}
		if a := &live[to]; a.vecIdx >= 0 && a.vecIdx != s.accesses[from].vecIdx {
			h := hot.set(i)
			h.r[0], h.r[1] = uint16(a.vecIdx), uint16(a.vecIdx>>16)
		}
	}
	for i := range live {
		if a := &live[i]; a.vecIdx >= 0 {
			lo, hi := int(a.vecIdx)*s.stride, int(a.vecIdx+1)*s.stride
			a.vec = levels[lo:hi:hi]
		}
	}
	s.accesses, s.levels = slices.Clip(live), slices.Clip(levels)
	s.compiled = len(s.accesses)
}
