package session

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Key is one signing key of a ring, as stored.
type Key struct {
	// Seed is the Ed25519 seed (ed25519.SeedSize bytes).
	Seed []byte `json:"seed"`
	// SignFrom is when the key starts signing. A new key is announced a
	// grace period before it signs, so that every node has it before the
	// first token it signs reaches them.
	SignFrom time.Time `json:"sign_from"`
	// AcceptUntil is when tokens of the key stop verifying; zero while the
	// key is current.
	AcceptUntil time.Time `json:"accept_until,omitzero"`
}

// Ring is the stored set of session signing keys (A2). The key that signs
// is the newest whose SignFrom has come; the others verify until their
// AcceptUntil.
type Ring struct {
	Keys []Key `json:"keys"`
}

// MaxRingKeys bounds how many keys a ring holds: rotating again while
// this many are still accepted is refused, since dropping one would cut
// off tokens it signed.
const MaxRingKeys = 8

// ErrRingFull is returned by Rotate when the ring holds MaxRingKeys keys
// that are all still accepted.
var ErrRingFull = errors.New("session key ring is full")

// NewRing returns a ring of one key that signs from the start.
func NewRing(seed []byte) Ring {
	return Ring{Keys: []Key{{Seed: seed, SignFrom: time.Unix(0, 0).UTC()}}}
}

// ParseRing reads a stored ring. A bare 32-byte value is the single seed
// stored before keys could rotate.
func ParseRing(b []byte) (Ring, error) {
	if len(b) == ed25519.SeedSize {
		return NewRing(bytes.Clone(b)), nil
	}
	var r Ring
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Ring{}, fmt.Errorf("session key ring: %w", err)
	}
	if dec.More() {
		return Ring{}, errors.New("session key ring: data after the ring")
	}
	if len(r.Keys) == 0 || len(r.Keys) > MaxRingKeys {
		return Ring{}, fmt.Errorf("session key ring: %d keys, want 1 to %d", len(r.Keys), MaxRingKeys)
	}
	for i, k := range r.Keys {
		if len(k.Seed) != ed25519.SeedSize {
			return Ring{}, fmt.Errorf("session key ring: key %d has a %d-byte seed, want %d", i, len(k.Seed), ed25519.SeedSize)
		}
	}
	return r, nil
}

// Marshal encodes r for storage.
func (r Ring) Marshal() []byte {
	b, _ := json.Marshal(r) // a Ring always marshals
	return b
}

// Rotate returns a ring in which seed's key signs from now+grace, the keys
// that sign until then stay accepted for MaxTTL more (so every token they
// sign can live out its time) and keys no longer accepted at now are
// dropped.
func (r Ring) Rotate(seed []byte, now time.Time, grace time.Duration) (Ring, error) {
	if len(seed) != ed25519.SeedSize {
		return Ring{}, fmt.Errorf("session key: seed has %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	now = now.UTC().Truncate(time.Second)
	signFrom := now.Add(grace)
	until := signFrom.Add(MaxTTL)
	var out Ring
	for _, k := range r.Keys {
		if !k.AcceptUntil.IsZero() && !now.Before(k.AcceptUntil) {
			continue
		}
		if k.AcceptUntil.IsZero() || k.AcceptUntil.After(until) {
			k.AcceptUntil = until
		}
		out.Keys = append(out.Keys, k)
	}
	if len(out.Keys) >= MaxRingKeys {
		first := until
		for _, k := range out.Keys {
			if k.AcceptUntil.Before(first) {
				first = k.AcceptUntil
			}
		}
		return Ring{}, fmt.Errorf("%w: %d keys are still accepted; the first one is dropped at %s", ErrRingFull,
			len(out.Keys), first.Format(time.RFC3339))
	}
	out.Keys = append(out.Keys, Key{Seed: seed, SignFrom: signFrom})
	return out, nil
}
