package scale

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/node"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestScale seeds each size of GATEHOUSE_SCALE_SIZES (default
// "100x1000,1000x1000": workspaces × members per workspace, the issue's
// million and a like-for-like 100,000) into a fresh schema of the
// PostgreSQL server at GATEHOUSE_TEST_POSTGRES, starts a node on each and
// reports start-up time (node.Open: migrations, then every workspace
// loaded and compiled), heap retained per member and check latency. It
// runs only with GATEHOUSE_SCALE=1, for a minute or two:
//
//	./scripts/postgres env GATEHOUSE_SCALE=1 go test -run TestScale -v -timeout 30m ./internal/scale
//
// Every node stays loaded until the end, and the check benchmarks of the
// sizes alternate, so that the sizes are compared under the same load of
// a shared machine. Each size's checks run twice: over random members of
// every workspace, and over one workspace only (the code's cost with the
// snapshot in cache); then the largest node's checks are spread over 1,
// 10, 30, … of its workspaces (the cost of the members a check may touch).
//
// GATEHOUSE_SCALE_KEEP=1 keeps the seeded schemas (their names are
// logged) instead of dropping them at the end. GATEHOUSE_SCALE_SCHEMA=<name>
// then loads a kept schema again without seeding it (one size only, the
// one it was seeded with), for profiling the start-up of one size
// repeatedly against a long-lived server.
//
// With GATEHOUSE_SCALE_HEAPPROFILE=<file> it writes a heap profile of each
// loaded node (sampling every 64 KiB rather than 512): the last size to
// <file>, the others to <file> with "-<size>" before its extension. A
// profile holds the nodes loaded before it too: compare the last with
// -diff_base <the one before>. GATEHOUSE_SCALE_CPUPROFILE=<file> profiles
// each node.Open the same way.
func TestScale(t *testing.T) {
	if os.Getenv("GATEHOUSE_SCALE") != "1" {
		t.Skip("set GATEHOUSE_SCALE=1 to run the scale measurement (minutes; needs GATEHOUSE_TEST_POSTGRES)")
	}
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		t.Fatal("GATEHOUSE_TEST_POSTGRES is not set; run under ./scripts/postgres")
	}
	sizes, err := parseSizes(orDefault(os.Getenv("GATEHOUSE_SCALE_SIZES"), "100x1000,1000x1000"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("GATEHOUSE_SCALE_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 64 << 10 // finer than the default, for the smaller allocation sites
	}
	logStep = func(step string, d time.Duration) { t.Logf("  seed %-18s %6.2f s", step, d.Seconds()) }
	defer func() { logStep = nil }()

	var rs []*result
	for i, sz := range sizes {
		// profilePath names size i's profile file of the kind env asks for.
		profilePath := func(env string) string {
			p := os.Getenv(env)
			if p != "" && i < len(sizes)-1 {
				ext := filepath.Ext(p)
				p = strings.TrimSuffix(p, ext) + "-" + sz.String() + ext
			}
			return p
		}
		rs = append(rs, load(t, dsn, sz, profilePath("GATEHOUSE_SCALE_HEAPPROFILE"), profilePath("GATEHOUSE_SCALE_CPUPROFILE")))
	}
	for run := range checkRuns {
		for _, r := range rs {
			r.bench()
			t.Logf("%s check run %d: %.0f ns/op, in one workspace %.0f ns/op", r.size, run+1, r.checkNs[run], r.oneWSNs[run])
		}
	}
	t.Logf("load average %s\n%s", loadAverage(), table(rs))
	spread(t, rs[len(rs)-1])
}

// spread logs the check latency of the largest node with checks spread
// over its first k workspaces, for a few k: latency follows the members
// the checks touch, not the members loaded.
func spread(t *testing.T, r *result) {
	rng := rand.New(rand.NewPCG(3, 4))
	perms := r.node.Admin.Catalog().Permissions()
	for _, k := range []int{1, 10, 30, 100, 300, 1000, 3000} {
		if k >= r.workspaces {
			break
		}
		qs := queries(r.size, 1<<16, perms, func() int { return rng.IntN(k) }, rng)
		var runs []float64
		for range 3 {
			ns, _, _ := benchCheck(r.node, qs)
			runs = append(runs, ns)
		}
		t.Logf("%s, checks over %d workspaces (%d members): %.0f ns/op", r.size, k, k*r.perWS, median(runs))
	}
	t.Logf("%s, checks over all %d workspaces: %.0f ns/op (above)", r.size, r.workspaces, median(r.checkNs))
}

// checkRuns is how many times the check benchmarks run per size: the
// machine is shared, so one run says little.
const checkRuns = 5

// size is a number of workspaces and of members in each.
type size struct{ workspaces, perWS int }

func (s size) String() string { return fmt.Sprintf("%dx%d", s.workspaces, s.perWS) }

func (s size) members() int { return s.workspaces * s.perWS }

func parseSizes(s string) ([]size, error) {
	var out []size
	for f := range strings.SplitSeq(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(f), "x")
		w, err1 := strconv.Atoi(a)
		m, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || w < 1 || m < 1 {
			return nil, fmt.Errorf("GATEHOUSE_SCALE_SIZES: %q is not <workspaces>x<members per workspace>", f)
		}
		out = append(out, size{w, m})
	}
	return out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// result is one size's loaded node and figures.
type result struct {
	size
	node      *node.Node
	all, one  []query // random members of random workspaces; of one workspace
	seed      time.Duration
	open      time.Duration
	heap      uint64    // bytes retained by the loaded node
	checkNs   []float64 // per run, over all
	oneWSNs   []float64 // per run, over one
	allocs    int64     // the most of any run
	allowedPc float64
}

func (r *result) heapPerMember() float64 { return float64(r.heap) / float64(r.members()) }

// load seeds a fresh schema with sz, opens a node on it, measuring time
// and heap, checks that everything was loaded, and prepares the queries
// of the check benchmarks. The node and the schema last until t ends.
// Non-empty heapProfile and cpuProfile are files to write profiles to.
func load(t *testing.T, dsn string, sz size, heapProfile, cpuProfile string) *result {
	t.Helper()
	ctx := context.Background()
	r := &result{size: sz}
	var db string
	if kept := os.Getenv("GATEHOUSE_SCALE_SCHEMA"); kept != "" {
		db = keptSchema(t, dsn, kept)
		t.Logf("%s: reusing schema %s", sz, kept)
	} else {
		db = freshSchema(t, dsn)
		start := time.Now()
		if err := Seed(ctx, db, sz.workspaces, sz.perWS); err != nil {
			t.Fatal(err)
		}
		r.seed = time.Since(start)
		t.Logf("%s: seeded %d workspaces × %d members in %.1f s", sz, sz.workspaces, sz.perWS, r.seed.Seconds())
	}

	before := liveHeap()
	stop := startCPUProfile(t, cpuProfile)
	start := time.Now()
	used := usageNow()
	n, err := node.Open(ctx, node.Config{Database: db})
	r.open = time.Since(start)
	after := usageNow()
	openCPU, faults := after.cpu-used.cpu, after.faults-used.faults
	stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	r.heap = liveHeap() - before
	r.node = n
	t.Logf("%s: node.Open %.2f s (this process's CPU %.2f s, %d page faults, load average %s); heap %.1f MiB, %.0f B/member", sz, r.open.Seconds(),
		openCPU.Seconds(), faults, loadAverage(), float64(r.heap)/(1<<20), r.heapPerMember())
	if heapProfile != "" {
		writeHeapProfile(t, heapProfile)
	}

	// Everything was loaded, and the clones' audit chains verify.
	if got := len(n.Engine.Workspaces()); got != sz.workspaces {
		t.Fatalf("engine holds %d workspaces, want %d", got, sz.workspaces)
	}
	total := 0
	for _, ws := range n.Engine.Workspaces() {
		s, err := n.Engine.Snapshot(ws)
		if err != nil {
			t.Fatal(err)
		}
		total += s.NumMembers()
	}
	if total != sz.members() {
		t.Fatalf("engine holds %d members, want %d", total, sz.members())
	}
	for _, ws := range []string{WorkspaceID(0), WorkspaceID(sz.workspaces - 1)} {
		rep, err := n.Admin.VerifyAudit(ctx, ws)
		if err != nil || !rep.OK {
			t.Fatalf("audit of %s: %+v, %v", ws, rep, err)
		}
	}

	// Checks without a record on random members of random workspaces and
	// random permissions, strings resolved as the API resolves them; and
	// the same confined to one workspace, whose snapshot stays in cache,
	// which separates the cost of the spread from the cost of the code.
	rng := rand.New(rand.NewPCG(1, 2))
	perms := n.Admin.Catalog().Permissions()
	r.all = queries(sz, 1<<16, perms, func() int { return rng.IntN(sz.workspaces) }, rng)
	r.one = queries(sz, 1<<16, perms, func() int { return 0 }, rng)
	return r
}

// bench runs both check benchmarks once.
func (r *result) bench() {
	ns, allocs, allowed := benchCheck(r.node, r.all)
	r.checkNs = append(r.checkNs, ns)
	r.allocs, r.allowedPc = max(r.allocs, allocs), allowed
	ns, allocs, _ = benchCheck(r.node, r.one)
	r.oneWSNs = append(r.oneWSNs, ns)
	r.allocs = max(r.allocs, allocs)
}

// query is one check.
type query struct{ ws, user, perm string }

// queries returns n checks of random members of the workspaces pick
// returns, on random permissions. Their ids are packed in one string, as
// a request's would be in its buffer: ids scattered over the heap (the
// allocator fills the holes the load left) would add cache and TLB misses
// that a server does not have.
func queries(sz size, n int, perms []*policy.Permission, pick func() int, rng *rand.Rand) []query {
	type at struct{ ws, user, end int }
	var b strings.Builder
	pos := make([]at, n)
	for i := range pos {
		w := pick()
		pos[i].ws = b.Len()
		b.WriteString(WorkspaceID(w))
		pos[i].user = b.Len()
		b.WriteString(UserID(w, rng.IntN(sz.perWS), sz.perWS))
		pos[i].end = b.Len()
	}
	ids := b.String()
	qs := make([]query, n)
	for i, p := range pos {
		qs[i] = query{ids[p.ws:p.user], ids[p.user:p.end], perms[rng.IntN(len(perms))].Key}
	}
	return qs
}

// benchCheck runs node.Engine.Check over qs, cycling, as a benchmark; it
// returns ns/op, allocs/op and the share of checks allowed.
func benchCheck(n *node.Node, qs []query) (ns float64, allocs int64, allowedPercent float64) {
	br := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		allowed, i := 0, 0
		for b.Loop() {
			q := &qs[i&(len(qs)-1)]
			d, err := n.Engine.Check(q.ws, q.user, q.perm, nil)
			if err != nil {
				b.Fatal(err)
			}
			if d.Allowed {
				allowed++
			}
			i++
		}
		allowedPercent = 100 * float64(allowed) / float64(i)
	})
	return float64(br.T.Nanoseconds()) / float64(br.N), br.AllocsPerOp(), allowedPercent
}

