package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
)

// TestX4_AuditVerifyNeedsTheKey: the attack of the review, on a real
// server. Rewriting an entry in the SQLite file and recomputing the plain
// SHA-256 chain used to make "gatehouse audit verify" report the chain
// intact after a restart; with the keyed chain it fails. The key a
// server generated beside the database verifies; a wrong key does not.
func TestX4_AuditVerifyNeedsTheKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.db")
	db := "sqlite:" + path
	serveWith := func(env map[string]string) *started {
		return startServe(t, []string{"--addr", "127.0.0.1:0", "--database", db, "--admin-key", "k"}, env)
	}
	verify := func(url string, extra ...string) (int, string) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"audit", "verify", "--server", url, "--key", "k", "--workspace", "w"}, extra...),
			func(string) string { return "" }, nil, &out, &errOut)
		code := 0
		if ee, ok := err.(exitError); ok {
			code = ee.code
		} else if err != nil {
			t.Fatalf("audit verify: %v", err)
		}
		return code, out.String() + errOut.String()
	}
	stop := func(s *started) {
		s.cancel()
		if err := <-s.done; err != nil {
			t.Fatalf("serve: %v", err)
		}
		s.done <- nil // for the cleanup
	}

	s := serveWith(nil)
	keyFile := path + ".audit-key"
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("no audit key generated beside the database: %v %v", st, err)
	}
	for _, p := range []struct{ path, body string }{
		{"/v1/workspaces", `{"id":"w","name":"W","plan":"professional"}`},
		{"/v1/workspaces/w/roles", `{"name":"Rep","grants":{"leads_view":"all"}}`},
		{"/v1/workspaces/w/roles", `{"name":"Lead","grants":{"leads_view":"all"},"reason":"the original reason"}`},
		{"/v1/workspaces/w/roles", `{"name":"Other"}`},
	} {
		if code, _ := post(t, s.url+p.path, "k", p.body); code != 201 {
			t.Fatalf("POST %s: %d", p.path, code)
		}
	}
	if code, out := verify(s.url, "--require-keyed"); code != 0 || !strings.Contains(out, "every entry, with keys local-") {
		t.Fatalf("verify of the untouched chain: %d\n%s", code, out)
	}
	stop(s)

	// A wrong key with the right id.
	keys, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(strings.TrimSpace(string(keys[strings.LastIndex(string(keys[:len(keys)-1]), "\n")+1:])))[0]
	wrongLine := id + " " + strings.Repeat("A", 44)
	s = serveWith(map[string]string{"GATEHOUSE_AUDIT_KEY": wrongLine})
	if code, out := verify(s.url); code != 1 || !strings.Contains(out, "BROKEN") {
		t.Fatalf("verify with a wrong key: %d\n%s", code, out)
	}
	stop(s)

	// Rewrite the reason of the third role's entry and recompute the plain
	// chain from it on, as someone with the database but not the key.
	st2, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	es, err := st2.Audit(ctx, "w", admin.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	at := -1
	for i, e := range es {
		if e.Reason == "the original reason" {
			at = i
		}
	}
	if at < 0 {
		t.Fatal("no entry with the reason to rewrite")
	}
	prev := es[at].PrevHash
	for i := at; i < len(es); i++ {
		e := es[i]
		if i == at {
			e.Reason = "nothing to see"
		}
		e.KeyID, e.PrevHash = "", prev
		e.Hash = admin.HashAuditEntry(&e)
		prev = e.Hash
		must(t, st2.ExecRaw(ctx, fmt.Sprintf(`UPDATE audit SET reason = '%s', key_id = '', prev_hash = '%s', hash = '%s' WHERE workspace_id = 'w' AND seq = %d`,
			e.Reason, e.PrevHash, e.Hash, e.Seq)))
	}
	must(t, st2.ExecRaw(ctx, fmt.Sprintf(`UPDATE workspaces SET audit_hash = '%s' WHERE id = 'w'`, prev)))
	st2.Close()

	s = serveWith(nil) // the generated key file again
	if code, out := verify(s.url); code != 1 || !strings.Contains(out, "BROKEN") {
		t.Fatalf("verify of the rewritten chain: %d\n%s", code, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestX4_AuditKeysConfiguration: where serve takes its audit keys from.
func TestX4_AuditKeysConfiguration(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	none := func(string) string { return "" }
	line, _ := admin.NewAuditKeyLine("k1")
	env := func(k string) string {
		if k == "GATEHOUSE_AUDIT_KEY" {
			return line
		}
		return ""
	}
	if _, err := resolveAuditKeys(&serveConfig{Database: "postgres://db/x"}, none, log); err == nil || !strings.Contains(err.Error(), "audit key") {
		t.Errorf("PostgreSQL without a key started: %v", err)
	}
	if keys, err := resolveAuditKeys(&serveConfig{Database: "postgres://db/x", UnkeyedAudit: true}, none, log); err != nil || keys != nil {
		t.Errorf("--insecure-unkeyed-audit: %v %v", keys, err)
	}
	if keys, err := resolveAuditKeys(&serveConfig{Database: "postgres://db/x"}, env, log); err != nil || len(keys) != 1 || keys[0].ID != "k1" {
		t.Errorf("GATEHOUSE_AUDIT_KEY: %v %v", keys, err)
	}
	file := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(file, []byte("# keys\nold "+strings.Repeat("b", 44)+"\n"+line+"\n"), 0o600)
	if keys, err := resolveAuditKeys(&serveConfig{Database: "postgres://db/x", AuditKeyFile: file}, none, log); err != nil || len(keys) != 2 || keys[1].ID != "k1" {
		t.Errorf("--audit-key-file with a rotation: %v %v", keys, err)
	}
	if _, err := resolveAuditKeys(&serveConfig{Database: "postgres://db/x", AuditKeyFile: file}, env, log); err == nil {
		t.Error("both a key file and GATEHOUSE_AUDIT_KEY accepted")
	}
	if _, err := resolveAuditKeys(&serveConfig{Database: "postgres://db/x", AuditKeyFile: file + ".missing"}, none, log); err == nil {
		t.Error("a missing key file accepted")
	}
	for _, bad := range []string{"k1", "k1 c2hvcnQ", "bad/id " + strings.Repeat("b", 44), "a " + strings.Repeat("b", 44) + "\na " + strings.Repeat("c", 44)} {
		if _, err := admin.ParseAuditKeys(bad); err == nil {
			t.Errorf("key text %q accepted", bad)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "keygen", "--id", "k2"}, none, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if keys, err := admin.ParseAuditKeys(out.String()); err != nil || len(keys) != 1 || keys[0].ID != "k2" || len(keys[0].Secret) < 32 {
		t.Errorf("keygen printed %q: %v", out.String(), err)
	}
}
