package node_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/node"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/internal/scale"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
)

// openNode opens and runs a node until the test ends.
func openNode(tb testing.TB, dsn string) *node.Node {
	tb.Helper()
	n, err := node.Open(context.Background(), node.Config{Database: dsn, AdminKey: "gha_bench"})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done; n.Close() })
	return n
}

// BenchmarkPropagation measures how long a change committed on one node
// takes to be served by another: the writer commits member upserts at a
// steady rate (100/s), the reader's engine answers checks on both cores
// meanwhile, and each change's delay is timed from the writer's
// acknowledgement to the reader's snapshot reaching its revision.
// Reported: p50-ms, p99-ms, max-ms. Two shapes: 10 workspaces of 1,000
// members (the average workspace of the 1,000,000-member deployment),
// written in turn, and one workspace of 100,000 members (seeded with
// internal/scale), where a follower that reloaded the workspace would
// pay a whole load and compile per change.
//
//	PGPORT=55435 ./scripts/postgres go test -run '^$' -bench Propagation -benchtime 400x -count 3 ./internal/node
func BenchmarkPropagation(b *testing.B) {
	b.Run("10x1000", func(b *testing.B) {
		_, dsn := pgtest.Schema(b, pgtest.Shared(b), "n", b.Cleanup)
		w, r := openNode(b, dsn), openNode(b, dsn)
		ctx := context.Background()
		const spaces, members = 10, 1000
		var wss []string
		for i := range spaces {
			ws := fmt.Sprintf("ws%02d", i)
			wss = append(wss, ws)
			if _, err := w.Admin.CreateWorkspace(ctx, admin.WorkspaceInput{ID: ws, Name: ws, Plan: admin.PlanProfessional}); err != nil {
				b.Fatal(err)
			}
			in := make([]admin.MemberInput, members)
			for j := range in {
				in[j] = admin.MemberInput{UserID: fmt.Sprintf("u%04d", j)}
			}
			if _, err := w.Admin.ImportMembers(ctx, ws, admin.Write{}, in); err != nil {
				b.Fatal(err)
			}
		}
		for _, ws := range wss {
			if _, err := r.Engine.WaitFor(ctx, ws, 2); err != nil {
				b.Fatal(err)
			}
		}
		propagate(b, w, r, wss, "u0007")
	})
	b.Run("1x100000", func(b *testing.B) {
		_, dsn := pgtest.Schema(b, pgtest.Shared(b), "n", b.Cleanup)
		ctx := context.Background()
		if err := scale.Seed(ctx, dsn, 1, 100_000); err != nil {
			b.Fatal(err)
		}
		w, r := openNode(b, dsn), openNode(b, dsn)
		ws := scale.WorkspaceID(0)
		rev, _ := w.Admin.Revision(ws)
		if _, err := r.Engine.WaitFor(ctx, ws, rev); err != nil {
			b.Fatal(err)
		}
		propagate(b, w, r, []string{ws}, scale.UserID(0, 7, 100_000))
	})
}

// propagate runs the measurement of BenchmarkPropagation: b.N member
// upserts on w, over wss in turn, each timed until r serves it, while r's
// engine checks probe on both cores.
func propagate(b *testing.B, w, r *node.Node, wss []string, probe string) {
	ctx := context.Background()
	// Read load on the reader while it follows.
	loadCtx, stop := context.WithCancel(ctx)
	var load sync.WaitGroup
	for range 2 {
		load.Go(func() {
			for i := 0; loadCtx.Err() == nil; i++ {
				r.Engine.Check(wss[i%len(wss)], probe, "deals_view", nil)
				if i%1000 == 0 {
					time.Sleep(time.Millisecond) // leave the follower some CPU
				}
			}
		})
	}
	delays := make([]time.Duration, 0, b.N)
	tick := time.NewTicker(10 * time.Millisecond) // 100 writes/s
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		ws := wss[i%len(wss)]
		_, rev, err := w.Admin.UpsertMember(ctx, ws, admin.Write{}, admin.MemberInput{UserID: fmt.Sprintf("n%05d", i)})
		if err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		if _, err := r.Engine.WaitFor(ctx, ws, rev); err != nil {
			b.Fatalf("revision %d of %s not on the reader within a second: %v", rev, ws, err)
		}
		delays = append(delays, time.Since(acked))
	}
	b.StopTimer()
	stop()
	load.Wait()
	slices.Sort(delays)
	q := func(p float64) float64 {
		return float64(delays[min(len(delays)-1, int(p*float64(len(delays))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
	if d, _ := r.Engine.Check(wss[0], "n00000", "deals_view", nil); d.Reason == policy.ReasonNotAMember {
		b.Fatal("the reader must hold the writer's members")
	}
	_, reloads := r.Admin.FollowCounts()
	b.ReportMetric(float64(reloads), "reloads")
}

// BenchmarkFollow measures a follower's own cost per change, without the
// notice, the writer or the read load of BenchmarkPropagation: one member
// upsert committed by one service over a 100,000-member workspace (seeded
// with internal/scale), then timed: Follow on a second service over the
// same PostgreSQL schema. "delta" is this follower (the
// changelog's delta), "reload" what a follower did before (a whole load
// and compile; run with -benchtime 10x).
//
//	PGPORT=55435 ./scripts/postgres go test -run '^$' -bench Follow/delta -benchtime 200x ./internal/node
func BenchmarkFollow(b *testing.B) {
	for _, mode := range []string{"delta", "reload"} {
		b.Run(mode, func(b *testing.B) {
			_, dsn := pgtest.Schema(b, pgtest.Shared(b), "n", b.Cleanup)
			ctx := context.Background()
			if err := scale.Seed(ctx, dsn, 1, 100_000); err != nil {
				b.Fatal(err)
			}
			open := func() *admin.Service {
				st, err := postgres.Open(ctx, dsn)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				var s admin.Store = st
				if mode == "reload" {
					s = struct{ admin.Store }{st} // hides ReadPart: Follow reloads
				}
				svc := admin.New(s, admin.Options{Publisher: discard{}})
				if err := svc.Open(ctx); err != nil {
					b.Fatal(err)
				}
				return svc
			}
			w, r := open(), open()
			ws := scale.WorkspaceID(0)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				_, rev, err := w.UpsertMember(ctx, ws, admin.Write{}, admin.MemberInput{UserID: fmt.Sprintf("n%05d", i)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := r.Follow(ctx, ws, rev); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got, _ := r.Revision(ws); true {
				if want, _ := w.Revision(ws); got != want {
					b.Fatalf("the follower is at revision %d, the writer at %d", got, want)
				}
			}
			deltas, reloads := r.FollowCounts()
			b.ReportMetric(float64(deltas)/float64(b.N), "deltas/op")
			b.ReportMetric(float64(reloads)/float64(b.N), "reloads/op")
		})
	}
}

// discard is a Publisher that drops snapshots: the follower still
// updates or compiles them.
type discard struct{}

func (discard) Publish(*policy.Snapshot) {}
