package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/session"
)

// TestSecrets_NeverInLogsErrorsOrMetrics drives a server logging at debug
// level (every request) through key creation, sessions, decisions with
// keys and tokens, wrong and revoked keys, and then greps everything it
// said — its log, /metrics, and the error answers — for the deployment
// admin key, the workspace keys, the session tokens and the stored signing
// secrets: none may appear.
func TestSecrets_NeverInLogsErrorsOrMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	n := &clusterNode{name: "secrets", addr: freeAddr(t), dsn: "sqlite:" + db, log: filepath.Join(dir, "node.log"),
		extra: []string{"--log-level", "debug", "--metrics-per-workspace"}}
	n.start(t)
	t.Cleanup(func() { n.kill(t) })
	ctx := context.Background()
	c := n.client()
	secrets := []string{clusterKey}
	var said strings.Builder

	if _, _, err := c.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: "professional"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PutMember(ctx, "acme", client.MemberInput{UserID: "ann"}); err != nil {
		t.Fatal(err)
	}
	adminKey, _, err := c.CreateKey(ctx, "acme", "admin", "ops")
	if err != nil {
		t.Fatal(err)
	}
	checkKey, _, err := c.CreateKey(ctx, "acme", "check", "backend")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, adminKey.Secret, checkKey.Secret)
	kc := client.New(n.url(), checkKey.Secret, client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	sess, err := kc.CreateSession(ctx, "acme", "ann", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, sess.Token)
	if _, err := kc.Check(ctx, "acme", client.CheckRequest{Session: sess.Token, Permission: "deals_view"}); err != nil {
		t.Fatal(err)
	}
	// Failures that involve a secret: a tampered token, a wrong key, a
	// revoked key, the admin key where a workspace key is expected.
	_, err = kc.Check(ctx, "acme", client.CheckRequest{Session: sess.Token + "x", Permission: "deals_view"})
	said.WriteString(errText(err))
	wrong := client.New(n.url(), checkKey.Secret+"0", client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	_, err = wrong.Check(ctx, "acme", client.CheckRequest{User: "ann", Permission: "deals_view"})
	said.WriteString(errText(err))
	if _, err := c.RevokeKey(ctx, "acme", checkKey.ID); err != nil {
		t.Fatal(err)
	}
	_, err = kc.Check(ctx, "acme", client.CheckRequest{User: "ann", Permission: "deals_view"})
	said.WriteString(errText(err))
	_, _, err = kc.PutMember(ctx, "acme", client.MemberInput{UserID: "bob"})
	said.WriteString(errText(err))
	// A rotation of the session signing key is logged, by key id only.
	if _, err := c.RotateSessionKey(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := c.SessionKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(keys)
	said.Write(raw)
	for _, url := range []string{n.metricsURL(), n.url() + "/readyz", n.url() + "/healthz"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		said.Write(b)
	}
	n.kill(t)
	log, err := os.ReadFile(n.log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"msg"`) {
		t.Fatalf("the server logged nothing to search:\n%s", log)
	}
	said.Write(log)

	// The signing secrets as stored, in every encoding they might leak in.
	sq, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	rows, err := sq.Query("SELECT value FROM secrets")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		values := [][]byte{v}
		if ring, err := session.ParseRing(v); err == nil {
			for _, k := range ring.Keys {
				values = append(values, k.Seed)
			}
		}
		for _, v := range values {
			secrets = append(secrets, hex.EncodeToString(v), base64.StdEncoding.EncodeToString(v), base64.RawURLEncoding.EncodeToString(v))
		}
	}
	rows.Close()
	if len(secrets) < 13 {
		t.Fatalf("only %d secrets to look for", len(secrets))
	}
	for _, secret := range secrets {
		// A workspace key is "<prefix><id>_<secret>": its id may be logged,
		// its secret part never.
		if _, tail, ok := strings.Cut(strings.TrimPrefix(secret, "ghk_"), "_"); ok && strings.HasPrefix(secret, "ghk_") {
			secret = tail
		}
		if strings.Contains(said.String(), secret) {
			t.Errorf("a secret (%.6s…) appears in the server's log, metrics or error answers", secret)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error() + "\n"
}
