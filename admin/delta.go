package admin

import (
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// delta describes a finished (not yet merged) view as a change to the
// last snapshot, or reports false when the snapshot must be compiled
// afresh: no previous snapshot, one that updates have made stale, or a
// change that Update does not cover (catalog, departments, a role's name,
// a deleted role, the action aliases).
func (v *view) delta(last *policy.Snapshot) (policy.Delta, bool) {
	if last == nil || last.Stale() || last.Revision() != v.base.ws.Revision {
		return policy.Delta{}, false
	}
	if v.cat != last.Catalog() || len(v.deptsPut) > 0 || len(v.deptsDeleted) > 0 || len(v.rolesDeleted) > 0 || v.aliasesPut || v.gatewayPut {
		return policy.Delta{}, false
	}
	// The snapshot names roles in explanations: a rename needs a compile.
	for _, id := range v.rolesPut {
		if old := v.base.roles[id]; old != nil && old.Name != v.roles[id].Name {
			return policy.Delta{}, false
		}
	}
	d := policy.Delta{Revision: v.ws.Revision}
	for _, rv := range v.newRevs {
		r := v.roles[rv.RoleID]
		if r == nil {
			continue
		}
		d.Roles = append(d.Roles, policyRole(r, &rv))
	}
	users := make([]string, 0, len(v.members))
	for u := range v.members {
		users = append(users, u)
	}
	slices.Sort(users)
	c := memberCompiler{depts: v.depts, roles: v.roles, now: v.now, withDepts: v.deptRoleCount > 0, refs: make([]policy.RoleRef, 0, 2*len(users))}
	for _, u := range users {
		m := v.members[u]
		if m == nil {
			if last.HasMember(u) {
				d.Removed = append(d.Removed, u)
			}
			continue
		}
		d.Members = append(d.Members, c.member(m, ""))
	}
	return d, true
}
