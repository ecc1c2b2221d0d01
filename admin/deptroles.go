package admin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Department roles (M9). A department may hold roles, optionally for its
// sub-departments too: every member of it holds them while there, at the
// department's assignment's revision and until its expiry (T1). They are
// not stored per member: what a member holds is computed from the tree
// (heldRoles), so joining, leaving or moving a department changes it at
// once, and finish compares each affected member's levels before and
// after to move exactly the epochs that changed (A1).
//
// Decisions taken where DESIGN.md is silent:
//   - M6: a department never gives a member a role of another audience;
//     such a role is simply not held by that member (a client in a
//     department with internal roles keeps only its own roles).
//   - M2/M4: a role held through a department counts. A member's own
//     roles may become empty while it holds one; when it holds none of
//     either, it gets the default role, whatever write left it so.
//   - X3a: giving a department a role, or extending one's expiry, is a
//     grant to every member the department reaches, now and later: each
//     must be in the actor's span, and the role's levels within the
//     actor's own.
//   - R5: a role that departments hold cannot be deleted until they no
//     longer hold it (role_in_use naming them).

// HeldRole is a role a member holds, with where it comes from: its own
// assignment (Department empty) or a department's (M9).
type HeldRole struct {
	Assignment
	// Department is the department through which the member holds the
	// role; empty for the member's own assignment.
	Department string
}

// DepartmentRolesInput changes a department's roles (M9).
type DepartmentRolesInput struct {
	// RoleIDs, when not nil, are the department's roles.
	RoleIDs []string
	// IncludeSubdepartments, when not nil, extends the roles to the
	// members of the sub-departments or not.
	IncludeSubdepartments *bool
	// ExpiresAt, when not nil, is when each role expires (T1); a role it
	// does not name does not expire. Nil keeps the roles' expiry.
	ExpiresAt map[string]time.Time
}

// deptHeld returns the roles m holds through departments at now, in tree
// depts with roles, leaving out expired ones and those of another
// audience than m's kind (M6).
func deptHeld(depts map[string]*Department, roles map[string]*Role, m *Member, now time.Time) []HeldRole {
	var out []HeldRole
	seen := map[[2]string]bool{}
	for _, d := range m.DepartmentIDs {
		steps := 0
		for a := d; a != "" && steps <= MaxDepartmentDepth; steps++ {
			dp := depts[a]
			if dp == nil {
				break
			}
			if len(dp.Roles) > 0 && (a == d || dp.IncludeSubdepartments) {
				for _, ra := range dp.Roles {
					r := roles[ra.RoleID]
					if r == nil || r.Audience != m.Kind || expired(ra.ExpiresAt, now) || seen[[2]string{a, ra.RoleID}] {
						continue
					}
					seen[[2]string{a, ra.RoleID}] = true
					out = append(out, HeldRole{Assignment: ra, Department: a})
				}
			}
			a = dp.ParentID
		}
	}
	slices.SortFunc(out, func(x, y HeldRole) int {
		if c := cmpString(x.RoleID, y.RoleID); c != 0 {
			return c
		}
		return cmpString(x.Department, y.Department)
	})
	return out
}

// heldRefs returns every role revision m holds at now: its own live
// assignments and those through departments, which it looks for only
// when withDepts (anyDeptRoles(depts), computed once by callers that loop
// over members). m must be live at now.
func heldRefs(depts map[string]*Department, roles map[string]*Role, m *Member, now time.Time, buf []policy.RoleRef, withDepts bool) []policy.RoleRef {
	for _, a := range m.Roles {
		buf = append(buf, policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision})
	}
	if !withDepts {
		return buf
	}
	for _, h := range deptHeld(depts, roles, m, now) {
		buf = append(buf, policy.RoleRef{RoleID: h.RoleID, Revision: h.Revision})
	}
	return buf
}

// anyDeptRoles reports whether some department holds a role, before or
// after the write.
func (v *view) anyDeptRoles() bool {
	return v.base.deptRoleCount > 0 || v.deptRoleCount > 0
}

// anyDeptRoles reports whether some department holds a role.
func anyDeptRoles(depts map[string]*Department) bool {
	for _, d := range depts {
		if len(d.Roles) > 0 {
			return true
		}
	}
	return false
}

