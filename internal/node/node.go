// Package node wires one Gatehouse node together: a store, the admin
// service over it, the engine that answers decisions, and the HTTP API.
// cmd/gatehouse serves it; tests and benchmarks start it in-process.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/follow"
	"github.com/gatehouse-authz/gatehouse/httpapi"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
	"github.com/gatehouse-authz/gatehouse/web"
)

// Config configures a node.
type Config struct {
	// Database is "sqlite:<path>" or a postgres:// URL.
	Database string
	// Catalog is the deployment catalog; the default one if nil.
	Catalog *policy.Catalog
	// AdminKey is the deployment admin key (X1).
	AdminKey   string
	SessionTTL time.Duration
	// FlushEvery is how often usage counts are written; 5 s if zero.
	FlushEvery time.Duration
	// PollEvery is how often the node compares every workspace's stored
	// revision with its own, the fallback for change notices; 1 s if zero.
	PollEvery time.Duration
	// MaxStale makes /readyz fail once the snapshots have been stale for
	// longer; 0 never does (see httpapi.Config.MaxStale).
	MaxStale time.Duration
	// RateLimit and RateBurst limit each API key (httpapi.Config).
	RateLimit float64
	RateBurst int
	// MaxStreams caps each key's open event long polls and streams
	// (httpapi.Config.MaxStreams).
	MaxStreams int
	// MetricsPerWorkspace adds metrics series per workspace
	// (httpapi.Config.MetricsPerWorkspace).
	MetricsPerWorkspace bool
	// KeyGrace is how long a rotated-in session signing key is announced
	// before it signs; DefaultKeyGrace if zero. It must exceed PollEvery
	// plus the clock skew between nodes.
	KeyGrace time.Duration
	// ConsoleFrameAncestors are the origins that may show the console in
	// a frame (web.Config.FrameAncestors); none if empty.
	ConsoleFrameAncestors []string
	// PublicURL is the server's URL as clients reach it
	// (httpapi.Config.PublicURL); derived per request if empty.
	PublicURL string
	// AuditKeys key the audit chain (X4; admin.Options.AuditKeys): the
	// last signs, all verify. Nil writes unkeyed entries.
	AuditKeys []admin.AuditKey
	// FollowMin is admin.Options.FollowMin: 0 is admin.FollowMin.
	FollowMin int
	Logger    *slog.Logger
	Version   string
}

// Store is what a node needs of its database.
type Store interface {
	admin.Store
	httpapi.IdempotencyStore
	Ping(ctx context.Context) error
	Close() error
}

// The engine receives the admin service's snapshots; it does not import
// admin, so the assertion lives here, where the two meet.
var _ admin.Publisher = (*engine.Engine)(nil)

// Node is a running Gatehouse node.
type Node struct {
	Store  Store
	Admin  *admin.Service
	Engine *engine.Engine
	API    *httpapi.Server
	// Follower brings in the changes other nodes commit.
	Follower *follow.Follower

	sessionKeys *sessionKeys
	pollEvery   time.Duration
	log         *slog.Logger
}

// Secrets kept in the store, shared by every node of a deployment.
const (
	// The ring of keys that sign API session tokens (A2) and, through
	// keys derived from it, the console's cookies. The name is from when
	// it held a single seed, which session.ParseRing still reads.
	sessionSecret = "session_ed25519_seed"
)

// OpenStore opens the database named by a --database value.
func OpenStore(ctx context.Context, database string) (Store, error) {
	switch {
	case strings.HasPrefix(database, "sqlite:"):
		path := strings.TrimPrefix(database, "sqlite:")
		if path == "" {
			return nil, errors.New("database sqlite: needs a file path, e.g. sqlite:gatehouse.db")
		}
		// SQLite creates the file, not its directory; its own error
		// ("unable to open database file (14)") names neither.
		if dir := filepath.Dir(path); dir != "" {
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("database %s: directory %s does not exist; create it (mkdir -p %s) or choose another path", database, dir, dir)
			}
		}
		return sqlite.Open(ctx, path)
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return postgres.Open(ctx, database)
	}
	return nil, fmt.Errorf("database %q: want sqlite:<path> or postgres://…", database)
}

