package storetest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testX2Keys: keys are stored hashed, authenticate after a restart, are
// audited, and stop working once revoked; a key names its workspace.
func testX2Keys(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("a", admin.PlanFree)
	e.workspace("b", admin.PlanFree)
	k, token, rev, err := e.svc.CreateKey(e.ctx, "a", admin.Write{}, admin.ScopeCheck, "backend")
	if err != nil {
		t.Fatal(err)
	}
	if rev != e.revision("a") || k.Workspace != "a" || k.Scope != admin.ScopeCheck {
		t.Fatalf("key %+v at revision %d", k, rev)
	}
	if bytes.Contains(k.Hash, []byte(token)) || strings.Contains(string(k.Hash), token[len(token)-43:]) {
		t.Fatal("the stored key holds its secret")
	}
	_, _, _, err = e.svc.CreateKey(e.ctx, "a", admin.Write{}, "root", "")
	wantCode(t, err, policy.CodeInvalidArgument)

	restarted, _ := e.service()
	if err := restarted.Open(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*admin.Service{e.svc, restarted} {
		got, err := svc.Authenticate(token)
		if err != nil || got.ID != k.ID || got.Workspace != "a" || got.Scope != admin.ScopeCheck {
			t.Fatalf("authenticate: %+v, %v", got, err)
		}
		i := len(token) - 43 // the secret's first character
		c := byte('A')
		if token[i] == 'A' {
			c = 'B'
		}
		forged := token[:i] + string(c) + token[i+1:]
		// Base64 has spare bits in the last character: strict decoding
		// makes a token that differs only there a different token.
		lastBits := token[:len(token)-1] + string(token[len(token)-1]^1)
		for _, bad := range []string{"", "ghk_", token + "x", forged, lastBits, "ghk_0000000000000000_" + token[len(token)-43:]} {
			if _, err := svc.Authenticate(bad); policy.ErrorCode(err) != policy.CodeUnauthenticated {
				t.Errorf("authenticate %q: %v, want unauthenticated", bad, err)
			}
		}
	}
	keys, err := restarted.Keys(e.ctx, "a")
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].Name != "backend" {
		t.Fatalf("keys after restart: %+v, %v", keys, err)
	}
	if keys, _ := restarted.Keys(e.ctx, "b"); len(keys) != 0 {
		t.Errorf("workspace b lists a's keys: %+v", keys)
	}
	entries, err := e.svc.Audit(e.ctx, "a", admin.Actor{}, admin.AuditFilter{Target: "key:" + k.ID})
	if err != nil || len(entries) != 1 || entries[0].Action != "key.create" || strings.Contains(string(entries[0].After), token) {
		t.Fatalf("audit of key creation: %+v, %v", entries, err)
	}

	_, err = restarted.RevokeKey(e.ctx, "b", admin.Write{}, k.ID)
	wantCode(t, err, policy.CodeNotFound)
	if _, err := restarted.RevokeKey(e.ctx, "a", admin.Write{}, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Authenticate(token); policy.ErrorCode(err) != policy.CodeUnauthenticated {
		t.Errorf("revoked key authenticates: %v", err)
	}
	again, _ := e.service()
	if err := again.Open(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Authenticate(token); policy.ErrorCode(err) != policy.CodeUnauthenticated {
		t.Errorf("revoked key authenticates after a restart: %v", err)
	}
}

// testSecrets: one value per name, whoever asks first, however many ask
// at once.
func testSecrets(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const n = 8
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := e.store.Secret(e.ctx, "signing", func() []byte { return []byte{byte(i), 1, 2, 3} })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i := range n {
		if len(got[i]) != 4 || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("secret values differ: %v", got)
		}
	}
	other, err := e.store.Secret(e.ctx, "other", func() []byte { return []byte("x") })
	if err != nil || string(other) != "x" {
		t.Fatalf("second secret: %q, %v", other, err)
	}
}

// testUpdateSecret: concurrent updates all count (none is lost to another
// that read the same value), an update's error leaves the value alone,
// and a missing secret is reported.
func testUpdateSecret(t *testing.T, h Harness) {
	e := newEnv(t, h)
	if _, err := e.store.UpdateSecret(e.ctx, "ring", func(old []byte) ([]byte, error) { return old, nil }); !errors.Is(err, admin.ErrSecretMissing) {
		t.Fatalf("update of a missing secret: %v, want ErrSecretMissing", err)
	}
	if _, err := e.store.Secret(e.ctx, "ring", func() []byte { return []byte("-") }); err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := e.store.UpdateSecret(e.ctx, "ring", func(old []byte) ([]byte, error) {
				return append(bytes.Clone(old), byte('a'+i)), nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := e.store.Secret(e.ctx, "ring", nil)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if string(sorted) != "-abcdef" {
		t.Fatalf("after %d concurrent updates the secret is %q, want each update once", n, got)
	}
	refuse := errors.New("refused")
	if _, err := e.store.UpdateSecret(e.ctx, "ring", func([]byte) ([]byte, error) { return nil, refuse }); !errors.Is(err, refuse) {
		t.Fatalf("update's error: %v", err)
	}
	if again, _ := e.store.Secret(e.ctx, "ring", nil); !bytes.Equal(again, got) {
		t.Fatalf("a refused update changed the secret: %q", again)
	}
}
