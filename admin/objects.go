package admin

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// WorkspaceCatalog returns a workspace's catalog: the deployment catalog plus its
// smart objects (C9).
func (s *Service) WorkspaceCatalog(ctx context.Context, ws string) (*policy.Catalog, error) {
	var cat *policy.Catalog
	err := s.read(ctx, ws, func(m *model) error { cat = m.cat; return nil })
	return cat, err
}

// PutObject creates or renames a smart object type (C9). Its permissions
// are <id>_view, <id>_create, …; roles granting smart_objects_* reach it at
// once by inheritance (C6), so members' epochs move accordingly (A1).
func (s *Service) PutObject(ctx context.Context, ws string, w Write, o SmartObject) (SmartObject, int64, error) {
	v, err := s.update(ctx, ws, w, "object.put", func(v *view) error {
		o.Name, o.Description = strings.TrimSpace(o.Name), strings.TrimSpace(o.Description)
		if err := o.Validate(); err != nil {
			return err
		}
		old, exists := v.objects[o.ID]
		if exists && old == o {
			return nil
		}
		v.objects[o.ID] = o
		if err := v.setCatalog(); err != nil {
			return err
		}
		v.objsPut = append(v.objsPut, o.ID)
		var before any
		if exists {
			before = old
		}
		v.record("object.put", "object:"+o.ID, before, o)
		return nil
	})
	if err != nil {
		return SmartObject{}, 0, err
	}
	return v.objects[o.ID], v.ws.Revision, nil
}

// setCatalog rebuilds the view's catalog from its objects.
func (v *view) setCatalog() error {
	cat, err := v.base.cat.Base().WithObjects(sortedObjects(v.objects))
	if err != nil {
		return err
	}
	v.cat, v.allSuspect = cat, true
	return nil
}

// DeleteObject deletes a smart object type (C9). When roles (at their
// newest revisions) or members' direct grants still grant it, it needs
// force, which removes those grants in the same transaction: each such
// role gets a new, applied revision without them. Without force it fails
// with role_in_use naming the roles.
func (s *Service) DeleteObject(ctx context.Context, ws string, w Write, id string, force bool) (int64, error) {
	v, err := s.update(ctx, ws, w, "object.delete", func(v *view) error {
		o, ok := v.objects[id]
		if !ok {
			return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no smart object %q in this workspace", id),
				Details: map[string]any{"object_id": id}}
		}
		prefix := id + "_"
		ofObject := func(k string) bool {
			_, ok := v.cat.Lookup(k)
			_, deployment := v.cat.Base().Lookup(k)
			return ok && strings.HasPrefix(k, prefix) && !deployment
		}
		var roles []string
		for _, r := range v.roles {
			if slices.ContainsFunc(slices.Collect(maps.Keys(v.newest(r).Grants)), ofObject) {
				roles = append(roles, r.ID)
			}
		}
		slices.Sort(roles)
		var users []string
		for u, m := range v.base.allMembers() {
			if slices.ContainsFunc(slices.Collect(maps.Keys(m.Grants)), ofObject) {
				users = append(users, u)
			}
		}
		slices.Sort(users)
		if (len(roles) > 0 || len(users) > 0) && !force {
			return &policy.Error{Code: policy.CodeRoleInUse,
				Message: fmt.Sprintf("smart object %q is still granted by %d roles and %d members' direct grants; delete with force to remove those grants too", o.Name, len(roles), len(users)),
				Details: map[string]any{"object_id": id, "roles": roles, "users": users}}
		}
		for _, rid := range roles {
			g := v.newest(v.roles[rid]).Grants.Clone()
			for k := range g {
				if ofObject(k) {
					delete(g, k)
				}
			}
			if err := v.updateRole(rid, RoleUpdate{Grants: g}); err != nil {
				return err
			}
		}
		for _, u := range users {
			m := v.member(u).clone()
			for k := range m.Grants {
				if ofObject(k) {
					delete(m.Grants, k)
				}
			}
			v.putMember(m)
			v.record("member.grants", "member:"+u, map[string]any{"grants": v.baseMember(u).Grants}, map[string]any{"grants": m.Grants})
		}
		delete(v.objects, id)
		if err := v.setCatalog(); err != nil {
			return err
		}
		v.objsDeleted = append(v.objsDeleted, id)
		v.record("object.delete", "object:"+id, o, nil)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}
