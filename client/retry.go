package client

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy says how idempotent calls are retried: GET, PUT and DELETE,
// and the POSTs that change nothing (check, batch, filter, explain,
// sessions). Other POSTs and PATCHes are sent once: a retry after a lost
// answer could apply them twice.
//
// A call is retried when the server answers 503 (unavailable,
// revision_unavailable) or 429 (rate_limited), or when the request fails
// on the network. The wait before retry n (1, 2, …) is the answer's
// Retry-After when it has one, else a random duration ("full jitter")
// between 0 and min(MaxDelay, BaseDelay·2^(n-1)). A Retry-After longer
// than MaxDelay ends the retries: the error is returned at once.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one call, the first included;
	// 1 or less means no retry.
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// DefaultRetry is the policy of a client made without WithRetry: four
// attempts, backing off from 100 ms to at most 2 s between them.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}

// backoff is the jittered wait before retry n (1, 2, …).
func (p RetryPolicy) backoff(n int) time.Duration {
	ceil := p.MaxDelay
	if p.BaseDelay > 0 && n-1 < 30 {
		if d := p.BaseDelay << (n - 1); d > 0 && (ceil <= 0 || d < ceil) {
			ceil = d
		}
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}

// retryable reports whether an answer with this status may be retried.
func retryable(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests
}

// retrying runs attempt until it gives an answer that needs no retry, the
// attempts run out, or ctx ends. Only an idempotent call is retried. The
// answer it ends with, whatever its status, is left for the caller in
// attempt's variable; a network error is returned.
func (c *Client) retrying(ctx context.Context, idempotent bool, attempt func() (*http.Response, error)) error {
	for n := 1; ; n++ {
		resp, err := attempt()
		last := !idempotent || n >= c.retry.MaxAttempts
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if last {
				return fmt.Errorf("gatehouse: %w", err)
			}
			wait = c.retry.backoff(n)
		case !retryable(resp.StatusCode) || last:
			return nil
		default:
			wait = c.retry.backoff(n)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				if c.retry.MaxDelay > 0 && ra > c.retry.MaxDelay {
					return nil // the server asks for a longer pause than we may take
				}
				wait = ra
			}
			// Drain a little so the connection can be reused.
			io.CopyN(io.Discard, resp.Body, 4<<10)
			resp.Body.Close()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
