package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// The conventions of issue 22: what a client generated from the OpenAPI
// document, in any language, relies on.

func TestD4_BatchItemsEchoCorrelationIDsAndGiveRealReasons(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	r := w.check.ok(200, "POST", w.path("/check/batch"), map[string]any{"checks": []map[string]any{
		{"correlation_id": "row-1", "user": "rep", "permission": "contacts_view"},
		{"correlation_id": "row-2", "user": "rep", "permission": "contact_view"},
		{"user": "ghost", "permission": "contacts_view"},
		{"correlation_id": "row-4", "session": "not-a-token", "permission": "contacts_view"},
	}})
	res := r.body["results"].([]any)
	cases := []struct {
		corr, reason, errCode string
		allowed               bool
	}{
		{"row-1", "granted", "", true},
		{"row-2", "unknown_permission", "unknown_permission", false},
		{"", "not_a_member", "", false},
		{"row-4", "unauthenticated", "unauthenticated", false},
	}
	for i, tc := range cases {
		got := res[i].(map[string]any)
		corr, _ := got["correlation_id"].(string)
		code := ""
		if e, ok := got["error"].(map[string]any); ok {
			code, _ = e["code"].(string)
		}
		if corr != tc.corr || got["reason"] != tc.reason || code != tc.errCode || got["allowed"] != tc.allowed {
			t.Errorf("result %d: %v, want correlation %q reason %q error %q allowed %v", i, got, tc.corr, tc.reason, tc.errCode, tc.allowed)
		}
	}
	// An undecided item says why in reason and in error.details, typed.
	if d := res[1].(map[string]any)["error"].(map[string]any)["details"].(map[string]any); !strings.Contains(stringsOf(d["suggestions"]), "contacts_view") {
		t.Errorf("C1: the undecided item's details carry no suggestions: %v", d)
	}
	// checks is required (an empty list is a batch of none).
	e := w.check.fails(400, "invalid_argument", "POST", w.path("/check/batch"), map[string]any{})
	if field(e) != "checks" {
		t.Errorf("missing checks: details.field %q, want checks: %s", field(e), e.raw)
	}
	if r := w.check.ok(200, "POST", w.path("/check/batch"), map[string]any{"checks": []any{}}); len(r.body["results"].([]any)) != 0 {
		t.Errorf("an empty batch: %s", r.raw)
	}
	e = w.check.fails(400, "invalid_argument", "POST", w.path("/check/batch"), map[string]any{"checks": []map[string]any{
		{"user": "rep", "permission": "contacts_view"},
		{"correlation_id": strings.Repeat("x", 201), "user": "rep", "permission": "contacts_view"}}})
	if field(e) != "checks[1].correlation_id" {
		t.Errorf("a long correlation id: details.field %q: %s", field(e), e.raw)
	}
}

func TestM1_ImportNamesTheMissingUserID(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	e := w.admin.fails(400, "invalid_argument", "POST", w.path("/members/import"), map[string]any{"members": []map[string]any{
		{"user_id": "a1", "name": "A"}, {"name": "nobody"}}})
	if field(e) != "members[1].user_id" || !strings.Contains(e.body["error"].(map[string]any)["message"].(string), "members[1].user_id") {
		t.Errorf("a member without user_id: %s", e.raw)
	}
	// All or nothing: the first member was not imported either.
	w.admin.fails(404, "not_found", "GET", w.path("/members/a1"), nil)
}

func TestX4_PolicyExportNegotiatesYAMLOrJSON(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	cases := []struct {
		accept, want string
	}{
		{"", "application/yaml"},
		{"*/*", "application/yaml"},
		{"application/yaml", "application/yaml"},
		{"application/json", "application/json"},
		{"application/json, application/yaml;q=0.5", "application/json"},
		{"application/yaml;q=0.4, application/json;q=0.9", "application/json"},
		{"application/*;q=0.8, application/json", "application/json"},
		{"application/json;q=0, */*", "application/yaml"},
		{"text/html", "application/yaml"}, // nothing acceptable: the default, never a 406
	}
	var yamlText string
	for _, tc := range cases {
		r := w.admin.ok(200, "GET", w.path("/policy"), nil, "Accept", tc.accept)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tc.want) {
			t.Errorf("Accept %q: Content-Type %q, want %s", tc.accept, ct, tc.want)
		}
		if !strings.Contains(r.header.Get("Vary"), "Accept") {
			t.Errorf("Accept %q: no Vary: Accept", tc.accept)
		}
		if tc.want == "application/yaml" {
			yamlText = string(r.raw)
		}
	}
	// The JSON is the same policy: it imports back as a no-op, and the
	// YAML export after it is byte for byte the same.
	j := w.admin.ok(200, "GET", w.path("/policy"), nil, "Accept", "application/json")
	if j.body["version"] != float64(1) || len(j.body["roles"].([]any)) == 0 {
		t.Fatalf("JSON export: %s", j.raw)
	}
	w.admin.ok(200, "PUT", w.path("/policy"), string(j.raw), "Content-Type", "application/json")
	if again := w.admin.ok(200, "GET", w.path("/policy"), nil); string(again.raw) != yamlText {
		t.Errorf("the JSON export did not import back as the same policy:\n%s\nwant\n%s", again.raw, yamlText)
	}
	// A JSON import is held to the same schema: an unknown field is refused.
	var doc map[string]any
	if err := json.Unmarshal(j.raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["rolez"] = []any{}
	w.admin.fails(400, "invalid_argument", "PUT", w.path("/policy"), doc)
}

func field(r reply) string {
	e, _ := r.body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	s, _ := d["field"].(string)
	return s
}

func stringsOf(v any) string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return strings.Join(out, ",")
}
