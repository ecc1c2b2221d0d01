package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/httpapi"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// designStatus is DESIGN.md §3's status of each error code.
var designStatus = map[string]int{
	"invalid_argument": 400, "unauthenticated": 401, "reauthentication_required": 401, "forbidden": 403,
	"privilege_escalation": 403, "not_found": 404, "role_in_use": 409, "name_taken": 409, "last_role": 409,
	"role_protected": 409, "plan_limit_reached": 409, "audience_mismatch": 409, "revision_conflict": 412,
	"payload_too_large": 413, "unknown_permission": 422, "dependency_violation": 422, "reason_required": 422,
	"invalid_condition": 422, "separation_of_duties": 409,
	"revision_unavailable": 503, "unavailable": 503, "rate_limited": 429,
}

// fuzzPaths are the values of the path parameters FuzzAPI calls: the
// objects of its fixture workspace. A delete takes a spare, so that the
// fixture's role and smart object outlive the first successful one.
var (
	fuzzPaths = strings.NewReplacer("{ws}", "fz", "{role}", "sales_rep", "{user}", "rep", "{n}", "1",
		"departments/{id}", "departments/sales_east", "objects/{id}", "objects/vehicles", "keys/{id}", "keys/{key}", "sod-rules/{id}", "sod-rules/billing", "reviews/{id}", "reviews/{review}", "{item}", "1")
	fuzzDeletePaths = strings.NewReplacer("{ws}", "fz", "{role}", "spare", "{user}", "u1", "{n}", "1",
		"departments/{id}", "departments/spare", "objects/{id}", "objects/spare", "keys/{id}", "keys/{key}", "sod-rules/{id}", "sod-rules/spare", "reviews/{id}", "reviews/{review}", "{item}", "1")
)

