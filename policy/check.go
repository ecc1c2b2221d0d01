package policy

// Reason says why a decision came out as it did. Reasons are stable strings
// that clients may switch on.
type Reason string

// Decision reasons.
const (
	ReasonGranted       Reason = "granted"       // D1: a level above none
	ReasonNoGrant       Reason = "no_grant"      // the effective level is none
	ReasonNotAMember    Reason = "not_a_member"  // D3
	ReasonLevelAll      Reason = "level_all"     // D2: all allows any record
	ReasonOwner         Reason = "owner"         // D2: the member owns the record
	ReasonResponsible   Reason = "responsible"   // D2: among relations.responsible
	ReasonDepartment    Reason = "department"    // D2: the record is in a department of the member
	ReasonSubdepartment Reason = "subdepartment" // D2: the record is below a department of the member
	ReasonOutOfScope    Reason = "out_of_scope"  // D2: the level does not reach the record
	ReasonRelation      Reason = "relation"      // R10: the member is related to the record
	ReasonNoRelation    Reason = "no_relation"   // R10: no relation allows the action
	// G2, G3: the only grants that reach the record are conditional, and
	// their conditions are false on it, or fail to evaluate.
	ReasonConditionFalse Reason = "condition_false"
	ReasonConditionError Reason = "condition_error"
)

// Decision is the answer to a check.
type Decision struct {
	Allowed  bool   `json:"allowed"`
	Level    Level  `json:"level"`    // the member's effective level of the permission
	Reason   Reason `json:"reason"`   // why
	Revision int64  `json:"revision"` // the snapshot revision the decision was computed at (D8)
	// Conditional is set when only conditional grants allow (G3).
	Conditional bool `json:"conditional,omitempty"`
	// evals and evalErrors count the conditions evaluated, for metrics.
	evals, evalErrors uint8
	// src is 1 + the index of the role revision that gave Level, or 0
	// when it is unknown: see Snapshot.DecidingRole.
	src  int32
	perm PermID // the permission decided, for UsageSlot
}

// Relations lists, for each R10 relation, the users who hold it on a record.
type Relations struct {
	Creator     []string `json:"creator,omitempty"`
	Responsible []string `json:"responsible,omitempty"`
	Participant []string `json:"participant,omitempty"`
	Observer    []string `json:"observer,omitempty"`
}

// list returns the users holding relation i of relationNames.
func (r *Relations) list(i int) []string {
	switch i {
	case 0:
		return r.Creator
	case 1:
		return r.Responsible
	case 2:
		return r.Participant
	default:
		return r.Observer
	}
}

