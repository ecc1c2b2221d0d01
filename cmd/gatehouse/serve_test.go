package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/node"
)

// started is a gatehouse serve running in this process.
type started struct {
	url, key string
	metrics  string // the metrics listener's /metrics URL
	lines    chan string
	done     chan error
	cancel   context.CancelFunc
}

// startServe runs "gatehouse serve" with args and env, and waits for it
// to print its URL.
func startServe(t *testing.T, args []string, env map[string]string) *started {
	t.Helper()
	// A free port for metrics, never the default one another run may hold.
	if !slices.Contains(args, "--metrics-addr") && env["GATEHOUSE_METRICS_ADDR"] == "" {
		args = append(slices.Clip(args), "--metrics-addr", "127.0.0.1:0")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{lines: make(chan string, 100), done: make(chan error, 1), cancel: cancel}
	go func() {
		err := run(ctx, append([]string{"serve"}, args...), func(k string) string { return env[k] }, nil, pw, io.Discard)
		pw.Close()
		s.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	urlRE := regexp.MustCompile(`listening on (http://\S+)`)
	metricsRE := regexp.MustCompile(`^metrics on (http://\S+)`)
	keyRE := regexp.MustCompile(`admin key .*: (\S+)$`)
	deadline := time.After(30 * time.Second)
	for s.url == "" {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("serve exited: %v", <-s.done)
			}
			if m := urlRE.FindStringSubmatch(line); m != nil {
				s.url = m[1]
			}
			if m := metricsRE.FindStringSubmatch(line); m != nil {
				s.metrics = m[1]
			}
			if m := keyRE.FindStringSubmatch(line); m != nil {
				s.key = m[1]
			}
		case <-deadline:
			t.Fatal("serve printed no URL")
		}
	}
	select { // the key line follows the URL line
	case line := <-s.lines:
		if m := keyRE.FindStringSubmatch(line); m != nil {
			s.key = m[1]
		}
	case <-time.After(100 * time.Millisecond):
	}
	return s
}

func get(t *testing.T, url, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestServe_EnvConfigGeneratedKeyAndDemo(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "g.db")
	s := startServe(t, nil, map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_DATABASE": db, "GATEHOUSE_DEMO": "true"})
	if !strings.HasPrefix(s.key, "gha_") {
		t.Fatalf("no generated admin key printed (got %q)", s.key)
	}
	if st, _ := get(t, s.url+"/readyz", ""); st != 200 {
		t.Fatalf("readyz %d", st)
	}
	st, ws := get(t, s.url+"/v1/workspaces/demo", s.key)
	if st != 200 || ws["plan"] != "professional" {
		t.Fatalf("demo workspace: %d %v", st, ws)
	}
	_, members := get(t, s.url+"/v1/workspaces/demo/members", s.key)
	if n := len(members["items"].([]any)); n < 10 {
		t.Fatalf("demo has %d members", n)
	}
	if st, _ := get(t, s.url+"/v1/workspaces", "wrong"); st != 401 {
		t.Fatalf("wrong key: %d", st)
	}
}

// TestServe_GracefulShutdown: on cancel (SIGTERM), an in-flight request
// finishes and the usage counted so far is flushed to the database.
func TestServe_GracefulShutdown(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "g.db")
	s := startServe(t, []string{"--addr", "127.0.0.1:0", "--database", db, "--admin-key", "k", "--demo"}, nil)
	post := func(path, body string) int {
		req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 3 {
		if st := post("/v1/workspaces/demo/check", `{"user":"ed","permission":"contacts_view"}`); st != 200 {
			t.Fatalf("check: %d", st)
		}
	}
	inflight := make(chan int, 1)
	go func() {
		st, _ := get(t, s.url+"/v1/workspaces/demo/events?after=1000000&wait=2", "k")
		inflight <- st
	}()
	time.Sleep(300 * time.Millisecond)
	s.cancel()
	select {
	case st := <-inflight:
		if st != 200 {
			t.Fatalf("in-flight long poll ended with %d", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request did not finish")
	}
	if err := <-s.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	s.done <- nil // for the cleanup
	n, err := node.Open(context.Background(), node.Config{Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	us, err := n.Admin.Usage(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, u := range us {
		if u.Permission == "contacts_view" {
			total += u.Count
		}
	}
	if total != 3 {
		t.Fatalf("usage flushed on shutdown: %d contacts_view decisions, want 3 (%+v)", total, us)
	}
}

func TestRun_UnknownCommandAndVersion(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "gatehouse ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, nil, io.Discard, io.Discard)
	if ee, ok := err.(exitError); !ok || ee.code != 2 {
		t.Fatalf("unknown command: %v", err)
	}
	err = run(context.Background(), []string{"migrate", "--database", "sqlite:" + filepath.Join(t.TempDir(), "m.db")}, func(string) string { return "" }, nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
}