// Open opens the database, loads every workspace into the engine and
// builds the API and the admin console. The node serves once Open returns.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	n := &Node{Store: st, pollEvery: cfg.PollEvery, log: cfg.Logger}
	if n.pollEvery <= 0 {
		n.pollEvery = time.Second // follow.Options.PollEvery's default
	}
	var svc *admin.Service
	n.Engine = engine.New(engine.Options{Usage: usageSink(func(ctx context.Context, ws string, u []admin.Usage) error {
		return svc.RecordUsage(ctx, ws, u)
	}), FlushEvery: cfg.FlushEvery, Logger: cfg.Logger})
	svc = admin.New(st, admin.Options{Catalog: cfg.Catalog, Logger: cfg.Logger, Publisher: n.Engine, AuditKeys: cfg.AuditKeys,
		ExpiryTimers: true, FollowMin: cfg.FollowMin})
	n.Admin = svc
	n.sessionKeys, err = openSessionKeys(ctx, st, cfg.KeyGrace, cfg.Logger)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("session keys: %w", err)
	}
	console, err := web.New(web.Config{Admin: svc, Engine: n.Engine, AdminKey: cfg.AdminKey, Keys: n.sessionKeys.keys,
		FrameAncestors: cfg.ConsoleFrameAncestors, Logger: cfg.Logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	fo := follow.Options{Replica: svc, PollEvery: cfg.PollEvery, Logger: cfg.Logger}
	if l, ok := st.(follow.Listener); ok {
		fo.Listener = l
	}
	reg := prometheus.NewRegistry()
	n.API = httpapi.New(httpapi.Config{Admin: svc, Engine: n.Engine, Idempotency: st, AdminKey: cfg.AdminKey, Sessions: n.sessionKeys.keys, Rotator: n.sessionKeys,
		SessionTTL: cfg.SessionTTL, Ready: st.Ping, Registry: reg, Console: console, ConsoleLinks: console,
		Freshness: func() httpapi.Freshness {
			if n.Follower == nil {
				return httpapi.Freshness{}
			}
			f := n.Follower.Status()
			return httpapi.Freshness{Age: f.Age, Stale: f.Stale}
		}, MaxStale: cfg.MaxStale, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, MaxStreams: cfg.MaxStreams, MetricsPerWorkspace: cfg.MetricsPerWorkspace,
		PublicURL: cfg.PublicURL, Logger: cfg.Logger, Version: cfg.Version})
	start := time.Now()
	if err := svc.Open(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("load workspaces: %w", err)
	}
	// The follower starts from the state just loaded; whatever other nodes
	// commit from now on, or committed during the load, it brings in.
	n.Follower = follow.New(fo)
	if err := n.Follower.Register(reg); err != nil {
		st.Close()
		return nil, err
	}
	n.API.MarkLoaded()
	cfg.Logger.Info("workspaces loaded", "workspaces", len(n.Engine.Workspaces()), "duration", time.Since(start))
	return n, nil
}

// Run flushes usage counts and follows the changes of other nodes until
// ctx ends, then flushes once more.
func (n *Node) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { n.Follower.Run(ctx) })
	wg.Go(func() { n.sessionKeys.follow(ctx, n.pollEvery) })
	wg.Go(func() { n.closeDueReviews(ctx, ReviewEvery, n.log) })
	n.Engine.Run(ctx)
	wg.Wait()
}

// Close stops the expiry timers and closes the database.
func (n *Node) Close() error {
	n.Admin.Close()
	return n.Store.Close()
}

type usageSink func(ctx context.Context, ws string, u []admin.Usage) error

func (f usageSink) RecordUsage(ctx context.Context, ws string, u []admin.Usage) error {
	return f(ctx, ws, u)
}
