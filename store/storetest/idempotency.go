package storetest

import (
	"context"
	"sync"
	"testing"
	"time"
)

// idempotencyStore is what httpapi's Idempotency-Key needs of a store
// (httpapi.IdempotencyStore; declared again here, storetest does not
// import the adapters).
type idempotencyStore interface {
	ClaimIdempotencyKey(ctx context.Context, scope, keyHash, fingerprint string, now, expires time.Time) (string, []byte, bool, error)
	CompleteIdempotencyKey(ctx context.Context, scope, keyHash string, answer []byte) error
	ReleaseIdempotencyKey(ctx context.Context, scope, keyHash string) error
}

// testIdempotencyKeys: one claim per (scope, key) even under a race; the
// stored answer comes back; a released claim can be made again; scopes
// are apart; an expired record is gone.
func testIdempotencyKeys(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s, ok := e.store.(idempotencyStore)
	if !ok {
		t.Fatal("the store does not keep idempotency keys")
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	exp := now.Add(24 * time.Hour)

	// A race of 8 claims: exactly one wins, the others see it running.
	var mu sync.Mutex
	wins := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			fp, ans, claimed, err := s.ClaimIdempotencyKey(e.ctx, "ws|key:1|", "k1", "fp1", now, exp)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if claimed {
				wins++
			} else if fp != "fp1" || ans != nil {
				t.Errorf("a running claim: fingerprint %q answer %q", fp, ans)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won, want 1", wins)
	}
	if err := s.CompleteIdempotencyKey(e.ctx, "ws|key:1|", "k1", []byte("sealed answer")); err != nil {
		t.Fatal(err)
	}
	fp, ans, claimed, err := s.ClaimIdempotencyKey(e.ctx, "ws|key:1|", "k1", "fp2", now, exp)
	if err != nil || claimed || fp != "fp1" || string(ans) != "sealed answer" {
		t.Errorf("after completion: %q %q %v %v", fp, ans, claimed, err)
	}
	// Released (a failed request) only while it has no answer.
	if err := s.ReleaseIdempotencyKey(e.ctx, "ws|key:1|", "k1"); err != nil {
		t.Fatal(err)
	}
	if _, ans, _, _ := s.ClaimIdempotencyKey(e.ctx, "ws|key:1|", "k1", "fp1", now, exp); string(ans) != "sealed answer" {
		t.Error("releasing removed a completed answer")
	}
	// Another scope (another key, actor or workspace) claims afresh.
	if _, _, claimed, err := s.ClaimIdempotencyKey(e.ctx, "ws|key:2|", "k1", "fp1", now, exp); !claimed || err != nil {
		t.Errorf("another scope: claimed %v, %v", claimed, err)
	}
	if _, _, claimed, _ := s.ClaimIdempotencyKey(e.ctx, "ws|key:3|", "k9", "fp", now, exp); !claimed {
		t.Fatal("claim k9")
	}
	if err := s.ReleaseIdempotencyKey(e.ctx, "ws|key:3|", "k9"); err != nil {
		t.Fatal(err)
	}
	if _, _, claimed, _ := s.ClaimIdempotencyKey(e.ctx, "ws|key:3|", "k9", "fp", now, exp); !claimed {
		t.Error("a released key cannot be claimed again")
	}
	// Past its expiry a record is gone: the key starts afresh.
	if _, _, claimed, err := s.ClaimIdempotencyKey(e.ctx, "ws|key:1|", "k1", "fp3", exp, exp.Add(24*time.Hour)); !claimed || err != nil {
		t.Errorf("after expiry: claimed %v, %v", claimed, err)
	}
}
