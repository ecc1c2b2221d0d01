package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
)

// server returns the DSN of the PostgreSQL server the tests use. Without
// one the tests skip, except under CI, where a missing server is a
// failure: the suite never silently skips there.
func server(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES is not set; CI must run the PostgreSQL tests (use ./scripts/test)")
		}
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set; ./scripts/test starts a throwaway server")
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at GATEHOUSE_TEST_POSTGRES is unreachable: %v", err)
	}
	conn.Close(context.Background())
	return dsn
}

// open returns a store in a fresh schema of its own, dropped at the end
// of the test.
func open(t testing.TB) admin.Store { return openStore(t, t.Cleanup) }

// openStore is open with the clean-up registered by cleanup.
func openStore(t testing.TB, cleanup func(func())) admin.Store {
	t.Helper()
	dsn := server(t)
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 4
	s, err := postgres.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	server(t)
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) admin.Store { return open(t) },
		Exec: func(t *testing.T, s admin.Store, query string) {
			t.Helper()
			if err := s.(*postgres.Store).ExecRaw(context.Background(), query); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		},
	})
}
