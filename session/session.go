// Package session issues and verifies Gatehouse session tokens (A2): a
// token binds a workspace, a user and the user's epoch at issue time until
// an expiry, signed with Ed25519 so that any node holding the public key
// can verify it without a database. Signing keys rotate (ring.go): a key
// ring names which key signs from when and until when each is accepted.
//
// A token is three dot-separated parts: the version "gh1", the claims as
// base64url JSON, and the base64url Ed25519 signature over the first two
// parts joined by a dot. The format is deliberately small: there is no
// algorithm field to confuse, and the key id lets signing keys rotate.
package session

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
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

// MaxTTL bounds a token's lifetime. A rotated-out key stays accepted this
// long after its successor starts signing, so every token it signed can
// live out its time.
const MaxTTL = 24 * time.Hour

// Sign returns a token for c signed with the key that signs at now;
// c.KeyID is set to that key's id.
func (k *Keys) Sign(c Claims, now time.Time) string {
	signer := k.set.Load().signer(now)
	c.KeyID = signer.id
	c.Expires = c.Expires.UTC().Truncate(time.Second)
	payload, _ := json.Marshal(c) // Claims always marshals
	head := version + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig := ed25519.Sign(signer.priv, []byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Verify checks a token's signature, its key's acceptance and its expiry
// at now and returns its claims, or ErrInvalid.
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
	key := k.set.Load().byID[c.KeyID]
	if key == nil || !key.accepts(now) || !ed25519.Verify(key.pub, []byte(token[:len(ver)+1+len(payloadB64)]), sig) {
		return Claims{}, ErrInvalid
	}
	// A token never outlives MaxTTL (with a minute for clock skew between
	// nodes), whatever lifetime it claims: one signed with a longer or an
	// overflowed lifetime by any path is refused (A2).
	if !now.Before(c.Expires) || c.Expires.Sub(now) > MaxTTL+time.Minute || c.Workspace == "" || c.User == "" {
		return Claims{}, ErrInvalid
	}
	return c, nil
}
