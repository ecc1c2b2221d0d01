package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testV1V2ReviewDepartmentRoles: a role a department gives its members
// (M9) is one item of the department, not of each member: it shows its
// expiry (T1); a delegated admin, and a member the department's role
// reaches, cannot decide it (X3, X3a); revoked at close, the department no
// longer gives the role, through the ordinary audited department write.
// Member items show the expiry of what they grant.
func testV1V2ReviewDepartmentRoles(t *testing.T, h Harness) {
	r := newReviewEnv(t, h)
	e := r.env
	until := r.now.Add(30 * 24 * time.Hour).Truncate(time.Second)
	_, _, err := e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, admin.Department{ID: "east", Name: "East"},
		&admin.DepartmentRolesInput{RoleIDs: []string{r.lite.ID}, ExpiresAt: map[string]time.Time{r.lite.ID: until}})
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{Reason: "test"}, "ed", policy.Grants{"invoices_view": all},
		map[string]time.Time{"invoices_view": until})
	must(t, err)
	rv := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Lite", Scope: admin.ReviewScope{Roles: []string{r.lite.ID}, Permissions: []string{"invoices_view"}}})
	var dept admin.ReviewItem
	for _, it := range rv.Items {
		if it.DepartmentID == "east" && it.RoleID == r.lite.ID {
			dept = it
		}
		if it.UserID != "" && it.RoleID == r.lite.ID {
			t.Errorf("item %+v: a department-held role is reviewed as the department's, not each member's", it)
		}
	}
	if dept.ID == 0 || dept.UserID != "" || !dept.ExpiresAt.Equal(until) || dept.Grants["crm_view"] != policy.LevelOwn {
		t.Fatalf("the department's item: %+v (items %+v)", dept, rv.Items)
	}
	items, err := e.svc.ReviewItems(e.ctx, "w", admin.Actor{}, rv.ID, admin.ReviewItemFilter{}) // after a reload too
	must(t, err)
	if i := slices.IndexFunc(items, func(it admin.ReviewItem) bool { return it.ID == dept.ID }); i < 0 || items[i].DepartmentID != "east" {
		t.Fatalf("stored department item: %+v", items)
	}
	grant := findItem(t, rv, "ed", "invoices_view")
	if !grant.ExpiresAt.Equal(until) {
		t.Errorf("the expiring grant's item shows expires_at %v, want %v", grant.ExpiresAt, until)
	}
	for _, tc := range []struct {
		who  string
		code policy.Code
	}{
		{"hana", policy.CodePrivilegeEscalation}, // in east: the role reaches her
		{"plain", policy.CodeForbidden},          // no authority at all
		{"vic", policy.CodeForbidden},            // a viewer
	} {
		if _, _, err := e.svc.DecideReviewItem(e.ctx, "w", as(tc.who), rv.ID, dept.ID, admin.DecisionKeep, ""); policy.ErrorCode(err) != tc.code {
			t.Errorf("%s decides the department's item: %v, want %s", tc.who, err, tc.code)
		}
	}
	if _, _, err := e.svc.DecideReviewItem(e.ctx, "w", as("ra"), rv.ID, dept.ID, admin.DecisionRevoke, "no longer needed"); err != nil {
		t.Fatalf("a role admin at all decides the department's item: %v", err)
	}
	rep, err := e.svc.CloseReview(e.ctx, "w", admin.Write{}, rv.ID)
	must(t, err)
	if !slices.ContainsFunc(rep.Revoked, func(it admin.ReviewItem) bool { return it.ID == dept.ID }) {
		t.Fatalf("close report: revoked %+v refused %+v", rep.Revoked, rep.Refused)
	}
	held, _, err := e.svc.HeldRoles(e.ctx, "w", "plain")
	must(t, err)
	if slices.ContainsFunc(held, func(h admin.HeldRole) bool { return h.RoleID == r.lite.ID }) {
		t.Errorf("plain still holds %s through east after the revocation: %+v", r.lite.ID, held)
	}
	if len(held) == 0 {
		t.Error("plain holds no role after its department's was revoked (M4: the default role)")
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{})
	must(t, err)
	if !slices.ContainsFunc(entries, func(en admin.AuditEntry) bool {
		return en.Action == "department.roles" && en.Target == "department:east" && en.Revision == rep.Revision-1
	}) {
		t.Error("no department.roles audit entry for the revocation")
	}
}

// testS2DepartmentAndExpiringAccess: a department role that would complete
// a conflicting role set is refused (S2, M9), and an expiring grant counts
// toward a conflict until it expires (S2, T1), not after.
func testS2DepartmentAndExpiringAccess(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	_, _, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, admin.SoDRule{ID: "lite-vs-big", Name: "Lite vs big", Roles: [][]string{{w.lite.ID}, {w.big.ID}}})
	must(t, err)
	_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "plain", []string{w.big.ID})
	must(t, err)
	_, _, err = e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, admin.Department{ID: "east", Name: "East"}, &admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}})
	if policy.ErrorCode(err) != policy.CodeSeparationOfDuties {
		t.Fatalf("east gives lite while plain (in east) holds big: %v, want separation_of_duties", err)
	}
	if held, _, _ := e.svc.HeldRoles(e.ctx, "w", "plain"); slices.ContainsFunc(held, func(h admin.HeldRole) bool { return h.RoleID == w.lite.ID }) {
		t.Error("the refused department role was written")
	}

	_, _, err = e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, admin.SoDRule{ID: "billing-vs-roles", Name: "Billing vs role settings",
		Permissions: [][]string{{"invoices_view"}, {"settings_roles_view"}}})
	must(t, err)
	until := e.clock.peek().Add(time.Hour)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{Reason: "test"}, "wes", policy.Grants{"invoices_view": all},
		map[string]time.Time{"invoices_view": until})
	must(t, err)
	_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "wes", []string{admin.RoleEmployee, w.viewer.ID})
	if policy.ErrorCode(err) != policy.CodeSeparationOfDuties {
		t.Fatalf("role settings for a member whose invoices grant has not expired: %v, want separation_of_duties", err)
	}
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{Reason: "test"}, "vic", policy.Grants{"invoices_view": all},
		map[string]time.Time{"invoices_view": until})
	if policy.ErrorCode(err) != policy.CodeSeparationOfDuties {
		t.Errorf("an expiring invoices grant to a member holding role settings: %v, want separation_of_duties", err)
	}
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{Reason: "test"}, "vic", policy.Grants{"invoices_view": all})
	if policy.ErrorCode(err) != policy.CodeSeparationOfDuties {
		t.Errorf("an invoices grant to a member holding role settings: %v, want separation_of_duties", err)
	}
	e.clock.advance(2 * time.Hour)
	if _, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "wes", []string{admin.RoleEmployee, w.viewer.ID}); err != nil {
		t.Fatalf("role settings once the invoices grant expired: %v", err)
	}
}
