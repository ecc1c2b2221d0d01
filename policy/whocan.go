package policy

import "slices"

// WhoCan returns the members whose effective level of permission is at
// least min, sorted by user id (D7). For an unscoped permission any min
// above none means "has it". Each distinct access vector is evaluated once.
func (s *Snapshot) WhoCan(permission string, min Level) ([]string, error) {
	perm, err := s.cat.PermissionByKey(permission)
	if err != nil {
		return nil, err
	}
	if !min.Valid() {
		return nil, Errorf(CodeInvalidArgument, "invalid level %d", min)
	}
	ok := make([]bool, len(s.accesses))
	for i := range s.accesses {
		ok[i] = s.accessLevel(&s.accesses[i], perm.ID) >= min
	}
	out := []string{}
	for i := range s.members.len() {
		if m := s.members.at(i); !m.gone && ok[m.access] {
			out = append(out, s.userID(int32(i)))
		}
	}
	slices.Sort(out)
	return out, nil
}

// WhoCanRecord returns the members a check of permission on record r
// allows, with the request context ctx for grant conditions, sorted by user
// id (D7, G2). Members are checked one by one: conditions and scopes depend
// on the record.
func (s *Snapshot) WhoCanRecord(permission string, r *Resource, ctx Context) ([]string, error) {
	if _, err := s.cat.PermissionByKey(permission); err != nil {
		return nil, err
	}
	out := []string{}
	for i := range s.members.len() {
		if s.members.at(i).gone {
			continue
		}
		u := s.userID(int32(i))
		if d, err := s.CheckContext(u, permission, r, ctx); err == nil && d.Allowed {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out, nil
}
