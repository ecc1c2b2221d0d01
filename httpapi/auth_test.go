package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

func TestX1_DeploymentKeyManagesWorkspaces(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	anon := newCaller(t, env, "")
	anon.fails(401, "unauthenticated", "POST", "/v1/workspaces", map[string]any{"id": "x", "name": "X"})
	anon.with("wrong").fails(401, "unauthenticated", "POST", "/v1/workspaces", map[string]any{"id": "x", "name": "X"})
	w.admin.fails(403, "forbidden", "POST", "/v1/workspaces", map[string]any{"id": "x", "name": "X"})
	w.admin.fails(403, "forbidden", "GET", "/v1/workspaces", nil)
	list := w.deployment.ok(200, "GET", "/v1/workspaces", nil)
	if n := len(list.items()); n != 1 {
		t.Errorf("workspaces listed: %d, want 1", n)
	}
	w.deployment.fails(409, "name_taken", "POST", "/v1/workspaces", map[string]any{"id": "acme", "name": "Again"})
	// Malformed Authorization headers are refused like a missing key.
	for _, h := range []string{"acme", "Basic abc", "Bearer", "Bearer ", "Bearer  " + apitest.AdminKey} {
		r := anon.do("GET", "/v1/workspaces", nil, "Authorization", h)
		if r.status != 401 || r.code() != "unauthenticated" || r.header.Get("WWW-Authenticate") != `Bearer realm="gatehouse"` {
			t.Errorf("Authorization %q: %d %s, WWW-Authenticate %q", h, r.status, r.code(), r.header.Get("WWW-Authenticate"))
		}
	}
	// The scheme is case-insensitive (RFC 9110 §11.1).
	for _, scheme := range []string{"bearer", "BEARER"} {
		if r := anon.do("GET", "/v1/workspaces", nil, "Authorization", scheme+" "+apitest.AdminKey); r.status != 200 {
			t.Errorf("scheme %q: %d %s", scheme, r.status, r.code())
		}
	}
}