// FuzzAPI drives every route of the API that takes input beyond its path,
// in process, on one node with a small workspace, with any query string,
// body and If-Match / Last-Event-ID header. Every answer has a status the
// OpenAPI document lists for the route, never 500; an error answer is the
// JSON error of a DESIGN.md code, with that code's status. Writes change
// the fixture as the fuzzer goes; the properties hold in any state.
//
// The route is named by the fuzz input ("POST /v1/workspaces/{ws}/check");
// a name that is no route picks one by its hash, so mutations reach every
// route and the seed corpus survives routes being added.
func FuzzAPI(f *testing.F) {
	env := apitest.Start(f, apitest.Options{})
	api := env.API
	do := func(ctx context.Context, method, path, query, header string, body []byte) *httptest.ResponseRecorder {
		r := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Authorization", "Bearer "+apitest.AdminKey)
		r.Header.Set("Content-Type", "application/json")
		if header != "" {
			r.Header.Set("If-Match", header)
			r.Header.Set("Last-Event-ID", header)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		return w
	}
	setup := func(method, path, body string) map[string]any {
		w := do(context.Background(), method, path, "", "", []byte(body))
		var out map[string]any
		if w.Code >= 300 || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			f.Fatalf("fixture: %s %s: %d %s", method, path, w.Code, w.Body)
		}
		return out
	}
	const ws = "/v1/workspaces/fz"
	setup("POST", "/v1/workspaces", `{"id":"fz","name":"Fuzz","plan":"professional"}`)
	key := setup("POST", ws+"/keys", `{"scope":"check","name":"backend"}`)["id"].(string)
	setup("PUT", ws+"/departments/sales", `{"name":"Sales"}`)
	setup("PUT", ws+"/departments/sales_east", `{"name":"Sales East","parent_id":"sales"}`)
	setup("PUT", ws+"/departments/spare", `{"name":"Spare"}`)
	setup("PUT", ws+"/catalog/objects/vehicles", `{"name":"Vehicles","description":"The fleet"}`)
	setup("PUT", ws+"/catalog/objects/spare", `{"name":"Spare","description":"To delete"}`)
	setup("POST", ws+"/roles", `{"name":"Sales rep","template":"sales","reason":"setup","grants":{"deals_view":"department","vehicles_view":"own"}}`)
	setup("POST", ws+"/roles", `{"name":"Spare","grants":{"spare_view":"all"}}`)
	setup("PUT", ws+"/members/rep", `{"name":"Rep","email":"rep@x.example","kind":"internal","department_ids":["sales_east"],"role_ids":["sales_rep"]}`)
	setup("PUT", ws+"/members/boss", `{"name":"Boss","email":"boss@x.example","kind":"internal","owner":true}`)
	setup("PUT", ws+"/members/u1", `{"name":"One","kind":"internal","department_ids":["spare"],"role_ids":["spare"]}`)
	setup("PUT", ws+"/sod-rules/billing", `{"name":"Billing vs deals","conflicts":[["billing_view"],["deals_view"]]}`)
	setup("PUT", ws+"/sod-rules/spare", `{"name":"Spare","roles":[["spare"],["sales_rep"]]}`)
	review := setup("POST", ws+"/reviews", `{"name":"Fuzz review","deadline":"2099-01-01T00:00:00Z","default":"keep"}`)["id"].(string)
	paths := strings.NewReplacer("{key}", key, "{review}", review)

	doc, _ := loadContract(f)
	routes := inputRoutes(f, api)
	// Decisions wait up to a second for a min_revision the node has not
	// reached (D8); a canceled context makes them answer at once. They
	// read only snapshots, so nothing else notices.
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	waits := map[string]bool{}
	for _, p := range []string{"/check", "/check/batch", "/filter", "/explain", "/who-can"} {
		waits["/v1/workspaces/{ws}"+p] = true
	}

	f.Fuzz(func(t *testing.T, route, query, header string, body []byte) {
		if !slices.Contains(routes, route) {
			h := fnv.New32a()
			h.Write([]byte(route))
			route = routes[h.Sum32()%uint32(len(routes))]
		}
		method, pattern, _ := strings.Cut(route, " ")
		fill := fuzzPaths
		if method == "DELETE" {
			fill = fuzzDeletePaths
		}
		path := paths.Replace(fill.Replace(pattern))
		ctx := context.Background()
		switch {
		case waits[pattern]:
			ctx = canceled
		case strings.HasSuffix(pattern, "/events"):
			// A long poll would wait for a change: ask a workspace that
			// does not exist, after every parameter is read.
			path = strings.Replace(path, "/fz/", "/nowhere/", 1)
		}
		w := do(ctx, method, path, query, header, body)
		where := method + " " + path + "?" + query

		op := doc.Paths.Value(pattern).GetOperation(method)
		if w.Code == http.StatusInternalServerError || op.Responses.Status(w.Code) == nil {
			t.Fatalf("%s: status %d, which the document does not list (body %q, header %q): %.1000s", where, w.Code, body, header, w.Body)
		}
		isJSON := strings.HasPrefix(w.Header().Get("Content-Type"), "application/json")
		if isJSON && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s: %d with a body that is not JSON: %.1000q", where, w.Code, w.Body)
		}
		if w.Code < 400 {
			return
		}
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if strings.Contains(pattern, "/access/v1/") {
			// AuthZEN errors are a message string (its §12.1.2), the code
			// in a header.
			e.Error.Code, e.Error.Message = w.Header().Get("Gatehouse-Error-Code"), strings.TrimSpace(w.Body.String())
			isJSON = strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain")
		} else if isJSON && json.Unmarshal(w.Body.Bytes(), &e) != nil {
			isJSON = false
		}
		if !isJSON || e.Error.Message == "" {
			t.Fatalf("%s: %d without an error object: %.1000s", where, w.Code, w.Body)
		}
		if st, ok := designStatus[e.Error.Code]; !ok || st != w.Code {
			t.Fatalf("%s: %d with code %q (status %d in DESIGN.md)", where, w.Code, e.Error.Code, st)
		}
	})
}

// inputRoutes lists the routes that read a body, a query parameter or a
// header FuzzAPI sends, as the OpenAPI document has them (the contract
// tests hold it to the route table): the others have nothing to fuzz.
func inputRoutes(t testing.TB, api *httpapi.Server) []string {
	doc, _ := loadContract(t)
	var out []string
	for _, route := range api.Routes() {
		method, pattern, _ := strings.Cut(route, " ")
		op := doc.Paths.Value(pattern).GetOperation(method)
		input := op.RequestBody != nil
		for _, p := range op.Parameters {
			input = input || p.Value.In == "query" || p.Value.Name == "If-Match" || p.Value.Name == "Last-Event-ID"
		}
		if input {
			out = append(out, route)
		}
	}
	if len(out) == 0 {
		t.Fatal("no route takes input")
	}
	return out
}

// TestFuzzAPI_PathsNameTheFixture: every route's path parameters are
// filled in by fuzzPaths, so FuzzAPI reaches each handler, not the mux's
// 404.
func TestFuzzAPI_PathsNameTheFixture(t *testing.T) {
	api := httpapi.New(httpapi.Config{})
	for _, route := range api.Routes() {
		for _, fill := range []*strings.Replacer{fuzzPaths, fuzzDeletePaths} {
			if p := fill.Replace(route); strings.ContainsAny(strings.NewReplacer("{key}", "", "{review}", "").Replace(p), "{}") {
				t.Errorf("%s: FuzzAPI has no value for a path parameter: %s", route, p)
			}
		}
	}
	in := inputRoutes(t, api)
	t.Logf("FuzzAPI drives %d of %d routes: %s", len(in), len(api.Routes()), strings.Join(in, ", "))
}
