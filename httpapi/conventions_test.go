package httpapi_test

import (
	"encoding/json"
	"fmt"
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

// TestConventions_EveryListPaginates walks every list with limit=2 and
// checks that the pages add up to the whole list, in the same order,
// with next_cursor absent on the last page; a cursor of one list is
// refused by another.
func TestConventions_EveryListPaginates(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	newWorld(t, env, "beta")
	newWorld(t, env, "gamma")
	for _, d := range []string{"a", "b", "c"} {
		w.admin.ok(200, "PUT", w.path("/departments/"+d), map[string]any{"name": "D " + d})
	}
	w.admin.ok(201, "POST", w.path("/keys"), map[string]any{"scope": "check", "name": "third"})
	w.importSalesReps(t, 3)
	for _, l := range []string{"own", "department", "all"} {
		w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "Viewer " + l})
		w.admin.ok(200, "PATCH", w.path("/roles/viewer_"+l), map[string]any{"grants": map[string]any{"campaigns_view": l}})
		w.admin.ok(200, "PATCH", w.path("/roles/viewer_own"), map[string]any{"grants": map[string]any{"leads_view": l}})
	}
	anon := caller{t: t, url: env.URL}
	cases := []struct {
		name string
		c    caller
		path string
		id   string
	}{
		{"templates", anon, "/v1/templates", "id"},
		{"workspaces", w.deployment, "/v1/workspaces", "id"},
		{"keys", w.admin, w.path("/keys"), "id"},
		{"roles", w.admin, w.path("/roles"), "id"},
		{"revisions", w.admin, w.path("/roles/viewer_own/revisions"), "revision"},
		{"departments", w.admin, w.path("/departments"), "id"},
		{"members", w.admin, w.path("/members"), "user_id"},
	}
	cursors := map[string]string{}
	for _, tc := range cases {
		whole := tc.c.ok(200, "GET", tc.path+"?limit=1000", nil)
		if whole.body["next_cursor"] != nil {
			t.Errorf("%s: next_cursor on the only page: %s", tc.name, whole.raw)
		}
		var want, got []string
		for _, it := range whole.items() {
			want = append(want, fmt.Sprint(it.(map[string]any)[tc.id]))
		}
		if len(want) < 3 {
			t.Fatalf("%s: only %d items to page through", tc.name, len(want))
		}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("%s: pages never end", tc.name)
			}
			r := tc.c.ok(200, "GET", tc.path+"?limit=2&cursor="+cursor, nil)
			for _, it := range r.items() {
				got = append(got, fmt.Sprint(it.(map[string]any)[tc.id]))
			}
			next, _ := r.body["next_cursor"].(string)
			if next == "" {
				break
			}
			if len(r.items()) != 2 {
				t.Errorf("%s: a page before the last holds %d items", tc.name, len(r.items()))
			}
			cursor, cursors[tc.name] = next, next
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: pages %v, whole list %v", tc.name, got, want)
		}
		tc.c.fails(400, "invalid_argument", "GET", tc.path+"?limit=0", nil)
		tc.c.fails(400, "invalid_argument", "GET", tc.path+"?limit=1001", nil)
	}
	// A cursor is of its own list only.
	e := w.admin.fails(400, "invalid_argument", "GET", w.path("/departments?cursor="+cursors["roles"]), nil)
	if field(e) != "cursor" {
		t.Errorf("a roles cursor on departments: %s", e.raw)
	}
}

// TestD4_CheckResourcesMatchesSingleChecks: the resource-centric batch
// answers, for every record and permission, exactly what /check answers
// (D2), at one revision; its bounds and errors are named.
func TestD4_CheckResourcesMatchesSingleChecks(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	records := []map[string]any{
		{"owner_id": "rep"},
		{"owner_id": "boss"},
		{"owner_id": "boss", "department_id": "sales_east"},
		{"owner_id": "boss", "department_id": "sales"},
		{"owner_id": "boss", "relations": map[string]any{"responsible": []string{"rep"}}},
	}
	perms := []string{"deals_view", "deals_edit", "deals_delete", "contacts_view"}
	for _, user := range []string{"rep", "boss", "ghost"} {
		var resources []map[string]any
		for i, rec := range records {
			resources = append(resources, map[string]any{"id": fmt.Sprintf("r%d", i), "resource": rec})
		}
		resources = append(resources, map[string]any{"id": "only-view", "resource": records[1], "permissions": []string{"deals_view"}})
		r := w.check.ok(200, "POST", w.path("/check/resources"), map[string]any{"user": user, "permissions": perms, "resources": resources})
		res := r.body["results"].([]any)
		if len(res) != len(resources) {
			t.Fatalf("%s: %d results for %d records", user, len(res), len(resources))
		}
		for i, item := range res {
			got := item.(map[string]any)
			if got["id"] != resources[i]["id"] {
				t.Errorf("%s: result %d has id %v", user, i, got["id"])
			}
			asked := perms
			if p, ok := resources[i]["permissions"].([]string); ok {
				asked = p
			}
			ds := got["permissions"].(map[string]any)
			if len(ds) != len(asked) {
				t.Errorf("%s %v: %d decisions for %d permissions", user, resources[i]["id"], len(ds), len(asked))
			}
			for _, p := range asked {
				one := w.check.ok(200, "POST", w.path("/check"), map[string]any{"user": user, "permission": p, "resource": resources[i]["resource"]})
				d := ds[p].(map[string]any)
				if d["allowed"] != one.body["allowed"] || d["reason"] != one.body["reason"] || d["level"] != one.body["level"] {
					t.Errorf("%s %s on %v: %v, /check says %s", user, p, resources[i]["resource"], d, one.raw)
				}
			}
		}
	}
	w.check.fails(422, "unknown_permission", "POST", w.path("/check/resources"), map[string]any{"user": "rep",
		"permissions": []string{"deal_view"}, "resources": []any{map[string]any{"id": "x"}}})
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"user": "rep", "permissions": perms}, "resources"},
		{map[string]any{"user": "rep", "resources": []any{map[string]any{"id": "x"}}}, "resources[0].permissions"},
		{map[string]any{"user": "rep", "permissions": perms, "resources": []any{map[string]any{"resource": records[0]}}}, "resources[0].id"},
		{map[string]any{"permissions": perms, "resources": []any{map[string]any{"id": "x"}}}, "user"},
	} {
		if e := w.check.fails(400, "invalid_argument", "POST", w.path("/check/resources"), tc.body); field(e) != tc.field {
			t.Errorf("%v: details.field %q, want %q", tc.body, field(e), tc.field)
		}
	}
	// At most 1,000 decisions a call (D4): 251 records × 4 permissions is over.
	many := make([]any, 251)
	for i := range many {
		many[i] = map[string]any{"id": fmt.Sprint(i)}
	}
	if e := w.check.fails(400, "invalid_argument", "POST", w.path("/check/resources"), map[string]any{"user": "rep", "permissions": perms, "resources": many}); field(e) != "resources" {
		t.Errorf("over the limit: %s", e.raw)
	}
	w.check.ok(200, "POST", w.path("/check/resources"), map[string]any{"user": "rep", "permissions": perms, "resources": many[:250]})
}
