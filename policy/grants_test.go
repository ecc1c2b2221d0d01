package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// violations returns the violations of a validation error.
func violations(t *testing.T, err error) []policy.Violation {
	t.Helper()
	e, ok := err.(*policy.Error)
	if !ok {
		t.Fatalf("got %v (%T), want *policy.Error", err, err)
	}
	return e.Details["violations"].([]policy.Violation)
}

const (
	none = policy.LevelNone
	own  = policy.LevelOwn
	dept = policy.LevelDepartment
	sub  = policy.LevelSubdepartments
	all  = policy.LevelAll
)

func TestC4_DependencyViolations(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	cases := []struct {
		name   string
		grants policy.Grants
		pairs  []string // "permission>requires" pairs expected, in order; nil = valid
	}{
		{"view only", policy.Grants{"leads_view": own}, nil},
		{"edit own with view own", policy.Grants{"leads_view": own, "leads_edit": own}, nil},
		{"edit above view", policy.Grants{"leads_view": own, "leads_edit": all}, []string{"leads_edit>leads_view"}},
		{"edit without view", policy.Grants{"leads_edit": own}, []string{"leads_edit>leads_view"}},
		{"delete without edit", policy.Grants{"leads_view": all, "leads_delete": all}, []string{"leads_delete>leads_edit"}},
		{"delete own after edit own", policy.Grants{"leads_view": all, "leads_edit": own, "leads_delete": own}, nil},
		{"create needs some view", policy.Grants{"leads_create": all}, []string{"leads_create>leads_view"}},
		{"create with view own", policy.Grants{"leads_create": all, "leads_view": own}, nil},
		{"export above view", policy.Grants{"contacts_view": dept, "contacts_export": sub}, []string{"contacts_export>contacts_view"}},
		{"refill without wallet view", policy.Grants{"wallet_refill": all}, []string{"wallet_refill>wallet_view"}},
		{"every pair at once", policy.Grants{"leads_edit": all, "deals_delete": own, "wallet_refill": all},
			[]string{"deals_delete>deals_edit", "leads_edit>leads_view", "wallet_refill>wallet_view"}},
		{"inherited edit over an explicit none view (C6)", policy.Grants{"crm_view": all, "crm_edit": all, "leads_view": none},
			[]string{"leads_edit>leads_view"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := c.ValidateGrants(tc.grants, policy.Internal)
			if tc.pairs == nil {
				if err != nil {
					t.Fatalf("valid set rejected: %v", err)
				}
				return
			}
			if policy.ErrorCode(err) != policy.CodeDependencyViolation {
				t.Fatalf("got %v, want dependency_violation", err)
			}
			var got []string
			for _, v := range violations(t, err) {
				got = append(got, v.Permission+">"+v.Requires)
			}
			if !slices.Equal(got, tc.pairs) {
				t.Errorf("pairs %v, want %v", got, tc.pairs)
			}
		})
	}
	err := c.ValidateGrants(policy.Grants{"crm_view": all, "crm_edit": all, "leads_view": none}, policy.Internal)
	if v := violations(t, err)[0]; v.InheritedFrom != "crm_edit" || !strings.Contains(v.Message, "inherited from crm_edit") {
		t.Errorf("inherited violation does not name its source: %+v", v)
	}
}

func TestC5_UnscopedActionsTakeOnlyNoneOrAll(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, l := range []policy.Level{own, dept, sub} {
		err := c.ValidateGrants(policy.Grants{"leads_view": all, "leads_create": l}, policy.Internal)
		if policy.ErrorCode(err) != policy.CodeInvalidArgument || !strings.Contains(err.Error(), "C5") {
			t.Errorf("leads_create %s: %v", l, err)
		}
	}
	if err := c.ValidateGrants(policy.Grants{"leads_view": all, "leads_create": all}, policy.Internal); err != nil {
		t.Error(err)
	}
	if err := c.ValidateGrants(policy.Grants{"leads_view": policy.Level(9)}, policy.Internal); policy.ErrorCode(err) != policy.CodeInvalidArgument {
		t.Errorf("invalid level: %v", err)
	}
}

