// Package deploy_test runs the gateway configurations of deploy/nginx and
// deploy/caddy with the real nginx and Caddy (Debian's packages) in front of
// a small application, asking a real Gatehouse node before each request.
package deploy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// need returns the path of a gateway binary; without it the test skips,
// or fails when CI is set (the test command installs both from Debian).
func need(t *testing.T, name string, paths ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; the test command installs it from Debian's packages (apt-get install %s)", name, name)
	}
	t.Skipf("%s is not installed (apt-get install %s); CI runs this test", name, name)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// gatewayWorld is a Gatehouse node with a workspace whose gateway routes
// guard a todo application, a session for a viewer and one for an editor,
// and the application itself, which echoes who Gatehouse said called.
type gatewayWorld struct {
	gatehouse       string
	adm             *client.Client
	viewer, editor  string
	upstream        string
	upstreamCalls   atomic.Int64
	gatehouseServer *apitest.Env
}

func newGatewayWorld(t *testing.T) *gatewayWorld {
	t.Helper()
	env := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	dep := client.New(env.URL, apitest.AdminKey)
	if _, _, err := dep.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: "professional"}); err != nil {
		t.Fatal(err)
	}
	k, _, err := dep.CreateKey(ctx, "acme", "admin", "gateway test")
	if err != nil {
		t.Fatal(err)
	}
	w := &gatewayWorld{gatehouse: env.URL, adm: client.New(env.URL, k.Secret).WithReason("gateway test"), gatehouseServer: env}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = w.adm.PutObject(ctx, "acme", client.SmartObject{ID: "todos", Name: "Todos", Description: "The todo list"})
	must(err)
	_, _, err = w.adm.CreateRole(ctx, "acme", client.RoleInput{Name: "Viewer", Grants: policy.Grants{"todos_view": policy.LevelAll}})
	must(err)
	_, _, err = w.adm.CreateRole(ctx, "acme", client.RoleInput{Name: "Editor", Grants: policy.Grants{"todos_view": policy.LevelAll,
		"todos_create": policy.LevelAll, "todos_edit": policy.LevelOwn, "todos_delete": policy.LevelOwn}})
	must(err)
	for u, role := range map[string]string{"vera": "viewer", "ed": "editor"} {
		_, _, err := w.adm.PutMember(ctx, "acme", client.MemberInput{UserID: u, Name: u, RoleIDs: []string{role}})
		must(err)
	}
	_, _, err = w.adm.SetGatewayRoutes(ctx, "acme", []client.GatewayRoute{
		{Method: "GET", Path: "/todos", Permission: "todos_view"},
		{Method: "POST", Path: "/todos", Permission: "todos_create"},
		{Method: "DELETE", Path: "/users/{owner}/todos/{id}", Permission: "todos_delete", Owner: "owner"},
		{Method: "GET", Path: "/public/*", Permission: "todos_view"},
	})
	must(err)
	for u, dst := range map[string]*string{"vera": &w.viewer, "ed": &w.editor} {
		s, err := w.adm.CreateSession(ctx, "acme", u, time.Hour)
		must(err)
		*dst = s.Token
	}
	app := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.upstreamCalls.Add(1)
		fmt.Fprintf(rw, "app: %s %s as %s (%s at %s)", r.Method, r.URL.Path, r.Header.Get("X-Gatehouse-User"),
			r.Header.Get("X-Gatehouse-Level"), r.Header.Get("X-Gatehouse-Revision"))
	}))
	t.Cleanup(app.Close)
	w.upstream = app.URL
	return w
}

// start runs a gateway process until the test ends, and waits until it
// answers on port.
func start(t *testing.T, port int, name string, args []string, env ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	// The gateway's own children (nginx's workers) go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %d: %s", name, port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// config reads a shipped configuration and points its EDIT values at
// the test's processes.
func config(t *testing.T, file string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(repl...).Replace(string(b))
	for i := 0; i < len(repl); i += 2 {
		if !strings.Contains(string(b), repl[i]) {
			t.Fatalf("%s no longer holds %q: update the test with the file", file, repl[i])
		}
	}
	return s
}

func TestGateway_Nginx(t *testing.T) {
	t.Parallel()
	nginx := need(t, "nginx", "/usr/sbin/nginx")
	w := newGatewayWorld(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	gh := strings.TrimPrefix(w.gatehouse, "http://")
	snippet := config(t, "nginx/gatehouse.conf",
		"http://127.0.0.1:9000", w.upstream,
		"http://127.0.0.1:8470/v1/workspaces/acme/forward-auth", "http://"+gh+"/v1/workspaces/acme/forward-auth")
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.conf"), []byte(snippet), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    server {
        listen 127.0.0.1:%[3]d;
        include %[2]s/gatehouse.conf;
    }
}
`, user, dir, port)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, port, nginx, []string{"-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")})
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", b)
		}
	})
	w.scenario(t, fmt.Sprintf("http://127.0.0.1:%d", port))
}

func TestGateway_Caddy(t *testing.T) {
	t.Parallel()
	caddy := need(t, "caddy")
	w := newGatewayWorld(t)
	dir := t.TempDir()
	port := freePort(t)
	gh := strings.TrimPrefix(w.gatehouse, "http://")
	cf := config(t, "caddy/Caddyfile",
		":8080 {", fmt.Sprintf(":%d {", port),
		"forward_auth 127.0.0.1:8470 {", "forward_auth "+gh+" {",
		"reverse_proxy 127.0.0.1:9000", "reverse_proxy "+strings.TrimPrefix(w.upstream, "http://"))
	cf = "{\n\tadmin off\n\tauto_https off\n}\n\n" + cf
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, port, caddy, []string{"run", "--config", file, "--adapter", "caddyfile"},
		"HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	w.scenario(t, fmt.Sprintf("http://127.0.0.1:%d", port))
}

// httpClient bounds every request: a gateway that hangs fails the test.
var httpClient = &http.Client{Timeout: 10 * time.Second}

type answer struct {
	server string
	status int
	body   string
	code   string
}

func (w *gatewayWorld) ask(t *testing.T, base, method, path, token string, cookie bool) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case token != "" && cookie:
		req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: token})
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(b), server: resp.Header.Get("Server"), code: resp.Header.Get("Gatehouse-Error-Code")}
	if i := strings.Index(a.body, `"code":"`); i >= 0 && a.code == "" {
		a.code, _, _ = strings.Cut(a.body[i+8:], `"`)
	}
	return a
}

