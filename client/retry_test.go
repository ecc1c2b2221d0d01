package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// flaky is a server that fails the first `failures` requests, by answering
// 503 or by dropping the connection, and then answers ok.
type flaky struct {
	failures int32
	drop     bool   // drop the connection instead of answering 503
	retryHdr string // the Retry-After of a 503, if any
	ok       string // the JSON of the successful answer
	calls    atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	if n <= f.failures {
		if f.drop {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if f.retryHdr != "" {
			w.Header().Set("Retry-After", f.retryHdr)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":{"code":"unavailable","message":"the database is unreachable"}}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(f.ok))
}

// quick retries fast, so that the tests do not wait.
var quick = client.WithRetry(client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 50 * time.Millisecond})

// TestRetry checks which calls are retried: idempotent ones (GET, PUT,
// DELETE, decision POSTs, creations with their Idempotency-Key) on 503 and
// on connection errors; other writes sent with POST or PATCH never.
func TestRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	calls := []struct {
		name       string
		idempotent bool
		ok         string
		call       func(c *client.Client) error
	}{
		{"GET role", true, `{"id":"r"}`, func(c *client.Client) error { _, err := c.Role(ctx, "ws", "r"); return err }},
		{"PUT member", true, `{"user_id":"u","workspace_revision":3}`, func(c *client.Client) error {
			_, _, err := c.PutMember(ctx, "ws", client.MemberInput{UserID: "u", Kind: policy.Internal})
			return err
		}},
		{"DELETE role", true, `{"workspace_revision":3}`, func(c *client.Client) error { _, err := c.DeleteRole(ctx, "ws", "r", ""); return err }},
		{"POST check", true, `{"allowed":true,"level":"all","reason":"granted","revision":3}`, func(c *client.Client) error {
			_, err := c.Check(ctx, "ws", client.CheckRequest{User: "u", Permission: "p"})
			return err
		}},
		{"POST check/batch", true, `{"results":[],"revision":3}`, func(c *client.Client) error {
			_, err := c.CheckBatch(ctx, "ws", client.Batch{})
			return err
		}},
		{"POST filter", true, `{"kind":"none","revision":3}`, func(c *client.Client) error {
			_, err := c.Filter(ctx, "ws", client.FilterRequest{User: "u", Permission: "p"})
			return err
		}},
		{"POST explain", true, `{"user":"u","decision":{}}`, func(c *client.Client) error {
			_, err := c.Explain(ctx, "ws", client.ExplainRequest{User: "u", Permission: "p"})
			return err
		}},
		{"POST roles (a creation: it carries an Idempotency-Key)", true, `{"id":"r","workspace_revision":3}`, func(c *client.Client) error {
			_, _, err := c.CreateRole(ctx, "ws", client.RoleInput{Name: "R"})
			return err
		}},
		{"POST members/import (a write)", false, `{"imported":1,"workspace_revision":3}`, func(c *client.Client) error {
			_, _, err := c.ImportMembers(ctx, "ws", []client.MemberInput{{UserID: "u"}})
			return err
		}},
		{"PATCH role (a write)", false, `{"id":"r","workspace_revision":3}`, func(c *client.Client) error {
			_, _, err := c.UpdateRole(ctx, "ws", "r", client.RoleUpdate{})
			return err
		}},
	}
	for _, drop := range []bool{false, true} {
		for _, tt := range calls {
			name := tt.name + " after 503s"
			if drop {
				name = tt.name + " after dropped connections"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f := &flaky{failures: 2, drop: drop, retryHdr: "0", ok: tt.ok}
				srv := httptest.NewServer(f)
				defer srv.Close()
				err := tt.call(client.New(srv.URL, "k", quick))
				switch {
				case tt.idempotent && (err != nil || f.calls.Load() != 3):
					t.Fatalf("err %v after %d calls; want success at the third", err, f.calls.Load())
				case !tt.idempotent && (err == nil || f.calls.Load() != 1):
					t.Fatalf("err %v after %d calls; want a failure after one call", err, f.calls.Load())
				case !tt.idempotent && !drop && client.ErrorCode(err) != policy.CodeUnavailable:
					t.Fatalf("err %v, want unavailable", err)
				}
			})
		}
	}
}

