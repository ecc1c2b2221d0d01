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
	Kind PlanKind `json:"kind"`
	Scope
	Level    Level `json:"level"`
	Revision int64 `json:"revision"`
	// Conditions are the member's conditional grants that reach further
	// than its unconditional level (G4): a record also matches when it
	// matches one of them.
	Conditions []PlanCondition `json:"conditions,omitempty"`
}

// Scope is the clauses of a level applied to a member (D2), see Plan.
type Scope struct {
	OwnerIDs           []string `json:"owner_ids,omitempty"`
	DepartmentIDs      []string `json:"department_ids,omitempty"`
	DepartmentOwnerIDs []string `json:"department_owner_ids,omitempty"`
	RelationUser       string   `json:"relation_user,omitempty"`
	Relations          []string `json:"relations,omitempty"`
}

// PlanCondition is one conditional grant in a filter (G4): a record
// matches it when its scope clauses hold (any record when Level is all)
// AND its condition does.
type PlanCondition struct {
	Level Level `json:"level"`
	Scope
	When *CondExpr `json:"when"`
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
	if p.Scope.Matches(r) {
		return true
	}
	for i := range p.Conditions {
		c := &p.Conditions[i]
		if (c.Level == LevelAll || c.Scope.Matches(r)) && c.When.Matches(r) {
			return true
		}
	}
	return false
}

// Matches reports whether a record satisfies one of the scope's clauses.
func (p *Scope) Matches(r *Resource) bool {
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
	return s.FilterContext(user, permission, nil)
}

// FilterContext is Filter with a request context: the plan's conditions
// carry the context's values in place of request.x (G4).
func (s *Snapshot) FilterContext(user, permission string, ctx Context) (*Plan, error) {
	perm, err := s.cat.PermissionByKey(permission)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Kind: PlanNone, Revision: s.revision}
	mi, ok := s.byUser.lookup(s, user)
	if !ok {
		return plan, nil
	}
	m := s.members.at(int(mi))
	a := &s.accesses[m.access]
	l := s.accessLevel(a, perm.ID)
	plan.Level = l
	ul := l
	if s.hasConditional(a, perm.ID) {
		var gs []condGrant
		ul, gs = s.conditionalGrants(a, perm.ID, nil)
		for _, g := range gs {
			if g.level <= ul {
				continue // redundant (G2)
			}
			pc := PlanCondition{Level: g.level, When: g.cond.Tree(ctx)}
			if g.level < LevelAll {
				pc.Scope = s.scopeOf(user, m, perm, g.level)
			}
			if pc.When.Op != "false" && pc.When.Op != "unknown" {
				plan.Conditions = append(plan.Conditions, pc)
			}
		}
	}
	switch {
	case ul == LevelAll:
		plan.Kind, plan.Conditions = PlanAll, nil
		return plan, nil
	case ul == LevelNone && len(plan.Conditions) == 0:
		plan.Kind = PlanNone
		return plan, nil
	}
	plan.Kind = PlanConditional
	if ul > LevelNone {
		plan.Scope = s.scopeOf(user, m, perm, ul)
	}
	return plan, nil
}

// scopeOf is the clauses level l (above none, below all) gives member m.
func (s *Snapshot) scopeOf(user string, m *member, perm *Permission, l Level) Scope {
	var sc Scope
	sc.RelationUser = user
	if perm.relations != 0 {
		for i, name := range relationNames {
			if perm.relations&(1<<i) != 0 {
				sc.Relations = append(sc.Relations, name)
			}
		}
		return sc
	}
	sc.OwnerIDs = []string{user}
	sc.Relations = []string{RelResponsible}
	if l < LevelDepartment {
		return sc
	}
	// The departments within reach, then every member in one of them: the
	// owners whose department-less records are within reach too.
	mine := s.memberDepts(m)
	var owners []int32
	reach := make([]bool, len(s.depts.nodes))
	for d := range s.depts.nodes {
		if s.deptReason(mine, int32(d), l) != ReasonOutOfScope {
			reach[d] = true
			sc.DepartmentIDs = append(sc.DepartmentIDs, s.depts.nodes[d].id)
			if s.deptMembers != nil {
				owners = append(owners, s.deptMembers[d]...)
			}
		}
	}
	if s.deptMembers == nil { // a small workspace: see smallScan
		for i := range s.members.len() {
			if o := s.members.at(i); !o.gone && slices.ContainsFunc(s.memberDepts(o), func(d int32) bool { return reach[d] }) {
				owners = append(owners, int32(i))
			}
		}
	}
	slices.Sort(owners)
	owners = slices.Compact(owners)
	sc.DepartmentOwnerIDs = make([]string, len(owners))
	for i, o := range owners {
		sc.DepartmentOwnerIDs[i] = s.userID(o)
	}
	slices.Sort(sc.DepartmentIDs)
	slices.Sort(sc.DepartmentOwnerIDs)
	return sc
}
