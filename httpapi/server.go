// Package httpapi is Gatehouse's HTTP API, v1 (DESIGN.md §3): routes,
// authentication (X1, X2, A2), the mapping of error codes to statuses, the
// OpenAPI document, the event feed, and the metrics handler a listener of
// its own serves. Handlers decode, call
// admin.Service or engine.Engine, and encode; no rule lives here.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/session"
)

// Config is what the server is built from.
type Config struct {
	Admin  *admin.Service
	Engine *engine.Engine
	// Idempotency keeps the answers of POSTs sent with an Idempotency-Key;
	// nil: the header is ignored.
	Idempotency IdempotencyStore
	// AdminKey is the deployment admin key (X1). Empty disables it.
	AdminKey string
	// Sessions signs and verifies session tokens (A2).
	Sessions *session.Keys
	// Rotator rotates the session signing keys; nil: rotation is not
	// offered.
	Rotator KeyRotator
	// SessionTTL is the default lifetime of a session token; 1 h if zero.
	SessionTTL time.Duration
	// Ready reports whether the database is reachable (/readyz).
	Ready func(context.Context) error
	// Freshness reports how current the node's snapshots are (the
	// follower's view: see package follow); /readyz shows it. Nil on a
	// node that follows nothing: its snapshots are always current.
	Freshness func() Freshness
	// RateLimit, when positive, is how many requests per second each API
	// key may send (the deployment admin key counts as one key), with
	// bursts of RateBurst (RateLimit rounded up if zero); beyond it the
	// answer is 429 rate_limited with Retry-After. Zero: no limit.
	RateLimit float64
	RateBurst int
	// MaxStreams is how many event long polls and SSE streams each API
	// key may hold open at once; beyond it, 429 rate_limited.
	// DefaultMaxStreams if zero.
	MaxStreams int
	// MaxStale, when positive, makes /readyz answer 503 once the snapshots
	// have been stale for longer: for operators who prefer no answer to
	// an old one. Zero keeps a node ready, answering from its snapshots,
	// however long the database is away.
	MaxStale time.Duration
	// Registry receives the server's metrics; a new one if nil. Metrics
	// serves it, on a listener of its own: the API does not (W1: series
	// name workspaces and their write activity).
	Registry *prometheus.Registry
	// MetricsPerWorkspace adds series labelled with each workspace's id
	// (revision, members): one per tenant, so off by default.
	MetricsPerWorkspace bool
	// Console is served at / (the admin console); nothing if nil.
	Console http.Handler
	// ConsoleLinks mints console sign-in links (X6), usually the Console
	// itself; POST …/console-links answers unavailable without it.
	ConsoleLinks ConsoleLinks
	Logger       *slog.Logger
	Now          func() time.Time
	// Version is reported by /healthz.
	Version string
	// PublicURL is the server's URL as clients reach it, for documents
	// that name endpoints (the AuthZEN metadata, Z1); derived from each
	// request when empty.
	PublicURL string
}

// Server is the HTTP API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	adminSum [32]byte
	metrics  *metrics
	handler  http.Handler
	routes   []route
	loaded   atomic.Bool
	limits   *limiters
	streams  *streams
}

// New returns the API server for cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.SessionTTL <= 0 {
		s.cfg.SessionTTL = time.Hour
	}
	if s.cfg.Registry == nil {
		s.cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.AdminKey != "" {
		s.adminSum = sha256.Sum256([]byte(cfg.AdminKey))
	}
	s.metrics = newMetrics(s.cfg.Registry, cfg.Engine, cfg.MetricsPerWorkspace)
	s.limits = newLimiters(cfg.RateLimit, cfg.RateBurst)
	s.streams = newStreams(cfg.MaxStreams)
	mux := http.NewServeMux()
	s.routes = s.routeTable()
	api := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, rt.h)
		api.Handle(rt.method+" "+rt.path, rt.h)
	}
	if cfg.Console != nil {
		mux.Handle("/", cfg.Console)
		// The console takes every path the API does not, so the API's
		// own answers for a wrong method and an unknown path are explicit.
		mux.Handle("/v1/", s.noRoute(api))
	}
	s.handler = s.instrument(mux)
	return s
}

