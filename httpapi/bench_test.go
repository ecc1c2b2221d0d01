package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// BenchmarkHTTPCheck measures one check over loopback HTTP end to end
// (client included, as a host's backend would see it), serially and with
// parallel clients. gatehouse bench measures the same on crm-medium with
// latency percentiles; this one is for benchstat comparisons of builds.
func BenchmarkHTTPCheck(b *testing.B) {
	env := apitest.Start(b, apitest.Options{})
	mustOK := func(method, path string, body any) []byte {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, env.URL+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+apitest.AdminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
		}
		return out
	}
	mustOK("POST", "/v1/workspaces", map[string]any{"id": "bench", "name": "Bench", "plan": "professional"})
	mustOK("PUT", "/v1/workspaces/bench/departments/sales", map[string]any{"name": "Sales"})
	mustOK("POST", "/v1/workspaces/bench/roles", map[string]any{"name": "Rep", "template": "sales", "grants": map[string]any{"deals_view": "department"}, "reason": "bench"})
	members := make([]map[string]any, 1000)
	for i := range members {
		members[i] = map[string]any{"user_id": fmt.Sprintf("u%d", i), "name": "U", "department_ids": []string{"sales"}, "role_ids": []string{"rep"}}
	}
	mustOK("POST", "/v1/workspaces/bench/members/import", map[string]any{"members": members})
	body := []byte(`{"user":"u7","permission":"deals_view","resource":{"owner_id":"u9","department_id":"sales"}}`)
	url := env.URL + "/v1/workspaces/bench/check"
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	hc := &http.Client{Transport: tr}
	check := func() {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apitest.AdminKey)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			check()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check()
			}
		})
	})
}

// BenchmarkHTTPListPage measures what a host's list page of 100 records
// asks to show three actions per row: one check/batch of 300 checks
// against one check/resources of 100 records × 3 permissions (the
// resource-centric batch, issue 22). Same decisions, same revision.
func BenchmarkHTTPListPage(b *testing.B) {
	env := apitest.Start(b, apitest.Options{})
	post := func(path string, body []byte) { benchSend(b, env, "POST", path, body) }
	js := func(v any) []byte { data, _ := json.Marshal(v); return data }
	post("/v1/workspaces", js(map[string]any{"id": "bench", "name": "Bench", "plan": "professional"}))
	post("/v1/workspaces/bench/members/import", js(map[string]any{"members": []any{map[string]any{"user_id": "u1", "name": "U"}}}))
	perms := []string{"deals_view", "deals_edit", "deals_delete"}
	var checks, resources []any
	for i := range 100 {
		res := map[string]any{"owner_id": fmt.Sprintf("u%d", i%7), "department_id": "sales"}
		for _, p := range perms {
			checks = append(checks, map[string]any{"user": "u1", "permission": p, "resource": res})
		}
		resources = append(resources, map[string]any{"id": fmt.Sprint(i), "resource": res})
	}
	batch := js(map[string]any{"checks": checks})
	byResource := js(map[string]any{"user": "u1", "permissions": perms, "resources": resources})
	b.Run("check-batch-300", func(b *testing.B) {
		for b.Loop() {
			post("/v1/workspaces/bench/check/batch", batch)
		}
	})
	b.Run("check-resources-100x3", func(b *testing.B) {
		for b.Loop() {
			post("/v1/workspaces/bench/check/resources", byResource)
		}
	})
}

// BenchmarkHTTPImport measures member imports over the API on SQLite:
// POST members/import of 10,000 new members per call (the most one call
// takes), each in a department with one or two roles, all or nothing. It
// reports members per second, the request's encoding and decoding
// included; the workspace grows by 10,000 members per call.
func BenchmarkHTTPImport(b *testing.B) {
	env := apitest.Start(b, apitest.Options{})
	post := func(method, path string, body []byte) { benchSend(b, env, method, path, body) }
	js := func(v any) []byte { data, _ := json.Marshal(v); return data }
	post("POST", "/v1/workspaces", js(map[string]any{"id": "bench", "name": "Bench", "plan": "professional"}))
	depts := []string{"sales", "support", "finance", "ops"}
	for _, d := range depts {
		post("PUT", "/v1/workspaces/bench/departments/"+d, js(map[string]any{"name": d}))
	}
	roles := []string{"rep", "lead", "analyst"}
	for _, r := range roles {
		post("POST", "/v1/workspaces/bench/roles", js(map[string]any{"name": r, "grants": map[string]any{"deals_view": "department"}, "reason": "bench"}))
	}
	n := 0
	var spent time.Duration
	for b.Loop() {
		n++
		b.StopTimer()
		members := make([]map[string]any, 10_000)
		for i := range members {
			rs := []string{roles[i%len(roles)]}
			if i%2 == 1 {
				rs = append(rs, roles[(i+1)%len(roles)])
			}
			members[i] = map[string]any{"user_id": fmt.Sprintf("u%d-%d", n, i), "name": fmt.Sprintf("User %d", i),
				"department_ids": []string{depts[i%len(depts)]}, "role_ids": rs}
		}
		body := js(map[string]any{"members": members})
		b.StartTimer()
		start := time.Now()
		post("POST", "/v1/workspaces/bench/members/import", body)
		spent += time.Since(start)
	}
	b.ReportMetric(float64(n*10_000)/spent.Seconds(), "members/s")
}

// benchSend sends body to path with the admin key, failing the benchmark
// on any answer but 2xx.
func benchSend(b *testing.B, env *apitest.Env, method, path string, body []byte) {
	req, _ := http.NewRequest(method, env.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apitest.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
}
