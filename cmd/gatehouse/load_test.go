package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/load"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// loadWorkers is the number of concurrent clients, each with one request
// in flight: 8 per core of the 2-core machines the project runs on.
const loadWorkers = 16

// TestLoad runs sustained mixed traffic against a real server process
// (this binary re-executed as gatehouse serve) on SQLite and then on
// PostgreSQL: 95% decisions, 5% admin writes, from loadWorkers clients
// over keep-alive loopback connections, for GATEHOUSE_LOAD (10 s if
// unset) per store. It reports throughput and latency per operation, and
// fails on any error (an answer other than 2xx that is not a documented
// refusal, or a wrong decision) and on memory or goroutines that grow
// during the run. Speed is reported, never asserted. A soak:
//
//	GATEHOUSE_LOAD=5m ./scripts/postgres go test -run TestLoad -count=1 -v -timeout 30m ./cmd/gatehouse
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and loads them for seconds")
	}
	d := 10 * time.Second
	if v := os.Getenv("GATEHOUSE_LOAD"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < time.Second {
			t.Fatalf("GATEHOUSE_LOAD=%q: want a duration of at least 1s, e.g. 60s or 5m", v)
		}
	}
	if need := 2 * (d + time.Minute); os.Getenv("GATEHOUSE_LOAD") != "" {
		if deadline, ok := t.Deadline(); ok && time.Until(deadline) < need {
			t.Fatalf("GATEHOUSE_LOAD=%v runs two stores: give go test a -timeout of at least %v", d, need)
		}
	}
	for _, store := range []struct {
		name     string
		database func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "load.db") }},
		{"postgres", func(t *testing.T) string {
			_, dsn := pgtest.Schema(t, pgtest.Shared(t), "load", t.Cleanup)
			return dsn
		}},
	} {
		// One store after the other: the figures of each are its own.
		t.Run(store.name, func(t *testing.T) { loadRun(t, store.database(t), d) })
	}
}

func loadRun(t *testing.T, database string, d time.Duration) {
	ctx := context.Background()
	n := &clusterNode{name: "load", addr: freeAddr(t), dsn: database, log: filepath.Join(t.TempDir(), "node.log"),
		extra: []string{"--poll-interval", "1s"}} // serve's default, as in production
	n.start(t)
	t.Cleanup(func() { n.kill(t) })
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", n.tail())
		}
	}()
	w, err := seedLoadWorld(ctx, n.client())
	if err != nil {
		t.Fatalf("seed: %v", err)
	}

	// Every worker has its own clients over one pool of keep-alive
	// connections, one per worker: nothing queues in the generator.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxConnsPerHost: loadWorkers, MaxIdleConnsPerHost: loadWorkers, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	gen := &loadGen{world: w, lastRev: make([]int64, loadWorkers)}
	for range loadWorkers {
		opts := []client.Option{client.WithHTTPClient(hc), client.WithRetry(client.RetryPolicy{MaxAttempts: 1})}
		gen.check = append(gen.check, client.New(n.url(), w.checkKey, opts...))
		gen.admin = append(gen.admin, client.New(n.url(), w.adminKey, opts...))
	}

	idle, err := load.Read(ctx, n.metricsURL())
	if err != nil {
		t.Fatal(err)
	}
	sampler := load.StartSampler(ctx, n.metricsURL(), 250*time.Millisecond)
	res, err := load.Run(ctx, load.Config{Workers: loadWorkers, Duration: d, Seed: 7, Ops: gen.ops()})
	samples, sampleErr := sampler.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if sampleErr != nil {
		t.Errorf("reading the server's /metrics: %v", sampleErr)
	}

	// Errors: every one fails the test.
	for _, o := range res.Ops {
		if o.Errors > 0 {
			t.Errorf("%s: %d of %d failed, e.g.:\n  %s", o.Name, o.Errors, o.Count, strings.Join(o.FirstErrors, "\n  "))
		}
	}
	if rep, err := n.client().VerifyAudit(ctx, loadWS); err != nil || !rep.OK {
		t.Errorf("X4: the audit chain after the load: %+v, %v", rep, err)
	}
	if strings.Contains(n.tail(), `"level":"ERROR"`) {
		t.Error("the server logged errors under load")
	}

	mem := loadMemory(t, samples, d, idle)
	t.Logf("%s\n%s", loadTable(res, d), mem)
}

