package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestMain lets the test binary be a gatehouse server: the cluster test
// starts copies of itself as real server processes, which it can kill.
func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_TEST_BE_SERVER") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const clusterKey = "gha_cluster-test-admin-key"

// clusterNode is one gatehouse serve process.
type clusterNode struct {
	name, addr, dsn, log string
	metricsAddr          string   // a free port if empty
	extra                []string // more serve flags
	cmd                  *exec.Cmd
	exited               chan struct{}
}

// clusterAuditKey is the audit key every test node shares.
const clusterAuditKey = "cluster dGVzdCBhdWRpdCBrZXkgb2YgdGhlIGNsdXN0ZXIgdGVzdHMsIDMyKyBieXRlcw"

func (n *clusterNode) url() string { return "http://" + n.addr }

// metricsURL is the node's metrics listener, apart from its API.
func (n *clusterNode) metricsURL() string { return "http://" + n.metricsAddr + "/metrics" }

// start runs the node and waits until it is ready.
func (n *clusterNode) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if n.metricsAddr == "" {
		n.metricsAddr = freeAddr(t)
	}
	args := append([]string{"serve", "--addr", n.addr, "--database", n.dsn, "--metrics-addr", n.metricsAddr, "--metrics-per-workspace",
		"--admin-key", clusterKey, "--poll-interval", "200ms", "--log-level", "warn"}, n.extra...)
	n.cmd = exec.Command(os.Args[0], args...)
	// Every node of a deployment shares the audit keys (X4).
	n.cmd.Env = append(os.Environ(), "GATEHOUSE_TEST_BE_SERVER=1", "GATEHOUSE_AUDIT_KEY="+clusterAuditKey)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func() { n.cmd.Wait(); logf.Close(); close(n.exited) }()
	c := client.New(n.url(), clusterKey)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := c.Ready(ctx)
		cancel()
		if err == nil && r.Ready {
			return
		}
		select {
		case <-n.exited:
			t.Fatalf("node %s exited on start:\n%s", n.name, n.tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready after 60 s:\n%s", n.name, n.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the node with SIGKILL: no shutdown, no flush.
func (n *clusterNode) kill(t testing.TB) {
	t.Helper()
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

func (n *clusterNode) tail() string {
	b, _ := os.ReadFile(n.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// client talks to the node without retries, so that every failure shows.
func (n *clusterNode) client() *client.Client {
	return client.New(n.url(), clusterKey, client.WithRetry(client.RetryPolicy{MaxAttempts: 1}),
		client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCluster_ThreeNodesOnePostgreSQL runs three server processes on one
// PostgreSQL: writes on one node are decided on the others at once with
// min_revision (D8) and soon without; a node killed during a stream of
// writes comes back with all of them; with PostgreSQL stopped under read
// load the nodes keep deciding, report stale snapshots and refuse writes
// with unavailable, and recover by themselves. Throughout, each node's
// revisions only move forward, and at the end every node holds exactly
// the committed state.
func TestCluster_ThreeNodesOnePostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three servers")
	}
	pg := pgtest.Start(t)
	dir := t.TempDir()
	nodes := make([]*clusterNode, 3)
	var wg sync.WaitGroup
	for i := range nodes {
		nodes[i] = &clusterNode{name: string(rune('A' + i)), addr: freeAddr(t), dsn: pg.DSN(),
			log: filepath.Join(dir, fmt.Sprintf("node%d.log", i))}
	}
	for _, n := range nodes { // together: migrations must not race
		wg.Go(func() { n.start(t) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, n := range nodes {
			n.kill(t)
			if t.Failed() {
				t.Logf("node %s log:\n%s", n.name, n.tail())
			}
		}
	})
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()
	ca, cb, cc := a.client(), b.client(), c.client()

	// Each node's revisions, as its decisions report them, only move
	// forward, whatever happens below.
	watch := newRevisionWatch()
	stopWatch := watch.run(nodes)
	defer stopWatch()

	// D8 across nodes: the workspace, a role and a member written on A.
	if _, _, err := ca.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: "professional"}); err != nil {
		t.Fatal(err)
	}
	rep, _, err := ca.CreateRole(ctx, "acme", client.RoleInput{Name: "Rep", Grants: policy.Grants{"deals_view": policy.LevelAll}})
	if err != nil {
		t.Fatal(err)
	}
	_, rev, err := ca.PutMember(ctx, "acme", client.MemberInput{UserID: "ann", RoleIDs: []string{rep.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client.Client{cb, cc} {
		d, err := cl.Check(ctx, "acme", client.CheckRequest{User: "ann", Permission: "deals_view", MinRevision: rev})
		if err != nil || !d.Allowed || d.Revision < rev {
			t.Fatalf("D8: check with min_revision %d on another node = %+v, %v", rev, d, err)
		}
	}
	_, _, err = ca.PutMember(ctx, "acme", client.MemberInput{UserID: "bob", RoleIDs: []string{rep.ID}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob on C without min_revision", func() bool {
		d, err := cc.Check(ctx, "acme", client.CheckRequest{User: "bob", Permission: "deals_view"})
		return err == nil && d.Allowed
	})
	watch.probe("acme", "ann")

	// A stream of writes spread over A and C while B is killed and
	// restarted: every acknowledged write is on every node afterwards.
	var acked []string
	for i := range 60 {
		if i == 15 {
			b.kill(t)
		}
		if i == 40 {
			b.start(t)
		}
		cl := []*client.Client{ca, cc}[i%2]
		user := fmt.Sprintf("w%02d", i)
		if _, _, err := cl.PutMember(ctx, "acme", client.MemberInput{UserID: user, RoleIDs: []string{rep.ID}}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		acked = append(acked, user)
	}
	converged(t, ctx, nodes, "acme", acked)

	// PostgreSQL stops under read load.
	var reads, readErrors atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	for _, n := range nodes {
		cl := n.client()
		load.Go(func() {
			for loadCtx.Err() == nil {
				d, err := cl.Check(loadCtx, "acme", client.CheckRequest{User: "w07", Permission: "deals_view"})
				if loadCtx.Err() != nil {
					return
				}
				reads.Add(1)
				if err != nil || !d.Allowed {
					readErrors.Add(1)
				}
			}
		})
	}
	pg.Stop(t)
	start := time.Now()
	_, _, err = ca.PutMember(ctx, "acme", client.MemberInput{UserID: "during-outage", RoleIDs: []string{rep.ID}})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || ce.Code != policy.CodeUnavailable {
		t.Errorf("write while PostgreSQL is down: %v, want 503 unavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the refused write took %v; it must fail fast", d)
	}
	for _, n := range nodes {
		waitFor(t, "node "+n.name+" to report stale snapshots", func() bool {
			r, err := n.client().Ready(ctx)
			return err == nil && r.Ready && r.Checks["snapshots"] == "stale" && r.Checks["database"] == "unreachable" && r.SnapshotAge > 0.5
		})
	}
	before := reads.Load()
	time.Sleep(300 * time.Millisecond)
	if reads.Load() == before {
		t.Error("decisions stopped while PostgreSQL was down")
	}
	pg.Start(t)
	waitFor(t, "writes to work again", func() bool {
		_, _, err := cb.PutMember(ctx, "acme", client.MemberInput{UserID: "after-outage", RoleIDs: []string{rep.ID}})
		return err == nil
	})
	stopLoad()
	load.Wait()
	if readErrors.Load() != 0 {
		t.Errorf("%d of %d decisions failed during the outage", readErrors.Load(), reads.Load())
	}
	for _, n := range nodes {
		waitFor(t, "node "+n.name+" current again", func() bool {
			r, err := n.client().Ready(ctx)
			return err == nil && r.Ready && r.Checks["snapshots"] == "current" && r.Checks["database"] == "ok"
		})
	}
	converged(t, ctx, nodes, "acme", append(acked, "after-outage"))
	stopWatch()
	if err := watch.err(); err != nil {
		t.Error(err)
	}
	t.Logf("%d decisions during the outage, none failed; revisions observed: %s", reads.Load(), watch.summary())
}

// converged fails unless every node is at the workspace's stored head,
// holds every acknowledged member, and has exactly as many members as
// the database.
func converged(t *testing.T, ctx context.Context, nodes []*clusterNode, ws string, users []string) {
	t.Helper()
	var head int64
	for _, n := range nodes {
		w, err := n.client().Workspace(ctx, ws)
		if err != nil {
			t.Fatalf("node %s: %v", n.name, err)
		}
		head = max(head, w.Revision)
	}
	var count int
	for i, n := range nodes {
		cl := n.client()
		for _, u := range users {
			d, err := cl.Check(ctx, ws, client.CheckRequest{User: u, Permission: "deals_view", MinRevision: head})
			if err != nil || !d.Allowed || d.Revision != head {
				t.Fatalf("node %s: acknowledged member %s at head %d: %+v, %v", n.name, u, head, d, err)
			}
		}
		m, err := cl.Members(ctx, ws, client.MemberQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			count = len(m.Items)
		}
		snapCount := snapshotMembers(t, n, ws)
		if len(m.Items) != count || snapCount != count {
			t.Fatalf("node %s: %d members stored, %d in its snapshot, want %d", n.name, len(m.Items), snapCount, count)
		}
	}
}

// snapshotMembers reads the node's gatehouse_snapshot_members metric.
func snapshotMembers(t *testing.T, n *clusterNode, ws string) int {
	t.Helper()
	b, err := client.New(strings.TrimSuffix(n.metricsURL(), "/metrics"), "").Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	prefix := `gatehouse_snapshot_members{workspace="` + ws + `"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			var x float64
			fmt.Sscan(v, &x)
			return int(x)
		}
	}
	t.Fatalf("node %s: no %s metric", n.name, prefix)
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// revisionWatch asks every node for decisions continuously and records
// any revision that goes backwards.
type revisionWatch struct {
	mu       sync.Mutex
	ws, user string
	last     map[string]int64
	seen     map[string]int
	problems []string
}

func newRevisionWatch() *revisionWatch {
	return &revisionWatch{last: map[string]int64{}, seen: map[string]int{}}
}

func (w *revisionWatch) probe(ws, user string) {
	w.mu.Lock()
	w.ws, w.user = ws, user
	w.mu.Unlock()
}

func (w *revisionWatch) run(nodes []*clusterNode) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			for ctx.Err() == nil {
				w.mu.Lock()
				ws, user := w.ws, w.user
				w.mu.Unlock()
				if ws == "" {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				// A new client each time: its own revision memory must not
				// hide the node's.
				d, err := n.client().Check(ctx, ws, client.CheckRequest{User: user, Permission: "deals_view"})
				if err == nil {
					w.mu.Lock()
					if d.Revision < w.last[n.name] {
						w.problems = append(w.problems, fmt.Sprintf("node %s went back from revision %d to %d", n.name, w.last[n.name], d.Revision))
					}
					if d.Revision != w.last[n.name] {
						w.seen[n.name]++
					}
					w.last[n.name] = d.Revision
					w.mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	var once sync.Once
	return func() { once.Do(func() { cancel(); wg.Wait() }) }
}

func (w *revisionWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.problems) > 0 {
		return errors.New(strings.Join(w.problems, "; "))
	}
	return nil
}

func (w *revisionWatch) summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("distinct revisions seen per node %v, last %v", w.seen, w.last)
}
