package admin

import (
	"context"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// MemberInput creates or updates a member (M1).
type MemberInput struct {
	UserID        string
	Name          string
	Email         string
	Kind          policy.Audience // internal if empty
	DepartmentIDs []string
	// RoleIDs, when not nil, are the member's roles. A new member given
	// none gets the default role (M2); an existing one keeps its roles.
	RoleIDs []string
	// Owner, when not nil, makes the member a workspace owner or not (W4).
	Owner *bool
}

// MaxImport is the most members one ImportMembers call takes.
const MaxImport = 10_000

// Member returns a member, as who may see it (X3): not_found if absent,
// forbidden if outside who's span.
func (s *Service) Member(ctx context.Context, ws string, who Actor, user string) (Member, error) {
	var out Member
	err := s.readAs(ctx, ws, who, AreaPeopleRead, func(m *model, a Authority) error {
		mb := m.member(user)
		if mb == nil {
			return memberNotFound(user)
		}
		if err := a.seeMember(mb); err != nil {
			return err
		}
		out = *mb.clone()
		if m.deptRoleCount > 0 {
			out.DepartmentRoles = deptHeld(m.depts, m.roles, mb, m.now())
		}
		return nil
	})
	return out, err
}

// Members lists members matching f (M7), served by the store's indexes,
// leaving out those who may not see (X3): the page is filled from further
// store pages, so a page is short only at the end. Each member shows the
// roles it holds through departments (M9), and a role's list includes the
// members who hold it through a department.
func (s *Service) Members(ctx context.Context, ws string, who Actor, f MemberFilter) ([]Member, error) {
	out, err := s.members(ctx, ws, who, f)
	if err != nil {
		return nil, err
	}
	err = s.read(ctx, ws, func(m *model) error {
		if m.deptRoleCount == 0 {
			return nil
		}
		now := m.now()
		for i := range out {
			if mb := m.member(out[i].UserID); mb != nil {
				out[i].DepartmentRoles = deptHeld(m.depts, m.roles, mb, now)
			}
		}
		return nil
	})
	return out, err
}

// viaDepartments returns, sorted, the members after f.After matching f's
// department and text filters who hold role f.Role through a department
// only (M9), at most f.Limit of them.
func (s *Service) viaDepartments(ctx context.Context, ws string, a Authority, f MemberFilter) ([]Member, error) {
	var out []Member
	err := s.read(ctx, ws, func(m *model) error {
		if m.deptRoleCount == 0 {
			return nil
		}
		now := m.now()
		q := strings.ToLower(f.Query)
		for u := range m.memberIDs() {
			if u <= f.After {
				continue
			}
			mb := m.member(u)
			if mb.holds(f.Role) || (f.Department != "" && !slices.Contains(mb.DepartmentIDs, f.Department)) ||
				(q != "" && !strings.Contains(strings.ToLower(mb.UserID), q) && !strings.Contains(strings.ToLower(mb.Name), q) && !strings.Contains(strings.ToLower(mb.Email), q)) ||
				!a.Sees(mb) {
				continue
			}
			if slices.ContainsFunc(deptHeld(m.depts, m.roles, mb, now), func(h HeldRole) bool { return h.RoleID == f.Role }) {
				out = append(out, *mb.clone())
			}
		}
		return nil
	})
	slices.SortFunc(out, func(x, y Member) int { return cmpString(x.UserID, y.UserID) })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}

func (s *Service) members(ctx context.Context, ws string, who Actor, f MemberFilter) ([]Member, error) {
	if _, err := s.space(ctx, ws); err != nil {
		return nil, err
	}
	a, err := s.Authority(ctx, ws, who)
	if err != nil {
		return nil, err
	}
	if err := a.Can(AreaPeopleRead); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if f.Role != "" {
		via, err := s.viaDepartments(ctx, ws, a, f)
		if err != nil {
			return nil, err
		}
		if len(via) > 0 {
			own, err := s.listed(ctx, ws, a, f)
			if err != nil {
				return nil, err
			}
			all := append(own, via...)
			slices.SortFunc(all, func(x, y Member) int { return cmpString(x.UserID, y.UserID) })
			return all[:min(len(all), f.Limit)], nil
		}
	}
	return s.listed(ctx, ws, a, f)
}

// listed is a page of the store's members matching f that a may see.
func (s *Service) listed(ctx context.Context, ws string, a Authority, f MemberFilter) ([]Member, error) {
	if a.unlimited || a.view == policy.LevelAll {
		return s.store.Members(ctx, ws, f)
	}
	want := f.Limit
	var out []Member
	for {
		page, err := s.store.Members(ctx, ws, f)
		if err != nil {
			return nil, err
		}
		for i := range page {
			if a.Sees(&page[i]) {
				out = append(out, page[i])
				if len(out) == want {
					return out, nil
				}
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		f.After = page[len(page)-1].UserID
		f.Limit = 1000
	}
}

func memberNotFound(user string) error {
	return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no member %q in this workspace", user),
		Details: map[string]any{"user_id": user}}
}

// UpsertMember creates or updates a member (M1, M2, M6, M7).
func (s *Service) UpsertMember(ctx context.Context, ws string, w Write, in MemberInput) (Member, int64, error) {
	var out Member
	v, err := s.update(ctx, ws, w, "member.upsert", func(v *view) error { return v.upsertMember(in) },
		func(v *view) { out = *v.member(in.UserID) })
	if err != nil {
		return Member{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// ImportMembers upserts up to MaxImport members, all or nothing: the first
// invalid one fails the whole import, naming it.
func (s *Service) ImportMembers(ctx context.Context, ws string, w Write, in []MemberInput) (int64, error) {
	if len(in) > MaxImport {
		return 0, policy.Errorf(policy.CodePayloadTooLarge, "import takes at most %d members at once, got %d", MaxImport, len(in))
	}
	v, err := s.update(ctx, ws, w, "member.import", func(v *view) error {
		seen := make(map[string]bool, len(in))
		for i, mi := range in {
			if seen[mi.UserID] {
				return policy.Errorf(policy.CodeInvalidArgument, "members[%d]: user %q appears twice", i, mi.UserID)
			}
			seen[mi.UserID] = true
			if err := v.upsertMember(mi); err != nil {
				return prefixError(fmt.Sprintf("members[%d] (%s)", i, mi.UserID), err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// prefixError puts where in a batch a domain error happened into its
// message, keeping its code and details.
func prefixError(where string, err error) error {
	if pe, ok := err.(*policy.Error); ok {
		return &policy.Error{Code: pe.Code, Message: where + ": " + pe.Message, Details: pe.Details}
	}
	return fmt.Errorf("%s: %w", where, err)
}

func (v *view) upsertMember(in MemberInput) error {
	if err := checkUserID(in.UserID); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = policy.Internal
	}
	if !in.Kind.Valid() {
		return policy.Errorf(policy.CodeInvalidArgument, "kind %q must be internal or client", in.Kind)
	}
	name := strings.TrimSpace(in.Name)
	if len([]rune(name)) > 200 {
		return policy.Errorf(policy.CodeInvalidArgument, "member name must be at most 200 characters")
	}
	email := strings.TrimSpace(in.Email)
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
			return policy.Errorf(policy.CodeInvalidArgument, "email %q is not a valid address", in.Email)
		}
	}
	depts, err := v.checkDepartments(in.DepartmentIDs)
	if err != nil {
		return err
	}
	v.addressedMembers = append(v.addressedMembers, in.UserID)
	old := v.member(in.UserID)
	var m *Member
	if old == nil {
		// A new member starts at the revision that creates it: above any
		// epoch an earlier member of the same id reached (epochs move at
		// most once per revision), so its old sessions stay dead (A1, A2).
		m = &Member{UserID: in.UserID, CreatedAt: v.now, Epoch: v.ws.Revision + 1}
	} else {
		m = old.clone()
	}
	m.Name, m.Email, m.Kind, m.DepartmentIDs = name, email, in.Kind, depts
	if in.Owner != nil {
		m.Owner = *in.Owner
	}
	switch {
	case in.RoleIDs != nil:
		if err := v.setRoles(m, in.RoleIDs); err != nil {
			return err
		}
	case old == nil:
		if err := v.setRoles(m, nil); err != nil {
			return err
		}
	default:
		if err := v.checkAudiences(m); err != nil {
			return err
		}
	}
	if old != nil && memberEqual(old, m) {
		return nil
	}
	v.putMember(m)
	v.record("member.upsert", "member:"+m.UserID, memberJSON(old), memberJSON(m))
	return nil
}

func memberEqual(a, b *Member) bool {
	return a.Name == b.Name && a.Email == b.Email && a.Kind == b.Kind && a.Owner == b.Owner &&
		slices.Equal(a.DepartmentIDs, b.DepartmentIDs) && slices.Equal(a.Roles, b.Roles) && grantsEqual(a.Grants, b.Grants) &&
		maps.Equal(a.When, b.When) && maps.EqualFunc(a.GrantExpiry, b.GrantExpiry, time.Time.Equal)
}

func grantsEqual(a, b policy.Grants) bool {
	if len(a) != len(b) {
		return false
	}
	for k, l := range a {
		if m, ok := b[k]; !ok || m != l {
			return false
		}
	}
	return true
}

// checkDepartments validates department ids and returns them sorted and
// without duplicates.
func (v *view) checkDepartments(ids []string) ([]string, error) {
	out := unique(ids)
	for _, d := range out {
		if v.depts[d] == nil {
			return nil, &policy.Error{Code: policy.CodeInvalidArgument, Message: fmt.Sprintf("no department %q in this workspace", d),
				Details: map[string]any{"department_id": d}}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// setRoles makes roleIDs the member's roles (M2, M4, M6, M7): roles kept
// keep their revision and assignment time; new ones get the newest
// revision, now and the actor. No roles means the default role; taking
// the default role away from a member left with nothing else is last_role.
func (v *view) setRoles(m *Member, roleIDs []string) error {
	ids := unique(roleIDs)
	if len(ids) == 0 && v.deptRoleCount > 0 && len(deptHeld(v.depts, v.roles, m, v.now)) > 0 && (v.defaultRole().Audience == m.Kind || v.hasPermanentRole(&Member{Kind: m.Kind, DepartmentIDs: m.DepartmentIDs})) {
		m.Roles = nil // the member holds roles through departments (M2, M9)
		return v.checkAudiences(m)
	}
	if len(ids) == 0 {
		def := v.defaultRole()
		if len(m.Roles) == 1 && m.Roles[0].RoleID == def.ID {
			return v.lastRoleError(m, def)
		}
		ids = []string{def.ID}
	}
	roles := make([]Assignment, 0, len(ids))
	for _, id := range ids {
		r, err := v.role(id)
		if err != nil {
			return err
		}
		if i, ok := m.assignment(id); ok {
			roles = append(roles, m.Roles[i])
			continue
		}
		roles = append(roles, Assignment{RoleID: id, Revision: r.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName()})
	}
	m.Roles = roles
	return v.checkAudiences(m)
}

// checkAudiences enforces M6: every role's audience is the member's kind.
func (v *view) checkAudiences(m *Member) error {
	for _, a := range m.Roles {
		r := v.roles[a.RoleID]
		if r.Audience != m.Kind {
			msg := fmt.Sprintf("role %q is for %s members and %s is a %s member", r.Name, r.Audience, m.UserID, m.Kind)
			if r.Default {
				msg += "; give client members a client role"
			}
			return &policy.Error{Code: policy.CodeAudienceMismatch, Message: msg,
				Details: map[string]any{"role_id": r.ID, "user_id": m.UserID, "audience": r.Audience, "kind": m.Kind}}
		}
	}
	return nil
}

func (v *view) defaultRole() *Role {
	for _, r := range v.roles {
		if r.Default {
			return r
		}
	}
	panic("admin: workspace " + v.ws.ID + " has no default role") // R2: creation makes one, deletion is refused
}

func (v *view) lastRoleError(m *Member, def *Role) error {
	return &policy.Error{Code: policy.CodeLastRole,
		Message: fmt.Sprintf("%q is the only role of %s; a member always has at least one role, so give them another role first", def.Name, m.UserID),
		Details: map[string]any{"user_id": m.UserID, "role_id": def.ID}}
}

// SetMemberRoles replaces a member's roles (M2, M4, M6, M7), keeping the
// expiry of the roles it keeps.
func (s *Service) SetMemberRoles(ctx context.Context, ws string, w Write, user string, roleIDs []string) (Member, int64, error) {
	return s.SetMemberRolesUntil(ctx, ws, w, user, roleIDs, nil)
}

// SetMemberRolesUntil replaces a member's roles (M2, M4, M6, M7) and, when
// expiresAt is not nil, their expiry (T1): each role listed in it expires
// at its instant (which must be in the future), every other role does not
// expire. A nil expiresAt keeps the expiry of the roles kept. Extending
// or removing an expiry is a grant (T3, X3a).
func (s *Service) SetMemberRolesUntil(ctx context.Context, ws string, w Write, user string, roleIDs []string, expiresAt map[string]time.Time) (Member, int64, error) {
	var out Member
	v, err := s.update(ctx, ws, w, "member.roles", func(v *view) error {
		old := v.member(user)
		if old == nil {
			return memberNotFound(user)
		}
		v.addressedMembers = append(v.addressedMembers, user)
		m := old.clone()
		if err := v.setRoles(m, roleIDs); err != nil {
			return err
		}
		if expiresAt != nil {
			for id := range expiresAt {
				if !m.holds(id) {
					return &policy.Error{Code: policy.CodeInvalidArgument, Message: fmt.Sprintf("expires_at names role %q, which is not among the roles given", id),
						Details: map[string]any{"field": "expires_at", "role_id": id}}
				}
			}
			for i := range m.Roles {
				at, err := v.checkExpiry("role "+m.Roles[i].RoleID, expiresAt[m.Roles[i].RoleID])
				if err != nil {
					return err
				}
				m.Roles[i].ExpiresAt = at
			}
		}
		if slices.Equal(old.Roles, m.Roles) {
			return nil
		}
		v.putMember(m)
		v.record("member.roles", "member:"+user, assignmentsJSON(old), assignmentsJSON(m))
		return nil
	}, func(v *view) { out = *v.member(user) })
	if err != nil {
		return Member{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// AddRoleMembers assigns a role to members (M6, M7). Members who already
// hold it are left as they are, but for an expiry, which is removed.
func (s *Service) AddRoleMembers(ctx context.Context, ws string, w Write, roleID string, users []string) (int64, error) {
	return s.AddRoleMembersUntil(ctx, ws, w, roleID, users, time.Time{})
}

// AddRoleMembersUntil assigns a role to members until expiresAt (T1; the
// zero time: without expiry). An assignment only ever gets longer here:
// a member who holds the role until an earlier instant holds it until
// expiresAt (a zero expiresAt removes the expiry), one who holds it longer
// is left as it is. Extending is a grant (T3, X3a).
func (s *Service) AddRoleMembersUntil(ctx context.Context, ws string, w Write, roleID string, users []string, expiresAt time.Time) (int64, error) {
	v, err := s.update(ctx, ws, w, "role.members.add", func(v *view) error {
		r, err := v.role(roleID)
		if err != nil {
			return err
		}
		until, err := v.checkExpiry("role "+roleID, expiresAt)
		if err != nil {
			return err
		}
		for _, u := range unique(users) {
			old := v.member(u)
			if old == nil {
				return memberNotFound(u)
			}
			v.addressedMembers = append(v.addressedMembers, u)
			if i, ok := old.assignment(roleID); ok {
				cur := old.Roles[i].ExpiresAt
				if cur.IsZero() || (!until.IsZero() && !until.After(cur)) {
					continue
				}
				m := old.clone()
				m.Roles[i].ExpiresAt = until
				v.putMember(m)
				v.record("member.roles", "member:"+u, assignmentsJSON(old), assignmentsJSON(m))
				continue
			}
			m := old.clone()
			m.addAssignment(Assignment{RoleID: roleID, Revision: r.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName(), ExpiresAt: until})
			if err := v.checkAudiences(m); err != nil {
				return err
			}
			v.putMember(m)
			v.record("member.roles", "member:"+u, assignmentsJSON(old), assignmentsJSON(m))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// RemoveRoleMember takes a role from a member (M4): removing the last
// role other than the default assigns the default; removing the default
// from a member with no other role is last_role.
func (s *Service) RemoveRoleMember(ctx context.Context, ws string, w Write, roleID, user string) (int64, error) {
	v, err := s.update(ctx, ws, w, "role.members.remove", func(v *view) error {
		if _, err := v.role(roleID); err != nil {
			return err
		}
		old := v.member(user)
		if old == nil {
			return memberNotFound(user)
		}
		v.addressedMembers = append(v.addressedMembers, user)
		i, ok := old.assignment(roleID)
		if !ok {
			return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("%s does not hold role %q", user, v.roles[roleID].Name),
				Details: map[string]any{"user_id": user, "role_id": roleID}}
		}
		m := old.clone()
		m.Roles = slices.Delete(m.Roles, i, i+1)
		if len(m.Roles) == 0 && v.deptRoleCount > 0 && len(deptHeld(v.depts, v.roles, m, v.now)) > 0 && (v.defaultRole().Audience == m.Kind || v.hasPermanentRole(m)) {
			m.Roles = nil // still holds roles through departments (M4, M9)
		} else if len(m.Roles) == 0 {
			def := v.defaultRole()
			if roleID == def.ID {
				return v.lastRoleError(m, def)
			}
			m.addAssignment(Assignment{RoleID: def.ID, Revision: def.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName()})
			if err := v.checkAudiences(m); err != nil {
				return &policy.Error{Code: policy.CodeLastRole,
					Message: fmt.Sprintf("%q is the only role of %s, and the default role %q is not for %s members; give them another %s role first", v.roles[roleID].Name, user, def.Name, m.Kind, m.Kind),
					Details: map[string]any{"user_id": user, "role_id": roleID}}
			}
		}
		v.putMember(m)
		v.record("member.roles", "member:"+user, assignmentsJSON(old), assignmentsJSON(m))
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// RemoveMember removes a member with its assignments and direct grants
// (M8); the audit log keeps the history.
func (s *Service) RemoveMember(ctx context.Context, ws string, w Write, user string) (int64, error) {
	v, err := s.update(ctx, ws, w, "member.remove", func(v *view) error {
		old := v.member(user)
		if old == nil {
			return memberNotFound(user)
		}
		v.addressedMembers = append(v.addressedMembers, user)
		v.removeMember(user)
		v.record("member.remove", "member:"+user, memberJSON(old), nil)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// SetDirectGrants replaces a member's direct grants (M5): additive only,
// validated against the member's kind and C4 on the effective levels. It
// returns the grants that are redundant (at or below what the roles give).
// Grants kept at the same level keep their expiry.
func (s *Service) SetDirectGrants(ctx context.Context, ws string, w Write, user string, grants policy.Grants) (Member, []string, int64, error) {
	return s.SetDirectGrantsWith(ctx, ws, w, user, grants, nil, nil)
}

// SetDirectGrantsWhen is SetDirectGrants with conditions on some of the
// grants (G1): a conditional direct grant counts at its level (M5, X3a).
func (s *Service) SetDirectGrantsWhen(ctx context.Context, ws string, w Write, user string, grants policy.Grants, when policy.Conditions) (Member, []string, int64, error) {
	return s.SetDirectGrantsWith(ctx, ws, w, user, grants, when, nil)
}

// SetDirectGrantsUntil is SetDirectGrants with the grants' expiry (T1).
func (s *Service) SetDirectGrantsUntil(ctx context.Context, ws string, w Write, user string, grants policy.Grants, expiresAt map[string]time.Time) (Member, []string, int64, error) {
	return s.SetDirectGrantsWith(ctx, ws, w, user, grants, nil, expiresAt)
}

// SetDirectGrantsWith replaces a member's direct grants with their
// conditions (G1) and expiry (T1): when expiresAt is not nil, each grant it
// names expires at its instant (in the future) and every other grant does
// not expire; a nil expiresAt keeps the expiry of grants kept at the same
// level. Extending or removing an expiry is a grant (T3, X3a), and a
// conditional grant counts at its level (M5, X3a).
func (s *Service) SetDirectGrantsWith(ctx context.Context, ws string, w Write, user string, grants policy.Grants, when policy.Conditions, expiresAt map[string]time.Time) (Member, []string, int64, error) {
	var redundant []string
	var out Member
	v, err := s.update(ctx, ws, w, "member.grants", func(v *view) error {
		old := v.member(user)
		if old == nil {
			return memberNotFound(user)
		}
		v.addressedMembers = append(v.addressedMembers, user)
		refs := heldRefs(v.depts, v.roles, old.live(v.now), v.now, nil, v.deptRoleCount > 0)
		vs := make([]policy.Vector, 0, len(refs))
		for _, a := range refs {
			vs = append(vs, v.vector(v.cat, v.roles[a.RoleID], v.roleRevision(a.RoleID, a.Revision)))
		}
		var err error
		if redundant, err = v.cat.ValidateDirectGrants(grants, old.Kind, vs); err != nil {
			return err
		}
		if err := v.cat.ValidateConditions(grants, when); err != nil {
			return err
		}
		expiry := map[string]time.Time{}
		if expiresAt == nil {
			for k, t := range old.GrantExpiry {
				if l, ok := grants[k]; ok && old.Grants[k] == l {
					expiry[k] = t
				}
			}
		} else {
			for k, t := range expiresAt {
				if _, ok := grants[k]; !ok {
					return &policy.Error{Code: policy.CodeInvalidArgument, Message: fmt.Sprintf("expires_at names %q, which is not among the grants given", k),
						Details: map[string]any{"field": "expires_at", "permission": k}}
				}
				at, err := v.checkExpiry("grant "+k, t)
				if err != nil {
					return err
				}
				if !at.IsZero() {
					expiry[k] = at
				}
			}
		}
		if len(expiry) == 0 {
			expiry = nil
		}
		if grantsEqual(old.Grants, grants) && maps.Equal(old.When, when) && maps.EqualFunc(old.GrantExpiry, expiry, time.Time.Equal) {
			return nil
		}
		m := old.clone()
		m.Grants, m.When = grants.Clone(), when.Clone()
		if len(m.Grants) == 0 {
			m.Grants, m.When = nil, nil
		}
		m.GrantExpiry = expiry
		v.putMember(m)
		v.record("member.grants", "member:"+user, grantsJSON(old), grantsJSON(m))
		return nil
	}, func(v *view) { out = *v.member(user) })
	if err != nil {
		return Member{}, nil, 0, err
	}
	return out, redundant, v.ws.Revision, nil
}

// memberJSON is a member as the audit log shows it: a struct, whose
// fields encoding/json writes in the (sorted) order it writes a map's
// keys, at a third of a map's cost, which an import pays per member.
func memberJSON(m *Member) any {
	if m == nil {
		return nil
	}
	return &auditMember{DepartmentIDs: m.DepartmentIDs, Email: m.Email, Grants: m.Grants, Kind: m.Kind, Name: m.Name,
		Owner: m.Owner, Roles: assignmentList(m.Roles), UserID: m.UserID}
}

// auditMember is memberJSON's shape; its fields are in key order.
type auditMember struct {
	DepartmentIDs []string          `json:"department_ids"`
	Email         string            `json:"email"`
	Grants        policy.Grants     `json:"grants"`
	Kind          policy.Audience   `json:"kind"`
	Name          string            `json:"name"`
	Owner         bool              `json:"owner"`
	Roles         []auditAssignment `json:"roles"`
	UserID        string            `json:"user_id"`
}

func assignmentsJSON(m *Member) map[string]any {
	return map[string]any{"roles": assignmentList(m.Roles)}
}

// assignmentList is a member's or a department's roles as the audit log
// shows them, with each one's expiry (T1).
func assignmentList(as []Assignment) []auditAssignment {
	roles := make([]auditAssignment, 0, len(as))
	for _, a := range as {
		r := auditAssignment{RoleID: a.RoleID, Revision: a.Revision}
		if !a.ExpiresAt.IsZero() {
			r.ExpiresAt = a.ExpiresAt.Format(time.RFC3339Nano)
		}
		roles = append(roles, r)
	}
	return roles
}

// auditAssignment is one entry of assignmentList; its fields are in key
// order.
type auditAssignment struct {
	ExpiresAt string `json:"expires_at,omitempty"`
	Revision  int64  `json:"revision"`
	RoleID    string `json:"role_id"`
}

// grantsJSON is a member's direct grants, with their expiry, as the audit
// log shows them.
func grantsJSON(m *Member) map[string]any {
	out := map[string]any{"grants": m.Grants}
	if len(m.When) > 0 {
		out["when"] = m.When
	}
	if len(m.GrantExpiry) > 0 {
		e := make(map[string]string, len(m.GrantExpiry))
		for k, t := range m.GrantExpiry {
			e[k] = t.Format(time.RFC3339Nano)
		}
		out["expires_at"] = e
	}
	return out
}
