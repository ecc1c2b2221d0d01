package admin

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// GatewayRoutes returns a workspace's gateway routes, in order: what a
// gateway's forward-authorization request is matched against.
func (s *Service) GatewayRoutes(ctx context.Context, ws string) ([]policy.GatewayRoute, error) {
	var out []policy.GatewayRoute
	err := s.read(ctx, ws, func(m *model) error {
		out = slices.Clone(m.gateway)
		return nil
	})
	if out == nil {
		out = []policy.GatewayRoute{}
	}
	return out, err
}

// SetGatewayRoutes replaces a workspace's gateway routes (the first that
// matches a request decides it; a request none matches is denied). Each
// route's permission is a permission key or an action alias of the
// workspace. Returns invalid_argument for a malformed route or more than
// policy.MaxGatewayRoutes, unknown_permission for a permission that is
// neither.
func (s *Service) SetGatewayRoutes(ctx context.Context, ws string, w Write, routes []policy.GatewayRoute) ([]policy.GatewayRoute, int64, error) {
	v, err := s.update(ctx, ws, w, "gateway.put", func(v *view) error { return v.setGateway(routes) })
	if err != nil {
		return nil, 0, err
	}
	out := slices.Clone(v.gateway)
	if out == nil {
		out = []policy.GatewayRoute{}
	}
	return out, v.ws.Revision, nil
}

func (v *view) setGateway(routes []policy.GatewayRoute) error {
	if len(routes) > policy.MaxGatewayRoutes {
		return policy.Errorf(policy.CodeInvalidArgument, "a workspace has at most %d gateway routes, got %d", policy.MaxGatewayRoutes, len(routes))
	}
	for i, r := range routes {
		where := fmt.Sprintf("routes[%d]", i)
		if err := r.Validate(); err != nil {
			return prefixError(where, err)
		}
		if _, alias := v.aliases[r.Permission]; !alias {
			if _, err := v.cat.PermissionByKey(r.Permission); err != nil {
				return prefixError(where, err)
			}
		}
	}
	if slices.Equal(v.gateway, routes) || (len(v.gateway) == 0 && len(routes) == 0) {
		return nil
	}
	v.record("gateway.put", "workspace:"+v.ws.ID, map[string]any{"gateway_routes": routeStrings(v.gateway)},
		map[string]any{"gateway_routes": routeStrings(routes)})
	v.gateway, v.gatewayPut = slices.Clone(routes), true
	return nil
}

func routeStrings(rs []policy.GatewayRoute) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
		if r.Owner != "" {
			out[i] += " owner={" + r.Owner + "}"
		}
		if r.Department != "" {
			out[i] += " department={" + r.Department + "}"
		}
	}
	return out
}
