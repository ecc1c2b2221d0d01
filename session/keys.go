package session

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Keys signs and verifies tokens with the keys of a Ring. The ring can be
// replaced while tokens are being verified: Sign and Verify read it
// through an atomic pointer, without a lock.
type Keys struct {
	set atomic.Pointer[keySet]
}

// keySet is one ring, prepared for signing and verifying.
type keySet struct {
	keys []*key // by SignFrom, oldest first
	byID map[string]*key
}

type key struct {
	id          string
	priv        ed25519.PrivateKey
	pub         ed25519.PublicKey
	signFrom    time.Time
	acceptUntil time.Time // zero: no end
}

func (k *key) accepts(now time.Time) bool {
	return k.acceptUntil.IsZero() || now.Before(k.acceptUntil)
}

// New returns Keys for ring.
func New(r Ring) (*Keys, error) {
	k := &Keys{}
	if err := k.Replace(r); err != nil {
		return nil, err
	}
	return k, nil
}

// NewKeys returns Keys that sign with the key derived from seed (32 bytes,
// ed25519.SeedSize) and also accept tokens of the keys derived from
// previous seeds, without an end.
func NewKeys(seed []byte, previous ...[]byte) (*Keys, error) {
	r := Ring{Keys: []Key{{Seed: seed, SignFrom: time.Unix(1, 0).UTC()}}}
	for _, p := range previous {
		r.Keys = append(r.Keys, Key{Seed: p})
	}
	return New(r)
}

// Replace makes r the ring that signs and verifies from now on.
func (k *Keys) Replace(r Ring) error {
	if len(r.Keys) == 0 {
		return errors.New("session key ring is empty")
	}
	set := &keySet{byID: make(map[string]*key, len(r.Keys))}
	for i, rk := range r.Keys {
		if len(rk.Seed) != ed25519.SeedSize {
			return fmt.Errorf("session key %d: seed has %d bytes, want %d", i, len(rk.Seed), ed25519.SeedSize)
		}
		priv := ed25519.NewKeyFromSeed(rk.Seed)
		pub := priv.Public().(ed25519.PublicKey)
		kk := &key{id: KeyID(pub), priv: priv, pub: pub, signFrom: rk.SignFrom, acceptUntil: rk.AcceptUntil}
		set.keys = append(set.keys, kk)
		set.byID[kk.id] = kk
	}
	slices.SortStableFunc(set.keys, func(a, b *key) int { return a.signFrom.Compare(b.signFrom) })
	k.set.Store(set)
	return nil
}

// signer is the key that signs at now: the newest one whose SignFrom has
// come and that is still accepted. When none qualifies (a ring written by
// a node whose clock is ahead) the earliest accepted key signs, so that
// signing never fails.
func (s *keySet) signer(now time.Time) *key {
	for i := len(s.keys) - 1; i >= 0; i-- {
		if k := s.keys[i]; !k.signFrom.After(now) && k.accepts(now) {
			return k
		}
	}
	for _, k := range s.keys {
		if k.accepts(now) {
			return k
		}
	}
	return s.keys[0]
}

// KeyInfo describes a key of the ring; it never carries key material.
type KeyInfo struct {
	ID          string
	SignFrom    time.Time
	AcceptUntil time.Time // zero: no end
	Signing     bool      // the key that signs at the time asked
}

// Info lists the keys accepted at now, oldest first.
func (k *Keys) Info(now time.Time) []KeyInfo {
	set := k.set.Load()
	signer := set.signer(now)
	var out []KeyInfo
	for _, kk := range set.keys {
		if kk.accepts(now) {
			out = append(out, KeyInfo{ID: kk.id, SignFrom: kk.signFrom, AcceptUntil: kk.acceptUntil, Signing: kk == signer})
		}
	}
	return out
}

// KeyID names a public key by the first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// MACKey returns a key for MACs made for purpose, derived from the key
// that signs at now, and that key's id: values other than tokens (the
// console's cookies) are signed with the ring and rotate with it.
func (k *Keys) MACKey(purpose string, now time.Time) (id string, mac []byte) {
	signer := k.set.Load().signer(now)
	return signer.id, signer.derive(purpose)
}

// MACKeyByID returns the MAC key for purpose derived from key id, when
// that key is accepted at now.
func (k *Keys) MACKeyByID(id, purpose string, now time.Time) ([]byte, bool) {
	kk := k.set.Load().byID[id]
	if kk == nil || !kk.accepts(now) {
		return nil, false
	}
	return kk.derive(purpose), true
}

// derive makes a key for purpose from the key's seed, so that the
// Ed25519 key itself is used for nothing but tokens.
func (k *key) derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.priv.Seed())
	m.Write([]byte("gatehouse derived key\x00" + purpose))
	return m.Sum(nil)
}
