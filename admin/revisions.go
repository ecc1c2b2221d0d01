package admin

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// GrantChange is one permission whose grant differs between two revisions.
// A missing grant reads as Level none with Set false.
type GrantChange struct {
	Permission string
	Old, New   policy.Level
	OldSet     bool // whether the older revision grants it explicitly
	NewSet     bool
	// OldWhen and NewWhen are the grant's conditions (G1), "" for none.
	OldWhen, NewWhen string
}

// DiffConditions adds to changes (from DiffGrants) the conditions of old
// and new (G1): a grant whose level stays but whose condition changes is a
// change too.
func DiffConditions(changes []GrantChange, old, new RoleRevision) []GrantChange {
	return diffConditions(changes, old, new)
}

func diffConditions(changes []GrantChange, old, new RoleRevision) []GrantChange {
	for i := range changes {
		changes[i].OldWhen, changes[i].NewWhen = old.When[changes[i].Permission], new.When[changes[i].Permission]
	}
	for k := range unionKeys(old.When, new.When) {
		if old.When[k] == new.When[k] || slices.ContainsFunc(changes, func(c GrantChange) bool { return c.Permission == k }) {
			continue
		}
		ol, os := old.Grants[k]
		nl, ns := new.Grants[k]
		changes = append(changes, GrantChange{Permission: k, Old: ol, New: nl, OldSet: os, NewSet: ns, OldWhen: old.When[k], NewWhen: new.When[k]})
	}
	slices.SortFunc(changes, func(a, b GrantChange) int { return cmpString(a.Permission, b.Permission) })
	return changes
}

func unionKeys(a, b policy.Conditions) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// RevisionDiff is a revision and how it differs from the one before (R6a).
type RevisionDiff struct {
	Revision RoleRevision
	Changes  []GrantChange // empty for revision 1
}

// RoleRevisions lists a role's revisions, oldest first (R6a).
func (s *Service) RoleRevisions(ctx context.Context, ws, id string) ([]RoleRevision, error) {
	if _, err := s.Role(ctx, ws, id); err != nil {
		return nil, err
	}
	return s.store.RoleRevisions(ctx, ws, id)
}

// RoleRevision returns revision n of a role with its diff to n-1 (R6a).
func (s *Service) RoleRevision(ctx context.Context, ws, id string, n int64) (RevisionDiff, error) {
	revs, err := s.RoleRevisions(ctx, ws, id)
	if err != nil {
		return RevisionDiff{}, err
	}
	i := slices.IndexFunc(revs, func(r RoleRevision) bool { return r.Revision == n })
	if i < 0 {
		return RevisionDiff{}, &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("role %q has no revision %d", id, n),
			Details: map[string]any{"role_id": id, "revision": n}}
	}
	d := RevisionDiff{Revision: revs[i]}
	if i > 0 {
		d.Changes = DiffGrants(revs[i-1].Grants, revs[i].Grants)
		d.Changes = diffConditions(d.Changes, revs[i-1], revs[i])
	}
	return d, nil
}

// DiffGrants lists the permissions whose explicit grant differs between
// old and new, sorted by permission.
func DiffGrants(old, new policy.Grants) []GrantChange {
	var out []GrantChange
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	for k := range keys {
		ol, os := old[k]
		nl, ns := new[k]
		if ol != nl || os != ns {
			out = append(out, GrantChange{Permission: k, Old: ol, New: nl, OldSet: os, NewSet: ns})
		}
	}
	slices.SortFunc(out, func(a, b GrantChange) int { return cmpString(a.Permission, b.Permission) })
	return out
}

// RestoreRevision makes revision n's grants the role's newest revision: a
// new revision, applied or not like any edit (R6a), checked against
// ifRevision (R7).
func (s *Service) RestoreRevision(ctx context.Context, ws string, w Write, id string, n int64, apply *bool, ifRevision int64) (Role, int64, error) {
	old, err := s.RoleRevision(ctx, ws, id, n)
	if err != nil {
		return Role{}, 0, err
	}
	var out Role
	v, err := s.update(ctx, ws, w, "role.restore", func(v *view) error {
		r, err := v.role(id)
		if err != nil {
			return err
		}
		if ifRevision != 0 && ifRevision != r.Revision {
			return v.updateRole(id, RoleUpdate{IfRevision: ifRevision})
		}
		g := old.Revision.Grants
		if g == nil {
			g = policy.Grants{}
		}
		if err := v.updateRole(id, RoleUpdate{Grants: g, When: old.Revision.When, Apply: apply}); err != nil {
			return err
		}
		if nr := v.roles[id]; nr.Revision != r.Revision {
			v.newRevs[len(v.newRevs)-1].Restored = n
		}
		return nil
	}, func(v *view) { out = v.roleResult(id) })
	if err != nil {
		return Role{}, 0, err
	}
	return out, v.ws.Revision, nil
}
