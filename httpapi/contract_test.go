package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-authz/gatehouse/httpapi"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// The contract tests hold the server to its OpenAPI document
// (httpapi/openapi.yaml): every request and response that passes through
// the contract middleware is validated against it, and the document lists
// exactly the routes of the route table.

var updateGolden = flag.Bool("update", false, "rewrite testdata/openapi.golden.json from the document")

// openapiDoc loads and validates the document once per test binary.
var openapiDoc = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	// A policy file travels as YAML text (a string to generated clients);
	// the contract still holds its structure to the PolicyFile schema.
	policyFile := doc.Components.Schemas["PolicyFile"]
	openapi3filter.RegisterBodyDecoder("application/yaml", func(body io.Reader, h http.Header, s *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
		v, err := openapi3filter.YamlBodyDecoder(body, h, s, enc)
		if err != nil {
			return nil, err
		}
		if err := policyFile.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			return nil, fmt.Errorf("not a PolicyFile: %w", err)
		}
		b, _ := yaml.Marshal(v)
		return string(b), nil
	})
	return doc, nil
})

// contractRouter finds a request's operation in the document.
var contractRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapiDoc()
	if err != nil {
		return nil, err
	}
	// The document's servers name real hosts; the tests' servers listen
	// on random loopback ports, so route by path alone.
	byPath := *doc
	byPath.Servers = nil
	return legacy.NewRouter(&byPath)
})

func loadContract(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapiDoc()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	router, err := contractRouter()
	if err != nil {
		t.Fatalf("openapi.yaml: router: %v", err)
	}
	return doc, router
}

// contract returns a middleware that validates every request and response
// passing through it against the OpenAPI document; a mismatch fails t.
// Use it as apitest.Options{Wrap: contract(t)}.
func contract(t *testing.T) func(http.Handler) http.Handler {
	return newContract(t, nil)
}

// contractSeen records the routes ("METHOD /path") that answered 2xx.
type contractSeen struct {
	mu sync.Mutex
	ok map[string]int
}

func (s *contractSeen) add(route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ok == nil {
		s.ok = map[string]int{}
	}
	s.ok[route]++
}

func newContract(t *testing.T, seen *contractSeen) func(http.Handler) http.Handler {
	doc, router := loadContract(t)
	opts := &openapi3filter.Options{
		// The server tests authentication itself; here any key passes.
		AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
		// A status the operation does not list fails; a body sent to an
		// operation that takes none is ignored, as the server does.
		IncludeResponseStatus: true,
	}
	change := doc.Components.Schemas["Change"]
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route, params, err := router.FindRoute(r)
			if err != nil {
				t.Errorf("contract: %s %s: not in the OpenAPI document: %v", r.Method, r.URL.Path, err)
				next.ServeHTTP(w, r)
				return
			}
			var body []byte
			if r.Body != nil {
				body, _ = io.ReadAll(r.Body)
				r.Body.Close()
			}
			ctx := context.Background()
			vr := r.Clone(ctx)
			vr.Body = io.NopCloser(bytes.NewReader(body))
			in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
			reqErr := openapi3filter.ValidateRequest(ctx, in)

			r.Body = io.NopCloser(bytes.NewReader(body))
			rec := &contractWriter{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			where := fmt.Sprintf("%s %s → %d", r.Method, r.URL.RequestURI(), rec.status)

			// A request the document rejects must be one the server
			// rejects too, with a client error.
			if reqErr != nil && (rec.status < 400 || rec.status >= 500) {
				t.Errorf("contract: %s: the document rejects the request, the server did not: %v", where, reqErr)
			}
			if reqErr == nil && rec.status < 300 && seen != nil {
				seen.add(route.Method + " " + route.Path)
			}

			ropts := *opts
			stream := strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream")
			if stream {
				// An event stream never ends: its status and headers are
				// validated here, each event's data below.
				ropts.ExcludeResponseBody = true
			}
			resp := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.status,
				Header: w.Header(), Options: &ropts}
			resp.SetBodyBytes(rec.body.Bytes())
			if err := openapi3filter.ValidateResponse(ctx, resp); err != nil {
				t.Errorf("contract: %s: response does not match the document: %v\n%s", where, err, clip(rec.body.Bytes()))
				return
			}
			if stream {
				for _, data := range sseData(rec.body.Bytes()) {
					var v any
					if err := json.Unmarshal([]byte(data), &v); err != nil {
						t.Errorf("contract: %s: event data is not JSON: %v: %s", where, err, data)
						continue
					}
					if err := change.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
						t.Errorf("contract: %s: event data is not a Change: %v: %s", where, err, data)
					}
					for _, p := range undocumented(v, change, "") {
						t.Errorf("contract: %s: event data has a field the document does not list: %s", where, p)
					}
				}
				return
			}
			// Responses may gain fields (DESIGN §3), but the document
			// must list every field the server sends today.
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				return
			}
			sch := responseSchema(route, rec.status, w.Header().Get("Content-Type"))
			var v any
			if sch == nil || json.Unmarshal(rec.body.Bytes(), &v) != nil {
				return
			}
			for _, p := range undocumented(v, sch, "") {
				t.Errorf("contract: %s: the response has a field the document does not list: %s", where, p)
			}
		})
	}
}

