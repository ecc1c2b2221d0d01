package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/node"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/workload"
)

func init() { clientCommands["bench"] = bench }

// benchResult is one measured scenario.
type benchResult struct {
	Scenario string  `json:"scenario"`
	Clients  int     `json:"clients"`
	Requests int64   `json:"requests"`
	Checks   int64   `json:"checks"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"checks_per_second"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
	Wrong    int64   `json:"wrong_answers"`
}

type benchReport struct {
	Members       int           `json:"members"`
	LoadSeconds   float64       `json:"load_seconds"`
	ImportSeconds float64       `json:"import_seconds"`
	Results       []benchResult `json:"results"`
}

// bench loads the crm-medium workload into an in-process server on
// loopback and measures decisions over HTTP: single checks with 1 and 64
// clients and batches of 50. Every scenario is bounded in time and in
// requests. With --baseline it also measures a plain net/http handler
// doing a map lookup on the same machine, the floor to compare against.
func bench(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 3*time.Second, "how long each scenario runs")
	maxReq := fs.Int64("max-requests", 2_000_000, "most requests per scenario")
	members := fs.Int("members", workload.CRMMedium.Members, "members in the workload (crm-medium: 100,000)")
	baseline := fs.Bool("baseline", false, "also measure a plain net/http map-lookup handler")
	asJSON := fs.Bool("json", false, "print JSON")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg := workload.CRMMedium
	cfg.Members = *members
	w := workload.Generate(cfg)
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cat, err := policy.ParseCatalog("crm-medium", w.YAML)
	if err != nil {
		return err
	}
	const key = "bench-admin-key"
	n, err := node.Open(ctx, node.Config{Database: "sqlite:" + filepath.Join(dir, "bench.db"), Catalog: cat, AdminKey: key})
	if err != nil {
		return err
	}
	defer n.Close()
	url, stop, err := listenLoopback(n.API)
	if err != nil {
		return err
	}
	defer stop()
	rep := benchReport{Members: len(w.State.Members)}
	start := time.Now()
	importSecs, err := loadWorkload(ctx, url, key, w)
	if err != nil {
		return fmt.Errorf("load crm-medium: %w", err)
	}
	rep.LoadSeconds, rep.ImportSeconds = time.Since(start).Seconds(), importSecs
	path := "/v1/workspaces/" + w.State.Workspace
	singles, batches := benchBodies(w)
	limits := benchLimits{d: *duration, max: *maxReq}
	for _, sc := range []struct {
		name    string
		clients int
		bodies  []benchBody
		url     string
	}{
		{"check", 1, singles, url + path + "/check"},
		{"check", 64, singles, url + path + "/check"},
		{"batch of 50", 8, batches, url + path + "/check/batch"},
	} {
		rep.Results = append(rep.Results, runScenario(ctx, sc.name, sc.clients, sc.url, key, sc.bodies, limits))
	}
	if *baseline {
		burl, bstop, err := listenLoopback(plainHandler(w))
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results,
			runScenarioVerified(ctx, "plain map lookup", 64, burl+"/check", key, singles, limits, false),
			runScenarioVerified(ctx, "plain map lookup, batch of 50", 8, burl+"/batch", key, batches, limits, false))
		bstop()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "crm-medium: %d members loaded over HTTP in %.2f s (member import %.2f s)\n\n", rep.Members, rep.LoadSeconds, rep.ImportSeconds)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\trequests\tchecks/s\tp50 µs\tp99 µs\twrong\t")
	var wrong int64
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%d\t\n", r.Scenario, r.Clients, r.Requests, r.PerSec, r.P50us, r.P99us, r.Wrong)
		wrong += r.Wrong
	}
	tw.Flush()
	if wrong > 0 {
		return fmt.Errorf("%d decisions differed from the workload's expected answers", wrong)
	}
	return nil
}

// listenLoopback serves h on an ephemeral loopback port.
func listenLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// loadWorkload creates the workload's workspace through the API: its
// roles and departments as a policy file, its members by bulk import.
func loadWorkload(ctx context.Context, url, key string, w *workload.Workload) (float64, error) {
	ws := w.State.Workspace
	call := func(method, path, contentType string, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, method, url+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Gatehouse-Reason", "benchmark load")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			msg, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, msg)
		}
		return nil
	}
	mustJSON := func(v any) []byte { b, _ := json.Marshal(v); return b }
	if err := call("POST", "/v1/workspaces", "application/json", mustJSON(map[string]any{"id": ws, "name": w.Config.Name, "plan": "professional"})); err != nil {
		return 0, err
	}
	f := admin.PolicyFile{Version: 1}
	for _, r := range w.State.Roles {
		f.Roles = append(f.Roles, admin.PolicyRole{ID: r.RoleID, Name: r.Name, Audience: r.Audience, Grants: policy.JoinGrants(r.Grants, r.When)})
	}
	for _, d := range w.State.Departments {
		f.Departments = append(f.Departments, admin.PolicyDept{ID: d.ID, Name: d.Name, Parent: d.ParentID})
	}
	if err := call("PUT", "/v1/workspaces/"+ws+"/policy", "application/yaml", f.Marshal()); err != nil {
		return 0, err
	}
	start := time.Now()
	type member struct {
		UserID        string          `json:"user_id"`
		Name          string          `json:"name"`
		Kind          policy.Audience `json:"kind"`
		DepartmentIDs []string        `json:"department_ids"`
		RoleIDs       []string        `json:"role_ids"`
	}
	all := w.State.Members
	for lo := 0; lo < len(all); lo += admin.MaxImport {
		var batch []member
		for _, m := range all[lo:min(lo+admin.MaxImport, len(all))] {
			in := member{UserID: m.UserID, Name: "Member " + m.UserID, Kind: m.Kind, DepartmentIDs: m.DepartmentIDs}
			for _, r := range m.Roles {
				in.RoleIDs = append(in.RoleIDs, r.RoleID)
			}
			batch = append(batch, in)
		}
		if err := call("POST", "/v1/workspaces/"+ws+"/members/import", "application/json", mustJSON(map[string]any{"members": batch})); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds(), nil
}

// benchBody is one prepared request with its expected answers.
type benchBody struct {
	body    []byte
	allowed []bool
}

// benchBodies prepares single-check and batch-of-50 bodies from the
// workload's queries, record checks included.
func benchBodies(w *workload.Workload) (singles, batches []benchBody) {
	qs := append(slices.Clone(w.Queries), w.Records...)
	type check struct {
		User       string           `json:"user"`
		Permission string           `json:"permission"`
		Resource   *policy.Resource `json:"resource,omitempty"`
	}
	for _, q := range qs {
		b, _ := json.Marshal(check{q.User, q.Permission, q.Record})
		singles = append(singles, benchBody{body: b, allowed: []bool{q.Allowed}})
	}
	for lo := 0; lo+50 <= len(qs); lo += 50 {
		var cs []check
		var want []bool
		for _, q := range qs[lo : lo+50] {
			cs = append(cs, check{q.User, q.Permission, q.Record})
			want = append(want, q.Allowed)
		}
		b, _ := json.Marshal(map[string]any{"checks": cs})
		batches = append(batches, benchBody{body: b, allowed: want})
	}
	return singles, batches
}

type benchLimits struct {
	d   time.Duration
	max int64
}

// runScenario sends bodies round-robin from clients goroutines until the
// time or the request budget is spent, checking every answer.
func runScenario(ctx context.Context, name string, clients int, url, key string, bodies []benchBody, lim benchLimits) benchResult {
	return runScenarioVerified(ctx, name, clients, url, key, bodies, lim, true)
}

// runScenarioVerified is runScenario; verify false skips comparing the
// answers with the expected ones (the plain handler ignores records).
func runScenarioVerified(ctx context.Context, name string, clients int, url, key string, bodies []benchBody, lim benchLimits, verify bool) benchResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, lim.d)
	defer cancel()
	var sent, wrong, checks atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			var single struct {
				Allowed bool `json:"allowed"`
			}
			var batch struct {
				Results []struct {
					Allowed bool `json:"allowed"`
				} `json:"results"`
			}
			buf := make([]byte, 0, 64<<10)
			for i := c; ctx.Err() == nil; i += clients {
				if sent.Add(1) > lim.max {
					return
				}
				b := bodies[i%len(bodies)]
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b.body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
						wrong.Add(1)
					}
					return
				}
				buf = buf[:0]
				buf, err = readAllInto(buf, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					wrong.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
				if !verify {
					checks.Add(int64(len(b.allowed)))
					continue
				}
				if len(b.allowed) == 1 && !bytes.HasPrefix(b.body, []byte(`{"checks"`)) {
					if json.Unmarshal(buf, &single) != nil || single.Allowed != b.allowed[0] {
						wrong.Add(1)
					}
					checks.Add(1)
					continue
				}
				if json.Unmarshal(buf, &batch) != nil || len(batch.Results) != len(b.allowed) {
					wrong.Add(1)
					continue
				}
				for j, r := range batch.Results {
					if r.Allowed != b.allowed[j] {
						wrong.Add(1)
					}
				}
				checks.Add(int64(len(b.allowed)))
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(float64(len(all)-1)*p)]) / float64(time.Microsecond)
	}
	return benchResult{Scenario: name, Clients: clients, Requests: int64(len(all)), Checks: checks.Load(), Seconds: secs,
		PerSec: float64(checks.Load()) / secs, P50us: pct(0.50), P99us: pct(0.99), Wrong: wrong.Load()}
}

func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// plainHandler is the floor: a net/http handler that decodes the same
// JSON and answers from a Go map, with nothing of Gatehouse in between.
func plainHandler(w *workload.Workload) http.Handler {
	allowed := map[[2]string]bool{}
	for _, q := range append(slices.Clone(w.Queries), w.Records...) {
		allowed[[2]string{q.User, q.Permission}] = q.Allowed
	}
	type check struct {
		User       string           `json:"user"`
		Permission string           `json:"permission"`
		Resource   *policy.Resource `json:"resource"`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /check", func(rw http.ResponseWriter, r *http.Request) {
		var c check
		json.NewDecoder(r.Body).Decode(&c)
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(rw, `{"allowed":%t}`, allowed[[2]string{c.User, c.Permission}])
	})
	mux.HandleFunc("POST /batch", func(rw http.ResponseWriter, r *http.Request) {
		var in struct{ Checks []check }
		json.NewDecoder(r.Body).Decode(&in)
		type res struct {
			Allowed bool `json:"allowed"`
		}
		out := struct {
			Results []res `json:"results"`
		}{make([]res, len(in.Checks))}
		for i, c := range in.Checks {
			out.Results[i].Allowed = allowed[[2]string{c.User, c.Permission}]
		}
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(out)
	})
	return mux
}
