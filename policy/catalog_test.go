package policy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

func defaultCatalog(t testing.TB) *policy.Catalog {
	t.Helper()
	return policy.DefaultCatalog()
}

func TestC1_PermissionKeysAreModuleUnderscoreAction(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, key := range []string{"contacts_view", "campaigns_create", "wallet_refill", "quotes_skip_cr",
		"email_send", "crm_view", "settings_roles_edit", "mailbox_support_reply", "tasks_view"} {
		p, err := c.PermissionByKey(key)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if got := p.Module.ID + "_" + p.Action; got != key {
			t.Errorf("%s: module %q + action %q", key, p.Module.ID, p.Action)
		}
	}
	for _, key := range []string{"Contacts_view", "CONTACTS_VIEW", "contacts_View", "contacts-view", ""} {
		if _, ok := c.Lookup(key); ok {
			t.Errorf("%q resolved: keys are case-sensitive snake case", key)
		}
	}
}

func TestC1_UnknownPermissionSuggests(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	cases := []struct {
		key   string
		first string
	}{
		{"contact_view", "contacts_view"},
		{"CONTACTS_VIEW", "contacts_view"},
		{"leads_veiw", "leads_view"},
		{"wallet_refil", "wallet_refill"},
		{"xyzzy_frobnicate", ""},
	}
	for _, tc := range cases {
		_, err := c.PermissionByKey(tc.key)
		var e *policy.Error
		if !errors.As(err, &e) || e.Code != policy.CodeUnknownPermission {
			t.Fatalf("%s: got %v, want unknown_permission", tc.key, err)
		}
		sug := e.Details["suggestions"].([]string)
		if len(sug) > 3 {
			t.Errorf("%s: %d suggestions, at most 3", tc.key, len(sug))
		}
		if tc.first == "" {
			if len(sug) != 0 {
				t.Errorf("%s: suggestions %v for a key close to nothing", tc.key, sug)
			}
			continue
		}
		if len(sug) == 0 || sug[0] != tc.first {
			t.Errorf("%s: suggestions %v, want %s first", tc.key, sug, tc.first)
		}
		if !strings.Contains(e.Message, tc.first) {
			t.Errorf("%s: message %q does not name %s", tc.key, e.Message, tc.first)
		}
	}
}

func TestC2_UnsupportedActionsAreNotPermissions(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, key := range []string{"calls_create", "calls_delete", "email_edit", "dashboard_export",
		"wallet_edit", "subscriptions_edit", "billing_edit", "settings_exports_edit", "reports_create"} {
		if _, ok := c.Lookup(key); ok {
			t.Errorf("%s exists, but its module does not support the action", key)
		}
	}
	m, _ := c.Module("calls")
	var acts []string
	for _, p := range m.Permissions {
		acts = append(acts, p.Action)
	}
	if !slices.Equal(acts, []string{"view", "edit", "export"}) {
		t.Errorf("calls actions %v", acts)
	}
}

func TestC3_StandardAndCustomActions(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	leads, _ := c.Module("leads")
	var acts []string
	for _, p := range leads.Permissions {
		acts = append(acts, p.Action)
	}
	if !slices.Equal(acts, []string{"view", "create", "edit", "delete", "export"}) {
		t.Errorf("leads actions %v, want the five standard actions", acts)
	}
	for key, requires := range map[string]string{"wallet_refill": "wallet_view", "quotes_skip_cr": "quotes_edit",
		"email_send": "email_view", "flows_publish": "flows_edit"} {
		p, err := c.PermissionByKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Requires) != 1 || p.Requires[0].Key != requires {
			t.Errorf("%s requires %v, want %s", key, p.Requires, requires)
		}
	}
}

func TestC4_StandardDependencies(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	want := map[string]string{"leads_create": "leads_view", "leads_edit": "leads_view",
		"leads_delete": "leads_edit", "leads_export": "leads_view"}
	for key, req := range want {
		p, _ := c.PermissionByKey(key)
		if len(p.Requires) != 1 || p.Requires[0].Key != req {
			t.Errorf("%s requires %v, want %s", key, p.Requires, req)
		}
	}
}

