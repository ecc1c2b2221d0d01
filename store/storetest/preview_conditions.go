package storetest

import (
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testP1G1PreviewShowsConditionChanges: an impact preview (P1) of a role
// edit that adds, removes or changes a condition at the same level lists
// the affected members with the old and new level and condition (G1);
// members another grant covers unconditionally are unaffected; a level
// change under a condition shows both.
func testP1G1PreviewShowsConditionChanges(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	const small = "record.amount < 5"
	rep := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": dept})
	big := e.role("w", "Big", policy.Internal, policy.Grants{"deals_view": all})
	capRole, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: "Capped",
		Grants: policy.Grants{"deals_view": dept}, When: policy.Conditions{"deals_view": capped}})
	must(t, err)
	e.member("w", admin.MemberInput{UserID: "a", RoleIDs: []string{rep.ID}})
	e.member("w", admin.MemberInput{UserID: "b", RoleIDs: []string{rep.ID, big.ID}})
	e.member("w", admin.MemberInput{UserID: "c", RoleIDs: []string{capRole.ID}})
	// d holds the same condition twice (a direct grant): what decides is
	// the union, so it is listed only when that changes.
	e.member("w", admin.MemberInput{UserID: "d", RoleIDs: []string{capRole.ID}})
	_, _, _, err = e.svc.SetDirectGrantsWhen(e.ctx, "w", admin.Write{}, "d", policy.Grants{"deals_view": dept}, policy.Conditions{"deals_view": capped})
	must(t, err)
	rev := e.revision("w")

	for _, tc := range []struct {
		name    string
		role    admin.Role
		g       policy.Grants
		when    policy.Conditions
		members map[string]admin.LevelChange
		perm    admin.PermissionImpact
	}{
		{"condition added", rep, policy.Grants{"deals_view": dept}, policy.Conditions{"deals_view": capped},
			map[string]admin.LevelChange{"a": {Permission: "deals_view", Old: dept, New: dept, NewWhen: capped}},
			admin.PermissionImpact{Permission: "deals_view", Changing: 1}},
		{"condition changed", capRole, policy.Grants{"deals_view": dept}, policy.Conditions{"deals_view": small},
			map[string]admin.LevelChange{
				"c": {Permission: "deals_view", Old: dept, New: dept, OldWhen: capped, NewWhen: small},
				"d": {Permission: "deals_view", Old: dept, New: dept, OldWhen: capped, NewWhen: "(" + small + ") || (" + capped + ")"}}, // sorted,
			admin.PermissionImpact{Permission: "deals_view", Changing: 2}},
		{"condition removed", capRole, policy.Grants{"deals_view": dept}, nil,
			map[string]admin.LevelChange{
				"c": {Permission: "deals_view", Old: dept, New: dept, OldWhen: capped},
				"d": {Permission: "deals_view", Old: dept, New: dept, OldWhen: capped}},
			admin.PermissionImpact{Permission: "deals_view", Changing: 2}},
		{"level raised under the condition", capRole, policy.Grants{"deals_view": all}, policy.Conditions{"deals_view": capped},
			map[string]admin.LevelChange{
				"c": {Permission: "deals_view", Old: dept, New: all, OldWhen: capped, NewWhen: capped},
				"d": {Permission: "deals_view", Old: dept, New: all, OldWhen: capped, NewWhen: capped}},
			admin.PermissionImpact{Permission: "deals_view", Gaining: 2}},
		{"same condition, nothing changes", capRole, policy.Grants{"deals_view": dept}, policy.Conditions{"deals_view": capped},
			map[string]admin.LevelChange{}, admin.PermissionImpact{}},
	} {
		imp, err := e.svc.PreviewRoleWhen(e.ctx, "w", tc.role.ID, tc.g, tc.when, admin.ImpactPage{})
		must(t, err)
		got := map[string]admin.LevelChange{}
		for _, m := range imp.Members {
			if len(m.Changes) != 1 {
				t.Errorf("%s: %s changes %+v, want one", tc.name, m.UserID, m.Changes)
				continue
			}
			got[m.UserID] = m.Changes[0]
		}
		if len(got) != len(tc.members) || imp.Affected != len(tc.members) {
			t.Errorf("%s: affected %d, members %+v, want %+v", tc.name, imp.Affected, got, tc.members)
		}
		for u, want := range tc.members {
			if got[u] != want {
				t.Errorf("%s: %s changes %+v, want %+v", tc.name, u, got[u], want)
			}
		}
		wantPerms := []admin.PermissionImpact{}
		if tc.perm.Permission != "" {
			wantPerms = append(wantPerms, tc.perm)
		}
		if !slices.Equal(append([]admin.PermissionImpact{}, imp.Permissions...), wantPerms) {
			t.Errorf("%s: summary %+v, want %+v", tc.name, imp.Permissions, wantPerms)
		}
	}
	if e.revision("w") != rev {
		t.Error("preview wrote")
	}
}
