package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse-authz/gatehouse/httpapi"
	"github.com/gatehouse-authz/gatehouse/internal/node"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/web"
)

func serveFlags(getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *serveConfig, error) {
	fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &serveConfig{}
	e := &envFlags{fs: fs, getenv: getenv}
	e.string(&c.Addr, "addr", "127.0.0.1:8470", "address to listen on")
	e.string(&c.PublicURL, "public-url", "", "the URL clients reach this server at, for documents that name endpoints (the AuthZEN metadata); default: each request's scheme and host")
	e.string(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9470", `address of the Prometheus metrics listener (/metrics), apart from the API; "" or "off" for none`)
	e.bool(&c.MetricsPerWorkspace, "metrics-per-workspace", "add metrics series per workspace (one per tenant, naming it)")
	e.string(&c.Database, "database", "sqlite:gatehouse.db", "sqlite:<path> or postgres://…")
	e.string(&c.Catalog, "catalog", "", "catalog YAML file (default: the embedded CRM catalog)")
	e.string(&c.AdminKey, "admin-key", "", "deployment admin key (X1); generated and printed when empty")
	e.bool(&c.Demo, "demo", "seed a demo workspace on start")
	e.string(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	if err := e.duration(&c.SessionTTL, "session-ttl", time.Hour, "default session token lifetime"); err != nil {
		return nil, nil, err
	}
	if err := e.duration(&c.PollEvery, "poll-interval", time.Second, "how often to compare every workspace's stored revision with this node's (the fallback for change notices)"); err != nil {
		return nil, nil, err
	}
	if err := e.float(&c.RateLimit, "rate-limit", 0, "requests per second each API key may send, beyond which it gets 429 rate_limited (0: no limit)"); err != nil {
		return nil, nil, err
	}
	if err := e.int(&c.RateBurst, "rate-burst", 0, "requests a key may send at once above --rate-limit (default: the limit, rounded up)"); err != nil {
		return nil, nil, err
	}
	if err := e.int(&c.MaxStreams, "max-streams-per-key", httpapi.DefaultMaxStreams, "event long polls and SSE streams one API key may hold open at once; beyond it, 429 rate_limited"); err != nil {
		return nil, nil, err
	}
	if err := e.duration(&c.KeyGrace, "session-key-grace", node.DefaultKeyGrace, "how long a rotated-in session signing key is announced before it signs; more than --poll-interval plus the clock skew between nodes"); err != nil {
		return nil, nil, err
	}
	if err := e.origins(&c.FrameAncestors, "console-frame-ancestors", "origins that may show the console in an iframe, comma-separated, e.g. https://crm.example.com (default: none, the console is never framed); needs HTTPS outside localhost", web.FrameAncestors); err != nil {
		return nil, nil, err
	}
	e.string(&c.AuditKeyFile, "audit-key-file", "", "file of audit keys (X4), one \"<id> <base64 secret>\" a line, the last signing; or set $GATEHOUSE_AUDIT_KEY to the keys themselves (default on SQLite: <db>.audit-key, generated)")
	e.bool(&c.UnkeyedAudit, "insecure-unkeyed-audit", "write the audit chain without a key (development only; PostgreSQL needs a key otherwise)")
	if err := e.duration(&c.MaxStale, "max-stale", 0, "fail /readyz once snapshots have been stale this long while the database is unreachable (0: stay ready, answering from snapshots)"); err != nil {
		return nil, nil, err
	}
	return fs, c, nil
}

func loadCatalog(path string) (*policy.Catalog, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return policy.ParseCatalog(path, data)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, cfg, err := serveFlags(getenv, stderr)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	cat, err := loadCatalog(cfg.Catalog)
	if err != nil {
		return fmt.Errorf("--catalog: %w", err)
	}
	generated := cfg.AdminKey == ""
	if generated {
		b := make([]byte, 24)
		rand.Read(b)
		cfg.AdminKey = "gha_" + base64.RawURLEncoding.EncodeToString(b)
	}
	auditKeys, err := resolveAuditKeys(cfg, getenv, log)
	if err != nil {
		return err
	}
	n, err := node.Open(ctx, node.Config{Database: cfg.Database, Catalog: cat, AdminKey: cfg.AdminKey,
		SessionTTL: cfg.SessionTTL, PollEvery: cfg.PollEvery, MaxStale: cfg.MaxStale,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, MaxStreams: cfg.MaxStreams, MetricsPerWorkspace: cfg.MetricsPerWorkspace, KeyGrace: cfg.KeyGrace, AuditKeys: auditKeys,
		ConsoleFrameAncestors: cfg.FrameAncestors, PublicURL: cfg.PublicURL, Logger: log, Version: version})
	if err != nil {
		return err
	}
	defer n.Close()
	if cfg.Demo {
		if err := seedDemo(ctx, n, stdout); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           n.API,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long polls of the event feed last up to 60 s; SSE streams
		// extend their own deadline per write.
		WriteTimeout:   75 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	metricsSrv, err := serveMetrics(cfg.MetricsAddr, n, log, stdout)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "gatehouse %s listening on http://%s (database %s)\n", version, ln.Addr(), redact(cfg.Database))
	if generated {
		fmt.Fprintf(stdout, "deployment admin key (generated for this run; set GATEHOUSE_ADMIN_KEY to keep one): %s\n", cfg.AdminKey)
	}
	if cfg.Demo {
		// A command that works as printed: the key is the one above, or
		// the one the operator chose (not echoed: it is theirs).
		key := cfg.AdminKey
		if !generated {
			key = `"$GATEHOUSE_ADMIN_KEY"`
		}
		fmt.Fprintf(stdout, "try it (go install ./cmd/gatehouse for the CLI): gatehouse check --server http://%s --key %s --workspace %s --user erin --permission deals_view\n",
			ln.Addr(), key, demoWorkspace)
	}
	flushCtx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	flushed := make(chan struct{})
	go func() { n.Run(flushCtx); close(flushed) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		stopFlush()
		<-flushed
		if metricsSrv != nil {
			metricsSrv.Close()
		}
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if metricsSrv != nil {
		metricsSrv.Close()
	}
	err = srv.Shutdown(shutCtx)
	stopFlush() // the engine flushes usage counts once more, then returns
	<-flushed
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// redact hides a database URL's password.
func redact(dsn string) string {
	if u, err := parseURL(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	return dsn
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var database string
	(&envFlags{fs: fs, getenv: getenv}).string(&database, "database", "sqlite:gatehouse.db", "sqlite:<path> or postgres://…")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	st, err := node.OpenStore(ctx, database) // opening migrates to the newest schema
	if err != nil {
		return err
	}
	defer st.Close()
	var applied []int64
	if a, ok := st.(interface{ Applied() []int64 }); ok {
		applied = a.Applied()
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "database %s was already at the newest schema: nothing changed\n", redact(database))
		return nil
	}
	fmt.Fprintf(stdout, "database %s migrated: applied %d migration(s), %d to %d; it is now at the newest schema\n",
		redact(database), len(applied), applied[0], applied[len(applied)-1])
	return nil
}

// serveMetrics serves the Prometheus metrics on a listener of their own,
// as exporters conventionally do, loopback by default: the API does not
// serve them (they name workspaces and show their write activity, W1).
// It returns nil when addr is "" or "off".
func serveMetrics(addr string, n *node.Node, log *slog.Logger, stdout io.Writer) (*http.Server, error) {
	if addr == "" || addr == "off" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			log.Warn("the metrics listener is not on a loopback address: whoever reaches it reads every series, without a key", "addr", addr)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.API.Metrics())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", ln.Addr())
	go srv.Serve(ln)
	return srv, nil
}
