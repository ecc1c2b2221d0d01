package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// startCluster starts n server processes on a private PostgreSQL with
// one workspace per node, each with a role and 1,000 members.
func startCluster(b *testing.B, n int) []*clusterNode {
	b.Helper()
	pg := pgtest.Start(b)
	dir := b.TempDir()
	nodes := make([]*clusterNode, n)
	for i := range nodes {
		nodes[i] = &clusterNode{name: fmt.Sprint(i), addr: freeAddr(b), dsn: pg.DSN(), log: filepath.Join(dir, fmt.Sprintf("node%d.log", i))}
		nodes[i].start(b)
	}
	b.Cleanup(func() {
		for _, n := range nodes {
			n.kill(b)
		}
	})
	ctx := context.Background()
	c := nodes[0].client()
	for i := range nodes {
		ws := fmt.Sprintf("ws%d", i)
		if _, _, err := c.CreateWorkspace(ctx, client.WorkspaceInput{ID: ws, Name: ws, Plan: "professional"}); err != nil {
			b.Fatal(err)
		}
		rep, _, err := c.CreateRole(ctx, ws, client.RoleInput{Name: "Rep", Grants: policy.Grants{"deals_view": policy.LevelAll}})
		if err != nil {
			b.Fatal(err)
		}
		in := make([]client.MemberInput, 1000)
		for j := range in {
			in[j] = client.MemberInput{UserID: fmt.Sprintf("u%04d", j), RoleIDs: []string{rep.ID}}
		}
		_, rev, err := c.ImportMembers(ctx, ws, in)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range nodes { // every node holds the members before the clock starts
			if _, err := n.client().Check(ctx, ws, client.CheckRequest{User: "u0000", Permission: "deals_view", MinRevision: rev}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return nodes
}

// BenchmarkCluster_Checks: HTTP checks spread over three nodes on one
// PostgreSQL (the database is not involved: each node answers from its
// snapshot). On one 2-core machine the three servers and the load share
// the cores, so this is what one machine serves, not what three would.
//
//	go test -run '^$' -bench Cluster -benchtime 5s ./cmd/gatehouse
func BenchmarkCluster_Checks(b *testing.B) {
	nodes := startCluster(b, 3)
	var next atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1))
		c := nodes[i%len(nodes)].client()
		ws := fmt.Sprintf("ws%d", i%len(nodes))
		ctx := context.Background()
		for j := 0; pb.Next(); j++ {
			d, err := c.Check(ctx, ws, client.CheckRequest{User: fmt.Sprintf("u%04d", j%1000), Permission: "deals_view"})
			if err != nil || !d.Allowed {
				b.Errorf("check: %+v, %v", d, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkCluster_Writes: member upserts on all three nodes at once,
// each node writing its own workspace (spread) or all writing one
// (contended: compare-and-set losers reload and retry).
func BenchmarkCluster_Writes(b *testing.B) {
	for _, mode := range []string{"spread", "contended"} {
		b.Run(mode, func(b *testing.B) {
			nodes := startCluster(b, 3)
			var next, failed atomic.Int64
			var firstErr atomic.Pointer[error]
			var wg sync.WaitGroup
			b.ResetTimer()
			for i, n := range nodes {
				ws := fmt.Sprintf("ws%d", i)
				if mode == "contended" {
					ws = "ws0"
				}
				c := client.New(n.url(), clusterKey) // default retries: a contended write may need them
				for w := range 4 {
					wg.Go(func() {
						ctx := context.Background()
						for next.Add(1) <= int64(b.N) {
							u := fmt.Sprintf("w%d-%d-%d", i, w, next.Load())
							if _, _, err := c.PutMember(ctx, ws, client.MemberInput{UserID: u}); err != nil {
								failed.Add(1)
								firstErr.CompareAndSwap(nil, &err)
							}
						}
					})
				}
			}
			wg.Wait()
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Errorf("%d writes failed, the first with %v", f, *firstErr.Load())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