// TestW1_X2_KeysStayInTheirWorkspace walks every workspace route with a
// key of another workspace: each answers exactly what a missing
// workspace answers. A check-scope key gets forbidden on every admin
// route and through on every decision route.
func TestW1_X2_KeysStayInTheirWorkspace(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	a := newWorld(t, env, "a")
	b := newWorld(t, env, "b")
	decisionRoutes := map[string]bool{
		"GET /v1/workspaces/{ws}": true, "GET /v1/workspaces/{ws}/catalog": true,
		"POST /v1/workspaces/{ws}/check": true, "POST /v1/workspaces/{ws}/check/batch": true, "POST /v1/workspaces/{ws}/check/resources": true,
		"POST /v1/workspaces/{ws}/filter": true, "POST /v1/workspaces/{ws}/explain": true,
		"GET /v1/workspaces/{ws}/who-can": true, "POST /v1/workspaces/{ws}/sessions": true,
		"GET /v1/workspaces/{ws}/events":                true,
		"POST /v1/workspaces/{ws}/access/v1/evaluation": true, "POST /v1/workspaces/{ws}/access/v1/evaluations": true,
		"POST /v1/workspaces/{ws}/access/v1/search/subject": true, "POST /v1/workspaces/{ws}/access/v1/search/action": true,
	}
	fill := strings.NewReplacer("{id}", "sales", "{role}", "sales_rep", "{user}", "rep", "{n}", "1")
	n := 0
	for _, rt := range env.API.Routes() {
		method, path, _ := strings.Cut(rt, " ")
		if !strings.HasPrefix(path, "/v1/workspaces/{ws}") || strings.Contains(path, "/.well-known/") || strings.HasSuffix(path, "/forward-auth") {
			continue // public: the AuthZEN metadata reads no workspace; forward-auth's credential is a session
		}
		n++
		p := fill.Replace(path)
		inB := strings.Replace(p, "{ws}", "b", 1)
		missing := strings.Replace(p, "{ws}", "nope", 1)
		for _, key := range []string{a.adminKey, a.checkKey} {
			got := a.admin.with(key).do(method, inB, "{}")
			want := a.admin.with(key).do(method, missing, "{}")
			if got.status != 404 || got.code() != "not_found" {
				t.Errorf("%s with a key of a: %d %s, want 404 not_found", rt, got.status, got.code())
			}
			same := strings.NewReplacer(`\"b\"`, `\"nope\"`, `"b"`, `"nope"`).Replace(string(got.raw))
			if same != string(want.raw) {
				t.Errorf("%s: the answer for another workspace differs from a missing one:\n%s\n%s", rt, got.raw, want.raw)
			}
		}
		r := b.check.do(method, strings.Replace(p, "{ws}", "b", 1), "{}")
		switch {
		case decisionRoutes[rt] && r.status == 403:
			t.Errorf("%s: a check key is refused a decision route: %s", rt, r.raw)
		case !decisionRoutes[rt] && (r.status != 403 || r.code() != "forbidden"):
			t.Errorf("%s: a check key got %d %s, want 403 forbidden", rt, r.status, r.code())
		}
		if r := newCaller(t, env, "").do(method, inB, "{}"); r.status != 401 {
			t.Errorf("%s without a key: %d", rt, r.status)
		}
	}
	if n < 40 {
		t.Fatalf("walked %d workspace routes; the route table looks short", n)
	}
	// A revoked key stops working at once.
	keys := b.admin.ok(200, "GET", b.path("/keys"), nil).items()
	for _, k := range keys {
		if k.(map[string]any)["scope"] == "check" {
			b.admin.ok(200, "DELETE", b.path("/keys/"+k.(map[string]any)["id"].(string)), nil)
		}
		if _, ok := k.(map[string]any)["key"]; ok {
			t.Errorf("a key listing shows a secret: %v", k)
		}
	}
	b.check.fails(401, "unauthenticated", "POST", b.path("/check"), map[string]any{"user": "rep", "permission": "leads_view"})
}

func TestX3_ActingMember(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	w.admin.fails(403, "forbidden", "POST", w.path("/roles"), map[string]any{"name": "X"}, "Gatehouse-Actor", "rep")
	w.admin.fails(403, "forbidden", "POST", w.path("/roles"), map[string]any{"name": "X"}, "Gatehouse-Actor", "stranger")
	r := w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "By boss"}, "Gatehouse-Actor", "boss")
	audit := w.admin.ok(200, "GET", w.path("/audit?target=role:"+r.body["id"].(string)), nil)
	if it := audit.items(); len(it) != 1 || it[0].(map[string]any)["actor"] != "boss" {
		t.Fatalf("audit of the actor's write: %s", audit.raw)
	}
}

func TestX4_ReasonFromBodyOrHeader(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	g := map[string]any{"leads_view": "all", "leads_edit": "all", "leads_delete": "own"}
	w.admin.fails(422, "reason_required", "POST", w.path("/roles"), map[string]any{"name": "Deleter", "grants": g})
	w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "Deleter", "grants": g}, "Gatehouse-Reason", "cleanup duty")
	r := w.admin.ok(200, "GET", w.path("/audit?target=role:deleter"), nil)
	if it := r.items(); len(it) != 1 || it[0].(map[string]any)["reason"] != "cleanup duty" {
		t.Fatalf("reason not audited: %s", r.raw)
	}
	v := w.admin.ok(200, "GET", w.path("/audit/verify"), nil)
	if v.body["ok"] != true {
		t.Fatalf("audit chain: %s", v.raw)
	}
}

func TestAuth_HeadersOfErrors(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	r := newCaller(t, env, "").do("GET", "/v1/workspaces", nil)
	if ct := r.header.Get("Content-Type"); ct != "application/json" || r.status != http.StatusUnauthorized {
		t.Fatalf("content type %q, status %d", ct, r.status)
	}
}
