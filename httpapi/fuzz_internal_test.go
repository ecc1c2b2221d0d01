package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// The fuzz targets of request decoding: every route's JSON body type
// (FuzzDecodeBodies) and every query parameter and header parser of
// params.go (FuzzQueryParams). The handlers themselves, with their inline
// parsing, are fuzzed through the HTTP API by FuzzAPI (fuzz_test.go).
// Seed corpora are in testdata/fuzz/<target>/.

// bodyEndpoint is a route that decodes a JSON body: the type its handler
// decodes into and the body limit it decodes with.
type bodyEndpoint struct {
	route string // "METHOD /path", as Server.Routes lists it
	new   func() any
	limit int64
}

// bodyEndpoints lists every route that takes a JSON body.
// TestFuzzTables_CoverEveryRoute fails for a route that takes a body and
// is missing here.
var bodyEndpoints = []bodyEndpoint{
	{"POST /v1/workspaces", func() any { return new(createWorkspaceRequest) }, MaxBody},
	{"PATCH /v1/workspaces/{ws}", func() any { return new(updateWorkspaceRequest) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/catalog/objects/{id}", func() any { return new(objectRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/keys", func() any { return new(createKeyRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/console-links", func() any { return new(consoleLinkRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/roles", func() any { return new(createRoleRequest) }, MaxBody},
	{"PATCH /v1/workspaces/{ws}/roles/{role}", func() any { return new(updateRoleRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/roles/{role}/duplicate", func() any { return new(duplicateRoleRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/roles/{role}/preview", func() any { return new(previewRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/roles/{role}/revisions/{n}/restore", func() any { return new(restoreRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/roles/{role}/members", func() any { return new(userIDsRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/members/import", func() any { return new(importRequest) }, importBodyLimit},
	{"PUT /v1/workspaces/{ws}/members/{user}", func() any { return new(memberRequest) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/members/{user}/roles", func() any { return new(memberRolesRequest) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/members/{user}/grants", func() any { return new(memberGrantsRequest) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/departments/{id}", func() any { return new(departmentRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/check", func() any { return new(checkRequest) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/action-aliases", func() any { return new(map[string]string) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/gateway-routes", func() any { return new(gatewayRoutesJSON) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/sod-rules/{id}", func() any { return new(sodRuleIn) }, MaxBody},
	{"POST /v1/workspaces/{ws}/reviews", func() any { return new(createReviewRequest) }, MaxBody},
	{"PATCH /v1/workspaces/{ws}/reviews/{id}", func() any { return new(updateReviewRequest) }, MaxBody},
	{"PUT /v1/workspaces/{ws}/reviews/{id}/items/{item}", func() any { return new(decideRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/check/batch", func() any { return new(batchRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/check/resources", func() any { return new(checkResourcesRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/filter", func() any { return new(filterRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/explain", func() any { return new(explainRequest) }, MaxBody},
	{"POST /v1/workspaces/{ws}/sessions", func() any { return new(sessionRequest) }, MaxBody},
}

// otherBodies are the routes with a write method that take a body that
// is not JSON, or none, and what fuzzes their body.
var otherBodies = map[string]string{
	"PUT /v1/workspaces/{ws}/policy":              "YAML: admin.FuzzParsePolicy, and FuzzAPI through the handler",
	"POST /v1/session-keys/rotate":                "no body",
	"POST /v1/workspaces/{ws}/reviews/{id}/close": "no body",
	// AuthZEN bodies ignore unknown fields (its §12.1.1): FuzzAuthZEN
	// decodes and maps them, and FuzzAPI drives the handlers.
	"POST /access/v1/evaluation":                        "FuzzAuthZEN",
	"POST /access/v1/evaluations":                       "FuzzAuthZEN",
	"POST /access/v1/search/subject":                    "FuzzAuthZEN",
	"POST /access/v1/search/action":                     "FuzzAuthZEN",
	"POST /v1/workspaces/{ws}/access/v1/evaluation":     "FuzzAuthZEN",
	"POST /v1/workspaces/{ws}/access/v1/evaluations":    "FuzzAuthZEN",
	"POST /v1/workspaces/{ws}/access/v1/search/subject": "FuzzAuthZEN",
	"POST /v1/workspaces/{ws}/access/v1/search/action":  "FuzzAuthZEN",
}

// queryParsers names, for every query parameter of the OpenAPI document,
// what parses it: a parser of params.go (fuzzed by FuzzQueryParams), the
// handler itself (fuzzed by FuzzAPI), or nothing (free text).
// TestFuzzTables_CoverEveryRoute fails for a documented parameter missing
// here.
var queryParsers = map[string]string{
	"force":        "boolParam",
	"open":         "boolParam",
	"format":       "handler",
	"limit":        "limitParam",
	"cursor":       "decodeCursor",
	"min_revision": "intParam",
	"after":        "intParam",
	"wait":         "intParam",
	"unused_days":  "intParam",
	"audience":     "handler",
	"level":        "handler",
	"since":        "handler",
	"q":            "text",
	"role":         "text",
	"department":   "text",
	"permission":   "text",
	"reassign_to":  "text",
	"target":       "text",
	"actor":        "text",
	"reason":       "text",
}

// intParams are the integer query parameters as their handlers read them.
var intParams = []struct {
	name     string
	def, max int64
}{
	{"min_revision", 0, 1 << 62}, // who-can
	{"after", 0, 1 << 62},        // events
	{"wait", 0, 60},              // events, maxLongPoll
	{"unused_days", 30, 3650},    // usage
}

// boolSpellings are the values a true/false query parameter takes
// (strconv.ParseBool's), absent being false.
var boolSpellings = map[string]bool{"": false, "1": true, "t": true, "T": true, "true": true, "TRUE": true, "True": true,
	"0": false, "f": false, "F": false, "false": false, "FALSE": false, "False": false}

// cursorKinds are the lists that page with a cursor.
var cursorKinds = []string{"members", "who-can", "audit"}

// maxEcho bounds an error answer's message and details, whatever the
// size of the input it is about: errors name the field and quote an
// excerpt of the value, never the whole of a megabyte.
const maxEcho = 1024

// checkAPIError fails t unless err is a *policy.Error with one of codes
// and a message and details of bounded size.
func checkAPIError(t *testing.T, what string, err error, codes ...policy.Code) *policy.Error {
	t.Helper()
	var pe *policy.Error
	if !errors.As(err, &pe) {
		t.Fatalf("%s: %T %v is not a *policy.Error", what, err, err)
	}
	if !slices.Contains(codes, pe.Code) {
		t.Fatalf("%s: code %s (%v), want one of %v", what, pe.Code, err, codes)
	}
	if pe.Message == "" || len(pe.Message) > maxEcho {
		t.Fatalf("%s: message of %d bytes: %.300q", what, len(pe.Message), pe.Message)
	}
	d, err := json.Marshal(pe.Details)
	if err != nil || len(d) > maxEcho {
		t.Fatalf("%s: details of %d bytes (%v): %.300s", what, len(d), err, d)
	}
	return pe
}

// bodyEndpointOf returns the endpoint of route, or for a string that is
// no route one picked by its hash: fuzz inputs name their route, so that
// the corpus reads well and outlives changes to the table.
func bodyEndpointOf(route string) bodyEndpoint {
	for _, e := range bodyEndpoints {
		if e.route == route {
			return e
		}
	}
	h := fnv.New32a()
	h.Write([]byte(route))
	return bodyEndpoints[h.Sum32()%uint32(len(bodyEndpoints))]
}

// decodeBody decodes body as route e's handler does.
func decodeBody(e bodyEndpoint, body []byte) (any, error) {
	v := e.new()
	r := &http.Request{Method: "POST", Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
	return v, decodeLimit(httptest.NewRecorder(), r, v, e.limit)
}

// FuzzDecodeBodies: any body, for any route's request type, either
// decodes into a value whose encoding decodes to the same value, with no
// character the client did not send, or fails with invalid_argument (or
// payload_too_large past the route's limit) and an answer of bounded size.
func FuzzDecodeBodies(f *testing.F) {
	f.Fuzz(func(t *testing.T, route string, body []byte) {
		e := bodyEndpointOf(route)
		v, err := decodeBody(e, body)
		if err != nil {
			pe := checkAPIError(t, e.route, err, policy.CodeInvalidArgument, policy.CodePayloadTooLarge)
			if pe.Code == policy.CodePayloadTooLarge && int64(len(body)) <= e.limit {
				t.Fatalf("%s: a body of %d bytes is payload_too_large, the limit is %d", e.route, len(body), e.limit)
			}
			return
		}
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("%s: decoded a body that is not valid JSON in UTF-8: %q", e.route, body)
		}
		// One body, one reading (W1): no object of an accepted body has
		// a key twice, as an independent reading with the token decoder
		// finds.
		if key, dup := duplicateKey(body); dup {
			t.Fatalf("%s: decoded %q, whose key %q appears twice in one object", e.route, body, key)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %+v does not encode: %v", e.route, v, err)
		}
		// encoding/json turns a lone surrogate escape (\ud800) into
		// U+FFFD; the decoder must refuse it rather than store a
		// character the client did not send.
		if bytes.Contains(again, []byte("\uFFFD")) && !bytes.Contains(body, []byte("\uFFFD")) &&
			!bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
			t.Fatalf("%s: %q decoded with a replacement character: %s", e.route, body, again)
		}
		w, err := decodeBody(e, again)
		if err != nil {
			t.Fatalf("%s: the re-encoding %s of %q does not decode: %v", e.route, again, body, err)
		}
		// Equal as the API sees them: an empty list the request type
		// omits (a resource's relations) reads as an absent one.
		if twice, _ := json.Marshal(w); !bytes.Equal(again, twice) {
			t.Fatalf("%s: %q → %s → %s", e.route, body, again, twice)
		}
	})
}

// FuzzQueryParams: the shared query and header parsers (params.go) take
// any value: absent means the default, a valid value is within the
// documented bounds, anything else is invalid_argument naming the
// parameter, with an answer of bounded size.
func FuzzQueryParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, query, ifMatch, n string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: query}, Header: http.Header{}}
		r.Header.Set("If-Match", ifMatch)
		r.SetPathValue("n", n)
		q := r.URL.Query()
		fails := func(param string, err error) {
			t.Helper()
			pe := checkAPIError(t, param+" of "+strconv.Quote(query), err, policy.CodeInvalidArgument)
			if f, _ := pe.Details["field"].(string); f != param {
				t.Fatalf("%s of %q: the error names field %q: %v", param, query, f, err)
			}
		}

		b, err := boolParam(r, "force")
		want, ok := boolSpellings[q.Get("force")]
		switch {
		case err != nil && ok:
			t.Fatalf("force=%q refused: %v", q.Get("force"), err)
		case err != nil:
			fails("force", err)
		case !ok || b != want:
			t.Fatalf("force=%q read as %v", q.Get("force"), b)
		}

		for _, p := range intParams {
			n, err := intParam(r, p.name, p.def, p.max)
			switch {
			case err != nil:
				fails(p.name, err)
			case q.Get(p.name) == "" && n != p.def:
				t.Fatalf("%s absent: %d, want the default %d", p.name, n, p.def)
			case n < 0 || n > p.max:
				t.Fatalf("%s=%q: %d, outside 0..%d", p.name, q.Get(p.name), n, p.max)
			}
		}

		if n, err := limitParam(r); err != nil {
			fails("limit", err)
		} else if n < 1 || n > maxLimit || (q.Get("limit") == "" && n != 100) {
			t.Fatalf("limit=%q: %d", q.Get("limit"), n)
		}

		for _, kind := range cursorKinds {
			pos, err := decodeCursor(r, kind)
			if err != nil {
				fails("cursor", err)
				continue
			}
			if q.Get("cursor") == "" && pos != "" {
				t.Fatalf("no cursor read as %q", pos)
			}
			rt := &http.Request{URL: &url.URL{RawQuery: url.Values{"cursor": {encodeCursor(kind, pos)}}.Encode()}}
			if again, err := decodeCursor(rt, kind); err != nil || again != pos {
				t.Fatalf("cursor %q of %s: position %q re-encodes to %q, %v", q.Get("cursor"), kind, pos, again, err)
			}
		}

		if rev, err := revisionHeader(r); err != nil {
			fails("If-Match", err)
		} else if rev < 0 || (rev == 0 && strings.TrimSpace(ifMatch) != "") {
			t.Fatalf("If-Match %q read as %d", ifMatch, rev)
		}

		if rev, err := revisionParam(r); err != nil {
			// roles.go quotes the path segment whole: bounded by the
			// server's limit on the request line, not by an excerpt.
			if policy.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Fatalf("revision %q: %v", n, err)
			}
		} else if rev < 1 {
			t.Fatalf("revision %q read as %d", n, rev)
		}
	})
}

// TestFuzzTables_CoverEveryRoute holds the tables above to the route
// table and the OpenAPI document: every route that takes a body has a
// fuzzed request type, and every documented query parameter a parser.
func TestFuzzTables_CoverEveryRoute(t *testing.T) {
	routes := New(Config{}).Routes()
	fuzzed := map[string]bool{}
	for _, e := range bodyEndpoints {
		if fuzzed[e.route] {
			t.Errorf("%s is listed twice in bodyEndpoints", e.route)
		}
		fuzzed[e.route] = true
		if !slices.Contains(routes, e.route) {
			t.Errorf("bodyEndpoints lists %s, which is not a route", e.route)
		}
	}
	for route := range otherBodies {
		if !slices.Contains(routes, route) {
			t.Errorf("otherBodies lists %s, which is not a route", route)
		}
	}
	for _, route := range routes {
		method, _, _ := strings.Cut(route, " ")
		takesBody := method == "POST" || method == "PUT" || method == "PATCH"
		if _, other := otherBodies[route]; takesBody && !fuzzed[route] && !other {
			t.Errorf("%s takes a body that no fuzz target decodes: add its request type to bodyEndpoints", route)
		}
		if !takesBody && fuzzed[route] {
			t.Errorf("bodyEndpoints lists %s, which takes no body", route)
		}
	}

	documented := map[string]bool{}
	for route, params := range documentedQueryParams(t) {
		for _, p := range params {
			documented[p] = true
			if _, ok := queryParsers[p]; !ok {
				t.Errorf("%s: query parameter %s has no entry in queryParsers", route, p)
			}
		}
	}
	for p := range queryParsers {
		if !documented[p] {
			t.Errorf("queryParsers lists %s, which no route of openapi.yaml takes", p)
		}
	}
}

// documentedQueryParams returns the query parameters of each operation of
// the OpenAPI document, by "METHOD /path".
func documentedQueryParams(t *testing.T) map[string][]string {
	t.Helper()
	type param struct {
		Ref  string `yaml:"$ref"`
		Name string `yaml:"name"`
		In   string `yaml:"in"`
	}
	var doc struct {
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			Parameters map[string]param `yaml:"parameters"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	resolve := func(p param) param {
		if p.Ref != "" {
			return doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
		}
		return p
	}
	out := map[string][]string{}
	for path, item := range doc.Paths {
		var shared []param
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				t.Fatalf("openapi.yaml: %s: %v", path, err)
			}
		}
		for method, n := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				Parameters []param `yaml:"parameters"`
			}
			if err := n.Decode(&op); err != nil {
				t.Fatalf("openapi.yaml: %s %s: %v", method, path, err)
			}
			route := strings.ToUpper(method) + " " + path
			out[route] = nil
			for _, p := range append(slices.Clone(shared), op.Parameters...) {
				if p = resolve(p); p.In == "query" {
					out[route] = append(out[route], p.Name)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("openapi.yaml: no operations")
	}
	return out
}

// TestDecode_ErrorsQuoteBoundedExcerpts: a megabyte of field name, number,
// map key or level comes back as an excerpt, not whole.
func TestDecode_ErrorsQuoteBoundedExcerpts(t *testing.T) {
	long := strings.Repeat("\x7f", 200_000) // %q quotes DEL as 4 bytes
	const check, createRole, batch = "POST /v1/workspaces/{ws}/check", "POST /v1/workspaces/{ws}/roles", "POST /v1/workspaces/{ws}/check/batch"
	cases := map[string]struct {
		route string
		body  string
		want  string // in the message
	}{
		"unknown field":     {check, `{"` + long + `":1}`, "unknown field"},
		"huge number":       {check, `{"min_revision":` + strings.Repeat("9", 200_000) + `}`, `"min_revision"`},
		"map key":           {createRole, `{"grants":{"` + long + `":5}}`, "must be a string"},
		"level":             {createRole, `{"grants":{"deals_view":"` + long + `"}}`, "use none, own, department, subdepartments or all"},
		"nested unknown":    {batch, `{"checks":[{"` + long + `":1}]}`, "unknown field"},
		"level as a number": {createRole, `{"grants":{"deals_view":3}}`, `field "grants" must be a string, not number`},
		"fraction":          {check, `{"min_revision":1.5}`, `field "min_revision" must be an integer from -9223372036854775808 to 9223372036854775807, not number 1.5`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := decodeBody(bodyEndpointOf(tc.route), []byte(tc.body))
			pe := checkAPIError(t, name, err, policy.CodeInvalidArgument)
			if !strings.Contains(pe.Message, tc.want) {
				t.Errorf("message %.300q does not say %q", pe.Message, tc.want)
			}
		})
	}
	t.Run("query parameters", func(t *testing.T) {
		long := strings.Repeat("9", 100_000)
		r := &http.Request{URL: &url.URL{RawQuery: "limit=" + long + "&force=" + long}, Header: http.Header{"If-Match": {long}}}
		_, err := limitParam(r)
		checkAPIError(t, "limit", err, policy.CodeInvalidArgument)
		_, err = boolParam(r, "force")
		checkAPIError(t, "force", err, policy.CodeInvalidArgument)
		_, err = revisionHeader(r)
		checkAPIError(t, "If-Match", err, policy.CodeInvalidArgument)
	})
}

// TestDecode_RefusesLoneSurrogates: a \u escape of half a surrogate pair
// is not a character; encoding/json would store U+FFFD in its place.
func TestDecode_RefusesLoneSurrogates(t *testing.T) {
	e := bodyEndpointOf("POST /v1/workspaces/{ws}/check")
	for _, body := range []string{`{"user":"\ud800","permission":"p"}`, `{"user":"a\udc00b"}`, `{"user":"\uD83D\u0041"}`,
		`{"user":"\ud83d"}`, `{"\udfff":1}`} {
		_, err := decodeBody(e, []byte(body))
		checkAPIError(t, body, err, policy.CodeInvalidArgument)
	}
	for body, user := range map[string]string{`{"user":"\ud83d\ude00"}`: "😀", `{"user":"\\ud800"}`: `\ud800`,
		`{"user":"\\\ud83d\uDE00"}`: `\😀`, `{"user":"\ufffd"}`: "\uFFFD", `{"user":"\u00e9"}`: "é"} {
		v, err := decodeBody(e, []byte(body))
		if err != nil {
			t.Errorf("%s: %v", body, err)
		} else if got := v.(*checkRequest).User; got != user {
			t.Errorf("%s: user %q, want %q", body, got, user)
		}
	}
}

// duplicateKey reports a key that appears twice in one object of a valid
// JSON document, reading it with encoding/json's token decoder.
func duplicateKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: v == '{', keys: map[string]bool{}, key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.key {
				if top.keys[v] {
					return v, true
				}
				top.keys[v] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}
