package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// remoteWorld is a test node with workspace acme: departments sales >
// east, roles "Contacts own" and Sales rep (sales template), members ann
// (east, Contacts own), bob (sales, Sales rep) and joe (owner).
type remoteWorld struct {
	env    *apitest.Env
	dbPath string
	key    string // an admin key of acme
}

func newRemoteWorld(t *testing.T) *remoteWorld {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "gatehouse.db")
	env := apitest.Start(t, apitest.Options{Database: "sqlite:" + dbPath})
	ctx := context.Background()
	d := client.New(env.URL, apitest.AdminKey)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := d.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: client.PlanProfessional})
	must(err)
	k, _, err := d.CreateKey(ctx, "acme", client.ScopeAdmin, "cli")
	must(err)
	c := client.New(env.URL, k.Secret)
	_, _, err = c.PutDepartment(ctx, "acme", client.Department{ID: "sales", Name: "Sales"})
	must(err)
	_, _, err = c.PutDepartment(ctx, "acme", client.Department{ID: "east", Name: "East", ParentID: "sales"})
	must(err)
	_, _, err = c.CreateRole(ctx, "acme", client.RoleInput{Name: "Contacts own", Grants: policy.Grants{"contacts_view": policy.LevelOwn}})
	must(err)
	_, _, err = c.CreateRole(ctx, "acme", client.RoleInput{Name: "Sales rep", Template: "sales", Reason: "the sales team"})
	must(err)
	_, _, err = c.ImportMembers(ctx, "acme", []client.MemberInput{
		{UserID: "ann", Name: "Ann", Email: "ann@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"east"}, RoleIDs: []string{"contacts_own"}},
		{UserID: "bob", Name: "Bob", Email: "bob@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, RoleIDs: []string{"sales_rep"}},
		{UserID: "joe", Name: "Joe", Email: "joe@acme.example", Kind: policy.Internal, Owner: ptrTo(true)},
	})
	must(err)
	return &remoteWorld{env: env, dbPath: dbPath, key: k.Secret}
}

func ptrTo[T any](v T) *T { return &v }

// remoteRun is the outcome of one run of the program.
type remoteRun struct {
	stdout, stderr string
	status         int // the exit status run's error stands for
}

// run runs the program with args, the world's server, key and workspace
// in the environment (unless env overrides them) and stdin.
func (w *remoteWorld) run(t *testing.T, stdin string, env map[string]string, args ...string) remoteRun {
	t.Helper()
	vars := map[string]string{"GATEHOUSE_SERVER": w.env.URL, "GATEHOUSE_KEY": w.key, "GATEHOUSE_WORKSPACE": "acme"}
	for k, v := range env {
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return vars[k] }, strings.NewReader(stdin), &stdout, &stderr)
	out := remoteRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		out.status = ee.code
	default:
		t.Fatalf("gatehouse %s: an error without an exit status: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestClientCommands runs each client command against a live node and
// checks its output and exit status.
func TestClientCommands(t *testing.T) {
	t.Parallel()
	w := newRemoteWorld(t)
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")

	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		stdin  string
		status int
		stdout []string // substrings, in order
		stderr []string
	}{
		{name: "check allowed, positional", args: []string{"check", "bob", "contacts_view"},
			stdout: []string{"allowed     yes", "user        bob", "permission  contacts_view", "level       all", "reason      granted"}},
		{name: "check with flags, as in the README", args: []string{"check", "--user", "ann", "--permission", "contacts_view", "--owner", "bob"},
			stdout: []string{"allowed     no", "level       own", "reason      out_of_scope"}},
		{name: "check on a record, flags after the arguments", args: []string{"check", "ann", "contacts_view", "--owner", "x", "--responsible", "ann,cat"},
			stdout: []string{"allowed     yes", "reason      responsible"}},
		{name: "check JSON", args: []string{"check", "--json", "ann", "contacts_view"},
			stdout: []string{`"allowed": true`, `"level": "own"`, `"reason": "granted"`, `"revision": `}},
		{name: "check of a non-member", args: []string{"check", "zed", "contacts_view"},
			stdout: []string{"allowed     no", "reason      not_a_member"}},
		{name: "check of an unknown permission", args: []string{"check", "ann", "contact_view"}, status: 1,
			stderr: []string{`error: unknown_permission: unknown permission "contact_view"; did you mean "contacts_view"?`}},
		{name: "check without a permission", args: []string{"check", "ann"}, status: 2,
			stderr: []string{"error: invalid_argument: no permission", "usage: gatehouse check"}},
		{name: "check with too many arguments", args: []string{"check", "ann", "contacts_view", "extra"}, status: 2,
			stderr: []string{`error: invalid_argument: unexpected arguments ["extra"]`}},
		{name: "check with an unknown flag", args: []string{"check", "--nope", "ann", "contacts_view"}, status: 2,
			stderr: []string{"flag provided but not defined: -nope", "usage: gatehouse check"}},
		{name: "check without a workspace", args: []string{"check", "ann", "contacts_view"}, env: map[string]string{"GATEHOUSE_WORKSPACE": ""}, status: 2,
			stderr: []string{"error: invalid_argument: no workspace"}},
		{name: "--workspace overrides the environment", args: []string{"check", "--workspace", "other", "ann", "contacts_view"}, status: 1,
			stderr: []string{`error: not_found: no workspace "other"`}},
		{name: "a wrong key", args: []string{"check", "ann", "contacts_view"}, env: map[string]string{"GATEHOUSE_KEY": "ghk_wrong"}, status: 1,
			stderr: []string{"error: unauthenticated: "}},
		{name: "no server", args: []string{"check", "--server", deadURL, "ann", "contacts_view"}, status: 1,
			stderr: []string{"error: unavailable: " + deadURL}},
		{name: "-h", args: []string{"check", "-h"}, status: 0,
			stderr: []string{"usage: gatehouse check", "-key", "$GATEHOUSE_KEY", "-server", "$GATEHOUSE_SERVER"}},

		{name: "explain", args: []string{"explain", "--user", "ann", "--permission", "contacts_view", "--owner", "bob"},
			stdout: []string{"decision    denied (out_of_scope)", "user        ann", "permission  contacts_view (module contacts, action view)",
				"member      yes, internal", "level       own", "ROLE", "contacts_own  Contacts own", "scope:"}},
		{name: "explain JSON", args: []string{"explain", "--json", "bob", "contacts_edit"},
			stdout: []string{`"permission": "contacts_edit"`, `"roles": [`, `"role_id": "sales_rep"`}},
		{name: "explain of a non-member", args: []string{"explain", "zed", "contacts_view"},
			stdout: []string{"decision    denied (not_a_member)", "member      no"}},

		{name: "who-can", args: []string{"who-can", "--permission", "contacts_view"},
			stdout: []string{"USER  LEVEL", "ann   own", "bob   all", "joe   all", "3 members with contacts_view at own or above"}},
		{name: "who-can by pages, level all", args: []string{"who-can", "contacts_view", "--level", "all", "--page-size", "1"},
			stdout: []string{"bob   all", "joe   all", "2 members"}},
		{name: "who-can JSON", args: []string{"who-can", "--json", "contacts_export"},
			stdout: []string{`"permission": "contacts_export"`, `"user_id": "bob"`, `"user_id": "joe"`}},
		{name: "who-can with a bad level", args: []string{"who-can", "contacts_view", "--level", "most"}, status: 2,
			stderr: []string{"error: invalid_argument: --level must be"}},
		{name: "who-can of an unknown permission", args: []string{"who-can", "contact_view"}, status: 1,
			stderr: []string{"error: unknown_permission: "}},

		{name: "assign until (T1)", args: []string{"assign", "--role", "contacts_own", "--until", "72h", "bob"},
			stdout: []string{"assigned contacts_own to 1 members until "}},
		{name: "explain shows the expiry (T3)", args: []string{"explain", "bob", "contacts_view"},
			stdout: []string{"role contacts_own expires  "}},
		{name: "assign until a bad time", args: []string{"assign", "--role", "sales_rep", "--until", "friday", "ann"}, status: 2,
			stderr: []string{"error: invalid_argument: --until \"friday\""}},
		{name: "assign until the past", args: []string{"assign", "--role", "sales_rep", "--until", "2020-01-01T00:00:00Z", "ann"}, status: 1,
			stderr: []string{"error: invalid_argument: expires_at"}},

		{name: "policy export to stdout", args: []string{"policy", "export"},
			stdout: []string{"# Gatehouse policy of workspace acme", "id: contacts_own", "id: sales_rep"}},
		{name: "policy export to a file", args: []string{"policy", "export", "-o", policyFile}},
		{name: "policy import of the same file", args: []string{"policy", "import", policyFile},
			stdout: []string{"imported the policy into acme; workspace revision "}},
		{name: "policy import from stdin", args: []string{"policy", "import", "--json", "--reason", "cleanup", "-"},
			stdin: "version: 1\nroles:\n  - {id: employee, name: Employee, audience: internal, predefined: true, grants: {crm_view: own}}\n" +
				"  - {id: contacts_own, name: Contacts own, audience: internal, grants: {contacts_view: own}}\n" +
				"  - {id: sales_rep, name: Sales rep, audience: internal, grants: {contacts_view: all}}\n" +
				"departments:\n  - {id: sales, name: Sales}\n  - {id: east, name: East, parent: sales}\n",
			stdout: []string{`"workspace_revision": `}},
		{name: "policy import of a bad file", args: []string{"policy", "import", "-"}, stdin: "version: 7\n", status: 1,
			stderr: []string{"error: invalid_argument: policy file: version must be 1"}},
		{name: "policy import of a missing file", args: []string{"policy", "import", "/nonexistent/policy.yaml"}, status: 2,
			stderr: []string{"error: invalid_argument: cannot read the policy"}},
		{name: "policy without a subcommand", args: []string{"policy"}, status: 2,
			stderr: []string{"policy needs a subcommand: export or import"}},

		{name: "audit verify", args: []string{"audit", "verify"},
			stdout: []string{"workspace  acme", "entries", "chain      intact"}},
		{name: "audit verify JSON", args: []string{"audit", "verify", "--json"},
			stdout: []string{`"ok": true`, `"entries": `}},
		{name: "audit without verify", args: []string{"audit", "list"}, status: 2,
			stderr: []string{"audit needs a subcommand: verify"}},

		{name: "session-keys list", args: []string{"session-keys", "list"}, env: map[string]string{"GATEHOUSE_KEY": apitest.AdminKey},
			stdout: []string{"KEY", "SIGNS FROM", "ACCEPTED UNTIL", "SIGNING", "-  ", "yes"}},
		{name: "session-keys rotate", args: []string{"session-keys", "rotate"}, env: map[string]string{"GATEHOUSE_KEY": apitest.AdminKey, "GATEHOUSE_WORKSPACE": ""},
			stdout: []string{"KEY", "yes", "-  ", "no"}},
		{name: "session-keys list JSON", args: []string{"session-keys", "list", "--json"}, env: map[string]string{"GATEHOUSE_KEY": apitest.AdminKey},
			stdout: []string{`"id": `, `"accept_until": "`, `"signing": true`, `"accept_until": null`, `"signing": false`}},
		{name: "session-keys rotate with a workspace key", args: []string{"session-keys", "rotate"}, status: 1,
			stderr: []string{"error: forbidden: "}},
		{name: "session-keys without a subcommand", args: []string{"session-keys"}, status: 2,
			stderr: []string{"session-keys needs a subcommand: list or rotate"}},
	}
	for _, tt := range tests {
		// Sequential: the policy steps build on each other.
		t.Run(tt.name, func(t *testing.T) {
			got := w.run(t, tt.stdin, tt.env, tt.args...)
			if got.status != tt.status {
				t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", got.status, tt.status, got.stdout, got.stderr)
			}
			inOrder(t, "stdout", got.stdout, tt.stdout)
			inOrder(t, "stderr", got.stderr, tt.stderr)
			if tt.status != 0 && tt.stderr != nil && !strings.HasPrefix(got.stderr, "error: ") && !strings.HasPrefix(got.stderr, "flag provided") {
				t.Errorf("stderr does not start with the error: %q", got.stderr)
			}
			if strings.Contains(got.stdout+got.stderr, w.key) {
				t.Error("the output shows the API key")
			}
			if tt.status == 0 && got.stderr != "" && tt.stderr == nil {
				t.Errorf("unexpected stderr: %s", got.stderr)
			}
		})
	}

	t.Run("check JSON is the decision", func(t *testing.T) {
		got := w.run(t, "", nil, "check", "--json", "ann", "contacts_view", "--owner", "ann")
		var d client.Decision
		if err := json.Unmarshal([]byte(got.stdout), &d); err != nil || !d.Allowed || d.Reason != policy.ReasonOwner || d.Revision == 0 {
			t.Fatalf("decision %+v, %v: %s", d, err, got.stdout)
		}
	})
	t.Run("the exported file holds the policy", func(t *testing.T) {
		data, err := os.ReadFile(policyFile)
		if err != nil || !bytes.Contains(data, []byte("id: sales_rep")) {
			t.Fatalf("%v: %s", err, data)
		}
	})
}

// TestX4_AuditVerifyFailsOnABrokenChain alters an audit entry in the
// database behind the server's back: gatehouse audit verify must say
// where and exit 1.
func TestX4_AuditVerifyFailsOnABrokenChain(t *testing.T) {
	t.Parallel()
	w := newRemoteWorld(t)
	if got := w.run(t, "", nil, "audit", "verify"); got.status != 0 {
		t.Fatalf("verify before tampering: status %d: %s%s", got.status, got.stdout, got.stderr)
	}
	db, err := sql.Open("sqlite", w.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec("UPDATE audit SET reason = 'nothing to see' WHERE workspace_id = 'acme' AND seq = 2")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d audit rows altered", n)
	}
	got := w.run(t, "", nil, "audit", "verify")
	if got.status != 1 {
		t.Fatalf("exit status %d, want 1\n%s%s", got.status, got.stdout, got.stderr)
	}
	inOrder(t, "stdout", got.stdout, []string{"chain      BROKEN at entry 2", "problem    entry 2 was altered"})
	inOrder(t, "stderr", got.stderr, []string{"error: the audit chain of acme is broken at entry 2"})
	got = w.run(t, "", nil, "audit", "verify", "--json")
	if got.status != 1 || !strings.Contains(got.stdout, `"ok": false`) {
		t.Fatalf("JSON: status %d\n%s", got.status, got.stdout)
	}
}

// inOrder checks that text holds each of wants, in that order.
func inOrder(t *testing.T, name, text string, wants []string) {
	t.Helper()
	rest := text
	for _, want := range wants {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Errorf("%s lacks %q (in order):\n%s", name, want, text)
			return
		}
		rest = rest[i+len(want):]
	}
}