func TestC1_ValidationReportsUnknownKeysWithSuggestions(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	err := c.ValidateGrants(policy.Grants{"contact_view": all, "leads_veiw": own, "leads_view": all}, policy.Internal)
	if policy.ErrorCode(err) != policy.CodeUnknownPermission {
		t.Fatalf("got %v", err)
	}
	vs := violations(t, err)
	if len(vs) != 2 || vs[0].Permission != "contact_view" || vs[0].Suggestions[0] != "contacts_view" ||
		vs[1].Suggestions[0] != "leads_view" {
		t.Errorf("violations %+v", vs)
	}
}

func TestValidation_ReportsEveryViolationAtOnce(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	err := c.ValidateGrants(policy.Grants{
		"contact_view":  all, // C1
		"leads_create":  own, // C5
		"tasks_view":    all, // R10
		"invoices_view": all, // M6 for a client role
	}, policy.Client)
	codes := map[policy.Code]int{}
	for _, v := range violations(t, err) {
		codes[v.Code]++
	}
	want := map[policy.Code]int{policy.CodeUnknownPermission: 1, policy.CodeInvalidArgument: 2, policy.CodeAudienceMismatch: 1}
	for code, n := range want {
		if codes[code] != n {
			t.Errorf("%s: %d violations, want %d (all: %v)", code, codes[code], n, codes)
		}
	}
	if policy.ErrorCode(err) != policy.CodeUnknownPermission {
		t.Errorf("code %s: the most basic problem should lead", policy.ErrorCode(err))
	}
}

func TestM6_ClientRolesNeverGrantInternalOnlyModules(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, key := range []string{"billing_view", "wallet_view", "settings_roles_view", "flows_view", "settings_view"} {
		err := c.ValidateGrants(policy.Grants{key: all}, policy.Client)
		if policy.ErrorCode(err) != policy.CodeAudienceMismatch {
			t.Errorf("client role with %s: %v", key, err)
		}
		if err := c.ValidateGrants(policy.Grants{key: all}, policy.Internal); err != nil {
			t.Errorf("internal role with %s: %v", key, err)
		}
	}
	if err := c.ValidateGrants(policy.Grants{"contacts_view": own}, policy.Client); err != nil {
		t.Error(err)
	}
	// Even a grant that would reach internal modules by resolution stays out.
	v := c.Resolve(policy.Grants{"invoices_view": all}, policy.Client)
	if id, _ := c.Lookup("invoices_view"); v[id] != none {
		t.Error("a client role resolved an internal-only permission")
	}
}

func TestR10_RelationModulesCannotBeGranted(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, key := range []string{"tasks_view", "tasks_edit", "tasks_delete"} {
		err := c.ValidateGrants(policy.Grants{key: all}, policy.Internal)
		if policy.ErrorCode(err) != policy.CodeInvalidArgument || !strings.Contains(err.Error(), "R10") {
			t.Errorf("%s: %v", key, err)
		}
	}
}

func TestR8_AllowEverythingIsValidAndComplete(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	for _, aud := range []policy.Audience{policy.Internal, policy.Client} {
		g := c.AllowAll(aud)
		if err := c.ValidateGrants(g, aud); err != nil {
			t.Errorf("%s: allow-all is invalid: %v", aud, err)
		}
		v := c.Resolve(g, aud)
		for _, p := range c.Permissions() {
			want := all
			if p.Module.Kind == policy.Relation || (aud == policy.Client && p.Module.InternalOnly) {
				want = none
			}
			if v[p.ID] != want {
				t.Errorf("%s: %s = %s, want %s", aud, p.Key, v[p.ID], want)
			}
		}
	}
	// Deny everything is the empty set: every permission none.
	for _, l := range c.Resolve(policy.Grants{}, policy.Internal) {
		if l != none {
			t.Fatal("empty grants resolve to a level above none")
		}
	}
}