func TestC5_ScopedAndUnscopedActions(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	cases := map[string]bool{"contacts_view": true, "contacts_edit": true, "contacts_delete": true,
		"contacts_export": true, "contacts_create": false, "wallet_refill": false, "quotes_skip_cr": false,
		"whatsapp_reply": true}
	for key, scoped := range cases {
		p, _ := c.PermissionByKey(key)
		if p.Scoped != scoped {
			t.Errorf("%s scoped = %v, want %v", key, p.Scoped, scoped)
		}
		for l := policy.LevelNone; l <= policy.LevelAll; l++ {
			want := scoped || l == policy.LevelNone || l == policy.LevelAll
			if p.Allows(l) != want {
				t.Errorf("%s allows %s = %v, want %v", key, l, p.Allows(l), want)
			}
		}
	}
}

func TestDefaultCatalog_GroupsShareTheirChildrensActions(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	cases := map[string][]string{
		"crm":      {"view", "edit", "export"},
		"channels": {"view", "reply", "assign"},
		"billing":  {"view"},
		"settings": {"view"},
		"apps":     {"view", "edit"},
	}
	for id, want := range cases {
		m, ok := c.Module(id)
		if !ok {
			t.Fatalf("no module %s", id)
		}
		var got []string
		for _, p := range m.Permissions {
			got = append(got, p.Action)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s actions %v, want %v", id, got, want)
		}
	}
	for _, id := range []string{"leads", "deals", "contacts", "companies", "activities", "calls", "quotes",
		"campaigns", "templates", "appointments", "email", "dashboard", "reports", "invoices", "wallet",
		"subscriptions", "payment_methods", "whatsapp", "webchat", "mailbox", "voice", "flows",
		"quoting_tool", "installer_app", "settings_roles", "settings_general", "settings_exports", "tasks"} {
		if _, ok := c.Module(id); !ok {
			t.Errorf("default catalog lacks module %s", id)
		}
	}
}

func TestM6_InternalOnlyModules(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, id := range []string{"settings", "settings_roles", "billing", "wallet", "automation", "flows"} {
		if m, _ := c.Module(id); !m.InternalOnly {
			t.Errorf("%s is not internal_only", id)
		}
	}
	for _, id := range []string{"crm", "contacts", "channels", "analytics", "dashboard", "tasks"} {
		if m, _ := c.Module(id); m.InternalOnly {
			t.Errorf("%s is internal_only", id)
		}
	}
}

func TestC8_EveryModuleAndPermissionIsDescribedAndSearchable(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, m := range c.AllModules() {
		if m.Description == "" || m.Name == "" {
			t.Errorf("module %s has no name or description", m.ID)
		}
	}
	for _, p := range c.Permissions() {
		if p.Description == "" {
			t.Errorf("permission %s has no description", p.Key)
		}
	}
	cases := []struct {
		q    string
		want string // a permission key that must be among the hits
		not  string // a module that must not be hit
	}{
		{"refill", "wallet_refill", "contacts"},
		{"INBOX", "mailbox_support_view", "leads"},
		{"skip change-request", "quotes_skip_cr", "deals"},
		{"call log export", "calls_export", "wallet"},
	}
	for _, tc := range cases {
		res := c.Search(tc.q)
		var keys []string
		for _, r := range res {
			if r.Module.ID == tc.not {
				t.Errorf("search %q hit module %s", tc.q, tc.not)
			}
			for _, p := range r.Permissions {
				keys = append(keys, p.Key)
			}
		}
		if !slices.Contains(keys, tc.want) {
			t.Errorf("search %q: %v lacks %s", tc.q, keys, tc.want)
		}
	}
	if got := len(c.Search("")); got != len(c.AllModules()) {
		t.Errorf("empty search found %d modules, want all %d", got, len(c.AllModules()))
	}
	if got := c.Search("nothing-matches-this"); len(got) != 0 {
		t.Errorf("search found %d modules for nonsense", len(got))
	}
}

