package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
)

// A workspace's lock excludes other holders until released, and locks of
// different workspaces are independent.
func TestLockWorkspace_Excludes(t *testing.T) {
	t.Parallel()
	st := open(t).(*postgres.Store)
	ctx := context.Background()
	unlock, err := st.LockWorkspace(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.LockWorkspace(ctx, "v")
	if err != nil {
		t.Fatalf("another workspace's lock: %v", err)
	}
	other()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if u, err := st.LockWorkspace(short, "w"); err == nil {
		u()
		t.Fatal("a held lock was taken again")
	}
	unlock()
	again, err := st.LockWorkspace(ctx, "w")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}

// Three services (nodes) writing one workspace at once all get through:
// they take turns instead of losing compare-and-sets until they give up.
func TestLockWorkspace_ContendedWritesAllLand(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := context.Background()
	nodes := []*admin.Service{admin.New(st, admin.Options{}), admin.New(st, admin.Options{}), admin.New(st, admin.Options{})}
	if _, err := nodes[0].CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	const writers, writes = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*writers*writes)
	for i, n := range nodes {
		for j := range writers {
			wg.Go(func() {
				for k := range writes {
					if _, _, err := n.UpsertMember(ctx, "w", admin.Write{}, admin.MemberInput{UserID: fmt.Sprintf("n%d-%d-%d", i, j, k)}); err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	heads, err := st.Heads(ctx)
	if err != nil || len(heads) != 1 || heads[0].Revision != int64(1+len(nodes)*writers*writes) {
		t.Errorf("heads = %v, %v; want revision %d", heads, err, 1+len(nodes)*writers*writes)
	}
}
