package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADME_Tour runs the README's five-minute tour, as written, with
// bash and curl against a fresh server: a README that lies is a bug.
func TestREADME_Tour(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- tour:")
	if !ok {
		t.Fatal("README has no tour block")
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing; CI must run the README tour (./scripts/test installs curl)", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	s := startServe(t, []string{"--addr", "127.0.0.1:0", "--database", "sqlite:" + filepath.Join(t.TempDir(), "t.db"), "--admin-key", "tour-key"}, nil)
	// The tour's first line sets GH and ADMIN for a reader; point them here.
	script := "set -euo pipefail\n" + block + "\n"
	script = strings.Replace(script, "GH=http://127.0.0.1:8470; ADMIN=paste-the-printed-key", "GH="+s.url+"; ADMIN=tour-key", 1)
	cmd := exec.Command("bash", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README tour failed: %v\n%s", err, out)
	}
	// The answers the README shows.
	for _, want := range []string{`{"allowed":false,"level":"own","reason":"out_of_scope","revision":5}`, `{"kind":"conditional","owner_ids":["ana"],"department_ids":["sales"],`,
		`"level":"department","revision":5}`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the tour's output lacks %s:\n%s", want, out)
		}
	}
}
