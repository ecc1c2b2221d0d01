package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// keyOf returns the id of the key that signed a session token.
func keyOf(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", token, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c.KID
}

// A2, issue 7: rotating the session signing key on one node of two keeps
// every token signed before valid on both; the other node learns the new
// key from the database before it signs, and both move to it.
func TestCluster_A2_SessionKeyRotationReachesEveryNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers on PostgreSQL")
	}
	_, dsn := pgtest.Schema(t, pgtest.Shared(t), "keys", t.Cleanup)
	dir := t.TempDir()
	const grace = 2 * time.Second
	nodes := []*clusterNode{
		{name: "A", addr: freeAddr(t), dsn: dsn, log: filepath.Join(dir, "a.log"), extra: []string{"--session-key-grace", grace.String()}},
		{name: "B", addr: freeAddr(t), dsn: dsn, log: filepath.Join(dir, "b.log"), extra: []string{"--session-key-grace", grace.String()}},
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.start(t) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, n := range nodes {
			n.kill(t)
			if t.Failed() {
				t.Logf("node %s log:\n%s", n.name, n.tail())
			}
		}
	})
	ctx := context.Background()
	a, b := nodes[0].client(), nodes[1].client()
	if _, _, err := a.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: "professional"}); err != nil {
		t.Fatal(err)
	}
	role, _, err := a.CreateRole(ctx, "acme", client.RoleInput{Name: "Rep", Grants: policy.Grants{"deals_view": policy.LevelAll}})
	if err != nil {
		t.Fatal(err)
	}
	_, rev, err := a.PutMember(ctx, "acme", client.MemberInput{UserID: "ann", RoleIDs: []string{role.ID}})
	if err != nil {
		t.Fatal(err)
	}
	before, err := a.CreateSession(ctx, "acme", "ann", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// allowed asks node c with the token; any refusal of the token fails.
	allowed := func(c *client.Client, node, token, when string) {
		t.Helper()
		d, err := c.Check(ctx, "acme", client.CheckRequest{Session: token, Permission: "deals_view", MinRevision: rev})
		if err != nil || !d.Allowed {
			t.Fatalf("%s: check on %s with a token of key %s: %+v, %v", when, node, keyOf(t, token), d, err)
		}
	}
	allowed(b, "B", before.Token, "before rotation")
	oldKey := keyOf(t, before.Token)

	keys, err := b.RotateSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != oldKey || !keys[0].Signing || keys[0].AcceptUntil == nil ||
		keys[1].Signing || keys[1].AcceptUntil != nil {
		t.Fatalf("keys after rotation on B: %+v", keys)
	}
	newKey := keys[1].ID
	if want := keys[1].SignFrom.Add(24 * time.Hour); !keys[0].AcceptUntil.Equal(want) {
		t.Fatalf("previous key accepted until %s, want %s (sign_from + the longest session)", keys[0].AcceptUntil, want)
	}
	// The ring never shows key material.
	raw, _ := json.Marshal(keys)
	if bytes.Contains(raw, []byte("seed")) {
		t.Fatalf("key listing carries seeds: %s", raw)
	}

	// During the grace period A still signs with the old key, and B
	// accepts it; then A signs with the new key, which B knew already.
	inGrace, err := a.CreateSession(ctx, "acme", "ann", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if k := keyOf(t, inGrace.Token); k != oldKey {
		t.Fatalf("token issued on A within the grace period is signed by %s, want the old key %s", k, oldKey)
	}
	allowed(b, "B", inGrace.Token, "token from the grace period")
	time.Sleep(grace + 300*time.Millisecond)
	var after *client.Session
	waitFor(t, "A signs with the rotated-in key", func() bool {
		after, err = a.CreateSession(ctx, "acme", "ann", time.Hour)
		return err == nil && keyOf(t, after.Token) == newKey
	})
	for i, c := range []*client.Client{a, b} {
		node := nodes[i].name
		allowed(c, node, before.Token, "token of the previous key after rotation")
		allowed(c, node, inGrace.Token, "grace-period token after rotation")
		allowed(c, node, after.Token, "token of the new key")
	}
	listed, err := a.SessionKeys(ctx)
	if err != nil || len(listed) != 2 || listed[0].Signing || !listed[1].Signing || listed[1].ID != newKey {
		t.Fatalf("keys on A after the grace period: %+v, %v", listed, err)
	}

	// A restarted node reads the ring and keeps accepting both keys.
	nodes[0].kill(t)
	nodes[0].start(t)
	allowed(a, "A (restarted)", before.Token, "token of the previous key after a restart")
	allowed(a, "A (restarted)", after.Token, "token of the new key after a restart")
}
