// Package session issues and verifies Gatehouse session tokens (A2): a
// token binds a workspace, a user and the user's epoch at issue time until
// an expiry, signed with Ed25519 so that any node holding the public key
// can verify it without a database.
//
// A token is three dot-separated parts: the version "gh1", the claims as
// base64url JSON, and the base64url Ed25519 signature over the first two
// parts joined by a dot. The format is deliberately small: there is no
// algorithm field to confuse, and the key id lets signing keys rotate.
package session

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims is what a token asserts.
type Claims struct {
	Workspace string    `json:"ws"`
	User      string    `json:"sub"`
	Epoch     int64     `json:"epoch"`
	Expires   time.Time `json:"exp"`
	KeyID     string    `json:"kid"`
}

// ErrInvalid is returned for any token that is malformed, forged, signed
// by an unknown key or expired. Verification never says which: a forger
// learns nothing.
var ErrInvalid = errors.New("session token is invalid or expired")

const version = "gh1"

// MaxTokenLen bounds what Verify reads.
const MaxTokenLen = 4096

// Keys signs with one Ed25519 key and verifies with it and with any
// previous keys still accepted.
type Keys struct {
	signer ed25519.PrivateKey
	kid    string
	verify map[string]ed25519.PublicKey
}

// NewKeys returns Keys that sign with the key derived from seed (32 bytes,
// ed25519.SeedSize) and also accept tokens of the keys derived from
// previous seeds.
func NewKeys(seed []byte, previous ...[]byte) (*Keys, error) {
	k := &Keys{verify: map[string]ed25519.PublicKey{}}
	for i, s := range append([][]byte{seed}, previous...) {
		if len(s) != ed25519.SeedSize {
			return nil, fmt.Errorf("session key %d: seed has %d bytes, want %d", i, len(s), ed25519.SeedSize)
		}
		priv := ed25519.NewKeyFromSeed(s)
		pub := priv.Public().(ed25519.PublicKey)
		kid := keyID(pub)
		if i == 0 {
			k.signer, k.kid = priv, kid
		}
		k.verify[kid] = pub
	}
	return k, nil
}

// keyID names a public key by the first 8 bytes of its SHA-256.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign returns a token for c; c.KeyID is set to the signing key's.
func (k *Keys) Sign(c Claims) string {
	c.KeyID = k.kid
	c.Expires = c.Expires.UTC().Truncate(time.Second)
	payload, _ := json.Marshal(c) // Claims always marshals
	head := version + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig := ed25519.Sign(k.signer, []byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Verify checks a token's signature and expiry at now and returns its
// claims, or ErrInvalid.
func (k *Keys) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > MaxTokenLen {
		return Claims{}, ErrInvalid
	}
	ver, rest, ok := strings.Cut(token, ".")
	payloadB64, sigB64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || ver != version {
		return Claims{}, ErrInvalid
	}
	strict := base64.RawURLEncoding.Strict()
	sig, err := strict.DecodeString(sigB64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Claims{}, ErrInvalid
	}
	payload, err := strict.DecodeString(payloadB64)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	var c Claims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Claims{}, ErrInvalid
	}
	pub, ok := k.verify[c.KeyID]
	if !ok || !ed25519.Verify(pub, []byte(token[:len(ver)+1+len(payloadB64)]), sig) {
		return Claims{}, ErrInvalid
	}
	if !now.Before(c.Expires) || c.Workspace == "" || c.User == "" {
		return Claims{}, ErrInvalid
	}
	return c, nil
}
