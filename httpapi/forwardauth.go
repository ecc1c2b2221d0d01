package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// This file is forward authorization for gateways: nginx's auth_request
// and Caddy's forward_auth ask GET /v1/workspaces/{ws}/forward-auth before
// they forward a request, and pass it on only on a 2xx. The caller is the
// person behind the original request, identified by a Gatehouse session
// token (A2) in its Authorization header or its gatehouse_session cookie;
// the request is matched against the workspace's gateway routes (method +
// path pattern → permission, parameters → record attributes), the first
// route that matches decides, and a request no route names is denied.
//
// The endpoint takes no API key: the session token is the credential, and
// it answers only about its own holder. An answer never tells a workspace
// that exists from one that does not before the token has been checked
// (W1).

// SessionCookie is the cookie a gateway's users may carry their session
// token in, instead of an Authorization header.
const SessionCookie = "gatehouse_session"

// forwardAuth answers a gateway: 200 with X-Gatehouse-User, -Level,
// -Permission and -Revision when the session's member may make the
// original request; 401 without a valid session (reauthentication_required
// when the member's permissions changed since it was issued); 403 when it
// may not, or when no route names the request.
func (s *Server) forwardAuth(w http.ResponseWriter, r *http.Request, c *call) error {
	err := s.forwardAuthDecide(w, r, c)
	if err != nil {
		// Gateways answer the client with the status but their own body:
		// the code travels in a header they can pass on
		// (deploy/nginx/gatehouse.conf does).
		w.Header().Set("Gatehouse-Error-Code", string(policy.ErrorCode(err)))
	}
	return err
}

func (s *Server) forwardAuthDecide(w http.ResponseWriter, r *http.Request, c *call) error {
	method := firstHeader(r, "X-Forwarded-Method", "X-Original-Method")
	uri := firstHeader(r, "X-Forwarded-Uri", "X-Original-URI")
	if method == "" || !strings.HasPrefix(uri, "/") {
		return invalid("X-Forwarded-Uri", "the gateway must send the original request's method and URI (X-Forwarded-Method and X-Forwarded-Uri, or X-Original-Method and X-Original-URI)")
	}
	token := ""
	if t, ok := bearer(r.Header.Get("Authorization")); ok {
		token = t
	} else if ck, err := r.Cookie(SessionCookie); err == nil {
		token = ck.Value
	}
	// One answer for a missing, malformed, forged, expired or foreign
	// token: none of them may tell anything apart (W1).
	if token == "" || s.cfg.Sessions == nil {
		return errNoSession
	}
	if cl, err := s.cfg.Sessions.Verify(token, s.now()); err != nil || cl.Workspace != c.ws {
		return errNoSession
	}
	path, _, _ := strings.Cut(uri, "?")
	snap, err := s.cfg.Engine.Snapshot(c.ws)
	if err != nil {
		return err
	}
	user, err := s.subject(snap, c.ws, subjectRequest{Session: token})
	if err != nil {
		return err
	}
	m, ok := snap.MatchGateway(strings.ToUpper(method), path)
	if !ok {
		return &policy.Error{Code: policy.CodeForbidden, Message: "no gateway route names " + strings.ToUpper(method) + " " + excerpt(path) + ": denied by default",
			Details: map[string]any{"reason": "no_route", "revision": snap.Revision()}}
	}
	d, err := s.cfg.Engine.CheckIn(snap, user, m.Permission, m.Record)
	if err != nil {
		return err
	}
	s.metrics.decisions(d.Allowed, 1)
	h := w.Header()
	h.Set("X-Gatehouse-User", user)
	h.Set("X-Gatehouse-Permission", m.Permission)
	h.Set("X-Gatehouse-Level", d.Level.String())
	h.Set("X-Gatehouse-Revision", strconv.FormatInt(d.Revision, 10))
	h.Set("Cache-Control", "no-store")
	if !d.Allowed {
		return &policy.Error{Code: policy.CodeForbidden, Message: user + " may not " + strings.ToUpper(method) + " " + excerpt(path) + " (" + m.Permission + ": " + string(d.Reason) + ")",
			Details: map[string]any{"reason": d.Reason, "permission": m.Permission, "revision": d.Revision}}
	}
	writeJSON(w, http.StatusOK, checkJSON{Allowed: true, Level: d.Level, Reason: d.Reason, Revision: d.Revision})
	return nil
}

var errNoSession = policy.Errorf(policy.CodeUnauthenticated,
	"a valid session token of this workspace is required: the original request's Authorization: Bearer <token>, or its %s cookie", SessionCookie)

func firstHeader(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}

type gatewayRouteJSON struct {
	Method     string `json:"method"`
	Path       string `json:"path"`
	Permission string `json:"permission"`
	Owner      string `json:"owner,omitempty"`
	Department string `json:"department,omitempty"`
}

type gatewayRoutesJSON struct {
	Routes []gatewayRouteJSON `json:"routes"`
}

func toRoutesJSON(rs []policy.GatewayRoute) gatewayRoutesJSON {
	out := gatewayRoutesJSON{Routes: make([]gatewayRouteJSON, len(rs))}
	for i, r := range rs {
		out.Routes[i] = gatewayRouteJSON(r)
	}
	return out
}

func (s *Server) getGatewayRoutes(w http.ResponseWriter, r *http.Request, c *call) error {
	rs, err := s.cfg.Admin.GatewayRoutes(r.Context(), c.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoutesJSON(rs))
	return nil
}

func (s *Server) putGatewayRoutes(w http.ResponseWriter, r *http.Request, c *call) error {
	var in gatewayRoutesJSON
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Routes == nil {
		return invalid("routes", "routes is required; an empty list removes every route")
	}
	rs := make([]policy.GatewayRoute, len(in.Routes))
	for i, x := range in.Routes {
		rs[i] = policy.GatewayRoute(x)
	}
	out, rev, err := s.cfg.Admin.SetGatewayRoutes(r.Context(), c.ws, c.write, rs)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, toRoutesJSON(out), rev)
	return nil
}