func TestC6_ParentGrantsFlowToDescendants(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	cases := []struct {
		name   string
		grants policy.Grants
		want   map[string]policy.Level
	}{
		{"group reaches modules", policy.Grants{"crm_view": dept},
			map[string]policy.Level{"leads_view": dept, "calls_view": dept, "quotes_view": dept, "crm_view": dept, "campaigns_view": none}},
		{"explicit child overrides, none included", policy.Grants{"crm_view": all, "leads_view": none, "deals_view": own},
			map[string]policy.Level{"leads_view": none, "deals_view": own, "contacts_view": all}},
		{"two levels down to sub-channels", policy.Grants{"channels_reply": own, "channels_view": all},
			map[string]policy.Level{"mailbox_support_reply": own, "voice_outbound_view": all, "whatsapp_reply": own}},
		{"channel grant covers its sub-channels only", policy.Grants{"mailbox_view": all},
			map[string]policy.Level{"mailbox_sales_view": all, "mailbox_support_view": all, "voice_inbound_view": none, "whatsapp_view": none}},
		{"sub-channel override under channel", policy.Grants{"voice_view": all, "voice_inbound_view": none},
			map[string]policy.Level{"voice_inbound_view": none, "voice_outbound_view": all}},
		{"only descendants that support the action", policy.Grants{"crm_edit": own, "crm_view": own},
			map[string]policy.Level{"calls_edit": own, "leads_edit": own, "leads_create": none, "leads_delete": none}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := c.Resolve(tc.grants, policy.Internal)
			for key, want := range tc.want {
				id, ok := c.Lookup(key)
				if !ok {
					t.Fatalf("no %s", key)
				}
				if v[id] != want {
					t.Errorf("%s = %s, want %s", key, v[id], want)
				}
			}
		})
	}
}

func TestC7_OrphanedGrantsAreKeptAndIgnored(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	g := policy.Grants{"fax_view": all, "leads_view": own}
	if got := c.Orphaned(g); !slices.Equal(got, []string{"fax_view"}) {
		t.Errorf("orphaned %v", got)
	}
	v := c.Resolve(g, policy.Internal)
	if id, _ := c.Lookup("leads_view"); v[id] != own {
		t.Error("orphaned key disturbed resolution")
	}
	// A module added to the catalog grants nothing to existing roles.
	ws, _ := c.WithObjects([]policy.SmartObject{{ID: "boats", Name: "Boats", Description: "b"}})
	v = ws.Resolve(policy.Grants{"leads_view": all}, policy.Internal)
	if id, _ := ws.Lookup("boats_view"); v[id] != none {
		t.Error("a new module granted something to an existing role")
	}
}

func TestR9_TemplatesAreValidRoles(t *testing.T) {
	t.Parallel()
	c := defaultCatalog(t)
	ids := map[string]policy.Audience{}
	for _, tpl := range policy.Templates() {
		ids[tpl.ID] = tpl.Audience
		if tpl.Name == "" || tpl.Description == "" || len(tpl.Grants) == 0 {
			t.Errorf("template %s is incomplete", tpl.ID)
		}
		if err := c.ValidateGrants(tpl.Grants, tpl.Audience); err != nil {
			t.Errorf("template %s: %v", tpl.ID, err)
		}
	}
	want := map[string]policy.Audience{"sales": policy.Internal, "support": policy.Internal,
		"billing": policy.Internal, "analyst": policy.Internal, "readonly_client": policy.Client}
	for id, aud := range want {
		if ids[id] != aud {
			t.Errorf("template %s: audience %q, want %q", id, ids[id], aud)
		}
	}
	if len(ids) != len(want) {
		t.Errorf("templates %v", ids)
	}
	// Seed 003: the read-only client modifies nothing.
	ro, _ := policy.TemplateByID("readonly_client")
	for key := range ro.Grants {
		if !strings.HasSuffix(key, "_view") {
			t.Errorf("readonly_client grants %s", key)
		}
	}
	if _, err := policy.TemplateByID("nope"); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Errorf("unknown template: %v", err)
	}
	// TemplateByID returns a copy.
	a, _ := policy.TemplateByID("sales")
	a.Grants["contacts_view"] = none
	if b, _ := policy.TemplateByID("sales"); b.Grants["contacts_view"] != all {
		t.Error("a template was modified through a returned copy")
	}
}
