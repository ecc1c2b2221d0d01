package admin

import (
	"context"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// The permissions that make a member an administrator (W4, X3). Both are
// scoped: at all they cover the whole workspace, at department or
// subdepartments the actor's span.
const (
	permRolesView = "settings_roles_view"
	permRolesEdit = "settings_roles_edit"
)

// Area is a part of a workspace that needs its own authority (X3). Every
// route and every operation belongs to exactly one.
type Area int

// The areas of X3, from the least to the most guarded.
const (
	// AreaWorkspace is the workspace's own row (name, plan, revision): any
	// member may read it.
	AreaWorkspace Area = iota
	// AreaRolesRead is role definitions, templates, the catalog and the
	// department tree: settings_roles_view at any level.
	AreaRolesRead
	// AreaPeopleRead is members, their effective permissions, explain and
	// who-can, and the audit history of a member: settings_roles_view at
	// department or above, limited to the span.
	AreaPeopleRead
	// AreaPeopleEdit is assignments, direct grants, department membership
	// and the department tree: settings_roles_edit at department or above,
	// limited to the span (X3a).
	AreaPeopleEdit
	// AreaReports is what covers the whole workspace at once: the whole
	// audit log, the policy export, usage and impact previews:
	// settings_roles_view at all.
	AreaReports
	// AreaRolesEdit is role definitions and everything that changes them
	// (create, edit, apply, restore, duplicate, delete, smart objects,
	// policy import): settings_roles_edit at all.
	AreaRolesEdit
	// AreaOwner is the workspace name, API keys, console links and
	// ownership: owners only.
	AreaOwner
	// AreaPlan is the plan (W2 is billing): the deployment admin key only.
	AreaPlan
)

var areaNames = [...]string{"workspace", "roles (read)", "members (read)", "members", "reports", "roles", "owner", "plan"}

// String names the area in messages and documents.
func (a Area) String() string { return areaNames[a] }

// Authority is what one caller may do in one workspace (X3), computed from
// one state of it. The zero value is no authority at all.
type Authority struct {
	actor Actor
	// unlimited is a call without an acting member (the host's key) or by
	// an owner: X3a does not limit it.
	unlimited bool
	owner     bool
	// levels is the acting member's effective levels, nil when unlimited.
	levels policy.Vector
	cat    *policy.Catalog
	view   policy.Level
	edit   policy.Level
	// viewSpan and editSpan are the departments the actor's
	// settings_roles_view and _edit reach at department or subdepartments;
	// nil below department, unused at all.
	viewSpan, editSpan map[string]bool
}

// Authority returns what actor may do in workspace ws (X3). An acting
// member that is not a member of ws is forbidden. A key acting for itself
// needs no look at the workspace, so its authority takes no lock.
func (s *Service) Authority(ctx context.Context, ws string, actor Actor) (Authority, error) {
	if actor.UserID == "" {
		return Authority{actor: actor, unlimited: true, owner: true}, nil
	}
	var out Authority
	err := s.read(ctx, ws, func(m *model) error {
		var err error
		out, err = m.authority(actor)
		return err
	})
	return out, err
}

// authority computes an actor's authority in the model's current state.
func (m *model) authority(actor Actor) (Authority, error) {
	a := Authority{actor: actor, cat: m.cat}
	if actor.UserID == "" {
		a.unlimited, a.owner = true, true
		return a, nil
	}
	mb := m.member(actor.UserID)
	if mb == nil {
		return Authority{}, &policy.Error{Code: policy.CodeForbidden,
			Message: fmt.Sprintf("acting user %q is not a member of this workspace", excerpt(actor.UserID)),
			Details: map[string]any{"actor": excerpt(actor.UserID)}}
	}
	if mb.Owner {
		a.unlimited, a.owner = true, true
		return a, nil
	}
	a.levels = effectiveIn(nil, m, m.cat, m.roles, m.revs, m.depts, mb)
	a.view, a.edit = levelOf(m.cat, a.levels, permRolesView), levelOf(m.cat, a.levels, permRolesEdit)
	a.viewSpan = m.span(mb, a.view)
	a.editSpan = m.span(mb, a.edit)
	return a, nil
}

// span returns the departments a member's level l of an administration
// permission covers: its own departments at department, their subtrees at
// subdepartments, nothing below; nil at all (everything).
func (m *model) span(mb *Member, l policy.Level) map[string]bool {
	return deptSpan(m.depts, mb.DepartmentIDs, l)
}

// deptSpan is the set of departments that level l reaches from the
// departments own in the tree depts (D2's department and subdepartments).
func deptSpan(depts map[string]*Department, own []string, l policy.Level) map[string]bool {
	switch {
	case l == policy.LevelAll:
		return nil
	case l < policy.LevelDepartment:
		return map[string]bool{}
	}
	out := make(map[string]bool, len(own))
	for _, d := range own {
		if depts[d] != nil {
			out[d] = true
		}
	}
	if l == policy.LevelSubdepartments && len(out) > 0 {
		// A department is in the span when one of its ancestors is.
		for id := range depts {
			for a := id; a != ""; a = depts[a].ParentID {
				if out[a] {
					out[id] = true
					break
				}
				if depts[a] == nil {
					break
				}
			}
		}
	}
	return out
}

// Actor returns who the authority belongs to.
func (a Authority) Actor() Actor { return a.actor }

// Owner reports whether the caller is an owner or a key acting for itself:
// one that X3a does not limit.
func (a Authority) Owner() bool { return a.owner }

// Level returns the caller's own effective level of a permission: all for
// an unlimited caller. A console disables what lies above it (X6).
func (a Authority) Level(permission string) policy.Level {
	if a.unlimited {
		return policy.LevelAll
	}
	return levelOf(a.cat, a.levels, permission)
}

// Can returns nil when the caller may use area at all, else forbidden with
// the same answer for every route of the area (X3). Span limits within an
// area are the operations' own.
func (a Authority) Can(area Area) error {
	if area == AreaPlan {
		// The deployment admin key, or an in-process call with no key.
		if a.actor.UserID == "" && a.actor.KeyID == "" {
			return nil
		}
		return errForbidden(area, "the deployment admin key (the plan is billing, W2)")
	}
	if a.unlimited {
		return nil
	}
	var ok bool
	var need string
	switch area {
	case AreaWorkspace:
		ok = true
	case AreaRolesRead:
		ok, need = a.view > policy.LevelNone, permRolesView
	case AreaPeopleRead:
		ok, need = a.view >= policy.LevelDepartment, permRolesView+" at department or above"
	case AreaPeopleEdit:
		ok, need = a.edit >= policy.LevelDepartment, permRolesEdit+" at department or above"
	case AreaReports:
		ok, need = a.view == policy.LevelAll, permRolesView+" at all"
	case AreaRolesEdit:
		ok, need = a.edit == policy.LevelAll, permRolesEdit+" at all"
	case AreaOwner:
		need = "workspace ownership"
	}
	if ok {
		return nil
	}
	return errForbidden(area, need)
}

func errForbidden(area Area, need string) error {
	return &policy.Error{Code: policy.CodeForbidden,
		Message: fmt.Sprintf("this needs %s", need),
		Details: map[string]any{"area": area.String(), "needs": need}}
}

// Sees reports whether the caller may see member m (X3 reads): every
// department of m lies in the span of its settings_roles_view.
func (a Authority) Sees(m *Member) bool {
	return a.unlimited || a.view == policy.LevelAll || inSpan(a.viewSpan, m.DepartmentIDs)
}

// Manages reports whether the caller may change member m (X3, X3a.2):
// every department of m lies in the span of its settings_roles_edit.
func (a Authority) Manages(m *Member) bool {
	return a.unlimited || a.edit == policy.LevelAll || inSpan(a.editSpan, m.DepartmentIDs)
}

// ManagesDepartment reports whether department id lies in the span of the
// caller's settings_roles_edit.
func (a Authority) ManagesDepartment(id string) bool {
	return a.unlimited || a.edit == policy.LevelAll || a.editSpan[id]
}

// inSpan reports whether depts is non-empty and every one of them is in
// span. A member in no department is in no department span: only all
// reaches it.
func inSpan(span map[string]bool, depts []string) bool {
	if len(depts) == 0 {
		return false
	}
	for _, d := range depts {
		if !span[d] {
			return false
		}
	}
	return true
}

// seeMember returns forbidden unless the caller may see member m; a member
// outside the span is answered like one the caller may not read at all.
func (a Authority) seeMember(m *Member) error {
	if a.Sees(m) {
		return nil
	}
	return &policy.Error{Code: policy.CodeForbidden,
		Message: fmt.Sprintf("member %q is outside what you may see", excerpt(m.UserID)),
		Details: map[string]any{"area": AreaPeopleRead.String(), "needs": permRolesView + " over the member's departments"}}
}

// readAs runs fn with the model and the caller's authority, once the
// caller may use area.
func (s *Service) readAs(ctx context.Context, ws string, actor Actor, area Area, fn func(m *model, a Authority) error) error {
	return s.read(ctx, ws, func(m *model) error {
		a, err := m.authority(actor)
		if err != nil {
			return err
		}
		if err := a.Can(area); err != nil {
			return err
		}
		return fn(m, a)
	})
}

// excerpt bounds client input quoted in messages.
func excerpt(s string) string {
	r := []rune(s)
	if len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// Visible returns the users among users that who may see (X3), in order;
// users that are no members are left out too when who is limited.
func (s *Service) Visible(ctx context.Context, ws string, who Actor, users []string) ([]string, error) {
	if who.UserID == "" {
		return users, nil
	}
	var out []string
	err := s.readAs(ctx, ws, who, AreaPeopleRead, func(m *model, a Authority) error {
		if a.unlimited || a.view == policy.LevelAll {
			out = users
			return nil
		}
		out = make([]string, 0, len(users))
		for _, u := range users {
			if mb := m.member(u); mb != nil && a.Sees(mb) {
				out = append(out, u)
			}
		}
		return nil
	})
	return out, err
}