// HeldRoles returns every role a member holds now, its own and through
// departments (M9), with their expiry (T1). It checks no authority: it
// annotates answers the caller may already give (explain, effective
// permissions, member lists). not_found if there is no such member.
func (s *Service) HeldRoles(ctx context.Context, ws, user string) ([]HeldRole, map[string]time.Time, error) {
	var out []HeldRole
	var grants map[string]time.Time
	err := s.read(ctx, ws, func(m *model) error {
		mb := m.member(user)
		if mb == nil {
			return memberNotFound(user)
		}
		now := m.now()
		mb = mb.live(now)
		for _, a := range mb.Roles {
			out = append(out, HeldRole{Assignment: a})
		}
		out = append(out, deptHeld(m.depts, m.roles, mb, now)...)
		if len(mb.GrantExpiry) > 0 {
			grants = make(map[string]time.Time, len(mb.GrantExpiry))
			for k, t := range mb.GrantExpiry {
				grants[k] = t
			}
		}
		return nil
	})
	return out, grants, err
}

// DepartmentHeld returns, for the listed members, the roles each holds
// through departments now (M9), for member lists. Members it does not
// know are left out.
func (s *Service) DepartmentHeld(ctx context.Context, ws string, users []string) (map[string][]HeldRole, error) {
	out := map[string][]HeldRole{}
	err := s.read(ctx, ws, func(m *model) error {
		if !anyDeptRoles(m.depts) {
			return nil
		}
		now := m.now()
		for _, u := range users {
			if mb := m.member(u); mb != nil {
				if h := deptHeld(m.depts, m.roles, mb, now); len(h) > 0 {
					out[u] = h
				}
			}
		}
		return nil
	})
	return out, err
}

// PutDepartmentWithRoles creates or updates a department and, when roles
// is not nil, its roles (M9), in one write.
func (s *Service) PutDepartmentWithRoles(ctx context.Context, ws string, w Write, d Department, roles *DepartmentRolesInput) (Department, int64, error) {
	v, err := s.update(ctx, ws, w, "department.put", func(v *view) error {
		if err := v.putDepartment(d); err != nil {
			return err
		}
		if roles == nil {
			return nil
		}
		return v.setDepartmentRoles(d.ID, *roles)
	})
	if err != nil {
		return Department{}, 0, err
	}
	return *v.depts[d.ID], v.ws.Revision, nil
}

// setDepartmentRoles sets department id's roles (M9, T1). Roles kept keep
// their revision and assignment; new ones get the newest revision.
func (v *view) setDepartmentRoles(id string, in DepartmentRolesInput) error {
	old := v.depts[id]
	d := *old
	d.Roles = slices.Clone(old.Roles)
	if in.IncludeSubdepartments != nil {
		d.IncludeSubdepartments = *in.IncludeSubdepartments
	}
	if in.RoleIDs != nil {
		var roles []Assignment
		for _, rid := range unique(in.RoleIDs) {
			r, err := v.role(rid)
			if err != nil {
				return err
			}
			if i := slices.IndexFunc(old.Roles, func(a Assignment) bool { return a.RoleID == rid }); i >= 0 {
				roles = append(roles, old.Roles[i])
				continue
			}
			roles = append(roles, Assignment{RoleID: rid, Revision: r.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName()})
		}
		d.Roles = roles
	}
	if in.ExpiresAt != nil {
		for rid := range in.ExpiresAt {
			if !slices.ContainsFunc(d.Roles, func(a Assignment) bool { return a.RoleID == rid }) {
				return &policy.Error{Code: policy.CodeInvalidArgument, Message: fmt.Sprintf("expires_at names role %q, which the department is not given", rid),
					Details: map[string]any{"field": "expires_at", "role_id": rid}}
			}
		}
		for i := range d.Roles {
			at, err := v.checkExpiry("role "+d.Roles[i].RoleID, in.ExpiresAt[d.Roles[i].RoleID])
			if err != nil {
				return err
			}
			d.Roles[i].ExpiresAt = at
		}
	}
	if len(d.Roles) == 0 {
		d.Roles = nil
	}
	if deptEqual(old, &d) {
		return nil
	}
	// X3a.1: a role given or extended is a grant to whoever the
	// department reaches, now or later.
	if !v.auth.unlimited {
		var esc []string
		for _, a := range d.Roles {
			i := slices.IndexFunc(old.Roles, func(o Assignment) bool { return o.RoleID == a.RoleID })
			isNew := i < 0
			longer := i >= 0 && !old.Roles[i].ExpiresAt.IsZero() && (a.ExpiresAt.IsZero() || a.ExpiresAt.After(old.Roles[i].ExpiresAt))
			wider := d.IncludeSubdepartments && !old.IncludeSubdepartments
			if !isNew && !longer && !wider {
				continue
			}
			r, rv := v.roles[a.RoleID], v.roleRevision(a.RoleID, a.Revision)
			vec := v.vector(v.cat, r, rv)
			for _, p := range v.cat.Permissions() {
				if mine := levelOf(v.base.cat, v.auth.levels, p.Key); vec[p.ID] > mine {
					esc = append(esc, fmt.Sprintf("%s: %s through department %s (yours: %s)", p.Key, vec[p.ID], id, mine))
				}
			}
		}
		if err := escalationError(esc); err != nil {
			return err
		}
	}
	// X3a.2: an assignment to every member it reaches, before and after.
	for u, m := range v.base.allMembers() {
		if reaches(v.base.depts, old, m) || reaches(v.depts, &d, m) {
			v.addressedMembers = append(v.addressedMembers, u)
		}
	}
	v.addressedDepts = append(v.addressedDepts, id)
	v.putDept(&d)
	v.record("department.roles", "department:"+id, deptRolesJSON(old), deptRolesJSON(&d))
	return nil
}

