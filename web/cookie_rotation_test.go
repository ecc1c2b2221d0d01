package web

import (
	"bytes"
	"testing"
	"time"

	keyring "github.com/gatehouse-authz/gatehouse/session"
)

// A2 for the console: a cookie signed before the session key ring rotates
// stays valid until it expires; once its key is dropped it is refused,
// and new cookies are signed with the new key after the grace period.
func TestA2_ConsoleCookiesSurviveKeyRotation(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	now := t0
	ring := keyring.NewRing(bytes.Repeat([]byte{1}, 32))
	keys, err := keyring.New(ring)
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{keys: keys, adminKey: "k", now: func() time.Time { return now }}
	old := c.encodeSession(session{KeyID: "k1", Workspace: "acme", CSRF: "t", Expires: t0.Add(sessionTTL).Unix()})

	const grace = 10 * time.Second
	rotated, err := ring.Rotate(bytes.Repeat([]byte{2}, 32), t0, grace)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Replace(rotated); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(grace)
	fresh := c.encodeSession(session{KeyID: "k1", Workspace: "acme", CSRF: "t", Expires: now.Add(sessionTTL).Unix()})
	s, err := c.decodeSession(fresh)
	if err != nil {
		t.Fatalf("a cookie signed after the rotation: %v", err)
	}
	first, _ := c.decodeSession(old)
	if s.SignedBy == first.SignedBy || s.SignedBy != keys.Info(now)[1].ID {
		t.Fatalf("new cookies signed by %q, the previous key is %q, want the new key %q", s.SignedBy, first.SignedBy, keys.Info(now)[1].ID)
	}
	now = t0.Add(sessionTTL - time.Second)
	if _, err := c.decodeSession(old); err != nil {
		t.Fatalf("a cookie of the previous key before it expires: %v", err)
	}

	// A forged cookie naming the previous key, long after the key was
	// dropped, is refused even though it claims a later expiry.
	later := t0.Add(grace + keyring.MaxTTL)
	again, err := rotated.Rotate(bytes.Repeat([]byte{3}, 32), later, grace)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Replace(again); err != nil {
		t.Fatal(err)
	}
	oldKeys, _ := keyring.New(ring)
	now = later
	forged := (&Console{keys: oldKeys, adminKey: "k", now: func() time.Time { return later }}).encodeSession(
		session{KeyID: "k1", Workspace: "acme", CSRF: "t", Expires: later.Add(time.Hour).Unix()})
	if _, err := c.decodeSession(forged); err == nil {
		t.Fatal("a cookie of a dropped key was accepted")
	}
}
