package admin

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// RoleInput creates a custom role.
type RoleInput struct {
	Name        string
	Description string
	Audience    policy.Audience // internal if empty
	Grants      policy.Grants
	When        policy.Conditions // conditions of conditional grants (G1)
	// Template pre-fills grants, audience and description from one of
	// policy.Templates (R9); Grants, when also given, are added over it.
	Template string
}

// RoleUpdate changes a role; nil fields stay. Grants replace the role's
// grants as a new revision (R6).
type RoleUpdate struct {
	Name        *string
	Description *string
	Grants      policy.Grants
	// When are the conditions of Grants (G1); they are replaced with them.
	When policy.Conditions
	// Apply moves every assignee to the newest revision ("save and apply",
	// R6). When nil it defaults to true if Grants are given.
	Apply *bool
	// IfRevision, when not 0, is the revision the edit was based on (R7):
	// a stale one fails with revision_conflict.
	IfRevision int64
}

// Roles returns a workspace's roles sorted by name, optionally only those
// whose name contains q (case-insensitive) or of one audience.
func (s *Service) Roles(ctx context.Context, ws, q string, audience policy.Audience) ([]Role, error) {
	var out []Role
	err := s.read(ctx, ws, func(m *model) error {
		q = nameKey(q)
		for _, r := range m.roles {
			if (audience == "" || r.Audience == audience) && strings.Contains(nameKey(r.Name), q) {
				out = append(out, m.roleOut(r))
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Role) int { return cmpString(nameKey(a.Name), nameKey(b.Name)) })
	return out, err
}

// Role returns one role at its newest revision. not_found if absent.
func (s *Service) Role(ctx context.Context, ws, id string) (Role, error) {
	var out Role
	err := s.read(ctx, ws, func(m *model) error {
		r := m.roles[id]
		if r == nil {
			return roleNotFound(id)
		}
		out = m.roleOut(r)
		return nil
	})
	return out, err
}

func (m *model) roleOut(r *Role) Role {
	out := *r
	rv := m.revs[policy.RoleRef{RoleID: r.ID, Revision: r.Revision}]
	out.Grants, out.When = rv.Grants.Clone(), rv.When.Clone()
	out.MemberCount = m.roleCount[r.ID]
	return out
}

func roleNotFound(id string) error {
	return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no role %q in this workspace", id),
		Details: map[string]any{"role_id": id}}
}

// role returns a role of the view, or not_found.
func (v *view) role(id string) (*Role, error) {
	if r := v.roles[id]; r != nil {
		return r, nil
	}
	return nil, roleNotFound(id)
}

// roleResult reads a role back from a committed view. It reads the
// workspace's model, so it runs inside update (a "then" function), before
// another writer can change the model.
func (v *view) roleResult(id string) Role {
	r := *v.roles[id]
	r.Grants, r.When = v.newest(&r).Grants.Clone(), v.newest(&r).When.Clone()
	r.MemberCount = v.holderCount(id)
	return r
}

// CreateRole creates a custom role (R1, R9, W2, M6, C1, C4, C5, X3, X4).
func (s *Service) CreateRole(ctx context.Context, ws string, w Write, in RoleInput) (Role, int64, error) {
	var id string
	var out Role
	v, err := s.update(ctx, ws, w, "role.create", func(v *view) error {
		grants := policy.Grants{}
		if in.Template != "" {
			t, err := policy.TemplateByID(in.Template)
			if err != nil {
				return err
			}
			grants = t.Grants
			if in.Audience == "" {
				in.Audience = t.Audience
			}
			if in.Description == "" {
				in.Description = t.Description
			}
		}
		maps.Copy(grants, in.Grants)
		if in.Audience == "" {
			in.Audience = policy.Internal
		}
		if !in.Audience.Valid() {
			return policy.Errorf(policy.CodeInvalidArgument, "audience %q must be internal or client", in.Audience)
		}
		if err := v.checkPlanLimit(); err != nil {
			return err
		}
		r, err := v.newRole("", in.Name, in.Description, in.Audience, grants, in.When)
		if err != nil {
			return err
		}
		id = r.ID
		return nil
	}, func(v *view) { out = v.roleResult(id) })
	if err != nil {
		return Role{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// newRole adds a custom role at revision 1 after validating it. An empty
// id is derived from the name (see newRoleID).
func (v *view) newRole(id, name, description string, aud policy.Audience, grants policy.Grants, when policy.Conditions) (*Role, error) {
	name, err := v.checkRoleName("", name)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(description); err != nil {
		return nil, err
	}
	if err := v.cat.ValidateGrants(grants, aud); err != nil {
		return nil, err
	}
	if err := v.cat.ValidateConditions(grants, when); err != nil {
		return nil, err
	}
	if id == "" {
		id = v.newRoleID(name)
	}
	r := &Role{ID: id, Name: name, Description: strings.TrimSpace(description), Audience: aud,
		Revision: 1, CreatedAt: v.now}
	v.putRole(r)
	v.addRevision(r, RoleRevision{Revision: 1, Grants: grants.Clone(), When: when.Clone(), Author: v.actor.AuditName(), Reason: v.reason, Applied: true})
	v.record("role.create", "role:"+r.ID, nil, roleJSON(r, grants, when))
	return r, nil
}

func checkDescription(d string) error {
	if n := len([]rune(d)); n > 500 {
		return policy.Errorf(policy.CodeInvalidArgument, "description must be at most 500 characters, got %d", n)
	}
	return nil
}

// checkRoleName validates a role name (R1) for role self ("" for a new
// role) and returns it cleaned.
func (v *view) checkRoleName(self, name string) (string, error) {
	name, err := cleanName("role", name, 100)
	if err != nil {
		return "", err
	}
	key := nameKey(name)
	for _, r := range v.roles {
		if r.ID != self && nameKey(r.Name) == key {
			return "", &policy.Error{Code: policy.CodeNameTaken,
				Message: fmt.Sprintf("a role named %q already exists (names are compared ignoring case, spacing and look-alike letters)", r.Name),
				Details: map[string]any{"name": name, "role_id": r.ID}}
		}
	}
	return name, nil
}

// customRoles counts the workspace's custom roles.
func (v *view) customRoles() int {
	n := 0
	for _, r := range v.roles {
		if !r.Predefined {
			n++
		}
	}
	return n
}

// checkPlanLimit fails with plan_limit_reached when one more custom role
// would exceed the plan (W2, W3).
func (v *view) checkPlanLimit() error {
	rules, err := v.ws.Plan.rules()
	if err != nil {
		return err
	}
	if n := v.customRoles(); rules.customRoles >= 0 && n >= rules.customRoles {
		return &policy.Error{Code: policy.CodePlanLimitReached,
			Message: fmt.Sprintf("the %s plan allows %d custom roles and this workspace has %d; upgrade the plan or delete a custom role", v.ws.Plan, rules.customRoles, n),
			Details: map[string]any{"plan": v.ws.Plan, "limit": rules.customRoles, "custom_roles": n}}
	}
	return nil
}

// UpdateRole renames a role, changes its description, or edits its grants
// as a new immutable revision, applied to every assignee or not (R6, R7).
func (s *Service) UpdateRole(ctx context.Context, ws string, w Write, id string, in RoleUpdate) (Role, int64, error) {
	var out Role
	v, err := s.update(ctx, ws, w, "role.update", func(v *view) error {
		return v.updateRole(id, in)
	}, func(v *view) { out = v.roleResult(id) })
	if err != nil {
		return Role{}, 0, err
	}
	return out, v.ws.Revision, nil
}

func (v *view) updateRole(id string, in RoleUpdate) error {
	r, err := v.role(id)
	if err != nil {
		return err
	}
	if in.IfRevision != 0 && in.IfRevision != r.Revision {
		return &policy.Error{Code: policy.CodeRevisionConflict,
			Message: fmt.Sprintf("role %q changed since you loaded it (you edited revision %d, it is now at %d); reload and edit again", r.Name, in.IfRevision, r.Revision),
			Details: map[string]any{"role_id": id, "expected": in.IfRevision, "actual": r.Revision}}
	}
	before := roleJSON(r, v.newest(r).Grants, v.newest(r).When)
	nr := *r
	changed := false
	if in.Name != nil {
		name, err := v.checkRoleName(id, *in.Name)
		if err != nil {
			return err
		}
		changed = changed || name != r.Name
		nr.Name = name
	}
	if in.Description != nil {
		if err := checkDescription(*in.Description); err != nil {
			return err
		}
		d := strings.TrimSpace(*in.Description)
		changed = changed || d != r.Description
		nr.Description = d
	}
	apply := in.Apply == nil || *in.Apply
	if in.Apply == nil && in.Grants == nil {
		apply = false
	}
	grants, when := v.newest(r).Grants, v.newest(r).When
	if in.Grants != nil && (!maps.Equal(in.Grants, grants) || !maps.Equal(in.When, when)) {
		if err := v.cat.ValidateGrants(in.Grants, r.Audience); err != nil {
			return err
		}
		if err := v.cat.ValidateConditions(in.Grants, in.When); err != nil {
			return err
		}
		grants, when = in.Grants.Clone(), in.When.Clone()
		nr.Revision = r.Revision + 1
		v.addRevision(&nr, RoleRevision{Revision: nr.Revision, Grants: grants, When: when, Author: v.actor.AuditName(), Reason: v.reason, Applied: apply})
		changed = true
	}
	if changed {
		v.putRole(&nr)
		v.record("role.update", "role:"+id, before, roleJSON(&nr, grants, when))
	}
	if apply {
		v.applyRole(id, nr.Revision)
	}
	return nil
}

// SetAllGrants is R8: "Allow everything" (allow true) sets every
// permission the role's audience may hold to its highest level; "Deny
// everything" sets none. It is a grant edit like any other (R6, R7).
func (s *Service) SetAllGrants(ctx context.Context, ws string, w Write, id string, allow bool, apply *bool, ifRevision int64) (Role, int64, error) {
	var out Role
	v, err := s.update(ctx, ws, w, "role.update", func(v *view) error {
		r, err := v.role(id)
		if err != nil {
			return err
		}
		g := policy.Grants{}
		if allow {
			g = v.cat.AllowAll(r.Audience)
		}
		return v.updateRole(id, RoleUpdate{Grants: g, Apply: apply, IfRevision: ifRevision})
	}, func(v *view) { out = v.roleResult(id) })
	if err != nil {
		return Role{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// DuplicateRole copies a role's grants, audience and description, never
// its members, under "<name> (Copy)", "(Copy 2)", … or the given name (R4).
// Head cannot be duplicated; a duplicate counts against the plan (W2).
func (s *Service) DuplicateRole(ctx context.Context, ws string, w Write, id, name string) (Role, int64, error) {
	var newID string
	var out Role
	v, err := s.update(ctx, ws, w, "role.duplicate", func(v *view) error {
		r, err := v.role(id)
		if err != nil {
			return err
		}
		if r.ID == RoleHead {
			return &policy.Error{Code: policy.CodeRoleProtected,
				Message: fmt.Sprintf("%q cannot be duplicated: its access to every task depends on being the predefined Head role", r.Name),
				Details: map[string]any{"role_id": id}}
		}
		if err := v.checkPlanLimit(); err != nil {
			return err
		}
		if name == "" {
			name = v.copyName(r.Name)
		}
		nr, err := v.newRole("", name, r.Description, r.Audience, v.newest(r).Grants, v.newest(r).When)
		if err != nil {
			return err
		}
		newID = nr.ID
		return nil
	}, func(v *view) { out = v.roleResult(newID) })
	if err != nil {
		return Role{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// copyName finds the first free "<name> (Copy)", "<name> (Copy 2)", …,
// shortening name so the result fits R1's 100 characters.
func (v *view) copyName(name string) string {
	for n := 1; ; n++ {
		suffix := " (Copy)"
		if n > 1 {
			suffix = fmt.Sprintf(" (Copy %d)", n)
		}
		base := []rune(name)
		if max := 100 - len([]rune(suffix)); len(base) > max {
			base = base[:max]
		}
		cand := string(base) + suffix
		if _, err := v.checkRoleName("", cand); err == nil {
			return cand
		}
	}
}

// DeleteRole deletes a role (R2, R3, R5). The default role, Employee and
// Head are protected (role_protected). A role with members needs
// reassignTo, another role of the same audience, to which all its members
// move in the same transaction; without it, role_in_use with the count.
func (s *Service) DeleteRole(ctx context.Context, ws string, w Write, id, reassignTo string) (int64, error) {
	v, err := s.update(ctx, ws, w, "role.delete", func(v *view) error {
		r, err := v.role(id)
		if err != nil {
			return err
		}
		if r.Default || r.ID == RoleEmployee || r.ID == RoleHead {
			why := "it is the default role every member falls back to"
			if !r.Default {
				why = "it is a predefined role that cannot be deleted"
			}
			return &policy.Error{Code: policy.CodeRoleProtected, Message: fmt.Sprintf("%q cannot be deleted: %s", r.Name, why),
				Details: map[string]any{"role_id": id}}
		}
		var holders []string
		for _, did := range slices.Sorted(maps.Keys(v.depts)) {
			if slices.ContainsFunc(v.depts[did].Roles, func(a Assignment) bool { return a.RoleID == id }) {
				holders = append(holders, did)
			}
		}
		if len(holders) > 0 {
			return &policy.Error{Code: policy.CodeRoleInUse,
				Message: fmt.Sprintf("role %q is held by departments %s; take it off them first", r.Name, strings.Join(holders, ", ")),
				Details: map[string]any{"role_id": id, "department_ids": holders}}
		}
		users := v.membersOf(id)
		if len(users) > 0 {
			if reassignTo == "" {
				return &policy.Error{Code: policy.CodeRoleInUse,
					Message: fmt.Sprintf("role %q still has %d members; choose a role to move them to", r.Name, len(users)),
					Details: map[string]any{"role_id": id, "member_count": len(users)}}
			}
			to, err := v.role(reassignTo)
			if err != nil {
				return err
			}
			if to.ID == id {
				return policy.Errorf(policy.CodeInvalidArgument, "cannot move the members of %q to the role being deleted", r.Name)
			}
			if to.Audience != r.Audience {
				return &policy.Error{Code: policy.CodeAudienceMismatch,
					Message: fmt.Sprintf("members of %s role %q cannot move to %s role %q", r.Audience, r.Name, to.Audience, to.Name),
					Details: map[string]any{"role_id": id, "reassign_to": reassignTo}}
			}
			for _, u := range users {
				m := v.member(u).clone()
				i, _ := m.assignment(id)
				m.Roles = slices.Delete(m.Roles, i, i+1)
				if !m.holds(to.ID) {
					m.addAssignment(Assignment{RoleID: to.ID, Revision: to.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName()})
				}
				v.putMember(m)
			}
		}
		v.record("role.delete", "role:"+id, roleJSON(r, v.newest(r).Grants, v.newest(r).When), nil)
		if len(users) > 0 {
			v.audit[len(v.audit)-1].After = marshal(map[string]any{"reassigned_to": reassignTo, "members": len(users)})
		}
		v.deleteRole(id)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// addAssignment inserts a keeping the roles sorted.
func (m *Member) addAssignment(a Assignment) {
	i, ok := m.assignment(a.RoleID)
	if ok {
		m.Roles[i] = a
		return
	}
	m.Roles = slices.Insert(m.Roles, i, a)
}

// roleJSON is a role as the audit log shows it.
func roleJSON(r *Role, g policy.Grants, when policy.Conditions) map[string]any {
	out := map[string]any{"id": r.ID, "name": r.Name, "description": r.Description, "audience": r.Audience,
		"revision": r.Revision, "grants": g}
	if len(when) > 0 {
		out["when"] = when // G1: only when set, so older audit entries keep their shape
	}
	return out
}
