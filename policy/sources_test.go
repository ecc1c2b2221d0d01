package policy_test

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestM3_M5_EffectivePermissionsListSources: each permission above none is
// listed once, at the highest level over the roles and the direct grant,
// with every source that gives it a level; a non-member is not listed.
func TestM3_M5_EffectivePermissionsListSources(t *testing.T) {
	t.Parallel()
	snap, err := policy.Compile(policy.State{
		Workspace: "acme", Revision: 1, Catalog: policy.DefaultCatalog(),
		Roles: []policy.RoleRevision{
			{RoleID: "a", Revision: 1, Name: "A", Audience: policy.Internal, Grants: policy.Grants{"crm_view": policy.LevelOwn}},
			{RoleID: "b", Revision: 1, Name: "B", Audience: policy.Internal, Grants: policy.Grants{"leads_view": policy.LevelAll}},
		},
		Members: []policy.Member{{UserID: "ana", Kind: policy.Internal,
			Roles:  []policy.RoleRef{{RoleID: "a", Revision: 1}, {RoleID: "b", Revision: 1}},
			Grants: policy.Grants{"reports_view": policy.LevelAll}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	perms, ok := snap.EffectivePermissions("ana")
	if !ok {
		t.Fatal("ana is a member")
	}
	byKey := map[string]policy.EffectivePermission{}
	for _, ep := range perms {
		if _, dup := byKey[ep.Permission]; dup || ep.Level == policy.LevelNone {
			t.Fatalf("%s listed twice or at none", ep.Permission)
		}
		byKey[ep.Permission] = ep
	}
	leads := byKey["leads_view"]
	if leads.Level != policy.LevelAll || len(leads.Roles) != 2 || leads.Direct != nil {
		t.Errorf("leads_view = %+v; want all, from A (inherited own) and B (explicit all)", leads)
	}
	deals := byKey["deals_view"]
	if deals.Level != policy.LevelOwn || len(deals.Roles) != 1 || deals.Roles[0].RoleID != "a" || deals.Roles[0].From != "crm_view" {
		t.Errorf("deals_view = %+v; want own, inherited from A's crm_view (C6)", deals)
	}
	if r := byKey["reports_view"]; r.Direct == nil || r.Direct.Level != policy.LevelAll || len(r.Roles) != 0 {
		t.Errorf("reports_view = %+v; want the direct grant only (M5)", r)
	}
	if _, ok := byKey["wallet_view"]; ok {
		t.Error("a permission at none must not be listed")
	}
	if _, ok := snap.EffectivePermissions("nobody"); ok {
		t.Error("a non-member has no effective permissions")
	}
}
