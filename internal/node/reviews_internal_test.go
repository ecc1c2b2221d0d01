package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
)

// fakeTimers stands in for time.After: each call is reported on asked
// with its duration, and fires when the test sends on fire.
type fakeTimers struct {
	asked chan time.Duration
	fire  chan time.Time
}

func (f *fakeTimers) after(d time.Duration) <-chan time.Time {
	f.asked <- d
	return f.fire
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestV2_ReviewLoopWakesAtTheDeadline: the node's review loop sleeps
// until the earliest deadline (not a fixed poll), is re-armed at once
// when a write opens or moves a campaign, and closes the campaign as the
// system when its timer fires, the default applying to what was left
// undecided. Both the clock and the timer are injected.
func TestV2_ReviewLoopWakesAtTheDeadline(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	clk := &testClock{t: t0}
	svc := admin.New(st, admin.Options{Now: clk.now})
	if _, err := svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.UpsertMember(ctx, "w", admin.Write{}, admin.MemberInput{UserID: "ann", Name: "Ann", RoleIDs: []string{admin.RoleEmployee}}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.SetDirectGrants(ctx, "w", admin.Write{Reason: "test"}, "ann", policy.Grants{"invoices_view": policy.LevelAll}); err != nil {
		t.Fatal(err)
	}
	const every = 24 * time.Hour
	ft := &fakeTimers{asked: make(chan time.Duration, 16), fire: make(chan time.Time)}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runReviewDeadlines(lctx, svc, every, slog.New(slog.DiscardHandler), ft.after)
	}()
	defer func() { cancel(); <-done }()
	expect := func(step string, want time.Duration) {
		t.Helper()
		select {
		case d := <-ft.asked:
			if d != want {
				t.Fatalf("%s: the loop sleeps %v, want %v", step, d, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the loop never re-armed its timer", step)
		}
	}
	expect("no campaign", every)

	rv, _, err := svc.OpenReview(ctx, "w", admin.Write{}, admin.ReviewInput{Name: "Q1", Deadline: t0.Add(3 * time.Hour), Default: admin.DecisionRevoke,
		Scope: admin.ReviewScope{Permissions: []string{"invoices_view"}}})
	if err != nil {
		t.Fatal(err)
	}
	expect("after the open", 3*time.Hour)

	later := t0.Add(5 * time.Hour)
	if _, _, err := svc.UpdateReview(ctx, "w", admin.Write{}, rv.ID, admin.ReviewUpdate{Deadline: &later}); err != nil {
		t.Fatal(err)
	}
	expect("after the deadline moved", 5*time.Hour)

	clk.set(later) // the timer fires at the deadline
	ft.fire <- later
	expect("after the close", every)
	items, err := svc.ReviewItems(ctx, "w", admin.Actor{}, rv.ID, admin.ReviewItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got, _, _, err := svc.GetReview(ctx, "w", admin.Actor{}, rv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != admin.ReviewClosed || got.ClosedBy != "system" {
		t.Fatalf("at the deadline: status %s closed by %q, want closed by system", got.Status, got.ClosedBy)
	}
	for _, it := range items {
		if it.DecidedBy != "default" || it.Decision != admin.DecisionRevoke {
			t.Errorf("item %d: %s by %q, want the default revoke", it.ID, it.Decision, it.DecidedBy)
		}
	}
	m, err := svc.Member(ctx, "w", admin.Actor{}, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Grants) != 0 {
		t.Errorf("ann still holds %v after the default revoked it", m.Grants)
	}
}