// contractWriter passes a response through and keeps a copy of it.
type contractWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *contractWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *contractWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len() < 1<<20 {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController flush an event stream.
func (c *contractWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// sseData returns the data of each complete event of a Server-Sent Events
// stream.
func sseData(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				out = append(out, strings.Join(data, "\n"))
			}
			data = nil
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return out
}

func responseSchema(route *routers.Route, status int, contentType string) *openapi3.SchemaRef {
	rr := route.Operation.Responses.Status(status)
	if rr == nil || rr.Value == nil {
		return nil
	}
	mt := rr.Value.Content.Get(contentType)
	if mt == nil {
		return nil
	}
	return mt.Schema
}

// undocumented lists the object fields of v that schema s does not name,
// where s names its fields (properties, through allOf) and says nothing of
// others. Free-form objects (no properties, or additionalProperties) are
// not looked into beyond what they declare.
func undocumented(v any, s *openapi3.SchemaRef, path string) []string {
	if s == nil || s.Value == nil {
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.SchemaRef{}
		var extra *openapi3.SchemaRef
		open := false
		var gather func(s *openapi3.SchemaRef)
		gather = func(s *openapi3.SchemaRef) {
			if s == nil || s.Value == nil {
				return
			}
			for k, p := range s.Value.Properties {
				if props[k] == nil {
					props[k] = p
				}
			}
			if ap := s.Value.AdditionalProperties; ap.Schema != nil {
				extra = ap.Schema
			} else if ap.Has != nil && *ap.Has {
				open = true
			}
			if len(s.Value.OneOf) > 0 || len(s.Value.AnyOf) > 0 {
				open = true
			}
			for _, a := range s.Value.AllOf {
				gather(a)
			}
		}
		gather(s)
		if len(props) == 0 && extra == nil {
			return nil // a free-form object
		}
		var out []string
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch p := props[k]; {
			case p != nil:
				out = append(out, undocumented(v[k], p, path+"."+k)...)
			case extra != nil:
				out = append(out, undocumented(v[k], extra, path+"."+k)...)
			case !open:
				out = append(out, path+"."+k)
			}
		}
		return out
	case []any:
		var out []string
		for i, x := range v {
			out = append(out, undocumented(x, s.Value.Items, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	return nil
}

func TestOpenAPI_DocumentIsValid(t *testing.T) {
	doc, _ := loadContract(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	var raw map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI(), &raw); err != nil {
		t.Fatalf("OpenAPI() is not a JSON object: %v", err)
	}
	if raw["openapi"] != "3.1.0" {
		t.Errorf("OpenAPI() openapi: %v, want 3.1.0", raw["openapi"])
	}
	// Every operation is documented for people and names its errors.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s %s: no operationId or summary", method, path)
			}
			if op.Responses.Status(500) == nil && strings.HasPrefix(path, "/v1/") {
				t.Errorf("%s %s: no 500 response", method, path)
			}
			if op.Description == "" {
				t.Errorf("%s %s: no description", method, path)
			}
			has4xx := false
			for code := range op.Responses.Map() {
				has4xx = has4xx || strings.HasPrefix(code, "4")
			}
			if !has4xx {
				t.Errorf("%s %s: no 4xx response", method, path)
			}
		}
	}
	// Request bodies reject unknown fields, as the server does; AuthZEN's
	// ignore them, as its specification requires (§12.1.1).
	for name, s := range doc.Components.Schemas {
		if strings.HasSuffix(name, "Request") && !strings.HasPrefix(name, "Az") {
			if ap := s.Value.AdditionalProperties; ap.Has == nil || *ap.Has {
				t.Errorf("schema %s: additionalProperties is not false", name)
			}
		}
	}
}

// TestOpenAPI_GeneratorFriendly holds the document to what client
// generators (openapi-typescript, orval, hey-api) need: servers and a
// license; no object schema that says nothing (it generates
// Record<string, never>) unless it says it is free-form; no required
// field that lives only in an allOf member (generators drop it); arrays
// with items.
func TestOpenAPI_GeneratorFriendly(t *testing.T) {
	doc, _ := loadContract(t)
	if len(doc.Servers) == 0 {
		t.Error("no servers")
	}
	if doc.Info.License == nil || doc.Info.License.Name == "" {
		t.Error("no license")
	}
	seen := map[*openapi3.Schema]bool{}
	var walk func(where string, s *openapi3.SchemaRef)
	walk = func(where string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		v := s.Value
		seen[v] = true
		if v.Type.Is("object") && len(v.Properties) == 0 && v.AdditionalProperties.Schema == nil &&
			v.AdditionalProperties.Has == nil && len(v.AllOf)+len(v.OneOf)+len(v.AnyOf) == 0 {
			t.Errorf("%s: an object with no properties that is not declared free-form (additionalProperties: true)", where)
		}
		if v.Type.Includes("array") && v.Items == nil {
			t.Errorf("%s: an array without items", where)
		}
		for i, a := range v.AllOf {
			if a.Value != nil && len(a.Value.Required) > 0 && a.Ref == "" && len(a.Value.Properties) == 0 {
				t.Errorf("%s: allOf[%d] requires %v without declaring them", where, i, a.Value.Required)
			}
			walk(fmt.Sprintf("%s.allOf[%d]", where, i), a)
		}
		for _, xs := range [][]*openapi3.SchemaRef{v.OneOf, v.AnyOf} {
			for i, a := range xs {
				walk(fmt.Sprintf("%s.of[%d]", where, i), a)
			}
		}
		for k, p := range v.Properties {
			walk(where+"."+k, p)
		}
		walk(where+"[]", v.Items)
		walk(where+"{}", v.AdditionalProperties.Schema)
	}
	for name, s := range doc.Components.Schemas {
		walk(name, s)
	}
	// Fields that generated clients need to be typed and required.
	imp := doc.Components.Schemas["ImportMember"].Value
	if !slices.Contains(imp.Required, "user_id") || imp.Properties["user_id"] == nil {
		t.Error("ImportMember: user_id is not a required property of its own")
	}
	if !slices.Contains(doc.Components.Schemas["BatchRequest"].Value.Required, "checks") {
		t.Error("BatchRequest: checks is not required")
	}
	export := doc.Paths.Find("/v1/workspaces/{ws}/policy").Get.Responses.Status(200).Value.Content
	if y := export.Get("application/yaml"); y == nil || !y.Schema.Value.Type.Is("string") {
		t.Error("the policy export's YAML is not declared as text")
	}
	if export.Get("application/json") == nil {
		t.Error("the policy export is not offered as JSON")
	}
}

func TestOpenAPI_CoversEveryRoute(t *testing.T) {
	doc, _ := loadContract(t)
	env := apitest.Start(t, apitest.Options{})
	inDoc := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc[method+" "+path] = true
		}
	}
	inTable := map[string]bool{}
	for _, r := range env.API.Routes() {
		inTable[r] = true
		if !inDoc[r] {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for r := range inDoc {
		if !inTable[r] {
			t.Errorf("openapi.yaml lists %s, which is not a route", r)
		}
	}
}

// TestX3_OpenAPINamesEachRoutesAuthority: every route that takes a key
// says in x-gatehouse-authority exactly the authority the route table
// enforces (X3).
func TestX3_OpenAPINamesEachRoutesAuthority(t *testing.T) {
	doc, _ := loadContract(t)
	env := apitest.Start(t, apitest.Options{})
	want := env.API.Authorities()
	scopes := env.API.KeyScopes()
	seen := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if got, _ := op.Extensions["x-gatehouse-key-scope"].(string); got != scopes[method+" "+path] {
				t.Errorf("%s %s: x-gatehouse-key-scope %q, the route table takes %q", method, path, got, scopes[method+" "+path])
			}
			got, _ := op.Extensions["x-gatehouse-authority"].(string)
			w, ok := want[method+" "+path]
			if !ok {
				if got != "" {
					t.Errorf("%s %s: x-gatehouse-authority %q on a route that needs none", method, path, got)
				}
				continue
			}
			seen++
			if got != w {
				t.Errorf("%s %s: x-gatehouse-authority %q, the route table enforces %q", method, path, got, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("the document names the authority of %d routes, the table has %d", seen, len(want))
	}
}

func TestOpenAPI_Golden(t *testing.T) {
	env := apitest.Start(t, apitest.Options{})
	resp, err := http.Get(env.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	golden := filepath.Join("testdata", "openapi.golden.json")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./httpapi -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("GET /openapi.json differs from %s; if openapi.yaml changed on purpose, run go test ./httpapi -run Golden -update", golden)
	}
}

// TestContract_Tour calls every route at least once successfully, and the
// usual errors, through the contract middleware.
func TestContract_Tour(t *testing.T) {
	seen := &contractSeen{}
	env := apitest.Start(t, apitest.Options{Wrap: newContract(t, seen)})
	anon := caller{t: t, url: env.URL}
	dep := anon.with(apitest.AdminKey)
	const ws = "/v1/workspaces/acme"

	// System and public routes.
	anon.want(200, "", "GET", "/healthz", nil)
	anon.want(200, "", "GET", "/readyz", nil)
	if r := (caller{t: t, url: env.MetricsURL}).want(200, "", "GET", "", nil); !bytes.Contains(r.raw, []byte("gatehouse_http_requests_total")) {
		t.Errorf("/metrics has no gatehouse_http_requests_total")
	}
	anon.want(200, "", "GET", "/openapi.json", nil)
	anon.want(200, "", "GET", "/v1/catalog", nil)
	anon.want(200, "", "GET", "/v1/catalog?q=contacts", nil)
	tpls := anon.want(200, "", "GET", "/v1/templates", nil)
	hasSales := false
	for _, it := range tpls.items() {
		if it.(map[string]any)["id"] == "sales" {
			hasSales = true
		}
	}
	if !hasSales {
		t.Fatalf("GET /v1/templates has no sales template: %s", tpls.raw)
	}

	// Workspaces and keys.
	anon.want(401, "unauthenticated", "GET", "/v1/workspaces", nil)
	dep.want(400, "invalid_argument", "POST", "/v1/workspaces", map[string]any{"id": "acme", "name": "Acme", "colour": "red"})
	dep.want(201, "", "POST", "/v1/workspaces", map[string]any{"id": "acme", "name": "Acme", "plan": "professional"})
	dep.want(409, "name_taken", "POST", "/v1/workspaces", map[string]any{"id": "acme", "name": "Acme again"})
	dep.want(200, "", "GET", "/v1/workspaces", nil)
	dep.want(404, "not_found", "GET", "/v1/workspaces/nowhere", nil)
	adminKey := dep.want(201, "", "POST", ws+"/keys", map[string]any{"scope": "admin", "name": "console"}).str("key")
	checkKey := dep.want(201, "", "POST", ws+"/keys", map[string]any{"scope": "check", "name": "backend"}).str("key")
	adm, chk := anon.with(adminKey), anon.with(checkKey)
	spare := adm.want(201, "", "POST", ws+"/keys", map[string]any{"scope": "check"}).str("id")
	adm.want(200, "", "GET", ws+"/keys", nil)
	adm.want(200, "", "DELETE", ws+"/keys/"+spare, nil)
	chk.want(403, "forbidden", "GET", ws+"/roles", nil)
	chk.want(200, "", "GET", ws, nil)
	adm.want(200, "", "PATCH", ws, map[string]any{"name": "Acme Corp"})

	// Catalog and smart objects (C9).
	chk.want(200, "", "GET", ws+"/catalog", nil)
	chk.want(200, "", "GET", ws+"/catalog?q=vehicles", nil)
	adm.want(200, "", "PUT", ws+"/catalog/objects/vehicles", map[string]any{"name": "Vehicles", "description": "The fleet"})

	// Departments.
	adm.want(200, "", "PUT", ws+"/departments/sales", map[string]any{"name": "Sales"})
	adm.want(200, "", "PUT", ws+"/departments/sales_east", map[string]any{"name": "Sales East", "parent_id": "sales"})
	adm.want(200, "", "PUT", ws+"/departments/tmp", map[string]any{"name": "Temporary"})
	adm.want(200, "", "GET", ws+"/departments", nil)
	adm.want(200, "", "GET", ws+"/departments/sales_east", nil)
	adm.want(404, "not_found", "GET", ws+"/departments/nowhere", nil)
	adm.want(413, "payload_too_large", "PUT", ws+"/departments/big", map[string]any{"name": strings.Repeat("x", httpapi.MaxBody)})
	adm.want(200, "", "DELETE", ws+"/departments/tmp", nil)

	// Roles.
	role := adm.want(201, "", "POST", ws+"/roles", map[string]any{"name": "Sales rep", "template": "sales", "reason": "setup"}).str("id")
	rp := ws + "/roles/" + role
	portal := adm.want(201, "", "POST", ws+"/roles", map[string]any{"name": "Portal", "template": "readonly_client"}).str("id")
	adm.want(200, "", "GET", ws+"/roles", nil)
	adm.want(200, "", "GET", ws+"/roles?audience=internal&q=sales", nil)
	adm.want(404, "not_found", "GET", ws+"/roles/nowhere", nil)
	got := adm.want(200, "", "GET", rp, nil)
	etag := got.header.Get("ETag")
	if etag == "" {
		t.Fatalf("GET %s: no ETag", rp)
	}
	grants := got.body["grants"].(map[string]any)
	grants["vehicles_view"] = "all"
	adm.want(200, "", "PATCH", rp, map[string]any{"grants": grants, "reason": "fleet"}, "If-Match", etag)
	adm.want(412, "revision_conflict", "PATCH", rp, map[string]any{"description": "stale"}, "If-Match", etag)
	r := adm.want(422, "unknown_permission", "PATCH", rp, map[string]any{"grants": map[string]any{"contact_view": "all"}})
	if d, _ := r.body["error"].(map[string]any)["details"].(map[string]any); d == nil {
		t.Errorf("unknown_permission without details: %s", r.raw)
	}
	adm.want(400, "invalid_argument", "PATCH", rp, map[string]any{"grants": map[string]any{"contacts_view": "everything"}})
	adm.want(422, "reason_required", "POST", rp+"/duplicate", nil)
	dup := adm.want(201, "", "POST", rp+"/duplicate", nil, "Gatehouse-Reason", "a copy to try things on").str("id")
	adm.want(201, "", "POST", rp+"/duplicate", map[string]any{"name": "Sales rep B"}, "Gatehouse-Reason", "another copy")
	adm.want(200, "", "DELETE", ws+"/roles/"+dup, nil)
	adm.want(200, "", "POST", rp+"/preview", map[string]any{"grants": map[string]any{"vehicles_view": "own"}})
	adm.want(200, "", "GET", rp+"/revisions", nil)
	adm.want(200, "", "GET", rp+"/revisions/2", nil)
	adm.want(400, "invalid_argument", "GET", rp+"/revisions/zero", nil)
	adm.want(200, "", "POST", rp+"/revisions/1/restore", map[string]any{"apply": true, "reason": "undo fleet"})
	adm.want(200, "", "POST", rp+"/revisions/2/restore", nil)
	adm.want(409, "role_protected", "DELETE", ws+"/roles/employee", nil)

	// Members.
	adm.want(200, "", "PUT", ws+"/members/rep", map[string]any{"name": "Rep", "email": "rep@acme.example", "kind": "internal",
		"department_ids": []string{"sales_east"}, "role_ids": []string{role}})
	adm.want(200, "", "PUT", ws+"/members/boss", map[string]any{"name": "Boss", "email": "boss@acme.example", "owner": true,
		"department_ids": []string{"sales"}})
	adm.want(200, "", "POST", ws+"/members/import", map[string]any{"members": []any{
		map[string]any{"user_id": "u1", "name": "One", "department_ids": []string{"sales"}},
		map[string]any{"user_id": "u2", "name": "Two", "kind": "client", "role_ids": []string{portal}},
	}})
	first := adm.want(200, "", "GET", ws+"/members?limit=2", nil)
	cursor := first.str("next_cursor")
	if cursor == "" {
		t.Fatalf("GET members?limit=2 of 4: no next_cursor: %s", first.raw)
	}
	adm.want(200, "", "GET", ws+"/members?limit=2&cursor="+cursor, nil)
	adm.want(200, "", "GET", ws+"/members?role="+role+"&department=sales_east&q=rep", nil)
	adm.want(400, "invalid_argument", "GET", ws+"/members?cursor=bogus", nil)
	adm.want(200, "", "GET", ws+"/members/rep", nil)
	adm.want(404, "not_found", "GET", ws+"/members/nobody", nil)
	adm.want(200, "", "PUT", ws+"/members/rep/roles", map[string]any{"role_ids": []string{role, "employee"}})
	adm.want(200, "", "PUT", ws+"/members/rep/grants", map[string]any{"grants": map[string]any{"reports_view": "all"}, "reason": "reports"})
	adm.want(200, "", "GET", ws+"/members/rep/permissions", nil)
	// Console links (X6): owners and keys only; one use is the console's.
	link := adm.want(201, "", "POST", ws+"/console-links", map[string]any{"user_id": "rep", "return_to": "/w/acme/roles"})
	if u := link.str("url"); !strings.Contains(u, "/console/link?t=") || link.header.Get("Cache-Control") != "no-store" {
		t.Errorf("console link: %s", link.raw)
	}
	adm.want(201, "", "POST", ws+"/console-links", map[string]any{"user_id": "rep"}, "Gatehouse-Actor", "boss")
	adm.want(403, "forbidden", "POST", ws+"/console-links", map[string]any{"user_id": "boss"}, "Gatehouse-Actor", "rep")
	adm.want(404, "not_found", "POST", ws+"/console-links", map[string]any{"user_id": "nobody"})
	adm.want(400, "invalid_argument", "POST", ws+"/console-links", map[string]any{"user_id": "rep", "return_to": "https://evil.example/"})
	adm.want(400, "invalid_argument", "POST", ws+"/console-links", map[string]any{})
	adm.want(200, "", "POST", rp+"/members", map[string]any{"user_ids": []string{"u1"}})
	adm.want(409, "audience_mismatch", "POST", rp+"/members", map[string]any{"user_ids": []string{"u2"}})
	adm.want(200, "", "GET", rp+"/members", nil)
	adm.want(200, "", "GET", rp+"/members?department=sales&q=one&limit=10", nil)
	adm.want(200, "", "DELETE", rp+"/members/u1", nil)
	adm.want(409, "role_in_use", "DELETE", rp, nil)
	adm.want(200, "", "GET", ws+"/members/rep", nil, "Gatehouse-Actor", "boss")
	adm.want(403, "forbidden", "PUT", ws+"/departments/x", map[string]any{"name": "X"}, "Gatehouse-Actor", "u1")

	// Decisions.
	chk.want(200, "", "POST", ws+"/check", map[string]any{"user": "rep", "permission": "contacts_view"})
	chk.want(200, "", "POST", ws+"/check", map[string]any{"user": "u1", "permission": "contacts_view"})
	chk.want(200, "", "POST", ws+"/check", map[string]any{"user": "rep", "permission": "contacts_edit",
		"resource": map[string]any{"owner_id": "u1", "department_id": "sales", "relations": map[string]any{"responsible": []string{"rep"}}}})
	chk.want(422, "unknown_permission", "POST", ws+"/check", map[string]any{"user": "rep", "permission": "contact_view"})
	chk.want(400, "invalid_argument", "POST", ws+"/check", map[string]any{"user": "rep", "permission": "contacts_view", "record": map[string]any{}})
	chk.want(404, "not_found", "POST", "/v1/workspaces/nowhere/check", map[string]any{"user": "rep", "permission": "contacts_view"})
	b := chk.want(200, "", "POST", ws+"/check/batch", map[string]any{"checks": []any{
		map[string]any{"user": "rep", "permission": "contacts_view"},
		map[string]any{"user": "rep", "permission": "contact_view"},
		map[string]any{"user": "ghost", "permission": "deals_view", "resource": map[string]any{"owner_id": "ghost"}},
	}})
	if res, _ := b.body["results"].([]any); len(res) != 3 {
		t.Errorf("batch of 3: %s", b.raw)
	}
	rb := chk.want(200, "", "POST", ws+"/check/resources", map[string]any{"user": "rep", "permissions": []string{"contacts_view", "contacts_edit"},
		"resources": []any{map[string]any{"id": "c1", "resource": map[string]any{"owner_id": "rep"}},
			map[string]any{"id": "c2", "resource": map[string]any{"owner_id": "u1"}, "permissions": []string{"contacts_view"}}}})
	if res, _ := rb.body["results"].([]any); len(res) != 2 {
		t.Errorf("check/resources of 2: %s", rb.raw)
	}
	chk.want(422, "unknown_permission", "POST", ws+"/check/resources", map[string]any{"user": "rep", "permissions": []string{"contact_view"},
		"resources": []any{map[string]any{"id": "c1"}}})
	// AuthZEN (Z1–Z3): aliases, evaluation at the root and under the
	// workspace, evaluations, search, the metadata.
	adm.want(200, "", "PUT", ws+"/action-aliases", map[string]any{"can_read_contact": "contacts_view"})
	adm.want(422, "unknown_permission", "PUT", ws+"/action-aliases", map[string]any{"can_read_contact": "contact_view"})
	adm.want(200, "", "GET", ws+"/action-aliases", nil)
	az := map[string]any{"subject": map[string]any{"type": "user", "id": "rep"}, "action": map[string]any{"name": "can_read_contact"},
		"resource": map[string]any{"type": "contacts", "id": "c1", "properties": map[string]any{"owner_id": "rep"}}}
	for _, base := range []string{"", ws} {
		chk.want(200, "", "POST", base+"/access/v1/evaluation", az)
		chk.want(200, "", "POST", base+"/access/v1/evaluations", map[string]any{"subject": az["subject"], "action": az["action"],
			"evaluations": []any{map[string]any{"resource": az["resource"]}}})
		chk.want(200, "", "POST", base+"/access/v1/search/subject", map[string]any{"subject": map[string]any{"type": "user"},
			"action": az["action"], "resource": az["resource"]})
		chk.want(200, "", "POST", base+"/access/v1/search/action", map[string]any{"subject": az["subject"], "resource": az["resource"]})
		chk.want(400, "invalid_argument", "POST", base+"/access/v1/evaluation", map[string]any{"subject": az["subject"]})
	}
	// Gateway routes and forward authorization.
	adm.want(200, "", "PUT", ws+"/gateway-routes", map[string]any{"routes": []any{
		map[string]any{"method": "GET", "path": "/contacts/{owner}/{id}", "permission": "can_read_contact", "owner": "owner"}}})
	adm.want(400, "invalid_argument", "PUT", ws+"/gateway-routes", map[string]any{"routes": []any{
		map[string]any{"method": "GET", "path": "/contacts/{id}", "permission": "contacts_view", "owner": "owner"}}})
	adm.want(200, "", "GET", ws+"/gateway-routes", nil)
	// Separation of duties (S1–S3): a rule rep already breaks is added,
	// listed with its violation; a new violation is refused.
	adm.want(200, "", "PUT", ws+"/sod-rules/billing-vs-crm", map[string]any{"name": "Billing vs CRM",
		"conflicts": [][]string{{"billing_view"}, {"contacts_view"}}})
	adm.want(422, "unknown_permission", "PUT", ws+"/sod-rules/bad", map[string]any{"name": "Bad", "conflicts": [][]string{{"billing_view"}, {"contact_view"}}})
	adm.want(400, "invalid_argument", "PUT", ws+"/sod-rules/bad", map[string]any{"name": "Bad", "conflicts": [][]string{{"billing_view"}}})
	adm.want(409, "separation_of_duties", "PUT", ws+"/members/rep/grants", map[string]any{"grants": map[string]any{"invoices_view": "all"}})
	adm.want(200, "", "GET", ws+"/sod-rules?limit=1", nil)
	adm.want(200, "", "GET", ws+"/sod-rules/billing-vs-crm", nil)
	adm.want(404, "not_found", "GET", ws+"/sod-rules/nope", nil)
	adm.want(200, "", "GET", ws+"/sod-rules/billing-vs-crm/violations?limit=10", nil)
	adm.want(200, "", "DELETE", ws+"/sod-rules/billing-vs-crm", nil)
	// Access reviews (V1–V3): open, list, change, the inbox, a decision,
	// the CSV, the close.
	deadline := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	rvw := adm.want(201, "", "POST", ws+"/reviews", map[string]any{"name": "Q4 review", "deadline": deadline, "default": "keep",
		"scope": map[string]any{"actions": []string{"view"}, "min_level": "own"}, "reviewers": "admins", "every_days": 0})
	rid := rvw.str("id")
	adm.want(400, "invalid_argument", "POST", ws+"/reviews", map[string]any{"name": "Past", "deadline": "2020-01-01T00:00:00Z", "default": "keep"})
	adm.want(200, "", "GET", ws+"/reviews?limit=5", nil)
	adm.want(200, "", "GET", ws+"/reviews/"+rid, nil)
	adm.want(404, "not_found", "GET", ws+"/reviews/nope", nil)
	adm.want(200, "", "PATCH", ws+"/reviews/"+rid, map[string]any{"name": "Q4 access review", "default": "keep"})
	inbox := adm.want(200, "", "GET", ws+"/reviews/"+rid+"/items?open=true&limit=2", nil)
	its, _ := inbox.body["items"].([]any)
	if len(its) == 0 {
		t.Fatalf("a review with no items: %s", inbox.raw)
	}
	item := fmt.Sprint(its[0].(map[string]any)["id"])
	adm.want(200, "", "GET", ws+"/reviews/"+rid+"/items?role=sales_rep&permission=deals_view", nil)
	adm.want(200, "", "PUT", ws+"/reviews/"+rid+"/items/"+item, map[string]any{"decision": "keep", "reason": "still needed"})
	adm.want(400, "invalid_argument", "PUT", ws+"/reviews/"+rid+"/items/"+item, map[string]any{"decision": "maybe"})
	if c := adm.want(200, "", "GET", ws+"/reviews/"+rid+"/items?format=csv", nil); !strings.HasPrefix(string(c.raw), "review,item,user_id") {
		t.Errorf("review CSV: %.300s", c.raw)
	}
	adm.want(200, "", "POST", ws+"/reviews/"+rid+"/close", nil)
	gateSession := chk.want(201, "", "POST", ws+"/sessions", map[string]any{"user": "rep"}).str("token")
	anon.want(200, "", "GET", ws+"/forward-auth", nil, "Authorization", "Bearer "+gateSession, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/contacts/rep/1")
	anon.want(403, "forbidden", "GET", ws+"/forward-auth", nil, "Authorization", "Bearer "+gateSession, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/elsewhere")
	anon.want(401, "unauthenticated", "GET", ws+"/forward-auth", nil, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/contacts/rep/1")
	anon.want(200, "", "GET", "/.well-known/authzen-configuration", nil)
	anon.want(200, "", "GET", "/.well-known/authzen-configuration"+ws, nil)
	anon.want(200, "", "GET", ws+"/.well-known/authzen-configuration", nil)
	chk.want(200, "", "POST", ws+"/filter", map[string]any{"user": "rep", "permission": "contacts_view"})
	chk.want(200, "", "POST", ws+"/filter", map[string]any{"user": "rep", "permission": "tasks_view"})
	chk.want(200, "", "POST", ws+"/explain", map[string]any{"user": "rep", "permission": "contacts_edit",
		"resource": map[string]any{"owner_id": "u1"}})
	chk.want(200, "", "POST", ws+"/explain", map[string]any{"user": "rep", "permission": "reports_view"})
	chk.want(200, "", "POST", ws+"/explain", map[string]any{"user": "u1", "permission": "settings_roles_edit"})
	dep.want(200, "", "POST", ws+"/explain", map[string]any{"user": "stranger", "permission": "contacts_view"})
	chk.want(200, "", "GET", ws+"/who-can?permission=contacts_view", nil)
	wc := chk.want(200, "", "GET", ws+"/who-can?permission=contacts_view&level=own&limit=1&min_revision=1", nil)
	if c := wc.str("next_cursor"); c != "" {
		chk.want(200, "", "GET", ws+"/who-can?permission=contacts_view&cursor="+c, nil)
	}
	chk.want(400, "invalid_argument", "GET", ws+"/who-can", nil)
	sess := chk.want(201, "", "POST", ws+"/sessions", map[string]any{"user": "rep", "ttl_seconds": 600})
	token := sess.str("token")
	chk.want(200, "", "POST", ws+"/check", map[string]any{"session": token, "permission": "contacts_view"})
	// Rotating the signing key keeps the token valid (A2).
	dep.want(200, "", "GET", "/v1/session-keys", nil)
	adm.want(403, "forbidden", "POST", "/v1/session-keys/rotate", nil)
	if keys := dep.want(200, "", "POST", "/v1/session-keys/rotate", nil).items(); len(keys) != 2 {
		t.Fatalf("after a rotation: %d keys, want 2", len(keys))
	}
	chk.want(200, "", "POST", ws+"/check", map[string]any{"session": token, "permission": "contacts_view"})
	wrote := adm.want(200, "", "PUT", ws+"/members/rep/grants", map[string]any{"grants": map[string]any{}})
	rev := int64(wrote.body["workspace_revision"].(float64))
	chk.want(401, "reauthentication_required", "POST", ws+"/check", map[string]any{"session": token, "permission": "contacts_view", "min_revision": rev})
	chk.want(404, "not_found", "POST", ws+"/sessions", map[string]any{"user": "nobody"})

	// The event feed: long poll and SSE.
	ev := chk.want(200, "", "GET", ws+"/events?after=0", nil)
	if len(ev.items()) == 0 {
		t.Errorf("events after 0: none: %s", ev.raw)
	}
	chk.want(200, "", "GET", fmt.Sprintf("%s/events?after=%d&wait=0", ws, rev), nil)
	tourSSE(t, env.URL+ws+"/events?after=0", checkKey)

	// Audit, usage and policy as code.
	a := adm.want(200, "", "GET", ws+"/audit?limit=2", nil)
	if c := a.str("next_cursor"); c == "" {
		t.Errorf("audit?limit=2: no next_cursor: %s", a.raw)
	} else {
		adm.want(200, "", "GET", ws+"/audit?limit=2&cursor="+c, nil)
	}
	adm.want(200, "", "GET", ws+"/audit?target=role:"+role+"&since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil)
	adm.want(400, "invalid_argument", "GET", ws+"/audit?since=yesterday", nil)
	adm.want(200, "", "GET", ws+"/audit/verify", nil)
	env.Engine.Flush(context.Background()) // the allowed checks above become usage rows (U1)
	if u := adm.want(200, "", "GET", ws+"/usage", nil); len(u.body["usage"].([]any)) == 0 {
		t.Errorf("usage after allowed checks: none: %s", clip(u.raw))
	}
	adm.want(200, "", "GET", ws+"/usage?unused_days=7", nil)
	pol := adm.want(200, "", "GET", ws+"/policy", nil)
	if ct := pol.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Fatalf("GET policy: Content-Type %q", ct)
	}
	adm.want(200, "", "PUT", ws+"/policy?reason=sync", string(pol.raw), "Content-Type", "application/yaml")
	adm.want(400, "invalid_argument", "PUT", ws+"/policy", "version: 2\nroles: []\n", "Content-Type", "application/yaml")

	// Deletes.
	adm.want(409, "role_in_use", "DELETE", ws+"/catalog/objects/vehicles", nil)
	adm.want(200, "", "DELETE", ws+"/catalog/objects/vehicles?force=true", nil)
	adm.want(200, "", "DELETE", ws+"/members/u2", nil)
	adm.want(200, "", "DELETE", rp+"?reassign_to=employee", nil)

	// Every route answered at least once with success.
	seen.mu.Lock()
	defer seen.mu.Unlock()
	var missing []string
	for _, rt := range env.API.Routes() {
		if seen.ok[rt] == 0 {
			missing = append(missing, rt)
		}
	}
	slices.Sort(missing)
	for _, rt := range missing {
		t.Errorf("the tour made no successful call of %s", rt)
	}
}

// tourSSE reads the event stream until its first change, then leaves.
func tourSSE(t *testing.T, url, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "event: change" {
			// Read to the end of the event so the contract sees it whole.
			for sc.Scan() && sc.Text() != "" {
			}
			return
		}
	}
	t.Fatalf("SSE: no change event: %v", sc.Err())
}