// Resource is the record a check is about (D2). DepartmentID may be empty:
// the record then counts as in its owner's departments.
type Resource struct {
	OwnerID      string    `json:"owner_id,omitempty"`
	DepartmentID string    `json:"department_id,omitempty"`
	Relations    Relations `json:"relations,omitzero"`
	// Attributes are the record's other fields, read by grant conditions
	// as record.<name> (G1).
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Check answers "may user do permission?" without a record (D1): allowed
// iff the member's effective level is above none. An unknown user is denied
// with ReasonNotAMember (D3); an unknown permission is an unknown_permission
// error, never a silent deny (C1). Two map lookups and an index: no lock,
// no allocation.
func (s *Snapshot) Check(user, permission string) (Decision, error) {
	return s.CheckRecord(user, permission, nil)
}

// CheckRecord answers "may user do permission on this record?" (D2). A nil
// record is a check without one (D1). Levels nest: a level allows every
// record a lower level allows.
//
//   - all: any record.
//   - subdepartments: the record's department, or without one any of its
//     owner's departments, lies in the subtree of one of the member's
//     departments.
//   - department: the same, for the member's own departments only.
//   - own: the member owns the record or is among relations.responsible.
//
// On relation modules (R10) the member reaches a record through a relation
// that allows the action (creator, responsible, participant, observer), or
// any record where a predefined role grants all.
func (s *Snapshot) CheckRecord(user, permission string, r *Resource) (Decision, error) {
	return s.CheckContext(user, permission, r, nil)
}

// CheckContext is CheckRecord with a request context, which grant
// conditions read as `request` (G1). A member without a conditional grant on
// the permission is decided exactly as by CheckRecord, on the same path;
// otherwise see checkConditional (G2, G3).
func (s *Snapshot) CheckContext(user, permission string, r *Resource, ctx Context) (Decision, error) {
	pid, ok := s.cat.byKey[permission]
	if !ok {
		return Decision{Revision: s.revision}, s.cat.unknownPermission(permission)
	}
	mi, ok := s.byUser.lookup(s, user)
	if !ok {
		return Decision{Reason: ReasonNotAMember, Revision: s.revision}, nil
	}
	h := s.hot.at(int(mi))
	l := s.level(h, int(pid))
	d := Decision{Level: l, Revision: s.revision, src: s.source(h, int(pid), l), perm: pid}
	if s.condPerms[pid] {
		if a := &s.accesses[s.members.at(int(mi)).access]; s.hasConditional(a, pid) {
			return s.checkConditional(user, mi, pid, a, r, ctx, d), nil
		}
	}
	switch {
	case l == LevelNone:
		d.Reason = ReasonNoGrant
	case r == nil:
		d.Allowed, d.Reason = true, ReasonGranted
	case l == LevelAll:
		d.Allowed, d.Reason = true, ReasonLevelAll
	case s.cat.perms[pid].relations != 0:
		d.Reason = ReasonNoRelation
		if related(user, s.cat.perms[pid].relations, &r.Relations) {
			d.Allowed, d.Reason = true, ReasonRelation
		}
	default:
		d.Reason = s.scope(user, mi, l, r)
		d.Allowed = d.Reason != ReasonOutOfScope
	}
	return d, nil
}

// scope evaluates a scoped level below all against a record, for member mi.
func (s *Snapshot) scope(user string, mi int32, l Level, r *Resource) Reason {
	if r.OwnerID == user {
		return ReasonOwner
	}
	if contains(r.Relations.Responsible, user) {
		return ReasonResponsible
	}
	if l < LevelDepartment {
		return ReasonOutOfScope
	}
	var buf, obuf [1]int32
	mine := s.deptsOf(mi, &buf)
	if r.DepartmentID != "" {
		d, ok := s.depts.byID[r.DepartmentID]
		if !ok {
			return ReasonOutOfScope
		}
		return s.deptReason(mine, d, l)
	}
	oi, ok := s.byUser.lookup(s, r.OwnerID)
	if !ok {
		return ReasonOutOfScope
	}
	for _, d := range s.deptsOf(oi, &obuf) {
		if why := s.deptReason(mine, d, l); why != ReasonOutOfScope {
			return why
		}
	}
	return ReasonOutOfScope
}

// deptReason reports whether department d is within reach of a member in
// departments mine at level l (department or subdepartments).
func (s *Snapshot) deptReason(mine []int32, d int32, l Level) Reason {
	for _, md := range mine {
		if md == d {
			return ReasonDepartment
		}
	}
	if l >= LevelSubdepartments {
		for _, md := range mine {
			if s.depts.within(d, md) {
				return ReasonSubdepartment
			}
		}
	}
	return ReasonOutOfScope
}

// related reports whether user holds on the record one of the relations in
// mask (bits over relationNames).
func related(user string, mask uint8, rel *Relations) bool {
	for i := range relationNames {
		if mask&(1<<i) != 0 && contains(rel.list(i), user) {
			return true
		}
	}
	return false
}

// source finds which of a hot member's inline role revisions gives level
// l of permission p, for usage counting (U1): the three loads are the ones
// level just made, so they are in cache.
func (s *Snapshot) source(h *hotMember, p int, l Level) int32 {
	if h.flags&flagVector != 0 || l == LevelNone {
		return 0
	}
	rl := s.roleLevels
	for _, r := range h.r {
		if r != 0 && rl[int(r)*s.stride+p] == l {
			return int32(r) // slot r is role revision r-1: src encodes it as r
		}
	}
	return 0
}

// DecidingRole returns the role revision whose grant gave decision d its
// level, for usage counting (U1). It reports false when no single role
// revision can be named cheaply: the level came from a direct grant,
// ownership or relation access, or the member's roles are combined in a
// materialized vector (more than three roles, direct grants, owners).
func (s *Snapshot) DecidingRole(d Decision) (RoleRef, bool) {
	if d.src == 0 || int(d.src) > len(s.roles) {
		return RoleRef{}, false
	}
	r := &s.roles[d.src-1]
	return RoleRef{RoleID: r.RoleID, Revision: r.Revision}, true
}

// RoleIndex returns a dense index of the role revision that decided d, in
// [0, NumRoleRevisions()), or -1: what DecidingRole names, as an array
// index for counters.
func (s *Snapshot) RoleIndex(d Decision) int {
	if d.src == 0 || int(d.src) > len(s.roles) {
		return -1
	}
	return int(d.src - 1)
}

// UsageSlot returns d's (role revision, permission) pair as one dense index
// in [0, NumRoleRevisions()*NumPermissions()), or -1 when no role decided
// (see DecidingRole): an array index for usage counters, with no second
// lookup of the permission.
func (s *Snapshot) UsageSlot(d Decision) int {
	ri := s.RoleIndex(d)
	if ri < 0 {
		return -1
	}
	return ri*s.stride + int(d.perm)
}

// NumRoleRevisions returns how many role revisions the snapshot holds.
func (s *Snapshot) NumRoleRevisions() int { return len(s.roles) }

// RoleRevisionAt returns the role revision of index i (see RoleIndex).
func (s *Snapshot) RoleRevisionAt(i int) RoleRef {
	return RoleRef{RoleID: s.roles[i].RoleID, Revision: s.roles[i].Revision}
}
