package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

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
