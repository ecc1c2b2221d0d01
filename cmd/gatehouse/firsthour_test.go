package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFirstHour: what a newcomer meets in the first hour answers as the
// README says (issue 22): --version, "did you mean", help exits 0 like
// every command, migrate says whether it changed anything, a missing
// directory is named.
func TestFirstHour(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "g.db")
	cases := []struct {
		name     string
		args     []string
		exit     int
		out, err string
	}{
		{"--version", []string{"--version"}, 0, "gatehouse dev", ""},
		{"version", []string{"version"}, 0, "gatehouse dev", ""},
		{"did you mean serve", []string{"serv"}, 2, "", `unknown command "serv"; did you mean "serve"?`},
		{"did you mean check", []string{"chekc"}, 2, "", `did you mean "check"?`},
		{"nothing close", []string{"xyzzy-plugh"}, 2, "", `unknown command "xyzzy-plugh"` + "\n"},
		{"serve --help", []string{"serve", "--help"}, 0, "", "-addr"},
		{"migrate -h", []string{"migrate", "-h"}, 0, "", "-database"},
		{"check --help", []string{"check", "--help"}, 0, "", "-permission"},
		{"bench -h", []string{"bench", "-h"}, 0, "", ""},
		{"bad flag", []string{"serve", "--nope"}, 2, "", "flag provided but not defined"},
		{"migrate a new database", []string{"migrate", "--database", db}, 0, "migrated: applied", ""},
		{"migrate again", []string{"migrate", "--database", db}, 0, "already at the newest schema: nothing changed", ""},
		{"a missing directory", []string{"migrate", "--database", "sqlite:/nonexistent-dir-22/x.db"}, 1, "",
			"directory /nonexistent-dir-22 does not exist"},
	}
	for _, tc := range cases { // in order: the two migrates share a database
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, nil, &stdout, &stderr)
		code := 0
		if err != nil {
			code = 1
			if ee, ok := err.(exitError); ok {
				code = ee.code
			} else {
				stderr.WriteString(err.Error())
			}
		}
		if code != tc.exit || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tc.name, code, tc.exit, stdout.String(), stderr.String())
		}
	}
}

// TestFirstHour_DemoHintWorksAsPrinted: serve --demo prints a CLI command
// with --server and --key that works when run as printed.
func TestFirstHour_DemoHintWorksAsPrinted(t *testing.T) {
	t.Parallel()
	s := startServe(t, []string{"--addr", "127.0.0.1:0", "--database", "sqlite:" + filepath.Join(t.TempDir(), "d.db"), "--demo"}, nil)
	var hint string
	deadline := time.After(10 * time.Second)
	for hint == "" {
		select {
		case line := <-s.lines:
			if _, h, ok := strings.Cut(line, "gatehouse check "); ok && strings.HasPrefix(line, "try it") {
				hint = h
			}
		case <-deadline:
			t.Fatal("serve --demo printed no hint")
		}
	}
	args := append([]string{"check"}, strings.Fields(hint)...)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
		t.Fatalf("the hint %q fails: %v\n%s%s", hint, err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "allowed") && !strings.Contains(stdout.String(), "denied") {
		t.Errorf("the hint's answer: %s", stdout.String())
	}
}