// scenario: allowed, denied, no session, stale session, unknown route
// (deny by default), cookie sessions, a record parameter, and a
// permission change applied while traffic flows.
func (w *gatewayWorld) scenario(t *testing.T, base string) {
	ctx := context.Background()
	want := func(a answer, status int, contains string) {
		t.Helper()
		if a.status != status || !strings.Contains(a.body, contains) {
			t.Fatalf("got %d %q (server %q), want %d containing %q", a.status, a.body, a.server, status, contains)
		}
	}
	want(w.ask(t, base, "GET", "/todos", w.viewer, false), 200, "app: GET /todos as vera (all at ")
	want(w.ask(t, base, "GET", "/todos?page=2", w.viewer, true), 200, "as vera")
	want(w.ask(t, base, "GET", "/public/a/b", w.viewer, false), 200, "app: GET /public/a/b")
	want(w.ask(t, base, "POST", "/todos", w.viewer, false), 403, "")
	want(w.ask(t, base, "POST", "/todos", w.editor, false), 200, "as ed")
	want(w.ask(t, base, "DELETE", "/users/ed/todos/7", w.editor, false), 200, "as ed (own")
	want(w.ask(t, base, "DELETE", "/users/vera/todos/7", w.editor, false), 403, "")
	want(w.ask(t, base, "GET", "/admin", w.editor, false), 403, "") // no route: denied
	want(w.ask(t, base, "GET", "/todos", "", false), 401, "")
	want(w.ask(t, base, "GET", "/todos", w.viewer+"x", false), 401, "")
	calls := w.upstreamCalls.Load()

	// A permission change applied while traffic flows: every answer is
	// 200 before the change is seen and 403 after, never anything else,
	// and never 200 again once 403 was seen.
	var mu sync.Mutex
	var statuses []int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			a := w.ask(t, base, "POST", "/todos", w.editor, false) // Fatalf here ends only this goroutine; the statuses tell
			if a.status == 0 {
				return
			}
			mu.Lock()
			statuses = append(statuses, a.status)
			mu.Unlock()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	apply := false
	if _, _, err := w.adm.UpdateRole(ctx, "acme", "editor", client.RoleUpdate{Grants: policy.Grants{"todos_view": policy.LevelAll,
		"todos_edit": policy.LevelOwn, "todos_delete": policy.LevelOwn}, Apply: &apply}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // saved, not applied: nothing changes (R6)
	apply = true
	if _, _, err := w.adm.UpdateRole(ctx, "acme", "editor", client.RoleUpdate{Apply: &apply}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	seen403 := false
	for i, s := range statuses {
		switch {
		case s == 401 && seen403:
		case s == 403 || s == 401:
			seen403 = true
		case s == 200 && !seen403:
		default:
			t.Fatalf("answer %d of %d during the change: %d (all: %v)", i, len(statuses), s, statuses)
		}
	}
	if !seen403 || len(statuses) < 10 || statuses[0] != 200 {
		t.Fatalf("the change did not show: %v", statuses)
	}
	// The editor's epoch moved (A1): its session must re-authenticate.
	a := w.ask(t, base, "GET", "/todos", w.editor, false)
	if a.status != 401 || a.code != "reauthentication_required" {
		t.Fatalf("a stale session: %d %q %q", a.status, a.code, a.body)
	}
	// Unknown routes and denials say why too.
	if a := w.ask(t, base, "GET", "/admin", w.viewer, false); a.status != 403 || a.code != "forbidden" {
		t.Fatalf("no route: %d %q", a.status, a.code)
	}
	if w.upstreamCalls.Load() <= calls {
		t.Fatal("the application saw none of the allowed requests")
	}
}
