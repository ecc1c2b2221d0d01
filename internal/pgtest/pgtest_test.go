package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
)

// TestStopAndStart checks what the package promises: the DSN is refused
// while the server is stopped and works again after Start, with the data
// written before the stop still there.
func TestStopAndStart(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before stop')"); err != nil {
		t.Fatalf("write: %v", err)
	}
	conn.Close(ctx)

	srv.Stop(t)
	if conn, err := pgx.Connect(ctx, srv.DSN()); err == nil {
		conn.Close(ctx)
		t.Fatal("connect succeeded while the server was stopped")
	}

	srv.Start(t)
	conn, err = pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("read after restart: %v", err)
	}
	if v != "before stop" {
		t.Fatalf("read %q after restart, want %q", v, "before stop")
	}
}
