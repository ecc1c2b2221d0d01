package policyref

import (
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Access is what a workspace grants beyond the members' own roles and
// direct grants of a policy.State: roles given to departments (M9) and
// the expiry of assignments and direct grants (T1), judged at Now.
type Access struct {
	// Now is the instant access is judged at: an entry expiring at or
	// before it is not held.
	Now time.Time
	// DeptRoles are the roles departments give.
	DeptRoles []DeptRole
	// RoleExpiry is, per user and role id, when its own assignment
	// expires; GrantExpiry, per user and permission, when its direct
	// grant expires. Entries not listed do not expire.
	RoleExpiry  map[string]map[string]time.Time
	GrantExpiry map[string]map[string]time.Time
}

// DeptRole is a role a department gives its members (M9).
type DeptRole struct {
	Department string
	Role       policy.RoleRef
	// IncludeSub gives it to the members of every department below too.
	IncludeSub bool
	ExpiresAt  time.Time // zero: no expiry
}

// NewWith builds the model of st with acc: each member holds its own
// roles and direct grants that have not expired at acc.Now, plus every
// role a department gives that reaches it (the member is in the
// department, or below it when the role includes sub-departments), has
// not expired and is of the member's audience (M6). Then decisions are
// those of New.
func NewWith(cat *policy.Catalog, st policy.State, acc Access) *Model {
	r := New(cat, st)
	gone := func(at time.Time) bool { return !at.IsZero() && !acc.Now.Before(at) }
	for u, m := range r.members {
		var roles []policy.RoleRef
		for _, ref := range m.Roles {
			if !gone(acc.RoleExpiry[u][ref.RoleID]) {
				roles = append(roles, ref)
			}
		}
		for _, dr := range acc.DeptRoles {
			if gone(dr.ExpiresAt) || r.roles[dr.Role].Audience != m.Kind {
				continue
			}
			for _, d := range m.DepartmentIDs {
				if d == dr.Department || (dr.IncludeSub && r.under(d, dr.Department)) {
					roles = append(roles, dr.Role)
					break
				}
			}
		}
		grants := policy.Grants{}
		for k, l := range m.Grants {
			if !gone(acc.GrantExpiry[u][k]) {
				grants[k] = l
			}
		}
		m.Roles, m.Grants = roles, grants
		r.members[u] = m
	}
	return r
}

// Roles returns the role revisions user holds, its own and through
// departments, as the model judges them.
func (r *Model) Roles(user string) []policy.RoleRef {
	return r.members[user].Roles
}
