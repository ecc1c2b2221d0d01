package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
)

// server returns the DSN of the PostgreSQL server the tests use: they
// skip without one, except under CI, where a missing server is a failure.
func server(t testing.TB) string {
	t.Helper()
	dsn := pgtest.Shared(t)
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
	_, dsn := pgtest.Schema(t, server(t), "t", cleanup)
	s, err := postgres.Open(context.Background(), dsn+"&pool_max_conns=4")
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
		QueryInt: func(t *testing.T, s admin.Store, query string) int64 {
			t.Helper()
			n, err := s.(*postgres.Store).QueryInt(context.Background(), query)
			if err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		},
	})
}
