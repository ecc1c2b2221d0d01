package stress

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// The workspaces of a run: writers change the active ones; nothing writes
// to quiet, whose revision must not move (W1). In plain, no department
// holds a role and no SoD rule is over permissions, so that its applies
// move their followers without reading them (see followMin).
var active = []string{"alpha", "beta", plain}

const plain = "gamma"

const quiet = "quiet"

// writers is how many clients make random admin writes at once.
const writers = 8

// runTime is how long each store is stressed: GATEHOUSE_STRESS (a Go
// duration, e.g. 2m) or 8 s, 3 s with -short.
func runTime(t *testing.T) time.Duration {
	if v := os.Getenv("GATEHOUSE_STRESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("GATEHOUSE_STRESS=%q: want a duration such as 30s or 2m", v)
		}
		return d
	}
	if testing.Short() {
		return 3 * time.Second
	}
	return 8 * time.Second
}

// followMin lowers admin.FollowMin so that the applies of the stress's
// small workspaces move their followers without reading them (admin's
// follows, policy.RoleMove), under the invariant checker; the other way
// is every other test's.
const followMin = 2

// TestStress_SQLite stresses one node on an SQLite file.
func TestStress_SQLite(t *testing.T) {
	stress(t, apitest.Start(t, apitest.Options{FollowMin: followMin}))
}

// TestStress_PostgreSQL stresses two nodes sharing one PostgreSQL schema,
// each following the other's commits: writes go to both, and decisions of
// both are checked against the database.
func TestStress_PostgreSQL(t *testing.T) {
	_, dsn := pgtest.Schema(t, pgtest.Shared(t), "stress", t.Cleanup)
	stress(t, apitest.Start(t, apitest.Options{Database: dsn, FollowMin: followMin}), apitest.Start(t, apitest.Options{Database: dsn, FollowMin: followMin}))
}

// harness is one stress run.
type harness struct {
	t     *testing.T
	ctx   context.Context
	nodes []*apitest.Env
	// api[i] calls nodes[i] with the deployment key, without retries, so
	// that every error answer is seen.
	api  []*client.Client
	base *policy.Catalog
	// baseRef judges generated grant sets (C1, C4, C5, M6) before they are
	// sent, from the catalog alone.
	baseRef *policyref.Model
	// gate: writers hold it shared around each write; a checker holds it
	// alone for a moment to take a sample no write can race (see
	// checker.run), so that comparisons happen however busy the run is.
	gate  sync.RWMutex
	rep   report
	stats counts
	// runSeed seeds every goroutine's random source: a new one each run,
	// for variety; interleavings make a run unrepeatable anyway.
	runSeed uint64
}

// stress seeds the workspaces on nodes, runs the writers and one checker
// per active workspace for runTime, checks the final state on every node,
// and fails t once per broken invariant, with examples.
func stress(t *testing.T, nodes ...*apitest.Env) {
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	h := &harness{t: t, ctx: ctx, nodes: nodes, base: nodes[0].Admin.Catalog(), runSeed: uint64(time.Now().UnixNano())}
	h.baseRef = policyref.New(h.base, policy.State{})
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, n := range nodes {
		h.api = append(h.api, client.New(n.URL, apitest.AdminKey, client.WithHTTPClient(hc), client.WithRetry(client.RetryPolicy{MaxAttempts: 1})))
		// Run follows the commits of the other nodes (and flushes usage).
		running.Go(func() { n.Node.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); running.Wait() }) // before the nodes close

	h.seed()
	quietBefore := h.load(quiet)
	if quietBefore == nil {
		h.rep.flush(t)
		t.FailNow()
	}
	d := runTime(t)
	t.Logf("%d node(s), %d writers, 1 checker per workspace, %s, seed %d", len(nodes), writers, d, h.runSeed)

	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		w := newWriter(h, i)
		wg.Go(func() { w.run(stop) })
	}
	var checkers []*checker
	var cwg sync.WaitGroup
	for i, ws := range active {
		c := newChecker(h, ws, i)
		checkers = append(checkers, c)
		cwg.Go(func() { c.run(stop) })
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	cwg.Wait()
	elapsed := time.Since(start)

	// With the writers stopped, every node must reach the database's
	// revision and decide every question exactly as the reference does.
	for _, c := range checkers {
		c.final()
	}
	if after := h.load(quiet); after != nil && after.Workspace.Revision != quietBefore.Workspace.Revision {
		h.rep.fail("W1 isolation", "nothing wrote to %s, yet its revision moved from %d to %d", quiet, quietBefore.Workspace.Revision, after.Workspace.Revision)
	}
	for _, ws := range append(active, quiet) {
		r, err := h.api[0].VerifyAudit(ctx, ws)
		if err != nil || !r.OK {
			h.rep.fail("X4 audit chain", "%s: %+v, %v", ws, r, err)
		}
	}

	writes := h.stats.sum("write ")
	ok := h.stats.sum("write ok ")
	t.Logf("%s: %d writes (%.0f/s), %d committed or no-op; by operation and outcome:%s",
		elapsed.Round(time.Millisecond), writes, float64(writes)/elapsed.Seconds(), ok, h.stats.table("write "))
	t.Logf("checks:%s", h.stats.table("check "))
	h.rep.flush(t)
	h.requireWork(elapsed)
}