// liveHeap returns the bytes of reachable heap objects. Two collections
// first: objects in sync.Pools (pgx keeps its buffers there) survive one
// as the pools' victims, and are not what the node holds.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// freshSchema creates a schema for one size and returns the DSN that
// selects it.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	cleanup := t.Cleanup
	if os.Getenv("GATEHOUSE_SCALE_KEEP") == "1" {
		cleanup = nil
	}
	schema, schemaDSN := pgtest.Schema(t, dsn, "scale", cleanup)
	t.Logf("schema %s", schema)
	return schemaDSN
}

// keptSchema returns the DSN that selects an existing schema.
func keptSchema(t *testing.T, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func writeHeapProfile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	liveHeap() // the profile shows the heap as of the last collection
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
	t.Logf("heap profile: %s", path)
}

// startCPUProfile starts a CPU profile to path, if not empty, and
// returns the function that stops it.
func startCPUProfile(t *testing.T, path string) (stop func()) {
	t.Helper()
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		t.Logf("CPU profile: %s", path)
	}
}

// usage is what this process has used so far.
type usage struct {
	// cpu is its CPU time (user and system): start-up on a machine shared
	// with other work takes longer than its CPU time, and the CPU time
	// shows how much of it was this node's.
	cpu time.Duration
	// faults counts the pages it touched for the first time (minor
	// faults): each costs what BenchmarkFreshPages measures, ~11 µs on the
	// project's VM, so a heap's growth is a visible part of a start-up.
	faults int64
}

func usageNow() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), faults: ru.Minflt}
}

// loadAverage returns /proc/loadavg's first three fields, or "?": the
// figures are only as quiet as the machine was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// median returns the median of runs.
func median(runs []float64) float64 { s := slices.Sorted(slices.Values(runs)); return s[len(s)/2] }

// table renders the results; each check figure is the median of the runs,
// also relative to the first size's.
func table(rs []*result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %9s %7s %8s %9s %9s %12s %10s %9s %7s %9s %11s\n",
		"size", "members", "seed s", "start s", "heap MiB", "B/member", "check ns/op", "(fastest)", "vs first", "allocs", "allowed", "1 ws ns/op")
	for _, r := range rs {
		fmt.Fprintf(&b, "%-10s %9d %7.1f %8.2f %9.1f %9.0f %12.0f %10.0f %+8.0f%% %7d %8.0f%% %11.0f\n",
			r.size, r.members(), r.seed.Seconds(), r.open.Seconds(), float64(r.heap)/(1<<20), r.heapPerMember(),
			median(r.checkNs), slices.Min(r.checkNs), 100*(median(r.checkNs)/median(rs[0].checkNs)-1), r.allocs,
			r.allowedPc, median(r.oneWSNs))
	}
	return b.String()
}
