package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
)

// Every committed change is announced once, in commit order, to listeners
// of the same schema; a write that commits nothing (a lost
// compare-and-set) announces nothing.
func TestListen_NoticePerCommit(t *testing.T) {
	t.Parallel()
	st := open(t).(*postgres.Store)
	stranger := open(t) // another schema: another deployment
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan admin.Notice, 100)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- st.Listen(ctx, func() { close(ready) }, func(n admin.Notice) { got <- n }) }()
	<-ready

	svc := admin.New(st, admin.Options{})
	if _, err := svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	other := admin.New(stranger, admin.Options{})
	if _, err := other.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "x", Name: "X", Plan: admin.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := svc.PutDepartment(ctx, "w", admin.Write{}, admin.Department{ID: "d" + string(rune('a'+i)), Name: "D"}); err != nil {
			t.Fatal(err)
		}
	}
	// A commit against a revision the workspace has left: refused, silent.
	stale := &admin.Commit{Workspace: "w", Base: 1, Revision: 2, Time: time.Now(),
		Change: admin.Change{Revision: 2, Time: time.Now(), Action: "test"}}
	if err := st.Commit(ctx, stale); err != admin.ErrStale {
		t.Fatalf("stale commit: %v", err)
	}
	for want := int64(1); want <= 4; want++ {
		select {
		case n := <-got:
			if n.Workspace != "w" || n.Revision != want || time.Since(n.Time) > time.Minute {
				t.Fatalf("notice %d = %+v", want, n)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no notice for revision %d", want)
		}
	}
	select {
	case n := <-got:
		t.Fatalf("unexpected notice %+v (another schema's, or the refused commit's)", n)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("Listen must return why it stopped")
	}
}

// While the server is down, writes fail at once with unavailable (503,
// retry) rather than an internal error or a hang, Listen returns, and the
// store works again when the server is back, without being reopened.
func TestUnavailable_WhileServerDown(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := admin.New(st, admin.Options{})
	if _, err := svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	stopped := make(chan error, 1)
	go func() { stopped <- st.Listen(ctx, func() { close(listening) }, func(admin.Notice) {}) }()
	<-listening

	srv.Stop(t)
	start := time.Now()
	_, _, err = svc.PutDepartment(ctx, "w", admin.Write{}, admin.Department{ID: "d", Name: "D"})
	if policy.ErrorCode(err) != policy.CodeUnavailable {
		t.Fatalf("write while down: %v (code %s), want unavailable", err, policy.ErrorCode(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("write while down took %v; it must fail fast", d)
	}
	if _, err := st.Heads(ctx); policy.ErrorCode(err) != policy.CodeUnavailable {
		t.Errorf("read while down: %v, want unavailable", err)
	}
	select {
	case err := <-stopped:
		if policy.ErrorCode(err) != policy.CodeUnavailable {
			t.Errorf("Listen ended with %v, want unavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not notice the server going away")
	}

	srv.Start(t)
	if _, _, err := svc.PutDepartment(ctx, "w", admin.Write{}, admin.Department{ID: "d", Name: "D"}); err != nil {
		t.Fatalf("write after the server came back: %v", err)
	}
}
