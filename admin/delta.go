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
	c := memberCompiler{depts: v.depts, roles: v.roles, follow: v.follow, now: v.now, withDepts: v.deptRoleCount > 0, refs: make([]policy.RoleRef, 0, 2*len(users))}
	for _, mv := range v.followMoves {
		if mv.From != 0 {
			d.Moves = append(d.Moves, mv)
		}
	}
	d.Epochs = append(d.Epochs, v.followerEpochs...)
	for _, u := range users {
		m := v.members[u]
		if m == nil {
			if last.HasMember(u) {
				d.Removed = append(d.Removed, u)
			}
			continue
		}
		if v.followed(last, u, m, &c) {
			if old := v.baseMember(u); old.Epoch != m.Epoch {
				d.Epochs = append(d.Epochs, policy.MemberEpoch{UserID: u, Epoch: m.Epoch})
			}
			continue
		}
		d.Members = append(d.Members, c.member(m, ""))
	}
	return d, true
}

// followed reports whether member u, whose new state is m, changed only
// in its epoch, or in its roles' revisions by moving the model's follows
// alone (an apply): its record in last, read with the new follows, is m
// but for the epoch (the record holds no epoch). Such a member is left to
// the delta's role moves and epochs instead of being compiled again; a
// member with direct grants or the owner flag is not (the snapshot cannot
// compute its access without them: policy.RoleMove).
func (v *view) followed(last *policy.Snapshot, u string, m *Member, c *memberCompiler) bool {
	if !v.applied[u] || v.dirty[u] || len(m.Grants) > 0 || m.Owner {
		return false
	}
	r, ok := last.Member(u)
	if !ok || r.Email != m.Email {
		return false
	}
	c.buf = appendMember(c.buf[:0], m, v.follow)
	return string(c.buf) == r.Data
}
