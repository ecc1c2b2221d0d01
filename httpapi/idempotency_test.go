package httpapi_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// TestIdempotencyKey_RetriedCreationsReturnTheFirstAnswer: a retried
// workspace, key, role, duplicate, console link or session creation with
// the same Idempotency-Key gets the first answer, not a second object or
// name_taken; the same key with another body is idempotency_key_reused.
func TestIdempotencyKey_RetriedCreationsReturnTheFirstAnswer(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	cases := []struct {
		name       string
		c          caller
		path       string
		body, diff map[string]any
		id         string
	}{
		{"workspace", w.deployment, "/v1/workspaces", map[string]any{"id": "beta", "name": "Beta", "plan": "free"},
			map[string]any{"id": "gamma", "name": "Gamma", "plan": "free"}, "id"},
		{"key", w.admin, w.path("/keys"), map[string]any{"scope": "check", "name": "backend 2"},
			map[string]any{"scope": "admin", "name": "backend 2"}, "key"},
		{"role", w.admin, w.path("/roles"), map[string]any{"name": "Auditor"}, map[string]any{"name": "Auditor 2"}, "id"},
		{"duplicate", w.admin, w.path("/roles/sales_rep/duplicate"), map[string]any{}, map[string]any{"name": "Other copy"}, "id"},
		{"console link", w.admin, w.path("/console-links"), map[string]any{"user_id": "boss"}, map[string]any{"user_id": "rep"}, "url"},
		{"session", w.check, w.path("/sessions"), map[string]any{"user": "rep"}, map[string]any{"user": "boss"}, "token"},
	}
	for _, tc := range cases {
		hdr := []string{"Idempotency-Key", "k-" + tc.name, "Gatehouse-Reason", "test"}
		first := tc.c.ok(201, "POST", tc.path, tc.body, hdr...)
		again := tc.c.ok(201, "POST", tc.path, tc.body, hdr...)
		if string(again.raw) != string(first.raw) || again.header.Get("Idempotent-Replayed") != "true" ||
			again.header.Get("Gatehouse-Revision") != first.header.Get("Gatehouse-Revision") {
			t.Errorf("%s: the retry is not the first answer:\n%s\n%s", tc.name, first.raw, again.raw)
		}
		if first.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("%s: the first answer says it is replayed", tc.name)
		}
		tc.c.fails(422, "idempotency_key_reused", "POST", tc.path, tc.diff, hdr...)
		// A new key is a new request.
		if tc.name == "key" || tc.name == "console link" { // (a session token of the same second is the same token)
			other := tc.c.ok(201, "POST", tc.path, tc.body, "Idempotency-Key", "k2-"+tc.name, "Gatehouse-Reason", "test")
			if other.str(tc.id) == first.str(tc.id) {
				t.Errorf("%s: a new Idempotency-Key got the first answer", tc.name)
			}
		}
	}
	// One key, not two: the workspace has the keys newWorld made plus one
	// (the other call had its own Idempotency-Key).
	if n := len(w.admin.ok(200, "GET", w.path("/keys"), nil).items()); n != 4 {
		t.Errorf("keys: %d, want 4", n)
	}
	// Without the header nothing changes: a second creation is name_taken.
	w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "Plain"})
	w.admin.fails(409, "name_taken", "POST", w.path("/roles"), map[string]any{"name": "Plain"})
	// A bad key is named.
	e := w.admin.fails(400, "invalid_argument", "POST", w.path("/roles"), map[string]any{"name": "X"}, "Idempotency-Key", strings.Repeat("k", 256))
	if field(e) != "Idempotency-Key" {
		t.Errorf("a long key: %s", e.raw)
	}
}

// TestIdempotencyKey_FailuresAreNotKept: an answer that failed is not
// replayed; the retry runs afresh and may succeed.
func TestIdempotencyKey_FailuresAreNotKept(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	hdr := []string{"Idempotency-Key", "once"}
	w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "Taken"})
	w.admin.fails(409, "name_taken", "POST", w.path("/roles"), map[string]any{"name": "Taken"}, hdr...)
	w.admin.fails(409, "name_taken", "POST", w.path("/roles"), map[string]any{"name": "Taken"}, hdr...)
	w.admin.ok(200, "DELETE", w.path("/roles/taken"), nil)
	if r := w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "Taken"}, hdr...); r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a failure was replayed: %s", r.raw)
	}
}

// TestX3a_IdempotencyKeysArePerCaller: an attacker who learns another
// caller's Idempotency-Key cannot replay that caller's answer (a created
// key's secret, a console link): keys are per API key and acting member,
// and a replay needs the bearer token that made the first request.
func TestX3a_IdempotencyKeysArePerCaller(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	hdr := []string{"Idempotency-Key", "shared"}
	first := w.admin.ok(201, "POST", w.path("/keys"), map[string]any{"scope": "admin", "name": "ops"}, hdr...)
	// Another admin key of the workspace, same Idempotency-Key, same body:
	// a request of its own, answered with its own new key.
	other := w.deployment.ok(201, "POST", w.path("/keys"), map[string]any{"scope": "check", "name": "other"}).str("key")
	w.admin.with(other).fails(403, "forbidden", "POST", w.path("/keys"), map[string]any{"scope": "admin", "name": "ops"}, hdr...)
	second := w.deployment.ok(201, "POST", w.path("/keys"), map[string]any{"scope": "admin", "name": "ops"}, hdr...)
	if second.str("key") == first.str("key") || second.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("another caller replayed the first answer: %s", second.raw)
	}
	// An acting member (a partial admin) reusing the host's key and
	// Idempotency-Key does not get the host's answer either.
	r := w.admin.do("POST", w.path("/keys"), map[string]any{"scope": "admin", "name": "ops"}, append(hdr, "Gatehouse-Actor", "rep")...)
	if strings.Contains(string(r.raw), first.str("key")) || r.status != 403 {
		t.Errorf("an actor replayed the host's answer: %d %s", r.status, r.raw)
	}
}

// TestIdempotencyKey_ConcurrentRetriesCreateOnce: retries racing the
// first request either wait for it (409 idempotency_key_in_use, with
// Retry-After) or get its answer; one workspace is created, never two, and
// no racer sees name_taken.
func TestIdempotencyKey_ConcurrentRetriesCreateOnce(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	d := newCaller(t, env, apitest.AdminKey)
	body := map[string]any{"id": "racy", "name": "Racy", "plan": "free"}
	const n = 8
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = d.do("POST", "/v1/workspaces", body, "Idempotency-Key", "race-1") })
	}
	wg.Wait()
	var created string
	for _, r := range replies {
		switch {
		case r.status == 201:
			if created == "" {
				created = string(r.raw)
			} else if string(r.raw) != created {
				t.Errorf("two different creations: %s and %s", created, r.raw)
			}
		case r.status == 409 && r.code() == "idempotency_key_in_use" && r.header.Get("Retry-After") != "":
		default:
			t.Errorf("a racer got %d %s", r.status, r.raw)
		}
	}
	if created == "" {
		t.Fatal("no racer got the creation")
	}
	// Once the first is done, every retry gets its answer.
	if r := d.ok(201, "POST", "/v1/workspaces", body, "Idempotency-Key", "race-1"); string(r.raw) != created {
		t.Errorf("the retry after the race: %s", r.raw)
	}
}