func TestC9_SmartObjectsExtendAWorkspaceCatalog(t *testing.T) {
	t.Parallel()
	base := defaultCatalog(t)
	ws, err := base.WithObjects([]policy.SmartObject{
		{ID: "service_requests", Name: "Service requests", Description: "Repairs asked by customers"},
		{ID: "vehicles", Name: "Vehicles", Description: "Fleet vehicles"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := base.Lookup("vehicles_view"); ok {
		t.Error("the deployment catalog changed")
	}
	m, ok := ws.Module("vehicles")
	if !ok || !m.SmartObject || m.Parent.ID != policy.SmartObjectsGroup {
		t.Fatalf("vehicles module %+v", m)
	}
	for _, a := range []string{"view", "create", "edit", "delete", "export"} {
		if _, ok := ws.Lookup("vehicles_" + a); !ok {
			t.Errorf("vehicles_%s missing", a)
		}
	}
	// Inheritance from smart_objects_* grants (C6) and dependencies (C4).
	v := ws.Resolve(policy.Grants{"smart_objects_view": policy.LevelAll}, policy.Internal)
	if id, _ := ws.Lookup("service_requests_view"); v[id] != policy.LevelAll {
		t.Error("smart_objects_view does not reach service_requests_view")
	}
	if err := ws.ValidateGrants(policy.Grants{"vehicles_edit": policy.LevelAll}, policy.Internal); policy.ErrorCode(err) != policy.CodeDependencyViolation {
		t.Errorf("vehicles_edit without view: %v", err)
	}
	for _, bad := range [][]policy.SmartObject{
		{{ID: "leads", Name: "Leads 2", Description: "x"}},
		{{ID: "Bad-Id", Name: "x"}},
		{{ID: "ok_id", Name: ""}},
		{{ID: "dup", Name: "a"}, {ID: "dup", Name: "b"}},
	} {
		if _, err := base.WithObjects(bad); policy.ErrorCode(err) != policy.CodeInvalidArgument {
			t.Errorf("%v: got %v, want invalid_argument", bad, err)
		}
	}
	if same, _ := base.WithObjects(nil); same != base {
		t.Error("a workspace without smart objects should share the deployment catalog")
	}
}

func TestCatalogLoader_RejectsWithLineNumbers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       []string // substrings of the message
	}{
		{"duplicate module id", `version: 1
modules:
  - id: a
    description: A
  - id: a
    description: A again
`, []string{"t.yaml:5:", `duplicate module id "a"`, "line 3"}},
		{"unknown requires", `version: 1
modules:
  - id: a
    description: A
    actions:
      - view
      - {name: fly, requires: [swim]}
`, []string{"t.yaml:7:", `requires unknown action "swim"`}},
		{"dependency cycle", `version: 1
actions:
  x: {scoped: true, requires: [y]}
  y: {scoped: true, requires: [x]}
modules:
  - {id: a, description: A, actions: [x, y]}
`, []string{"t.yaml:6:", "dependency cycle"}},
		{"relation module with scoped actions", `version: 1
modules:
  - id: tasks
    kind: relation
    description: T
    actions: [view]
    relations: {creator: [view]}
`, []string{"t.yaml:6:", "cannot be scoped"}},
		{"permission key collision", `version: 1
modules:
  - id: a_b
    description: AB
    actions: [{name: c}]
  - id: a
    description: A
    actions: [{name: b_c}]
`, []string{"t.yaml:8:", `"a_b_c"`, "collides"}},
		{"unknown field", `version: 1
modules:
  - id: a
    descripton: typo
`, []string{"t.yaml:4:", `unknown field "descripton"`}},
		{"bad id", `version: 1
modules:
  - {id: Leads, description: L}
`, []string{"t.yaml:3:", "lowercase snake case"}},
		{"missing description", `version: 1
modules:
  - {id: leads}
`, []string{"t.yaml:3:", "description"}},
		{"unknown standard action", `version: 1
modules:
  - {id: leads, description: L, actions: [view, fly]}
`, []string{"t.yaml:3:", `"fly" is not a standard action`}},
		{"wrong version", `version: 2
modules: []
`, []string{"t.yaml:1:", "version"}},
		{"relation closed under requires", `version: 1
modules:
  - id: tasks
    kind: relation
    description: T
    actions: [{name: view}, {name: edit, requires: [view]}]
    relations: {observer: [edit]}
`, []string{"t.yaml:3:", `allows "edit" but not "view"`}},
		{"not yaml", "version: [1\n", []string{"invalid catalog"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := policy.ParseCatalog("t.yaml", []byte(tc.yaml))
			if policy.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Fatalf("got %v, want invalid_argument", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err.Error(), w)
				}
			}
		})
	}
}

func TestCatalogLoader_PermissionIDsAreDenseAndPreorder(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for i, p := range c.Permissions() {
		if int(p.ID) != i {
			t.Fatalf("permission %s has id %d at index %d", p.Key, p.ID, i)
		}
		if id, _ := c.Lookup(p.Key); id != p.ID {
			t.Fatalf("lookup %s = %d", p.Key, id)
		}
		if par := p.InheritsFrom(); par != nil && par.ID >= p.ID {
			t.Errorf("%s inherits from %s, which comes later", p.Key, par.Key)
		}
	}
}
