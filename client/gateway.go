package client

import (
	"context"
	"net/http"
)

// GatewayRoute maps the requests a gateway forwards to the permission
// they need (forward authorization): Method ("GET", …, or "*"), Path with
// {name} parameters and a final "*", Permission (a key or an action
// alias), and the parameters that hold the record's owner and department.
type GatewayRoute struct {
	Method     string `json:"method"`
	Path       string `json:"path"`
	Permission string `json:"permission"`
	Owner      string `json:"owner,omitempty"`
	Department string `json:"department,omitempty"`
}

// GatewayRoutes returns workspace ws's gateway routes, in order.
func (c *Client) GatewayRoutes(ctx context.Context, ws string) ([]GatewayRoute, error) {
	var out struct {
		Routes []GatewayRoute `json:"routes"`
	}
	if err := c.get(ctx, ws, wsPath(ws, "gateway-routes"), nil, &out); err != nil {
		return nil, err
	}
	return out.Routes, nil
}

// SetGatewayRoutes replaces workspace ws's gateway routes; the first route
// that matches a request decides it, and a request none matches is
// denied. It returns them with the workspace revision after the write.
func (c *Client) SetGatewayRoutes(ctx context.Context, ws string, routes []GatewayRoute) ([]GatewayRoute, int64, error) {
	var out struct {
		Routes   []GatewayRoute `json:"routes"`
		Revision int64          `json:"workspace_revision"`
	}
	body := map[string]any{"routes": routes}
	if routes == nil {
		body["routes"] = []GatewayRoute{}
	}
	if _, err := c.call(ctx, &request{method: http.MethodPut, path: wsPath(ws, "gateway-routes"), body: body, ws: ws}, &out); err != nil {
		return nil, 0, err
	}
	return out.Routes, out.Revision, nil
}

// ForwardAuth asks what a gateway asks before it forwards method and uri
// for the holder of session token (no API key: the token is the
// credential). It returns the decision with the user Gatehouse names; a
// refusal is an *Error: forbidden for a denied request or one no route
// names, unauthenticated or reauthentication_required for the session.
func (c *Client) ForwardAuth(ctx context.Context, ws, token, method, uri string) (*Decision, string, error) {
	h := http.Header{}
	h.Set("X-Forwarded-Method", method)
	h.Set("X-Forwarded-Uri", uri)
	h.Set("Authorization", "Bearer "+token)
	cp := *c
	cp.key = "" // the session token, not the client's key, is the credential
	var out Decision
	hdr, err := cp.call(ctx, &request{method: http.MethodGet, path: wsPath(ws, "forward-auth"), header: h, idempotent: true, ws: ws}, &out)
	if err != nil {
		return nil, "", err
	}
	return &out, hdr.Get("X-Gatehouse-User"), nil
}