// reaches reports whether department d's roles reach member m in tree
// depts: m is in d, or below it when d includes its sub-departments.
func reaches(depts map[string]*Department, d *Department, m *Member) bool {
	for _, x := range m.DepartmentIDs {
		if x == d.ID {
			return true
		}
		if !d.IncludeSubdepartments {
			continue
		}
		steps := 0
		for a := depts[x]; a != nil && a.ParentID != "" && steps <= MaxDepartmentDepth; a, steps = depts[a.ParentID], steps+1 {
			if a.ParentID == d.ID {
				return true
			}
		}
	}
	return false
}

func deptEqual(a, b *Department) bool {
	return a.ID == b.ID && a.Name == b.Name && a.ParentID == b.ParentID && a.IncludeSubdepartments == b.IncludeSubdepartments &&
		slices.EqualFunc(a.Roles, b.Roles, func(x, y Assignment) bool {
			return x.RoleID == y.RoleID && x.Revision == y.Revision && x.ExpiresAt.Equal(y.ExpiresAt) && x.AssignedBy == y.AssignedBy && x.AssignedAt.Equal(y.AssignedAt)
		})
}

// deptRolesJSON is a department's roles as the audit log shows them.
func deptRolesJSON(d *Department) map[string]any {
	return map[string]any{"roles": assignmentList(d.Roles), "include_subdepartments": d.IncludeSubdepartments}
}

// deptSuspects returns the members whose roles held through departments
// may differ between the base tree and the view's, when the write
// touched departments: finish compares their levels (A1, X3a.1).
func (v *view) deptSuspects() []string {
	if len(v.deptsPut) == 0 && len(v.deptsDeleted) == 0 && !v.deptRolesExpired {
		return nil
	}
	if !v.anyDeptRoles() {
		return nil
	}
	var out []string
	for u, base := range v.base.allMembers() {
		m := v.member(u)
		if m == nil {
			continue
		}
		// Before the write, as stored: what the write itself expires was
		// still held then (the zero time expires nothing).
		before := deptHeld(v.base.depts, v.base.roles, base, time.Time{})
		after := deptHeld(v.depts, v.roles, m, v.now)
		if !slices.EqualFunc(before, after, func(x, y HeldRole) bool {
			return x.RoleID == y.RoleID && x.Revision == y.Revision && x.Department == y.Department && x.ExpiresAt.Equal(y.ExpiresAt)
		}) {
			out = append(out, u)
		}
	}
	return out
}

// fallBackToDefault gives the default role to a member left with no role
// of its own and none through a department (M2, M4), whatever write
// left it so; a member the default role is not for is last_role.
func (v *view) fallBackToDefault(u string) error {
	m := v.member(u)
	if m == nil {
		return nil
	}
	live := m.live(v.now)
	if len(live.Roles) > 0 || len(deptHeld(v.depts, v.roles, live, v.now)) > 0 {
		return nil
	}
	def := v.defaultRole()
	c := m.clone()
	c.addAssignment(Assignment{RoleID: def.ID, Revision: def.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName()})
	if err := v.checkAudiences(c); err != nil {
		return &policy.Error{Code: policy.CodeLastRole,
			Message: fmt.Sprintf("%s would be left without a role, and the default role %q is not for %s members; give them another %s role first", u, def.Name, m.Kind, m.Kind),
			Details: map[string]any{"user_id": u}}
	}
	v.putMember(c)
	v.record("member.roles", "member:"+u, assignmentsJSON(m), assignmentsJSON(c))
	return nil
}
