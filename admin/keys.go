package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// KeyScope is what a workspace API key may do (X2).
type KeyScope string

// The scopes of X2.
const (
	ScopeCheck KeyScope = "check" // decisions only
	ScopeAdmin KeyScope = "admin" // decisions and administration
)

// APIKey is a workspace API key as stored: never its secret, only the
// secret's SHA-256 (X2). The secret is 256 random bits, so a plain hash is
// as strong as a slow one and keeps authentication off the CPU budget of a
// check.
type APIKey struct {
	ID        string
	Workspace string
	Scope     KeyScope
	Name      string
	Hash      []byte
	CreatedAt time.Time
	CreatedBy string
}

// keyPrefix starts every API key so that secret scanners and people can
// recognise one; the key id follows, then the secret.
const keyPrefix = "ghk_"

// CreateKey creates a workspace API key (X2) and returns it with its
// token, which is shown this once and never stored.
func (s *Service) CreateKey(ctx context.Context, ws string, w Write, scope KeyScope, name string) (APIKey, string, int64, error) {
	if scope != ScopeCheck && scope != ScopeAdmin {
		return APIKey{}, "", 0, &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("key scope %q is not one of check, admin", scope), Details: map[string]any{"field": "scope"}}
	}
	name = strings.TrimSpace(name)
	if len(name) > 100 {
		return APIKey{}, "", 0, policy.Errorf(policy.CodeInvalidArgument, "a key name has at most 100 characters")
	}
	var id [8]byte
	var secret [32]byte
	rand.Read(id[:])
	rand.Read(secret[:])
	token := keyPrefix + hex.EncodeToString(id[:]) + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256(secret[:])
	var key APIKey
	v, err := s.update(ctx, ws, w, "key.create", func(v *view) error {
		key = APIKey{ID: hex.EncodeToString(id[:]), Workspace: ws, Scope: scope, Name: name, Hash: sum[:],
			CreatedAt: v.now, CreatedBy: v.actor.AuditName()}
		v.keys[key.ID] = &key
		v.keysPut = append(v.keysPut, key.ID)
		v.record("key.create", "key:"+key.ID, nil, keyJSON(&key))
		return nil
	})
	if err != nil {
		return APIKey{}, "", 0, err
	}
	return key, token, v.ws.Revision, nil
}

// RevokeKey deletes a workspace API key; requests made with it fail from
// then on.
func (s *Service) RevokeKey(ctx context.Context, ws string, w Write, id string) (int64, error) {
	v, err := s.update(ctx, ws, w, "key.revoke", func(v *view) error {
		k, ok := v.keys[id]
		if !ok {
			return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no key %q in this workspace", id),
				Details: map[string]any{"key_id": id}}
		}
		delete(v.keys, id)
		v.keysDeleted = append(v.keysDeleted, id)
		v.record("key.revoke", "key:"+id, keyJSON(k), nil)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// Keys lists a workspace's API keys, oldest first, without secrets.
func (s *Service) Keys(ctx context.Context, ws string) ([]APIKey, error) {
	var out []APIKey
	err := s.read(ctx, ws, func(m *model) error {
		for _, k := range m.keys {
			out = append(out, *k)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b APIKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out, err
}

// Authenticate returns the API key a bearer token belongs to, or
// unauthenticated. It reads an immutable index, takes no lock and touches
// no database: it is on the path of every check. The comparison of the
// secret's hash is constant-time.
func (s *Service) Authenticate(token string) (APIKey, error) {
	rest, ok := strings.CutPrefix(token, keyPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 || len(secret) != 43 {
		return APIKey{}, errBadKey
	}
	k, found := (*s.keys.Load())[id]
	var raw [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(secret))
	sum := sha256.Sum256(raw[:])
	want := sum[:]
	if found {
		want = k.Hash
	}
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || !found || err != nil || n != 32 {
		return APIKey{}, errBadKey
	}
	return *k, nil
}

var errBadKey = &policy.Error{Code: policy.CodeUnauthenticated, Message: "the API key is not valid"}

// indexKeys replaces the keys of workspace ws in the authentication index
// with keys. Writers of one workspace are serialized by its lock; the
// index's own mutex orders writers of different workspaces.
func (s *Service) indexKeys(ws string, keys map[string]*APIKey) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	old := *s.keys.Load()
	next := make(map[string]*APIKey, len(old)+len(keys))
	for id, k := range old {
		if k.Workspace != ws {
			next[id] = k
		}
	}
	maps.Copy(next, keys)
	s.keys.Store(&next)
}

func keyJSON(k *APIKey) map[string]any {
	return map[string]any{"id": k.ID, "scope": k.Scope, "name": k.Name, "created_by": k.CreatedBy}
}

// KeyByID returns a workspace API key by id from the same immutable index
// Authenticate reads. The console uses it to end a session whose key was
// revoked.
func (s *Service) KeyByID(id string) (APIKey, bool) {
	k, ok := (*s.keys.Load())[id]
	if !ok {
		return APIKey{}, false
	}
	return *k, true
}