// loadMemory checks that the server's memory and goroutines stay flat
// once warm, and returns a table of them. Flat does not mean constant:
// the heap rises and falls with the GC. So each series is summarized by
// load.Trend, its highest value in the first two thirds of the samples
// after the warm-up against the median of the last third: a sawtooth ends
// below its earlier peak, a leak climbs above it. The bound, last ≤ 1.5 ×
// earlier + 16 MiB, leaves room for the noise of a shared machine and
// catches a leak that adds half the working heap during the run: in the
// default 10 s, one of a snapshot per write or of a KiB per request; in a
// soak, ones a hundred times slower. Goroutines may end at most 20 above
// their earlier peak: a leak of one per request or per write adds
// thousands.
//
// The heap also has a ceiling: its highest sample must stay within 2 ×
// its idle size before the load + 32 MiB. Until issue 7 the engine kept
// every snapshot replaced since the last usage flush (5 s), and the heap
// climbed to hundreds of MiB and fell back every flush: flat by the trend,
// yet gigabytes at scale.
func loadMemory(t *testing.T, samples []load.Sample, d time.Duration, idle load.Sample) string {
	warm := min(d/8, 15*time.Second)
	var heap, goal, rss, gor []float64
	for _, s := range samples {
		if s.At >= warm {
			heap, goal, rss, gor = append(heap, s.HeapInuse), append(goal, s.NextGC), append(rss, s.RSS), append(gor, s.Goroutines)
		}
	}
	if len(heap) < 6 {
		t.Errorf("only %d memory samples after the warm-up of %v", len(heap), warm)
		return ""
	}
	const mib = 1 << 20
	memBound := func(earlier float64) float64 { return 1.5*earlier + 16*mib }
	var b strings.Builder
	fmt.Fprintf(&b, "server memory, %d samples after %v of warm-up:\n", len(heap), warm)
	fmt.Fprintf(&b, "| | idle, before the load | highest, first ⅔ | median, last ⅓ | bound on the last | highest |\n|---|---|---|---|---|---|\n")
	for _, row := range []struct {
		name   string
		values []float64
		idle   float64
		unit   float64
		bound  func(earlier float64) float64
	}{
		{"heap in use (MiB)", heap, idle.HeapInuse, mib, memBound},
		{"GC goal (MiB)", goal, idle.NextGC, mib, memBound},
		{"RSS (MiB)", rss, idle.RSS, mib, nil},
		{"goroutines", gor, idle.Goroutines, 1, func(earlier float64) float64 { return earlier + 20 }},
	} {
		earlier, last := load.Trend(row.values)
		bound := "(reported)"
		if row.bound != nil {
			bound = fmt.Sprintf("%.0f", row.bound(earlier)/row.unit)
			if last > row.bound(earlier) {
				t.Errorf("%s grew during the load: %.0f in the last third, above the bound %s (earlier peak %.0f): a leak?",
					row.name, last/row.unit, bound, earlier/row.unit)
			}
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %s | %.0f |\n", row.name, row.idle/row.unit, earlier/row.unit, last/row.unit,
			bound, slices.Max(row.values)/row.unit)
	}
	if ceiling, highest := 2*idle.HeapInuse+32*mib, slices.Max(heap); highest > ceiling {
		t.Errorf("heap in use reached %.0f MiB under load, above 2 × its idle %.0f MiB + 32 MiB: something holds what it should release",
			highest/mib, idle.HeapInuse/mib)
	}
	return b.String()
}

