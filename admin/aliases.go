package admin

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// MaxAliases bounds a workspace's action aliases.
const MaxAliases = 1000

// aliasName is what an alias may look like: the action names of standard
// clients ("can_update_todo", "read", "todo:edit").
var aliasName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,99}$`)

// ActionAliases returns a workspace's action aliases (Z2): alias →
// permission key.
func (s *Service) ActionAliases(ctx context.Context, ws string) (map[string]string, error) {
	var out map[string]string
	err := s.read(ctx, ws, func(m *model) error {
		out = maps.Clone(m.aliases)
		return nil
	})
	if out == nil {
		out = map[string]string{}
	}
	return out, err
}

// SetActionAliases replaces a workspace's action aliases (Z2): names a
// standard client (AuthZEN) uses for actions, each standing for one
// permission key of the workspace's catalog. An alias may not be a
// permission key itself (the key would win). Returns unknown_permission
// for a target the catalog does not know, invalid_argument for a bad
// name or more than MaxAliases.
func (s *Service) SetActionAliases(ctx context.Context, ws string, w Write, aliases map[string]string) (map[string]string, int64, error) {
	v, err := s.update(ctx, ws, w, "aliases.put", func(v *view) error { return v.setAliases(aliases) })
	if err != nil {
		return nil, 0, err
	}
	out := maps.Clone(v.aliases)
	if out == nil {
		out = map[string]string{}
	}
	return out, v.ws.Revision, nil
}

// setAliases makes aliases the workspace's action aliases, validated
// against the view's catalog, and audits the change.
func (v *view) setAliases(aliases map[string]string) error {
	if len(aliases) > MaxAliases {
		return policy.Errorf(policy.CodeInvalidArgument, "a workspace has at most %d action aliases, got %d", MaxAliases, len(aliases))
	}
	for _, a := range slices.Sorted(maps.Keys(aliases)) {
		if !aliasName.MatchString(a) {
			return &policy.Error{Code: policy.CodeInvalidArgument,
				Message: fmt.Sprintf("action alias %q must start with a letter and hold at most 100 letters, digits, _ . : -", excerpt(a)),
				Details: map[string]any{"alias": excerpt(a)}}
		}
		if _, ok := v.cat.Lookup(a); ok {
			return &policy.Error{Code: policy.CodeInvalidArgument,
				Message: fmt.Sprintf("action alias %q is a permission key already", a), Details: map[string]any{"alias": a}}
		}
		if _, err := v.cat.PermissionByKey(aliases[a]); err != nil {
			return prefixError("action alias "+a, err)
		}
	}
	if maps.Equal(v.aliases, aliases) || (len(v.aliases) == 0 && len(aliases) == 0) {
		return nil
	}
	v.record("aliases.put", "workspace:"+v.ws.ID, map[string]any{"action_aliases": v.aliases}, map[string]any{"action_aliases": aliases})
	v.aliases, v.aliasesPut = maps.Clone(aliases), true
	return nil
}
