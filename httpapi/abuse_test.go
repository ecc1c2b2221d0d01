package httpapi_test

import (
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
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"oversize body", "POST", w.path("/check"), `{"user":"` + strings.Repeat("x", httpapi.MaxBody) + `"}`, 413, "payload_too_large"},
		{"deeply nested object", "POST", w.path("/check"), deep, 400, "invalid_argument"},
		{"deeply nested array", "POST", w.path("/check"), deepArray, 400, "invalid_argument"},
		{"invalid UTF-8 in a user id", "PUT", w.path("/members/x"), []byte("{\"name\":\"bad \xff\xfe name\"}"), 400, "invalid_argument"},
		{"invalid UTF-8 in a check", "POST", w.path("/check"), []byte("{\"user\":\"rep\xc3\",\"permission\":\"deals_view\"}"), 400, "invalid_argument"},
		{"very long role name", "POST", w.path("/roles"), map[string]any{"name": strings.Repeat("R", 10_000)}, 400, "invalid_argument"},
		{"very long user id", "PUT", w.path("/members/" + strings.Repeat("u", 5_000)), map[string]any{"name": "U"}, 400, "invalid_argument"},
		{"very long department id", "PUT", w.path("/departments/" + strings.Repeat("d", 500)), map[string]any{"name": "D"}, 400, "invalid_argument"},
		{"very long workspace id", "POST", "/v1/workspaces", map[string]any{"id": strings.Repeat("w", 500), "name": "W"}, 400, "invalid_argument"},
		{"look-alike role name (R1)", "POST", w.path("/roles"), map[string]any{"name": "S\u0430les rep"}, 409, "name_taken"},
		{"invisible characters in a name", "POST", w.path("/roles"), map[string]any{"name": "Sales\u200b rep"}, 400, "invalid_argument"},
		{"batch over the limit", "POST", w.path("/check/batch"), map[string]any{"checks": batch}, 400, "invalid_argument"},
	}
	for _, tc := range cases {
		start := time.Now()
		c := w.admin
		if tc.path == "/v1/workspaces" {
			c = w.deployment
		}
		r := c.do(tc.method, tc.path, tc.body)
		if d := time.Since(start); d > 2*time.Second {
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