// loadTable formats a run for BENCHMARKS.md: a summary line, then a
// table of the operations.
func loadTable(r *load.Result, d time.Duration) string {
	count, errs, refused := r.Total()
	lo, hi := r.PerSecondRange()
	race := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				race = ", -race"
			}
		}
	}
	var decisions, writes int64
	for _, o := range r.Ops {
		if n, ok := loadDecisions[o.Name]; ok {
			decisions += int64(n) * o.Count
		} else {
			writes += o.Count
		}
	}
	secs := r.Elapsed.Seconds()
	return fmt.Sprintf("%d workers for %v (%s, %d CPUs%s): %.0f operations/s (each second: %d–%d), of which %.0f writes/s; "+
		"%.0f decisions/s; %d errors, %d refused\n%s", r.Workers, d, runtime.Version(), runtime.NumCPU(), race,
		float64(count)/secs, lo, hi, float64(writes)/secs, float64(decisions)/secs, errs, refused, r.Markdown())
}

// loadWS is the workspace the load test seeds.
const loadWS = "load"

// loadWorld is the seeded workspace: who the load may ask about and
// write to.
type loadWorld struct {
	checkKey, adminKey string
	leaves             []string      // departments members sit in
	users              []string      // internal members the writes change
	everyone           []string      // every member, owners and clients included
	control            []loadControl // members nothing writes to: their answers are known
	editable           []string      // roles the role edits change
	assignable         []string      // roles the role assignments give
}

// loadControl is a member holding only the role Auditor, which nothing
// edits, in one department.
type loadControl struct{ user, dept string }

// auditorGrants are the control members' grants: one of each scope shape.
var auditorGrants = policy.Grants{"leads_view": policy.LevelAll, "deals_view": policy.LevelDepartment, "contacts_view": policy.LevelOwn}

// seedLoadWorld builds a realistic workspace through the API: an
// org tree of 4 divisions and 9 teams, roles from the templates (R9) and
// custom ones with department scopes, 400 members with 1–2 roles each
// (5% clients), an owner, direct grants, and the control group.
func seedLoadWorld(ctx context.Context, c *client.Client) (*loadWorld, error) {
	c = c.WithReason("load test seed")
	if _, _, err := c.CreateWorkspace(ctx, client.WorkspaceInput{ID: loadWS, Name: "Load", Plan: "professional"}); err != nil {
		return nil, err
	}
	w := &loadWorld{}
	tree := map[string][]string{"sales": {"sales_east", "sales_west", "sales_north"}, "support": {"support_l1", "support_l2"},
		"finance": {"finance_ap", "finance_ar"}, "ops": {"ops_it", "ops_facilities"}}
	for _, top := range []string{"sales", "support", "finance", "ops"} {
		if _, _, err := c.PutDepartment(ctx, loadWS, client.Department{ID: top, Name: top}); err != nil {
			return nil, err
		}
		for _, leaf := range tree[top] {
			if _, _, err := c.PutDepartment(ctx, loadWS, client.Department{ID: leaf, Name: leaf, ParentID: top}); err != nil {
				return nil, err
			}
			w.leaves = append(w.leaves, leaf)
		}
	}
	role := func(in client.RoleInput) (string, error) {
		r, _, err := c.CreateRole(ctx, loadWS, in)
		if err != nil {
			return "", fmt.Errorf("role %s: %w", in.Name, err)
		}
		return r.ID, nil
	}
	for _, in := range []client.RoleInput{
		{Name: "Sales rep", Grants: policy.Grants{"deals_view": policy.LevelDepartment, "deals_create": policy.LevelAll,
			"deals_edit": policy.LevelOwn, "leads_view": policy.LevelSubdepartments, "leads_edit": policy.LevelOwn,
			"contacts_view": policy.LevelDepartment, "dashboard_view": policy.LevelAll}},
		{Name: "Team lead", Grants: policy.Grants{"crm_view": policy.LevelSubdepartments, "crm_edit": policy.LevelDepartment,
			"reports_view": policy.LevelAll, "dashboard_view": policy.LevelAll}},
		{Name: "Support agent", Template: "support"},
		{Name: "Analyst", Template: "analyst"},
	} {
		id, err := role(in)
		if err != nil {
			return nil, err
		}
		w.editable = append(w.editable, id)
	}
	billing, err := role(client.RoleInput{Name: "Billing clerk", Template: "billing"})
	if err != nil {
		return nil, err
	}
	auditor, err := role(client.RoleInput{Name: "Auditor", Grants: auditorGrants})
	if err != nil {
		return nil, err
	}
	portal, err := role(client.RoleInput{Name: "Client portal", Template: "readonly_client"})
	if err != nil {
		return nil, err
	}
	w.assignable = slices.Concat(w.editable, []string{billing, "employee", "sales_manager", "hr", "head"})

	r := rand.New(rand.NewPCG(1, 1))
	yes := true
	members := []client.MemberInput{{UserID: "owner", Name: "Owner", Email: "owner@load.example", Owner: &yes}}
	w.everyone = append(w.everyone, "owner")
	for i := range 400 {
		m := client.MemberInput{UserID: fmt.Sprintf("u%03d", i), Kind: policy.Internal,
			DepartmentIDs: []string{w.leaves[r.IntN(len(w.leaves))]}}
		switch {
		case i < 20:
			m.UserID, m.Kind, m.DepartmentIDs, m.RoleIDs = fmt.Sprintf("client%02d", i), policy.Client, nil, []string{portal}
		case i < 40:
			m.UserID, m.RoleIDs = fmt.Sprintf("ctl%02d", i-20), []string{auditor}
			w.control = append(w.control, loadControl{user: m.UserID, dept: m.DepartmentIDs[0]})
		default:
			m.RoleIDs = loadRoles(r, w.assignable)
			w.users = append(w.users, m.UserID)
		}
		m.Name, m.Email = "Member "+m.UserID, m.UserID+"@load.example"
		members = append(members, m)
		w.everyone = append(w.everyone, m.UserID)
	}
	if _, _, err := c.ImportMembers(ctx, loadWS, members); err != nil {
		return nil, err
	}
	for _, u := range w.users[:10] {
		if _, _, err := c.SetMemberGrants(ctx, loadWS, u, policy.Grants{"reports_view": policy.LevelAll}, ""); err != nil {
			return nil, err
		}
	}
	for scope, key := range map[client.KeyScope]*string{client.ScopeCheck: &w.checkKey, client.ScopeAdmin: &w.adminKey} {
		k, _, err := c.CreateKey(ctx, loadWS, scope, "load "+string(scope))
		if err != nil {
			return nil, err
		}
		*key = k.Secret
	}
	return w, nil
}

