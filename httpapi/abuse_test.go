package httpapi_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/httpapi"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// TestAbuse_HostileBodiesGetTheirErrors: each hostile request gets its
// documented error, fast and without holding memory, while a well-behaved
// client keeps being served throughout.
func TestAbuse_HostileBodiesGetTheirErrors(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	check := map[string]any{"user": "rep", "permission": "deals_view"}

	var served, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r := w.check.do("POST", w.path("/check"), check); r.status == 200 {
				served.Add(1)
			} else {
				failed.Add(1)
			}
		}
	})

	deep := strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)
	deepArray := `{"user":"rep","permission":"deals_view","resource":{"type":"deal","id":"1","relations":` + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + `}}`
	batch := make([]map[string]any, httpapi.MaxBatch+1)
	for i := range batch {
		batch[i] = check
	}
	var nested strings.Builder // 20,000 nested departments in a policy file
	nested.WriteString("version: 1\nroles: []\ndepartments:\n")
	for i := range 20_000 {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf(", parent: d%d", i-1)
		}
		fmt.Fprintf(&nested, "  - {id: d%d, name: D%s}\n", i, parent)
	}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
		header             []string
	}{
		{"a key twice (W1)", "POST", w.path("/check"), `{"session":"T","session":"","user":"boss","permission":"deals_view"}`, 400, "invalid_argument", nil},
		{"a field name in another case (W1)", "POST", w.path("/check"), `{"User":"boss","permission":"deals_view"}`, 400, "invalid_argument", nil},
		{"a grant twice (W1)", "PUT", w.path("/members/rep/grants"), `{"grants":{"deals_view":"all","deals_view":"none"}}`, 400, "invalid_argument", nil},
		{"a reason over 1,000 characters (X4)", "PUT", w.path("/members/x"), map[string]any{"name": "X", "reason": strings.Repeat("r", 1001)}, 400, "invalid_argument", nil},
		{"a Gatehouse-Reason header of 60 KB (X4)", "PUT", w.path("/members/x"), map[string]any{"name": "X"}, 400, "invalid_argument", []string{"Gatehouse-Reason", strings.Repeat("r", 60_000)}},
		{"a session ttl that overflows (A2)", "POST", w.path("/sessions"), map[string]any{"user": "rep", "ttl_seconds": 9223372037}, 400, "invalid_argument", nil},
		{"20,000 nested departments", "PUT", w.path("/policy"), nested.String(), 400, "invalid_argument", []string{"Content-Type", "application/yaml"}},
		{"a preview page over the limit (P1)", "POST", w.path("/roles/sales_rep/preview?limit=5000"), map[string]any{"grants": map[string]any{}}, 400, "invalid_argument", nil},
		{"oversize body", "POST", w.path("/check"), `{"user":"` + strings.Repeat("x", httpapi.MaxBody) + `"}`, 413, "payload_too_large", nil},
		{"deeply nested object", "POST", w.path("/check"), deep, 400, "invalid_argument", nil},
		{"deeply nested array", "POST", w.path("/check"), deepArray, 400, "invalid_argument", nil},
		{"invalid UTF-8 in a user id", "PUT", w.path("/members/x"), []byte("{\"name\":\"bad \xff\xfe name\"}"), 400, "invalid_argument", nil},
		{"invalid UTF-8 in a check", "POST", w.path("/check"), []byte("{\"user\":\"rep\xc3\",\"permission\":\"deals_view\"}"), 400, "invalid_argument", nil},
		{"very long role name", "POST", w.path("/roles"), map[string]any{"name": strings.Repeat("R", 10_000)}, 400, "invalid_argument", nil},
		{"very long user id", "PUT", w.path("/members/" + strings.Repeat("u", 5_000)), map[string]any{"name": "U"}, 400, "invalid_argument", nil},
		{"very long department id", "PUT", w.path("/departments/" + strings.Repeat("d", 500)), map[string]any{"name": "D"}, 400, "invalid_argument", nil},
		{"very long workspace id", "POST", "/v1/workspaces", map[string]any{"id": strings.Repeat("w", 500), "name": "W"}, 400, "invalid_argument", nil},
		{"look-alike role name (R1)", "POST", w.path("/roles"), map[string]any{"name": "S\u0430les rep"}, 409, "name_taken", nil},
		{"invisible characters in a name", "POST", w.path("/roles"), map[string]any{"name": "Sales\u200b rep"}, 400, "invalid_argument", nil},
		{"batch over the limit", "POST", w.path("/check/batch"), map[string]any{"checks": batch}, 400, "invalid_argument", nil},
	}
	for _, tc := range cases {
		start := time.Now()
		c := w.admin
		if tc.path == "/v1/workspaces" {
			c = w.deployment
		}
		r := c.do(tc.method, tc.path, tc.body, tc.header...)
		// A hang detector, not a speed test (speed is measured with
		// benchmarks): a hostile body must not keep the server busy for
		// long, but a loaded CI machine under -race may be slow.
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s: answered in %v", tc.name, d)
		}
		if r.status != tc.status || r.code() != tc.code {
			t.Errorf("%s: %d %s, want %d %s: %s", tc.name, r.status, r.code(), tc.status, tc.code, truncate(r.raw))
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > 256<<20 {
		t.Errorf("heap after the hostile requests: %d MiB", after.HeapAlloc>>20)
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 || served.Load() == 0 {
		t.Errorf("the well-behaved client: %d served, %d failed", served.Load(), failed.Load())
	}
	// Nothing of the hostile writes landed.
	w.admin.fails(404, "not_found", "GET", w.path("/members/x"), nil)
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
