package policy

import (
	"maps"
	"slices"
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
	s.emails = map[string]int32{}
	for i := range s.members.len() {
		if e := s.members.at(i).email; e != "" {
			s.emails[e] = int32(i)
		}
	}
	s.emailsAdded = nil
}

// addEmails records the emails of members an Update added or changed. The
// map of additions is copied, never changed: s's predecessor keeps its own.
func (s *Snapshot) addEmails(ms []Member) {
	if s.emails == nil {
		if s.members.len() > smallScan { // grown past scanning
			s.indexEmails()
		}
		return
	}
	var added map[string]int32
	for i := range ms {
		if ms[i].Email == "" {
			continue
		}
		if added == nil {
			added = maps.Clone(s.emailsAdded)
			if added == nil {
				added = map[string]int32{}
			}
		}
		if mi, ok := s.byUser.lookup(s, ms[i].UserID); ok {
			added[ms[i].Email] = mi
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
			if m := s.members.at(i); !m.gone && m.email == email {
				return s.userID(int32(i)), true
			}
		}
		return "", false
	}
	for _, idx := range []map[string]int32{s.emailsAdded, s.emails} {
		if i, ok := idx[email]; ok {
			if m := s.members.at(int(i)); m.gone || m.email != email {
				continue
			}
			return s.userID(i), true
		}
	}
	return "", false
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
