package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Health is the answer of /healthz.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Health reports whether the server process answers (/healthz).
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	if err := c.get(ctx, "", "/healthz", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Readiness is the answer of /readyz.
type Readiness struct {
	Ready bool `json:"ready"`
	// Checks names each dependency and its state, e.g. "database": "ok",
	// "snapshots": "current" (or "stale" while the database is away).
	Checks map[string]string `json:"checks"`
	// SnapshotAge is the time, in seconds, since the node last confirmed
	// that it holds every committed change.
	SnapshotAge float64 `json:"snapshot_age_seconds"`
}

// Ready reports whether the server can serve (/readyz): every workspace
// is loaded (a node whose database is unreachable stays ready, answering
// decisions from its snapshots, and says so in Checks). A server that is not ready is
// not an error: Ready returns its Readiness with Ready false. It is asked
// once, without retries, as a probe should be.
func (c *Client) Ready(ctx context.Context) (*Readiness, error) {
	rq := &request{method: http.MethodGet, path: "/readyz"}
	var out Readiness
	// A not-ready answer is a 503 with a Readiness body, not an error
	// body, so it is read here rather than through the retrying send.
	req, err := http.NewRequestWithContext(ctx, rq.method, c.base+rq.path, nil)
	if err != nil {
		return nil, err
	}
	c.decorate(req, rq)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: GET /readyz: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable) {
		return nil, &Error{Status: resp.StatusCode, Code: CodeForStatus(resp.StatusCode), Message: "unexpected answer from /readyz"}
	}
	return &out, nil
}

// OpenAPI returns the API's OpenAPI document (/openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	_, data, err := c.send(ctx, &request{method: http.MethodGet, path: "/openapi.json"})
	return data, err
}

// Metrics returns the server's Prometheus metrics in the text exposition
// format (/metrics). The API does not serve them: make c with the base
// URL of the server's metrics listener (--metrics-addr, e.g.
// http://127.0.0.1:9470).
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	_, data, err := c.send(ctx, &request{method: http.MethodGet, path: "/metrics"})
	return data, err
}
