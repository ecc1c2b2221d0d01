package httpapi_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// todoWorld expresses the AuthZEN "Todo" interop scenario as a workspace
// (Z1, Z2): smart objects users and todos, the scenario's four roles, its
// five people (user ids are their PIDs, emails their ids), and its action
// names as workspace aliases.
//
// One deviation: the scenario's admin may delete any todo but edit only
// its own; C4 refuses a delete level above the edit level (s1: "delete
// only after edit"), so admin here edits any todo too. Only Rick is an
// admin, and he is an evil genius, who edits any todo anyway: every
// decision of the scenario is the same.
func todoWorld(t *testing.T, env *apitest.Env) (world, map[string]string) {
	t.Helper()
	w := newWorld(t, env, "todo")
	w.admin.ok(200, "PUT", w.path("/catalog/objects/users"), map[string]any{"name": "Users", "description": "People of the todo app"})
	w.admin.ok(200, "PUT", w.path("/catalog/objects/todos"), map[string]any{"name": "Todos", "description": "The shared todo list"})
	viewer := map[string]any{"users_view": "all", "todos_view": "all"}
	editor := map[string]any{"users_view": "all", "todos_view": "all", "todos_create": "all", "todos_edit": "own", "todos_delete": "own"}
	admin := map[string]any{"users_view": "all", "todos_view": "all", "todos_create": "all", "todos_edit": "all", "todos_delete": "all"}
	evil := map[string]any{"users_view": "all", "todos_view": "all", "todos_create": "all", "todos_edit": "all", "todos_delete": "own"}
	for name, g := range map[string]map[string]any{"viewer": viewer, "editor": editor, "admin": admin, "evil_genius": evil} {
		w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": name, "grants": g, "reason": "interop scenario"})
	}
	pids := map[string]string{
		"rick@the-citadel.com":  "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
		"morty@the-citadel.com": "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
		"summer@the-smiths.com": "CiRmZDI2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
		"beth@the-smiths.com":   "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
		"jerry@the-smiths.com":  "CiRmZDQ2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
	}
	roles := map[string][]string{"rick@the-citadel.com": {"admin", "evil_genius"}, "morty@the-citadel.com": {"editor"},
		"summer@the-smiths.com": {"editor"}, "beth@the-smiths.com": {"viewer"}, "jerry@the-smiths.com": {"viewer"}}
	for email, pid := range pids {
		w.admin.ok(200, "PUT", w.path("/members/"+pid), map[string]any{"name": strings.Split(email, "@")[0], "email": email,
			"kind": "internal", "role_ids": roles[email]})
	}
	w.admin.ok(200, "PUT", w.path("/action-aliases"), map[string]any{"can_read_user": "users_view", "can_read_todos": "todos_view",
		"can_create_todo": "todos_create", "can_update_todo": "todos_edit", "can_delete_todo": "todos_delete"})
	return w, pids
}

