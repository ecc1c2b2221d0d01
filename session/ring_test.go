package session

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func idOf(seed []byte) string {
	return KeyID(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
}

func claims(exp time.Time) Claims {
	return Claims{Workspace: "acme", User: "u1", Epoch: 1, Expires: exp}
}

// A2: a rotated-out key keeps verifying the tokens it signed until they
// expire; the new key signs only after the grace period, so that every
// node knows it before its first token arrives.
func TestA2_RotationKeepsPreviousTokensUntilTheyExpire(t *testing.T) {
	const grace = 10 * time.Second
	ring := NewRing(seed(1))
	k, err := New(ring)
	if err != nil {
		t.Fatal(err)
	}
	oldTok := k.Sign(claims(t0.Add(MaxTTL)), t0)

	rotated, err := ring.Rotate(seed(2), t0, grace)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Replace(rotated); err != nil {
		t.Fatal(err)
	}
	// Within the grace period the old key still signs; a node that has not
	// read the new ring yet verifies those tokens.
	lastOld := t0.Add(grace - time.Second)
	inGrace := k.Sign(claims(lastOld.Add(MaxTTL)), lastOld)
	if c, err := k.Verify(inGrace, t0); err != nil || c.KeyID != idOf(seed(1)) {
		t.Fatalf("token signed in the grace period: %+v, %v; want key %s", c, err, idOf(seed(1)))
	}
	stale, _ := New(ring) // a node that has not read the new ring
	if _, err := stale.Verify(inGrace, t0); err != nil {
		t.Fatalf("a node with the old ring refuses a grace-period token: %v", err)
	}
	// After it the new key signs.
	newTok := k.Sign(claims(t0.Add(time.Hour)), t0.Add(grace))
	if c, err := k.Verify(newTok, t0.Add(grace)); err != nil || c.KeyID != idOf(seed(2)) {
		t.Fatalf("token after the grace period: %+v, %v; want key %s", c, err, idOf(seed(2)))
	}
	// Tokens of the previous key verify until they expire, however late
	// in the grace period they were signed.
	for _, at := range []time.Time{t0.Add(grace), t0.Add(MaxTTL - time.Second)} {
		if _, err := k.Verify(oldTok, at); err != nil {
			t.Fatalf("previous key's token at %s: %v", at, err)
		}
	}
	if _, err := k.Verify(inGrace, lastOld.Add(MaxTTL-time.Second)); err != nil {
		t.Fatalf("last token of the previous key, just before it expires: %v", err)
	}

	// Once every token of the previous key has expired, the next rotation
	// drops the key, and a forged long-lived token of it is refused.
	later := t0.Add(grace + MaxTTL)
	again, err := rotated.Rotate(seed(3), later, grace)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Keys) != 2 || idOf(again.Keys[0].Seed) != idOf(seed(2)) {
		t.Fatalf("ring after the second rotation: %d keys, first %s", len(again.Keys), idOf(again.Keys[0].Seed))
	}
	if err := k.Replace(again); err != nil {
		t.Fatal(err)
	}
	forged := mustKeys(t, seed(1)).Sign(claims(later.Add(time.Hour)), later)
	if _, err := k.Verify(forged, later); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token of a dropped key: %v", err)
	}
	if _, err := k.Verify(newTok, t0.Add(time.Hour-time.Second)); err != nil {
		t.Fatalf("token of the key rotated out the second time: %v", err)
	}
}

func TestA2_KeyNoLongerAcceptedIsRefusedEvenBeforeTokenExpiry(t *testing.T) {
	ring := Ring{Keys: []Key{
		{Seed: seed(1), SignFrom: t0.Add(-time.Hour), AcceptUntil: t0.Add(time.Minute)},
		{Seed: seed(2), SignFrom: t0},
	}}
	k, err := New(ring)
	if err != nil {
		t.Fatal(err)
	}
	tok := mustKeys(t, seed(1)).Sign(claims(t0.Add(time.Hour)), t0)
	if _, err := k.Verify(tok, t0); err != nil {
		t.Fatalf("before accept_until: %v", err)
	}
	if _, err := k.Verify(tok, t0.Add(time.Minute)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("at accept_until: %v", err)
	}
	info := k.Info(t0)
	if len(info) != 2 || info[0].Signing || !info[1].Signing || info[1].ID != idOf(seed(2)) {
		t.Fatalf("info: %+v", info)
	}
	if got := k.Info(t0.Add(time.Minute)); len(got) != 1 {
		t.Fatalf("info lists a key no longer accepted: %+v", got)
	}
}

func TestRing_RotateRefusesWhenFull(t *testing.T) {
	ring := NewRing(seed(0))
	var err error
	for i := 1; i < MaxRingKeys; i++ {
		if ring, err = ring.Rotate(seed(byte(i)), t0.Add(time.Duration(i)*time.Minute), time.Second); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
	if _, err := ring.Rotate(seed(99), t0.Add(time.Hour), time.Second); !errors.Is(err, ErrRingFull) {
		t.Fatalf("rotation into a full ring: %v", err)
	}
	if _, err := ring.Rotate([]byte("short"), t0, time.Second); err == nil {
		t.Fatal("short seed accepted")
	}
}

func TestParseRing(t *testing.T) {
	legacy, err := ParseRing(seed(7))
	if err != nil || len(legacy.Keys) != 1 || idOf(legacy.Keys[0].Seed) != idOf(seed(7)) {
		t.Fatalf("bare seed: %+v, %v", legacy, err)
	}
	r, _ := legacy.Rotate(seed(8), t0, time.Second)
	back, err := ParseRing(r.Marshal())
	if err != nil || len(back.Keys) != 2 || !back.Keys[1].SignFrom.Equal(t0.Add(time.Second)) || !back.Keys[0].AcceptUntil.Equal(t0.Add(time.Second+MaxTTL)) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for name, in := range map[string]string{
		"empty":         ``,
		"no keys":       `{"keys":[]}`,
		"short seed":    `{"keys":[{"seed":"AAAA","sign_from":"2026-01-01T00:00:00Z"}]}`,
		"unknown field": `{"keys":[],"x":1}`,
		"trailing":      string(r.Marshal()) + `{}`,
		"too many":      `{"keys":[` + strings.Repeat(`{"seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","sign_from":"2026-01-01T00:00:00Z"},`, MaxRingKeys) + `{"seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","sign_from":"2026-01-01T00:00:00Z"}]}`,
	} {
		if _, err := ParseRing([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseRing: whatever parses makes usable Keys and survives a
// round trip.
func FuzzParseRing(f *testing.F) {
	r, _ := NewRing(seed(1)).Rotate(seed(2), t0, time.Minute)
	f.Add(r.Marshal())
	f.Add(seed(3))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRing(b)
		if err != nil {
			return
		}
		k, err := New(r)
		if err != nil {
			t.Fatalf("parsed ring makes no keys: %v", err)
		}
		tok := k.Sign(claims(t0.Add(time.Hour)), t0)
		if _, err := k.Verify(tok, t0); err != nil && len(k.Info(t0)) > 0 {
			t.Fatalf("token of the ring's own signer refused: %v", err)
		}
		again, err := ParseRing(r.Marshal())
		if err != nil || len(again.Keys) != len(r.Keys) {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}