// loadRoles draws one or two distinct roles.
func loadRoles(r *rand.Rand, roles []string) []string {
	a := roles[r.IntN(len(roles))]
	if b := roles[r.IntN(len(roles))]; r.IntN(2) == 0 && b != a {
		return []string{a, b}
	}
	return []string{a}
}

// loadGen is the mix: per worker, a client with the check key and one
// with the admin key, and the highest revision the worker has seen.
type loadGen struct {
	world        *loadWorld
	check, admin []*client.Client
	lastRev      []int64
}

// loadPermissions are what the checks ask about; loadScoped the ones
// checked on records.
var (
	loadPermissions = []string{"leads_view", "leads_edit", "deals_view", "deals_edit", "deals_create", "contacts_view",
		"contacts_edit", "contacts_export", "calls_view", "campaigns_view", "dashboard_view", "reports_view",
		"invoices_view", "appointments_view", "templates_view", "crm_view"}
	loadScoped = []string{"leads_view", "leads_edit", "deals_view", "deals_edit", "contacts_view", "contacts_edit", "calls_view"}
)

// The decision operations, and how many decisions each makes.
const (
	loadBatch   = 25
	loadBatchOp = "batch of 25"
)

var loadDecisions = map[string]int{"check": 1, "check with record": 1, loadBatchOp: loadBatch, "filter": 1}

// ops is the mix, in shares of 1,000: 95% decisions, 5% writes.
func (g *loadGen) ops() []load.Op {
	return []load.Op{
		{Name: "check", Weight: 450, Do: g.checkOp(false)},
		{Name: "check with record", Weight: 330, Do: g.checkOp(true)},
		{Name: loadBatchOp, Weight: 120, Do: g.batch},
		{Name: "filter", Weight: 50, Do: g.filter},
		{Name: "role edit (GET + PATCH If-Match)", Weight: 20, Do: g.roleEdit},
		{Name: "set member roles", Weight: 15, Do: g.setRoles},
		{Name: "put member (move department)", Weight: 15, Do: g.putMember},
	}
}

