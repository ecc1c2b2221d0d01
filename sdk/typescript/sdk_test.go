package typescript_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// TestTypeScriptSDK builds the SDK (types generated from httpapi/openapi.yaml
// by openapi-typescript, then tsc) and runs its tests with Node against a
// real Gatehouse server, and its filter → SQL against the PostgreSQL of
// GATEHOUSE_TEST_POSTGRES when set (scripts/postgres sets it) and, for
// conditional grants (G4), against SQLite (sql.js, in Node) too. Node and
// npm come from Debian (scripts/test installs them); without them the
// test skips, and fails when CI is set.
func TestTypeScriptSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("the TypeScript SDK's tests install npm packages and run Node")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; the test command installs it from Debian's packages (apt-get install nodejs npm)", tool)
			}
			t.Skipf("%s is not installed (apt-get install nodejs npm); CI runs this test", tool)
		}
	}
	if os.Getenv("CI") != "" && os.Getenv("GATEHOUSE_TEST_POSTGRES") == "" {
		t.Fatal("GATEHOUSE_TEST_POSTGRES is not set: run through ./scripts/postgres, which CI does")
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	npm := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "npm", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("npm %v: %v\n%s", args, err, out.String())
		}
		t.Logf("npm %v:\n%s", args, out.String())
	}
	// npm ci only when the installed packages are not the lock file's.
	lock, _ := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	installed, _ := os.ReadFile(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if len(installed) == 0 || !sameLock(lock, installed) {
		npm(nil, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	}
	env := apitest.Start(t, apitest.Options{})
	npm([]string{"GATEHOUSE_URL=" + env.URL, "GATEHOUSE_ADMIN_KEY=" + apitest.AdminKey}, "test")
}

// sameLock reports whether node_modules/.package-lock.json (which npm
// writes without the root package's entry) lists the lock file's packages:
// a cheap check that skips npm ci on an up-to-date tree.
func sameLock(lock, installed []byte) bool {
	return bytes.Contains(lock, []byte(`"node_modules/openapi-fetch"`)) &&
		bytes.Equal(packagesOf(lock), packagesOf(installed))
}

// packagesOf cuts the "packages" map out of a lock file, from its first
// "node_modules/ entry to the end.
func packagesOf(b []byte) []byte {
	i := bytes.Index(b, []byte(`"node_modules/`))
	if i < 0 {
		return nil
	}
	return bytes.TrimSpace(b[i:])
}
