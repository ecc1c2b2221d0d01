package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Shared returns the DSN of the PostgreSQL server the test command
// provides (GATEHOUSE_TEST_POSTGRES, set by scripts/postgres). Without one
// the test skips, except under CI, where a missing server is a failure.
func Shared(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES is not set; CI must run the PostgreSQL tests (use ./scripts/test)")
		}
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set; ./scripts/postgres starts a throwaway server")
	}
	return dsn
}

// Schema creates a schema named prefix_<random> on the server at dsn and
// returns its name and dsn with its search_path selected (pgx sends
// unknown URL parameters to the server as run-time parameters), which
// node.Open and postgres.Open take. It registers the schema's drop with
// cleanup: t.Cleanup usually; nil keeps the schema.
func Schema(t testing.TB, dsn, prefix string, cleanup func(func())) (schema, schemaDSN string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("want a postgres:// URL, got %q", dsn)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema = prefix + "_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at %s is unreachable: %v", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	if cleanup != nil {
		cleanup(func() {
			if c, err := pgx.Connect(context.Background(), dsn); err == nil {
				c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				c.Close(context.Background())
			}
		})
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String()
}
