package policy

import (
	"slices"
)

// PlanKind is the shape of a filter's answer (D5).
type PlanKind string

// Plan kinds.
const (
	PlanAll         PlanKind = "all"         // every record
	PlanNone        PlanKind = "none"        // no record
	PlanConditional PlanKind = "conditional" // records matching the plan's clauses
)

// Plan says which records of a module a member may reach with a permission,
// in a form a host turns into a WHERE clause (D5). A conditional plan
// matches a record when any clause holds:
//
//	owner_id IN OwnerIDs
//	OR department_id IN DepartmentIDs
//	OR (department_id IS NULL AND owner_id IN DepartmentOwnerIDs)
//	OR RelationUser is listed in one of the record's Relations
//
// The third clause exists because a record without a department counts as
// in its owner's departments (D2); the fourth covers relations.responsible on
// scoped modules and the relations of relation modules (R10).
type Plan struct {
	Kind               PlanKind `json:"kind"`
	OwnerIDs           []string `json:"owner_ids,omitempty"`
	DepartmentIDs      []string `json:"department_ids,omitempty"`
	DepartmentOwnerIDs []string `json:"department_owner_ids,omitempty"`
	RelationUser       string   `json:"relation_user,omitempty"`
	Relations          []string `json:"relations,omitempty"`
	Level              Level    `json:"level"`
	Revision           int64    `json:"revision"`
}

// Matches reports whether a record satisfies the plan: the reference
// semantics of the SQL a host builds from it.
func (p *Plan) Matches(r *Resource) bool {
	switch p.Kind {
	case PlanAll:
		return true
	case PlanNone:
		return false
	}
	if slices.Contains(p.OwnerIDs, r.OwnerID) {
		return true
	}
	if r.DepartmentID != "" && slices.Contains(p.DepartmentIDs, r.DepartmentID) {
		return true
	}
	if r.DepartmentID == "" && slices.Contains(p.DepartmentOwnerIDs, r.OwnerID) {
		return true
	}
	for i, name := range relationNames {
		if slices.Contains(p.Relations, name) && slices.Contains(r.Relations.list(i), p.RelationUser) {
			return true
		}
	}
	return false
}

// Filter returns the plan of records that user may reach with permission
// (D5). A record matches the plan iff CheckRecord allows it. A non-member
// gets PlanNone; an unknown permission is an unknown_permission error.
func (s *Snapshot) Filter(user, permission string) (*Plan, error) {
	perm, err := s.cat.PermissionByKey(permission)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Kind: PlanNone, Revision: s.revision}
	mi, ok := s.byUser.lookup(s, user)
	if !ok {
		return plan, nil
	}
	m := &s.members[mi]
	l := s.accessLevel(&s.accesses[m.access], perm.ID)
	plan.Level = l
	switch {
	case l == LevelNone:
		return plan, nil
	case l == LevelAll:
		plan.Kind = PlanAll
		return plan, nil
	}
	plan.Kind = PlanConditional
	plan.RelationUser = user
	if perm.relations != 0 {
		for i, name := range relationNames {
			if perm.relations&(1<<i) != 0 {
				plan.Relations = append(plan.Relations, name)
			}
		}
		return plan, nil
	}
	plan.OwnerIDs = []string{user}
	plan.Relations = []string{RelResponsible}
	if l < LevelDepartment {
		return plan, nil
	}
	// The departments within reach, then every member in one of them: the
	// owners whose department-less records are within reach too.
	mine := s.memberDepts(m)
	var owners []int32
	for d := range s.depts.nodes {
		if s.deptReason(mine, int32(d), l) != ReasonOutOfScope {
			plan.DepartmentIDs = append(plan.DepartmentIDs, s.depts.nodes[d].id)
			owners = append(owners, s.deptMembers[d]...)
		}
	}
	slices.Sort(owners)
	owners = slices.Compact(owners)
	plan.DepartmentOwnerIDs = make([]string, len(owners))
	for i, o := range owners {
		plan.DepartmentOwnerIDs[i] = s.userID(o)
	}
	slices.Sort(plan.DepartmentIDs)
	slices.Sort(plan.DepartmentOwnerIDs)
	return plan, nil
}
