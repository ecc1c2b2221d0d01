package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
)

func open(t testing.TB) admin.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) admin.Store { return open(t) },
		Exec: func(t *testing.T, s admin.Store, query string) {
			t.Helper()
			if err := s.(*sqlite.Store).ExecRaw(context.Background(), query); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		},
		QueryInt: func(t *testing.T, s admin.Store, query string) int64 {
			t.Helper()
			n, err := s.(*sqlite.Store).QueryInt(context.Background(), query)
			if err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		},
	})
}

// TestMigrate_Idempotent: opening an existing database applies nothing
// twice and keeps its data.
func TestMigrate_Idempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.New(s, admin.Options{}).CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanFree}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids, err := s.Workspaces(ctx)
	if err != nil || len(ids) != 1 {
		t.Fatalf("workspaces after reopen: %v, %v", ids, err)
	}
}