// loadCheck is one check, with its expected answer when known.
type loadCheck struct {
	req   client.CheckRequest
	known bool
	want  bool
}

// draw makes a check: one in four asks about a control member, whose
// answer is known; one in a hundred about a user who is not a member
// (denied, D3); the rest about any member.
func (g *loadGen) draw(r *rand.Rand, record bool) loadCheck {
	w := g.world
	switch n := r.IntN(100); {
	case n == 0:
		return loadCheck{req: client.CheckRequest{User: fmt.Sprintf("ghost%d", r.IntN(1000)), Permission: "leads_view"}, known: true}
	case n < 25:
		return g.control(r, record)
	}
	c := loadCheck{req: client.CheckRequest{User: w.everyone[r.IntN(len(w.everyone))]}}
	if !record {
		c.req.Permission = loadPermissions[r.IntN(len(loadPermissions))]
		return c
	}
	c.req.Permission = loadScoped[r.IntN(len(loadScoped))]
	c.req.Resource = &policy.Resource{OwnerID: w.everyone[r.IntN(len(w.everyone))]}
	if r.IntN(10) < 7 {
		c.req.Resource.DepartmentID = w.leaves[r.IntN(len(w.leaves))]
	}
	return c
}

// control asks about a control member (role Auditor, auditorGrants).
func (g *loadGen) control(r *rand.Rand, record bool) loadCheck {
	w := g.world
	m := w.control[r.IntN(len(w.control))]
	other := w.users[r.IntN(len(w.users))]
	elsewhere := w.leaves[r.IntN(len(w.leaves))]
	if !record {
		p := []string{"leads_view", "deals_view", "contacts_view", "campaigns_view", "dashboard_view"}[r.IntN(5)]
		return loadCheck{req: client.CheckRequest{User: m.user, Permission: p}, known: true, want: auditorGrants[p] > policy.LevelNone}
	}
	cases := []loadCheck{
		{req: client.CheckRequest{Permission: "leads_view", Resource: &policy.Resource{OwnerID: other, DepartmentID: elsewhere}}, want: true},
		{req: client.CheckRequest{Permission: "deals_view", Resource: &policy.Resource{OwnerID: other, DepartmentID: m.dept}}, want: true},
		{req: client.CheckRequest{Permission: "deals_view", Resource: &policy.Resource{OwnerID: other, DepartmentID: elsewhere}}, want: elsewhere == m.dept},
		{req: client.CheckRequest{Permission: "contacts_view", Resource: &policy.Resource{OwnerID: m.user}}, want: true},
		{req: client.CheckRequest{Permission: "contacts_view", Resource: &policy.Resource{OwnerID: other, DepartmentID: m.dept}}, want: false},
	}
	c := cases[r.IntN(len(cases))]
	c.req.User, c.known = m.user, true
	return c
}

// seen checks that the decisions a worker gets never go back in revision,
// and never fall behind its own acknowledged writes: one node serves from
// one snapshot, swapped only forward, and a write is in it before the
// write is answered.
func (g *loadGen) seen(w *load.Worker, rev int64) error {
	if rev < g.lastRev[w.ID] {
		return fmt.Errorf("a decision at revision %d after a decision or write at %d", rev, g.lastRev[w.ID])
	}
	g.lastRev[w.ID] = rev
	return nil
}

// wrote records the revision of a worker's acknowledged write.
func (g *loadGen) wrote(w *load.Worker, rev int64, err error) error {
	if err == nil {
		g.lastRev[w.ID] = max(g.lastRev[w.ID], rev)
	}
	return err
}

func (c loadCheck) verify(d client.Decision) error {
	if c.known && d.Allowed != c.want {
		return fmt.Errorf("wrong decision: %+v for %+v, want allowed=%t", d, c.req, c.want)
	}
	return nil
}

