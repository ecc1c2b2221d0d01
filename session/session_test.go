package session

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func seed(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustKeys(t testing.TB, s []byte, prev ...[]byte) *Keys {
	t.Helper()
	k, err := NewKeys(s, prev...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestA2_RoundTrip(t *testing.T) {
	k := mustKeys(t, seed(1))
	tok := k.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 7, Expires: t0.Add(time.Hour)}, t0)
	c, err := k.Verify(tok, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Workspace != "acme" || c.User != "u1" || c.Epoch != 7 || !c.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("claims %+v", c)
	}
}

func TestA2_RejectsForgedExpiredAndForeign(t *testing.T) {
	k := mustKeys(t, seed(1))
	other := mustKeys(t, seed(2))
	good := k.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 7, Expires: t0.Add(time.Hour)}, t0)
	head, sig, _ := strings.Cut(good[len(version)+1:], ".")
	forgedClaims := version + "." + strings.Replace(head, head[:4], "eyJ4", 1) + "." + sig
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	cases := map[string]string{
		"empty":            "",
		"garbage":          "not a token",
		"wrong version":    "gh0" + good[3:],
		"signature bit":    flip(good, len(good)-10),
		"claims changed":   forgedClaims,
		"signed elsewhere": other.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 7, Expires: t0.Add(time.Hour)}, t0),
		"expired":          k.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 7, Expires: t0}, t0),
		"no user":          k.Sign(Claims{Workspace: "acme", Expires: t0.Add(time.Hour)}, t0),
		"too long":         good + strings.Repeat("A", MaxTokenLen),
		"extra part":       good + ".x",
	}
	for name, tok := range cases {
		if _, err := k.Verify(tok, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestA2_RotationKeepsPreviousKeyValid(t *testing.T) {
	old := mustKeys(t, seed(1))
	tok := old.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 1, Expires: t0.Add(time.Hour)}, t0)
	rotated := mustKeys(t, seed(2), seed(1))
	if _, err := rotated.Verify(tok, t0); err != nil {
		t.Fatalf("token of the previous key: %v", err)
	}
	if _, err := mustKeys(t, seed(2)).Verify(tok, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token of a dropped key verified: %v", err)
	}
	if c, _ := rotated.Verify(rotated.Sign(Claims{Workspace: "a", User: "u", Expires: t0.Add(time.Hour)}, t0), t0); c.KeyID != idOf(seed(2)) {
		t.Fatalf("new tokens signed with %s, want %s", c.KeyID, idOf(seed(2)))
	}
}

func TestNewKeys_RejectsBadSeed(t *testing.T) {
	if _, err := NewKeys([]byte("short")); err == nil {
		t.Fatal("short seed accepted")
	}
}

func FuzzVerify(f *testing.F) {
	k := mustKeys(f, seed(1))
	f.Add(k.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 7, Expires: t0.Add(time.Hour)}, t0))
	f.Add("gh1.e30.AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := k.Verify(tok, t0)
		if err != nil {
			return
		}
		// Whatever verifies must be what was signed: re-signing the claims
		// gives the same token (Ed25519 is deterministic).
		if again := k.Sign(c, t0); again != tok {
			t.Fatalf("verified token %q is not the canonical signature %q of its claims", tok, again)
		}
	})
}

// TestA2_TokenNeverOutlivesMaxTTL: a token claiming a lifetime beyond
// MaxTTL, however it was signed, is refused.
func TestA2_TokenNeverOutlivesMaxTTL(t *testing.T) {
	k := mustKeys(t, seed(1))
	long := k.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 1, Expires: t0.Add(MaxTTL + time.Hour)}, t0)
	if _, err := k.Verify(long, t0); err == nil {
		t.Fatal("a token valid for longer than MaxTTL was accepted")
	}
	ok := k.Sign(Claims{Workspace: "acme", User: "u1", Epoch: 1, Expires: t0.Add(MaxTTL)}, t0)
	if _, err := k.Verify(ok, t0); err != nil {
		t.Fatalf("a token of MaxTTL: %v", err)
	}
}
