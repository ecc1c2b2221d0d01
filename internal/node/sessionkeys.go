package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/session"
)

// DefaultKeyGrace is how long a new session signing key is announced
// before it signs: longer than the poll interval at which the other nodes
// read the ring, plus clock skew between nodes.
const DefaultKeyGrace = 10 * time.Second

// sessionKeys keeps the node's session signing keys in step with the ring
// stored in the database, shared by every node of a deployment.
type sessionKeys struct {
	store secrets
	keys  *session.Keys
	grace time.Duration
	log   *slog.Logger

	mu   sync.Mutex // serializes applying stored values
	last []byte     // the stored value the keys were built from
}

func openSessionKeys(ctx context.Context, st secrets, grace time.Duration, log *slog.Logger) (*sessionKeys, error) {
	if grace <= 0 {
		grace = DefaultKeyGrace
	}
	stored, err := storedRing(ctx, st)
	if err != nil {
		return nil, err
	}
	ring, err := session.ParseRing(stored)
	if err != nil {
		return nil, err
	}
	keys, err := session.New(ring)
	if err != nil {
		return nil, err
	}
	return &sessionKeys{store: st, keys: keys, grace: grace, log: log, last: stored}, nil
}

// secrets is what the session keys need of the store: the deployment's
// shared secrets, read and changed by compare-and-set.
type secrets interface {
	Secret(ctx context.Context, name string, generate func() []byte) ([]byte, error)
	UpdateSecret(ctx context.Context, name string, update func(old []byte) ([]byte, error)) ([]byte, error)
}

// storedRing reads the stored ring, storing a new one on first start.
func storedRing(ctx context.Context, st secrets) ([]byte, error) {
	return st.Secret(ctx, sessionSecret, func() []byte { return session.NewRing(newSeed()).Marshal() })
}

func newSeed() []byte {
	b := make([]byte, ed25519.SeedSize)
	rand.Read(b)
	return b
}

// apply makes stored the node's ring unless it already is.
func (k *sessionKeys) apply(stored []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if bytes.Equal(stored, k.last) {
		return nil
	}
	ring, err := session.ParseRing(stored)
	if err != nil {
		return err
	}
	if err := k.keys.Replace(ring); err != nil {
		return err
	}
	k.last = stored
	return nil
}

// refresh reads the stored ring and applies it.
func (k *sessionKeys) refresh(ctx context.Context) error {
	stored, err := storedRing(ctx, k.store)
	if err != nil {
		return err
	}
	return k.apply(stored)
}

// RotateSessionKey implements httpapi.KeyRotator.
func (k *sessionKeys) RotateSessionKey(ctx context.Context) error {
	seed := newSeed()
	stored, err := k.store.UpdateSecret(ctx, sessionSecret, func(old []byte) ([]byte, error) {
		ring, err := session.ParseRing(old)
		if err != nil {
			return nil, err
		}
		next, err := ring.Rotate(seed, time.Now(), k.grace)
		if err != nil {
			return nil, err
		}
		return next.Marshal(), nil
	})
	if errors.Is(err, session.ErrRingFull) {
		return policy.Errorf(policy.CodeUnavailable, "%v; rotate again once it is dropped", err)
	}
	if err != nil {
		return fmt.Errorf("rotate session key: %w", err)
	}
	if err := k.apply(stored); err != nil {
		return fmt.Errorf("rotate session key: %w", err)
	}
	k.log.Info("session signing key rotated", "key", session.KeyID(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)),
		"signs_from", time.Now().Add(k.grace).UTC().Truncate(time.Second))
	return nil
}

// follow re-reads the ring every interval until ctx ends, so that a
// rotation made on another node reaches this one.
func (k *sessionKeys) follow(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.refresh(ctx); err != nil && ctx.Err() == nil {
				k.log.Warn("read session keys", "err", err)
			}
		}
	}
}