// requireWork fails a run that could have passed vacuously: too few
// writes committed, or too few states checked and decisions compared with
// the reference. The floors are far below what even a loaded machine
// under -race does, so that they catch a broken harness, not a slow one.
func (h *harness) requireWork(d time.Duration) {
	t := h.t
	committed := h.stats.sum("write ok ")
	for _, floor := range []struct {
		n, min int
		what   string
	}{
		{committed, 20, "writes committed"},
		{h.stats.get("check states checked"), 10, "database states checked"},
		{h.stats.get("check samples compared"), 5, "samples compared at the revision they were decided at"},
		{h.stats.get("check decisions compared"), 300, "decisions compared with the reference during the run"},
	} {
		if floor.n < floor.min {
			t.Errorf("only %d %s in %s, fewer than %d: the run proves nothing", floor.n, floor.what, d, floor.min)
		}
	}
	// With enough writes, every kind of write has committed some: a kind
	// that never does is not being exercised (a broken generator, or a
	// server refusing what it should take).
	if committed < 400 {
		return
	}
	for _, o := range ops {
		if h.stats.get("write ok "+o.name) == 0 {
			t.Errorf("no %s write committed in %d: the run does not exercise it", o.name, committed)
		}
	}
}

// load reads a workspace's stored state in one read transaction. A
// failure is reported, and gives nil.
func (h *harness) load(ws string) *admin.Dataset {
	d, err := h.nodes[0].Store.Load(h.ctx, ws)
	if err != nil {
		h.rep.fail("unexpected error", "load %s: %v", ws, err)
		return nil
	}
	return d
}

// seed creates the workspaces with a department tree, a client role and
// members, through the API.
func (h *harness) seed() {
	t, ctx, c := h.t, h.ctx, h.api[0].WithReason("seed")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	plans := map[string]client.Plan{"alpha": client.PlanProfessional, "beta": client.PlanStandard, plain: client.PlanProfessional, quiet: client.PlanFree}
	for _, ws := range append(active, quiet) {
		_, _, err := c.CreateWorkspace(ctx, client.WorkspaceInput{ID: ws, Name: ws, Plan: plans[ws]})
		must(err)
	}
	for _, ws := range active {
		for _, d := range []client.Department{{ID: "d0"}, {ID: "d1", ParentID: "d0"}, {ID: "d2", ParentID: "d1"}, {ID: "d3"}, {ID: "d4", ParentID: "d3"}} {
			d.Name = "Department " + d.ID
			_, _, err := c.PutDepartment(ctx, ws, d)
			must(err)
		}
		// S2: rules in place before any member, so the checker can hold
		// that nobody ever breaks them.
		if ws != plain {
			_, _, err := c.PutSoDRule(ctx, ws, client.SoDRule{ID: "billing-vs-exports", Name: "Billing vs exports",
				Conflicts: [][]string{{"invoices_view", "wallet_refill"}, {"reports_export", "contacts_export"}}})
			must(err)
		}
		_, _, err := c.CreateRole(ctx, ws, client.RoleInput{Name: "Portal", Audience: policy.Client,
			Grants: policy.Grants{"contacts_view": policy.LevelOwn, "deals_view": policy.LevelOwn}})
		must(err)
		for i, u := range userPool {
			in := client.MemberInput{UserID: u, Name: "User " + u, DepartmentIDs: []string{deptPool[i%5]}}
			if isClient(u) {
				in.Kind, in.RoleIDs = policy.Client, []string{"portal"}
			}
			if u == "u00" {
				owner := true
				in.Owner = &owner
			}
			_, _, err := c.PutMember(ctx, ws, in)
			must(err)
		}
	}
	_, _, err := c.PutMember(ctx, quiet, client.MemberInput{UserID: "q", Name: "Quiet"})
	must(err)
}

// userPool are the user ids writers create, change and remove; c* are
// client members, the others internal.
var userPool = func() []string {
	var out []string
	for i := range 20 {
		out = append(out, fmt.Sprintf("u%02d", i))
	}
	return append(out, "c0", "c1", "c2", "c3")
}()

func isClient(u string) bool { return u[0] == 'c' }

// deptPool are the department ids writers use; d5…d7 do not exist at the
// start.
var deptPool = []string{"d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"}