// noRoute answers an API request no route takes: 405 with Allow when the
// path exists under other methods, else the API's not_found.
func (s *Server) noRoute(api *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := api.Handler(probe); pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			http.Error(w, "method not allowed; this path takes "+strings.Join(allowed, ", "), http.StatusMethodNotAllowed)
			return
		}
		s.writeError(w, r, &policy.Error{Code: policy.CodeNotFound, Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// call is one authenticated API request.
type call struct {
	ws       string // the {ws} of the path, if any
	deployed bool   // made with the deployment admin key
	key      admin.APIKey
	write    admin.Write
	// auth is the caller's authority in the workspace (X3), set on
	// workspace routes other than decisions.
	auth admin.Authority
}

// handler is an API endpoint: it returns an error instead of writing one.
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// access is who may call an endpoint.
type access int

const (
	public     access = iota // anyone
	deployment               // the deployment admin key (X1)
	checker                  // a key of the workspace, any scope, or the deployment key
	manager                  // an admin key of the workspace, or the deployment key
	keyed                    // any key of one workspace, which names the workspace (AuthZEN at the root, Z1)
)

// serve wraps an endpoint with authentication, the authority its area
// needs (X3) and error answers.
func (s *Server) serve(a access, area admin.Area, h handler) http.Handler {
	return s.serveWith(a, area, h, s.writeError)
}

// serveAuthZEN is serve for the AuthZEN endpoints (Z1): errors as the
// specification writes them, and X-Request-ID echoed.
func (s *Server) serveAuthZEN(a access, h handler) http.Handler {
	inner := s.serveWith(a, areaDecision, h, s.writeAuthZENError)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echoRequestID(w, r)
		inner.ServeHTTP(w, r)
	})
}

func (s *Server) serveWith(a access, area admin.Area, h handler, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{ws: r.PathValue("ws")}
		if err := s.authenticate(r, a, area, c); err != nil {
			writeError(w, r, err)
			return
		}
		if a != public {
			key := c.key.ID
			if c.deployed {
				key = "deployment"
			}
			if err := s.limits.allow(w, key); err != nil {
				writeError(w, r, err)
				return
			}
		}
		if err := h(w, r, c); err != nil {
			writeError(w, r, err)
		}
	})
}

var (
	errNoKey = &policy.Error{Code: policy.CodeUnauthenticated,
		Message: "missing API key: send Authorization: Bearer <key>"}
	errNotDeployment = &policy.Error{Code: policy.CodeForbidden,
		Message: "this endpoint needs the deployment admin key"}
	errDeploymentNoWorkspace = &policy.Error{Code: policy.CodeForbidden,
		Message: "the deployment admin key names no workspace: use a workspace key here, or /v1/workspaces/{ws}/access/v1/…"}
)

// bearer returns the token of an "Authorization: Bearer <token>" header.
// The scheme is case-insensitive (RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// authenticate establishes who calls (X1, X2, X3) and whether they may
// call this endpoint. A key of another workspace gets the answer a missing
// workspace gets (W1).
func (s *Server) authenticate(r *http.Request, a access, area admin.Area, c *call) error {
	if a == public {
		return nil
	}
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return errNoKey
	}
	if s.cfg.AdminKey != "" {
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], s.adminSum[:]) == 1 {
			c.deployed = true
		}
	}
	if c.deployed && a == keyed {
		return errDeploymentNoWorkspace
	}
	if !c.deployed {
		k, err := s.cfg.Admin.Authenticate(token)
		if err != nil {
			return err
		}
		c.key = k
		if a == deployment {
			return errNotDeployment
		}
		if a == keyed {
			c.ws = k.Workspace
		}
		if k.Workspace != c.ws {
			return errNotFoundWorkspace(c.ws)
		}
		if a == manager && k.Scope != admin.ScopeAdmin {
			return &policy.Error{Code: policy.CodeForbidden,
				Message: "this key has scope check (decisions only); administration needs a key of scope admin",
				Details: map[string]any{"scope": k.Scope}}
		}
	}
	c.write.Actor = admin.Actor{KeyID: c.key.ID, Deployment: c.deployed}
	if c.ws == "" || area == areaDecision {
		return nil
	}
	c.write.Actor.UserID = r.Header.Get("Gatehouse-Actor")
	if a == manager {
		c.write.Reason = r.Header.Get("Gatehouse-Reason")
	}
	auth, err := s.cfg.Admin.Authority(r.Context(), c.ws, c.write.Actor)
	if err != nil {
		return err
	}
	c.auth = auth
	return auth.Can(area)
}
