// Package apitest starts a real Gatehouse node for tests: an SQLite file
// in the test's temp directory, the engine, and the HTTP API on a loopback
// httptest server.
package apitest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/node"
)

// AdminKey is the deployment admin key of every test node.
const AdminKey = "test-admin-key"

// AuditKey keys the audit chain of every test node (X4), as a
// deployment's does.
var AuditKey = admin.AuditKey{ID: "apitest", Secret: []byte("the audit key of every apitest node, 32+ bytes")}

// Env is a running test node.
type Env struct {
	*node.Node
	URL    string
	Server *httptest.Server
	// MetricsURL is the node's metrics listener (…/metrics), apart from
	// the API as in a deployment.
	MetricsURL string
}

// Options adjust a test node.
type Options struct {
	// Database overrides the fresh SQLite file, e.g. with a PostgreSQL URL.
	Database string
	// Wrap wraps the API handler, e.g. with a contract validator.
	Wrap func(http.Handler) http.Handler
	// FlushEvery is the usage flush interval; an hour (manual) if zero.
	FlushEvery time.Duration
	// RateLimit and RateBurst limit each key (node.Config); none if zero.
	RateLimit float64
	RateBurst int
	// MaxStreams caps each key's open event streams (node.Config).
	MaxStreams int
	// MetricsPerWorkspace adds per-workspace metrics series.
	MetricsPerWorkspace bool
	// FollowMin is node.Config.FollowMin.
	FollowMin int
}

// Start starts a node and stops it when the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Database == "" {
		o.Database = "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
	}
	if o.FlushEvery == 0 {
		o.FlushEvery = time.Hour
	}
	n, err := node.Open(context.Background(), node.Config{Database: o.Database, AdminKey: AdminKey, FlushEvery: o.FlushEvery,
		RateLimit: o.RateLimit, RateBurst: o.RateBurst, MaxStreams: o.MaxStreams, MetricsPerWorkspace: o.MetricsPerWorkspace, AuditKeys: []admin.AuditKey{AuditKey}, Version: "test", FollowMin: o.FollowMin})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	var h http.Handler = n.API
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	srv := httptest.NewServer(h)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.API.Metrics())
	metrics := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		metrics.Close()
		n.Close()
	})
	return &Env{Node: n, URL: srv.URL, Server: srv, MetricsURL: metrics.URL + "/metrics"}
}
