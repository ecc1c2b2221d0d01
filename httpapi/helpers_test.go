package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// caller makes HTTP requests to a test node and decodes JSON answers.
type caller struct {
	t   *testing.T
	url string
	key string
}

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// code is the error code of an error answer, "" otherwise.
func (r reply) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return r.header.Get("Gatehouse-Error-Code") // the AuthZEN endpoints' errors (Z1)
}

func (r reply) str(field string) string {
	s, _ := r.body[field].(string)
	return s
}

func (r reply) num(field string) int64 {
	f, _ := r.body[field].(float64)
	return int64(f)
}

func (r reply) items() []any {
	it, _ := r.body["items"].([]any)
	return it
}

func newCaller(t *testing.T, env *apitest.Env, key string) caller {
	return caller{t: t, url: env.URL, key: key}
}

func (c caller) with(key string) caller { c.key = key; return c }

// do sends a request; body is marshalled unless it is a string or []byte.
// hdr is pairs of header names and values.
func (c caller) do(method, path string, body any, hdr ...string) reply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			c.t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return r
}

// ok sends a request and fails the test unless the status is want.
func (c caller) ok(want int, method, path string, body any, hdr ...string) reply {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// fails sends a request and fails the test unless the answer is the
// error code with the status DESIGN §3 gives it.
func (c caller) fails(status int, code, method, path string, body any, hdr ...string) reply {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.status != status || r.code() != code {
		c.t.Fatalf("%s %s: got %d %q, want %d %s: %s", method, path, r.status, r.code(), status, code, r.raw)
	}
	return r
}

// want sends a request and fails the test unless it answers status and,
// for an error, code ("" for a success).
func (c caller) want(status int, code, method, path string, body any, hdr ...string) reply {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	if r.status != status || r.code() != code {
		c.t.Fatalf("%s %s: %d %q, want %d %q: %.2000s", method, path, r.status, r.code(), status, code, r.raw)
	}
	return r
}

// world is a workspace with a key of each scope.
type world struct {
	ws         string
	adminKey   string
	checkKey   string
	deployment caller
	admin      caller
	check      caller
}

// newWorld creates workspace ws on the professional plan with departments
// sales > sales_east, a "Sales rep" role from the sales template plus
// deals (view department, edit own), and
// members rep (sales_east, Sales rep) and boss (owner).
func newWorld(t *testing.T, env *apitest.Env, ws string) world {
	t.Helper()
	d := newCaller(t, env, apitest.AdminKey)
	d.ok(201, "POST", "/v1/workspaces", map[string]any{"id": ws, "name": "Workspace " + ws, "plan": "professional"})
	w := world{ws: ws, deployment: d}
	w.adminKey = d.ok(201, "POST", "/v1/workspaces/"+ws+"/keys", map[string]any{"scope": "admin", "name": "console"}).body["key"].(string)
	w.checkKey = d.ok(201, "POST", "/v1/workspaces/"+ws+"/keys", map[string]any{"scope": "check", "name": "backend"}).body["key"].(string)
	w.admin, w.check = d.with(w.adminKey), d.with(w.checkKey)
	p := "/v1/workspaces/" + ws
	w.admin.ok(200, "PUT", p+"/departments/sales", map[string]any{"name": "Sales"})
	w.admin.ok(200, "PUT", p+"/departments/sales_east", map[string]any{"name": "Sales East", "parent_id": "sales"})
	w.admin.ok(201, "POST", p+"/roles", map[string]any{"name": "Sales rep", "template": "sales", "reason": "setup",
		"grants": map[string]any{"deals_view": "department", "deals_create": "all", "deals_edit": "own"}})
	w.admin.ok(200, "PUT", p+"/members/rep", map[string]any{"name": "Rep", "email": "rep@x.example", "kind": "internal",
		"department_ids": []string{"sales_east"}, "role_ids": []string{"sales_rep"}})
	w.admin.ok(200, "PUT", p+"/members/boss", map[string]any{"name": "Boss", "email": "boss@x.example", "kind": "internal", "owner": true})
	return w
}

func (w world) path(p string) string { return "/v1/workspaces/" + w.ws + p }

// importSalesReps imports n members u00000… holding the Sales rep role
// and returns the workspace revision after the import.
func (w world) importSalesReps(t *testing.T, n int) int64 {
	t.Helper()
	members := make([]map[string]any, n)
	for i := range members {
		members[i] = map[string]any{"user_id": fmt.Sprintf("u%05d", i), "name": "U", "kind": "internal", "role_ids": []string{"sales_rep"}}
	}
	return w.admin.ok(200, "POST", w.path("/members/import"), map[string]any{"members": members}).num("workspace_revision")
}
