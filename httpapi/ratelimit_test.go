package httpapi_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// Each key has its own bucket: a key beyond its rate and burst gets 429
// rate_limited with Retry-After, while other keys are still served; the
// key is served again once its bucket refills.
func TestRateLimit_PerKey429WithRetryAfter(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{RateLimit: 5, RateBurst: 3})
	d := newCaller(t, env, apitest.AdminKey)
	d.ok(201, "POST", "/v1/workspaces", map[string]any{"id": "acme", "name": "Acme", "plan": "professional"})
	time.Sleep(time.Second) // the deployment key's bucket refills
	k1 := d.ok(201, "POST", "/v1/workspaces/acme/keys", map[string]any{"scope": "check", "name": "one"}).body["key"].(string)
	k2 := d.ok(201, "POST", "/v1/workspaces/acme/keys", map[string]any{"scope": "check", "name": "two"}).body["key"].(string)
	one, two := d.with(k1), d.with(k2)
	check := map[string]any{"user": "nobody", "permission": "deals_view"}
	for range 3 {
		one.ok(200, "POST", "/v1/workspaces/acme/check", check)
	}
	r := one.fails(429, "rate_limited", "POST", "/v1/workspaces/acme/check", check)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After = %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
	}
	two.ok(200, "POST", "/v1/workspaces/acme/check", check) // another key is not slowed
	time.Sleep(250 * time.Millisecond)                      // one token at 5/s
	one.ok(200, "POST", "/v1/workspaces/acme/check", check)
	// Unauthenticated requests are refused before any bucket is touched.
	d.with("").fails(401, "unauthenticated", "POST", "/v1/workspaces/acme/check", check)
}
