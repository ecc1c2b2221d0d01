package policy

import (
	"maps"
	"slices"
	"strings"
)

// This file is how a standard client names things Gatehouse names
// otherwise (Z2): a record's owner by its email, an action by the
// workspace's own alias. Neither is on the path of a check by user id and
// permission key.

// indexEmails indexes every member with an email, after Compile, unless
// the workspace is small (see smallScan): MemberByEmail then scans.
func (s *Snapshot) indexEmails() {
	s.emails, s.emailsAdded = nil, nil
	if s.members.len() <= smallScan {
		return
	}
	s.emails = s.sortEmails()
}

// sortEmails returns the positions of the sorted members (see
// member.sorted) with an email, sorted by email. Its result is never nil,
// even empty: a nil index is a small workspace, which MemberByEmail scans.
func (s *Snapshot) sortEmails() []int32 {
	take := func(m *member) bool { return m.email() != "" && !m.gone && m.sorted }
	n := 0
	for i := range s.members.len() {
		if take(s.members.at(i)) {
			n++
		}
	}
	// Counted first: the index is kept until the next Compile, and room
	// for the members without an email would be kept with it.
	out := make([]int32, 0, n)
	for i := range s.members.len() {
		if take(s.members.at(i)) {
			out = append(out, int32(i))
		}
	}
	slices.SortFunc(out, func(a, b int32) int {
		return strings.Compare(s.members.at(int(a)).email(), s.members.at(int(b)).email())
	})
	return out
}

// addEmails records the emails of members an Update added or whose email
// it changed. The
// map of additions is copied, never changed: s's predecessor keeps its own.
// It keeps every member given an email, not the last: when two share one
// and one is removed or changes it, the other is still found.
func (s *Snapshot) addEmails(ms []Member) {
	if s.emails == nil {
		if s.members.len() > smallScan { // grown past scanning
			// As if compiled small and updated since: the sorted index
			// holds the sorted members, the additions the others.
			s.emails = s.sortEmails()
			for i := range s.members.len() {
				if m := s.members.at(i); m.email() != "" && !m.gone && !m.sorted {
					if s.emailsAdded == nil {
						s.emailsAdded = map[string][]int32{}
					}
					s.emailsAdded[m.email()] = append(s.emailsAdded[m.email()], int32(i))
				}
			}
		}
		return
	}
	var added map[string][]int32
	for i := range ms {
		if ms[i].Email == "" {
			continue
		}
		mi, ok := s.byUser.lookup(s, ms[i].UserID)
		if !ok || s.members.at(int(mi)).sorted {
			continue // found by the sorted index: an update that kept the email
		}
		if added == nil {
			added = maps.Clone(s.emailsAdded)
			if added == nil {
				added = map[string][]int32{}
			}
		}
		if !slices.Contains(added[ms[i].Email], mi) {
			// Clipped: the predecessor's list may share the array.
			added[ms[i].Email] = append(slices.Clip(added[ms[i].Email]), mi)
		}
	}
	if added != nil {
		s.emailsAdded = added
	}
}

// MemberByEmail returns the user id of the member whose email is email
// (Z2: a record's owner named by email). Emails are compared exactly; two
// members sharing one resolve to either.
func (s *Snapshot) MemberByEmail(email string) (string, bool) {
	if email == "" {
		return "", false
	}
	if s.emails == nil {
		for i := range s.members.len() {
			if m := s.members.at(i); !m.gone && m.email() == email {
				return s.userID(int32(i)), true
			}
		}
		return "", false
	}
	for _, i := range s.emailsAdded[email] {
		if m := s.members.at(int(i)); !m.gone && m.email() == email {
			return s.userID(i), true
		}
	}
	// A binary search that steps over the holes (members whose email an
	// update changed: see member.sorted), whose emails are out of order: lo ends at
	// the first compiled member with an email not below email.
	idx := s.emails
	lo, hi := 0, len(idx)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch j, m := s.nextCompiled(idx, mid, hi); {
		case m == nil:
			hi = mid
		case m.email() < email:
			lo = j + 1
		default:
			hi = j
		}
	}
	// Members sharing the email follow, some maybe removed since.
	for j := lo; j < len(idx); j++ {
		var m *member
		if j, m = s.nextCompiled(idx, j, len(idx)); m == nil || m.email() != email {
			break
		}
		if !m.gone {
			return s.userID(idx[j]), true
		}
	}
	return "", false
}

// nextCompiled returns the first of the sorted index's entries j to hi
// whose member is still sorted (see member.sorted), and the member; else
// hi and nil.
func (s *Snapshot) nextCompiled(idx []int32, j, hi int) (int, *member) {
	for ; j < hi; j++ {
		if m := s.members.at(int(idx[j])); m.sorted {
			return j, m
		}
	}
	return hi, nil
}

// resolveAliases maps aliases to permission ids, leaving out those whose
// key the catalog does not know.
func (c *Catalog) resolveAliases(aliases map[string]string) map[string]PermID {
	out := make(map[string]PermID, len(aliases))
	for a, key := range aliases {
		if id, ok := c.byKey[key]; ok {
			out[a] = id
		}
	}
	return out
}

// Alias returns the permission key a workspace action alias stands for
// (Z2).
func (s *Snapshot) Alias(name string) (string, bool) {
	id, ok := s.aliases[name]
	if !ok {
		return "", false
	}
	return s.cat.perms[id].Key, true
}

// AliasesOf returns the workspace's action aliases that reach permission
// key, sorted.
func (s *Snapshot) AliasesOf(key string) []string {
	var out []string
	for a, id := range s.aliases {
		if s.cat.perms[id].Key == key {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}
