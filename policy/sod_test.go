package policy_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestS1_CompileSoD: a rule has two or more non-empty sets of known keys,
// no key twice; a key covers the same action below it (C6).
func TestS1_CompileSoD(t *testing.T) {
	t.Parallel()
	cat := policy.DefaultCatalog()
	for _, c := range []struct {
		name string
		sets [][]string
		code policy.Code
	}{
		{"two sets", [][]string{{"billing_view"}, {"deals_edit", "leads_edit"}}, ""},
		{"one set", [][]string{{"billing_view"}}, policy.CodeInvalidArgument},
		{"empty set", [][]string{{"billing_view"}, {}}, policy.CodeInvalidArgument},
		{"twice", [][]string{{"billing_view"}, {"deals_edit", "billing_view"}}, policy.CodeInvalidArgument},
		{"unknown key", [][]string{{"billing_view"}, {"deal_edit"}}, policy.CodeUnknownPermission},
	} {
		_, err := cat.CompileSoD(c.sets)
		if policy.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %q", c.name, err, c.code)
		}
	}
}

// TestS2_HeldAndNewConflict: which sets a member's levels hold, and which
// changes make a new conflict (S2) rather than keep an old one (S3).
func TestS2_HeldAndNewConflict(t *testing.T) {
	t.Parallel()
	cat := policy.DefaultCatalog()
	r, err := cat.CompileSoD([][]string{{"billing_view"}, {"deals_edit", "leads_edit"}, {"reports_export"}})
	if err != nil {
		t.Fatal(err)
	}
	levels := func(g policy.Grants) policy.Vector {
		return cat.RoleVector(policy.RoleRevision{Audience: policy.Internal, Grants: g})
	}
	held := r.Held(levels(policy.Grants{"invoices_view": policy.LevelAll, "crm_edit": policy.LevelOwn}), nil)
	if !slices.EqualFunc(held, [][]string{{"billing_view"}, {"deals_edit", "leads_edit"}, nil}, slices.Equal) || !policy.Conflicting(held) {
		t.Errorf("held %v: billing_view covers invoices_view below it, crm_edit reaches deals_edit and leads_edit", held)
	}
	held = r.Held(levels(policy.Grants{"billing_view": policy.LevelAll, "deals_edit": policy.LevelOwn}), nil)
	if !policy.Conflicting(held) || held[0][0] != "billing_view" {
		t.Errorf("held %v", held)
	}
	if held := r.Held(levels(policy.Grants{"billing_view": policy.LevelAll}), nil); policy.Conflicting(held) {
		t.Errorf("one set is no conflict: %v", held)
	}
	a, b, c := []string{"x"}, []string{"y"}, []string{"z"}
	for _, tc := range []struct {
		name          string
		before, after [][]string
		want          bool
	}{
		{"none to one", [][]string{nil, nil, nil}, [][]string{a, nil, nil}, false},
		{"one to two", [][]string{a, nil, nil}, [][]string{a, b, nil}, true},
		{"new member", nil, [][]string{a, b, nil}, true},
		{"kept", [][]string{a, b, nil}, [][]string{a, b, nil}, false},
		{"lost one", [][]string{a, b, c}, [][]string{a, b, nil}, false},
		{"swapped", [][]string{a, b, nil}, [][]string{a, nil, c}, true},
		{"gained a third", [][]string{a, b, nil}, [][]string{a, b, c}, true},
	} {
		if got := policy.NewConflict(tc.before, tc.after); got != tc.want {
			t.Errorf("%s: NewConflict = %v, want %v", tc.name, got, tc.want)
		}
	}
	roles, _ := policy.RoleSoD([][]string{{"billing"}, {"sales"}})
	if !policy.Conflicting(roles.Held(nil, []string{"billing", "sales", "x"})) || roles.Touches([]policy.PermID{0, 1}) {
		t.Error("role rules read assignments, never levels")
	}
}