// TestRetryIsBounded checks that a server that keeps failing is asked
// MaxAttempts times and its error returned.
func TestRetryIsBounded(t *testing.T) {
	t.Parallel()
	f := &flaky{failures: 1000}
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, err := client.New(srv.URL, "k", quick).Role(context.Background(), "ws", "r")
	var e *client.Error
	if !errors.As(err, &e) || e.Code != policy.CodeUnavailable || e.Status != 503 {
		t.Fatalf("err %v, want the 503 unavailable", err)
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
}

// TestRetryAfter checks that a 503's Retry-After is waited for, and that
// one longer than MaxDelay ends the retries at once.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	t.Run("waited for", func(t *testing.T) {
		t.Parallel()
		f := &flaky{failures: 1, retryHdr: "1", ok: `{"id":"r"}`}
		srv := httptest.NewServer(f)
		defer srv.Close()
		start := time.Now()
		c := client.New(srv.URL, "k", client.WithRetry(client.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second}))
		if _, err := c.Role(context.Background(), "ws", "r"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second {
			t.Fatalf("retried after %v, before the Retry-After of 1s", d)
		}
	})
	t.Run("too long", func(t *testing.T) {
		t.Parallel()
		f := &flaky{failures: 1, retryHdr: "120", ok: `{"id":"r"}`}
		srv := httptest.NewServer(f)
		defer srv.Close()
		_, err := client.New(srv.URL, "k", quick).Role(context.Background(), "ws", "r")
		var e *client.Error
		if !errors.As(err, &e) || e.RetryAfter != 2*time.Minute || f.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls; want the 503 with Retry-After 2m after one", err, f.calls.Load())
		}
	})
}

// TestRetryStopsWithContext checks that a retry's wait ends with its
// context.
func TestRetryStopsWithContext(t *testing.T) {
	t.Parallel()
	f := &flaky{failures: 1000}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := client.New(srv.URL, "k", client.WithRetry(client.RetryPolicy{MaxAttempts: 100, BaseDelay: time.Second, MaxDelay: 10 * time.Second}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Role(ctx, "ws", "r")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

// TestIdempotencyKey_ClientRetriesCreationsOnce: the answer to a key
// creation is lost (the server created it, the client saw 503); the
// client's retry carries the same Idempotency-Key, so the server answers
// the first creation: one key, and the client holds its secret.
func TestIdempotencyKey_ClientRetriesCreationsOnce(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	var keys []string
	var lost atomic.Bool
	target, _ := url.Parse(env.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPost && strings.HasSuffix(resp.Request.URL.Path, "/keys") {
			keys = append(keys, resp.Request.Header.Get("Idempotency-Key"))
			if lost.CompareAndSwap(false, true) {
				resp.StatusCode = http.StatusServiceUnavailable
				resp.Body = io.NopCloser(strings.NewReader(`{"error":{"code":"unavailable","message":"lost"}}`))
				resp.Header.Set("Retry-After", "0")
			}
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	before, err := w.deployment.Keys(ctx, w.ws)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(srv.URL, apitest.AdminKey, quick)
	k, _, err := c.CreateKey(ctx, w.ws, client.ScopeCheck, "retried")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Errorf("Idempotency-Keys sent: %q, want one key twice", keys)
	}
	after, err := w.deployment.Keys(ctx, w.ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("keys: %d before, %d after; want one more", len(before), len(after))
	}
	if _, err := client.New(env.URL, k.Secret).Workspace(ctx, w.ws); err != nil {
		t.Errorf("the retried creation's secret does not work: %v", err)
	}
}