// TestZ1_TodoInteropScenario asks every decision of the AuthZEN working
// group's Todo scenario, through evaluation at the root (with the
// workspace key) and under the workspace, and its evaluations.
func TestZ1_TodoInteropScenario(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w, _ := todoWorld(t, env)
	raw, err := os.ReadFile("testdata/authzen/todo-decisions.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Evaluation []struct {
			Request  json.RawMessage `json:"request"`
			Expected bool            `json:"expected"`
		} `json:"evaluation"`
		Evaluations []struct {
			Request  json.RawMessage `json:"request"`
			Expected []struct {
				Decision bool `json:"decision"`
			} `json:"expected"`
		} `json:"evaluations"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Evaluation) != 40 || len(file.Evaluations) != 3 {
		t.Fatalf("the decision file has %d evaluations and %d batches", len(file.Evaluation), len(file.Evaluations))
	}
	for _, path := range []string{"/access/v1/evaluation", w.path("/access/v1/evaluation")} {
		for i, d := range file.Evaluation {
			r := w.check.ok(200, "POST", path, []byte(d.Request))
			if got := r.body["decision"]; got != d.Expected {
				t.Errorf("%s decision %d: got %v, want %v: %s → %s", path, i, got, d.Expected, d.Request, r.raw)
			}
		}
	}
	for i, d := range file.Evaluations {
		r := w.check.ok(200, "POST", "/access/v1/evaluations", []byte(d.Request))
		got := r.body["evaluations"].([]any)
		if len(got) != len(d.Expected) {
			t.Fatalf("evaluations %d: %d answers, want %d: %s", i, len(got), len(d.Expected), r.raw)
		}
		for j, e := range d.Expected {
			if got[j].(map[string]any)["decision"] != e.Decision {
				t.Errorf("evaluations %d.%d: got %v, want %v", i, j, got[j], e.Decision)
			}
		}
	}
}

// TestZ1_EvaluationsSemanticsAndDefaults: top-level values are defaults,
// each evaluation's own keys override them, the three semantics stop
// where the specification says, and a missing key is a 400 (§7).
func TestZ1_EvaluationsSemanticsAndDefaults(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w, pids := todoWorld(t, env)
	morty := pids["morty@the-citadel.com"]
	todo := func(owner string) map[string]any {
		return map[string]any{"resource": map[string]any{"type": "todo", "id": "t-" + owner, "properties": map[string]any{"ownerID": owner}}}
	}
	base := func(sem string) map[string]any {
		req := map[string]any{"subject": map[string]any{"type": "user", "id": morty}, "action": map[string]any{"name": "can_update_todo"},
			"evaluations": []any{todo("morty@the-citadel.com"), todo("rick@the-citadel.com"), todo("morty@the-citadel.com")}}
		if sem != "" {
			req["options"] = map[string]any{"evaluations_semantic": sem}
		}
		return req
	}
	decisions := func(r reply) string {
		var b strings.Builder
		for _, e := range r.body["evaluations"].([]any) {
			fmt.Fprint(&b, e.(map[string]any)["decision"], " ")
		}
		return strings.TrimSpace(b.String())
	}
	for sem, want := range map[string]string{"": "true false true", "execute_all": "true false true",
		"deny_on_first_deny": "true false", "permit_on_first_permit": "true"} {
		if got := decisions(w.check.ok(200, "POST", w.path("/access/v1/evaluations"), base(sem))); got != want {
			t.Errorf("semantic %q: %s, want %s", sem, got, want)
		}
	}
	// An evaluation's own action overrides the default.
	req := base("")
	req["evaluations"] = append(req["evaluations"].([]any), map[string]any{"action": map[string]any{"name": "can_read_todos"},
		"resource": map[string]any{"type": "todo", "id": "x"}})
	if got := decisions(w.check.ok(200, "POST", w.path("/access/v1/evaluations"), req)); got != "true false true true" {
		t.Errorf("override: %s", got)
	}
	// Without evaluations it is one evaluation.
	one := map[string]any{"subject": map[string]any{"type": "user", "id": morty}, "action": map[string]any{"name": "can_read_todos"},
		"resource": map[string]any{"type": "todo", "id": "1"}, "unknown_field": true}
	if r := w.check.ok(200, "POST", "/access/v1/evaluations", one); r.body["decision"] != true {
		t.Errorf("single evaluation: %s", r.raw)
	}
	// Missing keys, bad semantic, too many: 400 with a message string.
	for name, body := range map[string]any{
		"no subject":                 map[string]any{"action": map[string]any{"name": "can_read_todos"}, "resource": map[string]any{"type": "todo", "id": "1"}},
		"no resource":                map[string]any{"subject": map[string]any{"type": "user", "id": morty}, "action": map[string]any{"name": "can_read_todos"}},
		"no action in an evaluation": map[string]any{"subject": map[string]any{"type": "user", "id": morty}, "evaluations": []any{todo("x")}},
		"bad semantic":               map[string]any{"subject": map[string]any{"type": "user", "id": morty}, "action": map[string]any{"name": "can_read_todos"}, "options": map[string]any{"evaluations_semantic": "some"}, "evaluations": []any{todo("x")}},
		"not an object":              []any{1},
	} {
		r := w.check.do("POST", "/access/v1/evaluations", body, "X-Request-ID", "req-"+strings.ReplaceAll(name, " ", "-"))
		if r.status != 400 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || r.header.Get("Gatehouse-Error-Code") != "invalid_argument" {
			t.Errorf("%s: %d %s %q", name, r.status, r.header.Get("Content-Type"), r.raw)
		}
		if r.header.Get("X-Request-ID") != "req-"+strings.ReplaceAll(name, " ", "-") {
			t.Errorf("%s: X-Request-ID not echoed", name)
		}
	}
	// An action that maps to nothing denies, saying why (C1), never silently.
	r := w.check.ok(200, "POST", "/access/v1/evaluation", map[string]any{"subject": map[string]any{"type": "user", "id": morty},
		"action": map[string]any{"name": "todos_veiw"}, "resource": map[string]any{"type": "todo", "id": "1"}})
	ctx, _ := r.body["context"].(map[string]any)
	if r.body["decision"] != false || ctx["reason"] != "unknown_permission" || !strings.Contains(string(r.raw), "todos_view") {
		t.Errorf("unknown action: %s", r.raw)
	}
	// Keys: the deployment key has no workspace at the root; a check key
	// of another workspace is refused under this one (W1).
	d := newCaller(t, env, apitest.AdminKey)
	if r := d.do("POST", "/access/v1/evaluation", one); r.status != 403 {
		t.Errorf("deployment key at the root: %d %s", r.status, r.raw)
	}
	d.ok(200, "POST", w.path("/access/v1/evaluation"), one)
	other := newWorld(t, env, "other")
	if r := other.check.do("POST", w.path("/access/v1/evaluation"), one); r.status != 404 {
		t.Errorf("another workspace's key: %d %s", r.status, r.raw)
	}
	if r := other.check.ok(200, "POST", "/access/v1/evaluation", one); r.body["decision"] != false {
		t.Errorf("another workspace's key at the root decides in its own workspace, where morty is no member: %s", r.raw)
	}
}

// TestZ3_Search: subject search lists the members allowed on the record,
// paged with tokens bound to the request; action search lists what a
// member may do on it (§8).
func TestZ3_Search(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w, pids := todoWorld(t, env)
	req := map[string]any{"subject": map[string]any{"type": "user"}, "action": map[string]any{"name": "can_update_todo"},
		"resource": map[string]any{"type": "todo", "id": "1", "properties": map[string]any{"ownerID": "morty@the-citadel.com"}},
		"page":     map[string]any{"limit": 1}}
	var got []string
	for page := 0; ; page++ {
		r := w.check.ok(200, "POST", w.path("/access/v1/search/subject"), req)
		for _, it := range r.body["results"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		p := r.body["page"].(map[string]any)
		if p["total"] != float64(3) {
			t.Fatalf("total %v: %s", p["total"], r.raw)
		}
		next := p["next_token"].(string)
		if next == "" {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		req["page"] = map[string]any{"limit": 1, "token": next}
		changed := map[string]any{"subject": req["subject"], "action": map[string]any{"name": "can_delete_todo"}, "resource": req["resource"],
			"page": req["page"]}
		if r := w.check.do("POST", w.path("/access/v1/search/subject"), changed); r.status != 400 {
			t.Errorf("a token with a changed request: %d %s", r.status, r.raw)
		}
	}
	want := slices.Sorted(slices.Values([]string{"boss", pids["morty@the-citadel.com"], pids["rick@the-citadel.com"]}))
	if !slices.Equal(got, want) {
		t.Errorf("who may update morty's todo: %v, want %v (the owner, the todo's owner, the evil genius)", got, want)
	}
	r := w.check.ok(200, "POST", "/access/v1/search/action", map[string]any{"subject": map[string]any{"type": "user", "id": pids["morty@the-citadel.com"]},
		"resource": map[string]any{"type": "todos", "id": "1", "properties": map[string]any{"ownerID": "rick@the-citadel.com"}}})
	var names []string
	for _, it := range r.body["results"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "can_create_todo,can_read_todos,create,view" {
		t.Errorf("what morty may do on rick's todo: %v", names)
	}
	m := newCaller(t, env, "").ok(200, "GET", "/.well-known/authzen-configuration", nil)
	if !strings.HasSuffix(m.str("access_evaluation_endpoint"), "/access/v1/evaluation") || m.str("policy_decision_point") == "" {
		t.Errorf("metadata: %s", m.raw)
	}
	for _, p := range []string{"/.well-known/authzen-configuration/v1/workspaces/todo", "/v1/workspaces/todo/.well-known/authzen-configuration"} {
		m := newCaller(t, env, "").ok(200, "GET", p, nil)
		if !strings.HasSuffix(m.str("search_subject_endpoint"), "/v1/workspaces/todo/access/v1/search/subject") {
			t.Errorf("%s: %s", p, m.raw)
		}
	}
}

// TestZ2_G1_AttributesAndContext: resource properties other than owner_id,
// department_id and relations are the record's attributes, and the
// evaluation's context is the request, for grant conditions (Z2, G1).
func TestZ2_G1_AttributesAndContext(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w, pids := todoWorld(t, env)
	w.admin.ok(201, "POST", w.path("/roles"), map[string]any{"name": "weekday", "grants": map[string]any{
		"users_view": "all", "todos_view": map[string]any{"level": "all", "when": "record.status != 'archived' && request.channel == 'app'"}}})
	jerry := pids["jerry@the-smiths.com"]
	w.admin.ok(200, "PUT", w.path("/members/"+jerry), map[string]any{"name": "jerry", "email": "jerry@the-smiths.com",
		"kind": "internal", "role_ids": []string{"weekday"}})
	for _, tc := range []struct {
		props, ctx map[string]any
		want       bool
		reason     string
	}{
		{map[string]any{"ownerID": "rick@the-citadel.com", "status": "open"}, map[string]any{"channel": "app"}, true, "level_all"},
		{map[string]any{"ownerID": "rick@the-citadel.com", "status": "archived"}, map[string]any{"channel": "app"}, false, "condition_false"},
		{map[string]any{"ownerID": "rick@the-citadel.com", "status": "open"}, map[string]any{"channel": "web"}, false, "condition_false"},
		{map[string]any{"ownerID": "rick@the-citadel.com"}, map[string]any{"channel": "app"}, false, "condition_error"},
	} {
		r := w.check.ok(200, "POST", "/access/v1/evaluation", map[string]any{"subject": map[string]any{"type": "user", "id": jerry},
			"action": map[string]any{"name": "can_read_todos"}, "resource": map[string]any{"type": "todo", "id": "1", "properties": tc.props},
			"context": tc.ctx})
		ctx, _ := r.body["context"].(map[string]any)
		if r.body["decision"] != tc.want || ctx["reason"] != tc.reason || (tc.want && ctx["conditional"] != true) {
			t.Errorf("%v %v: %s", tc.props, tc.ctx, r.raw)
		}
	}
}