func (g *loadGen) checkOp(record bool) func(context.Context, *load.Worker) error {
	return func(ctx context.Context, w *load.Worker) error {
		c := g.draw(w.Rand, record)
		d, err := g.check[w.ID].Check(ctx, loadWS, c.req)
		if err != nil {
			return err
		}
		if err := c.verify(*d); err != nil {
			return err
		}
		return g.seen(w, d.Revision)
	}
}

func (g *loadGen) batch(ctx context.Context, w *load.Worker) error {
	checks := make([]loadCheck, loadBatch)
	var b client.Batch
	for i := range checks {
		checks[i] = g.draw(w.Rand, i%2 == 1)
		b.Checks = append(b.Checks, checks[i].req)
	}
	res, err := g.check[w.ID].CheckBatch(ctx, loadWS, b)
	if err != nil {
		return err
	}
	if len(res.Results) != len(checks) {
		return fmt.Errorf("%d results for %d checks", len(res.Results), len(checks))
	}
	for i, item := range res.Results {
		if item.Err != nil {
			return fmt.Errorf("batch item %d: %w", i, item.Err)
		}
		if err := checks[i].verify(item.Decision); err != nil {
			return err
		}
	}
	return g.seen(w, res.Revision)
}

// filter asks for a plan (D5), checked for the control members: all for
// leads, their department for deals.
func (g *loadGen) filter(ctx context.Context, w *load.Worker) error {
	c := g.draw(w.Rand, false)
	f, err := g.check[w.ID].Filter(ctx, loadWS, client.FilterRequest{User: c.req.User, Permission: c.req.Permission})
	if err != nil {
		return err
	}
	if ctl := strings.HasPrefix(c.req.User, "ctl"); ctl && c.req.Permission == "leads_view" && f.Kind != policy.PlanAll ||
		ctl && c.req.Permission == "deals_view" && len(f.DepartmentIDs) != 1 {
		return fmt.Errorf("wrong filter for %s %s: %+v", c.req.User, c.req.Permission, f)
	}
	return g.seen(w, f.Revision)
}

// roleEdit is an admin saving the matrix: read the role, switch its
// dashboard grant, save with the revision read (R7). Two workers editing
// one role at once: the later gets revision_conflict, as documented.
func (g *loadGen) roleEdit(ctx context.Context, w *load.Worker) error {
	a := g.admin[w.ID]
	id := g.world.editable[w.Rand.IntN(len(g.world.editable))]
	r, err := a.Role(ctx, loadWS, id)
	if err != nil {
		return err
	}
	grants := maps.Clone(r.Grants)
	if grants["dashboard_view"] > policy.LevelNone {
		delete(grants, "dashboard_view")
	} else {
		grants["dashboard_view"] = policy.LevelAll
	}
	_, rev, err := a.UpdateRole(ctx, loadWS, id, client.RoleUpdate{Grants: grants, IfRevision: r.Revision, Reason: "load test"})
	if ce := (*client.Error)(nil); errors.As(err, &ce) && ce.Code == policy.CodeRevisionConflict {
		return load.Refused(err)
	}
	return g.wrote(w, rev, err)
}

func (g *loadGen) setRoles(ctx context.Context, w *load.Worker) error {
	u := g.world.users[w.Rand.IntN(len(g.world.users))]
	_, rev, err := g.admin[w.ID].SetMemberRoles(ctx, loadWS, u, loadRoles(w.Rand, g.world.assignable))
	return g.wrote(w, rev, err)
}

func (g *loadGen) putMember(ctx context.Context, w *load.Worker) error {
	u := g.world.users[w.Rand.IntN(len(g.world.users))]
	_, rev, err := g.admin[w.ID].PutMember(ctx, loadWS, client.MemberInput{UserID: u, Name: "Member " + u, Email: u + "@load.example",
		Kind: policy.Internal, DepartmentIDs: []string{g.world.leaves[w.Rand.IntN(len(g.world.leaves))]}})
	return g.wrote(w, rev, err)
}
