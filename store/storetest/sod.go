package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// sodEnv is a workspace with a billing role, a sales role and members
// holding one or the other.
type sodEnv struct {
	*delegated
	billing, sales, sales2 admin.Role
}

func newSoD(t *testing.T, h Harness) *sodEnv {
	w := newDelegated(t, h)
	e := w.env
	s := &sodEnv{delegated: w}
	s.billing = e.role("w", "Billing", policy.Internal, policy.Grants{"billing_view": all})
	s.sales = e.role("w", "Sales", policy.Internal, policy.Grants{"deals_view": all, "deals_edit": all})
	s.sales2 = e.role("w", "Sales saved", policy.Internal, policy.Grants{"contacts_view": all})
	e.member("w", admin.MemberInput{UserID: "bill", Name: "Bill", DepartmentIDs: []string{"east"}, RoleIDs: []string{s.billing.ID}})
	e.member("w", admin.MemberInput{UserID: "sal", Name: "Sal", DepartmentIDs: []string{"east"}, RoleIDs: []string{s.sales.ID}})
	e.member("w", admin.MemberInput{UserID: "sam", Name: "Sam", DepartmentIDs: []string{"east"}, RoleIDs: []string{s.sales2.ID}})
	e.member("w", admin.MemberInput{UserID: "mix", Name: "Mix", DepartmentIDs: []string{"east"}, RoleIDs: []string{s.sales.ID, w.lite.ID}})
	return s
}

// billingVsSales is DESIGN's example rule (S1).
func billingVsSales() admin.SoDRule {
	return admin.SoDRule{ID: "billing-vs-sales", Name: "Billing vs sales", Description: "s3: separate concerns",
		Permissions: [][]string{{"billing_view"}, {"deals_edit", "leads_edit"}}}
}

// testS1SoDRules: rules are validated, need role-definition authority to
// write and report authority to read (X3), are audited, survive a
// restart, and reach policy files.
func testS1SoDRules(t *testing.T, h Harness) {
	s := newSoD(t, h)
	e := s.env
	for _, tc := range []struct {
		name string
		rule admin.SoDRule
		code policy.Code
	}{
		{"one set", admin.SoDRule{ID: "r", Name: "R", Permissions: [][]string{{"billing_view"}}}, policy.CodeInvalidArgument},
		{"empty set", admin.SoDRule{ID: "r", Name: "R", Permissions: [][]string{{"billing_view"}, {}}}, policy.CodeInvalidArgument},
		{"item in two sets", admin.SoDRule{ID: "r", Name: "R", Permissions: [][]string{{"billing_view"}, {"billing_view"}}}, policy.CodeInvalidArgument},
		{"unknown permission (C1)", admin.SoDRule{ID: "r", Name: "R", Permissions: [][]string{{"billing_view"}, {"deal_edit"}}}, policy.CodeUnknownPermission},
		{"both kinds", admin.SoDRule{ID: "r", Name: "R", Permissions: [][]string{{"billing_view"}, {"deals_edit"}}, Roles: [][]string{{"a"}, {"b"}}}, policy.CodeInvalidArgument},
		{"unknown role", admin.SoDRule{ID: "r", Name: "R", Roles: [][]string{{s.billing.ID}, {"nope"}}}, policy.CodeNotFound},
		{"bad id", admin.SoDRule{ID: "R R", Name: "R", Permissions: [][]string{{"billing_view"}, {"deals_edit"}}}, policy.CodeInvalidArgument},
		{"no name", admin.SoDRule{ID: "r", Permissions: [][]string{{"billing_view"}, {"deals_edit"}}}, policy.CodeInvalidArgument},
		{"exception without reason", admin.SoDRule{ID: "r", Name: "R", Permissions: [][]string{{"billing_view"}, {"deals_edit"}},
			Exceptions: []admin.SoDException{{UserID: "sal"}}}, policy.CodeReasonRequired},
		{"exception for a stranger", admin.SoDRule{ID: "r", Name: "R", Permissions: [][]string{{"billing_view"}, {"deals_edit"}},
			Exceptions: []admin.SoDException{{UserID: "nobody", Reason: "x"}}}, policy.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := e.revision("w")
			_, _, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, tc.rule)
			wantCode(t, err, tc.code)
			if e.revision("w") != rev {
				t.Error("a refused rule committed a revision")
			}
		})
	}
	// X3: a department head (settings_roles_edit at subdepartments) may
	// neither write rules nor read them; a role admin may.
	_, _, err := e.svc.PutSoDRule(e.ctx, "w", as("hana"), billingVsSales())
	wantCode(t, err, policy.CodeForbidden)
	_, err = e.svc.SoDRules(e.ctx, "w", admin.Actor{UserID: "hana"})
	wantCode(t, err, policy.CodeForbidden)
	_, _, err = e.svc.SoDViolations(e.ctx, "w", admin.Actor{UserID: "hana"}, "billing-vs-sales", admin.SoDPage{})
	wantCode(t, err, policy.CodeForbidden)
	r, rev, err := e.svc.PutSoDRule(e.ctx, "w", as("ra"), billingVsSales())
	must(t, err)
	if r.CreatedAt.IsZero() || rev != e.revision("w") {
		t.Errorf("rule %+v at revision %d", r, rev)
	}
	if _, again, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, billingVsSales()); err != nil || again != rev {
		t.Errorf("putting the same rule again: revision %d, %v (want %d, nothing written)", again, err, rev)
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "sod_rule:billing-vs-sales"})
	must(t, err)
	if len(entries) != 1 || entries[0].Action != "sod.put" || entries[0].Actor != "ra" {
		t.Fatalf("audit of the rule: %+v", entries)
	}
	roles := admin.SoDRule{ID: "roles", Name: "Billing role vs sales role", Roles: [][]string{{s.billing.ID}, {s.sales.ID, s.sales2.ID}}}
	_, _, err = e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, roles)
	must(t, err)

	svc2, _ := e.service()
	must(t, svc2.Open(e.ctx))
	got, err := svc2.SoDRules(e.ctx, "w", admin.Actor{})
	must(t, err)
	if len(got) != 2 || got[0].ID != "billing-vs-sales" || got[0].Name != "Billing vs sales" || len(got[0].Permissions) != 2 ||
		got[1].ID != "roles" || len(got[1].Roles) != 2 || got[1].Roles[1][1] != s.sales2.ID {
		t.Fatalf("after a restart: %+v", got)
	}
	// Policy as code: exported and imported with the rest.
	out, err := e.svc.ExportPolicy(e.ctx, "w")
	must(t, err)
	if !strings.Contains(string(out), "billing-vs-sales") {
		t.Fatalf("the export has no SoD rules:\n%s", out)
	}
	f, err := admin.ParsePolicy(out)
	must(t, err)
	*f.SoDRules = (*f.SoDRules)[:1]
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, f.Marshal())
	must(t, err)
	if got, _ := e.svc.SoDRules(e.ctx, "w", admin.Actor{}); len(got) != 1 || got[0].ID != "billing-vs-sales" {
		t.Errorf("after importing one rule: %+v", got)
	}
	_, err = e.svc.DeleteSoDRule(e.ctx, "w", as("hana"), "billing-vs-sales")
	wantCode(t, err, policy.CodeForbidden)
	_, err = e.svc.DeleteSoDRule(e.ctx, "w", admin.Write{}, "nope")
	wantCode(t, err, policy.CodeNotFound)
	_, err = e.svc.DeleteSoDRule(e.ctx, "w", admin.Write{}, "billing-vs-sales")
	must(t, err)
	if got, _ := e.svc.SoDRules(e.ctx, "w", admin.Actor{}); len(got) != 0 {
		t.Errorf("after the delete: %+v", got)
	}
}

// testS2SoDRefusesEveryPath: every kind of write that would make a member
// hold both sides of a rule is refused with separation_of_duties naming
// the rule, the member and the permissions, and writes nothing; the same
// writes on members the rule does not catch go through.
func testS2SoDRefusesEveryPath(t *testing.T, h Harness) {
	s := newSoD(t, h)
	e := s.env
	_, _, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, billingVsSales())
	must(t, err)
	_, _, err = e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, admin.SoDRule{ID: "roles", Name: "Billing vs saved sales",
		Roles: [][]string{{s.billing.ID}, {s.sales2.ID}}})
	must(t, err)
	yes := true
	no := false
	// An owner is bound by no rule (W4): holding both sides is allowed
	// until it stops being an owner.
	e.member("w", admin.MemberInput{UserID: "own", Name: "Own", Owner: &yes, RoleIDs: []string{s.billing.ID, s.sales.ID}})
	for _, tc := range []struct {
		name  string
		write func() error
		user  string
	}{
		{"assignment (member roles)", func() error {
			_, _, err := e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "bill", []string{s.billing.ID, s.sales.ID})
			return err
		}, "bill"},
		{"assignment (role members)", func() error {
			_, err := e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, s.sales.ID, []string{"bill"})
			return err
		}, "bill"},
		{"assignment (role set rule)", func() error {
			_, _, err := e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "sam", []string{s.billing.ID, s.sales2.ID})
			return err
		}, "sam"},
		{"direct grant", func() error {
			_, _, _, err := e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "sal", policy.Grants{"invoices_view": all})
			return err
		}, "sal"},
		{"applied role edit", func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, s.billing.ID, admin.RoleUpdate{Grants: policy.Grants{"billing_view": all, "leads_view": all, "leads_edit": own}})
			return err
		}, "bill"},
		{"allow everything (R8)", func() error {
			_, _, err := e.svc.SetAllGrants(e.ctx, "w", admin.Write{Reason: "R8"}, s.billing.ID, true, nil, 0)
			return err
		}, "bill"},
		{"member upsert", func() error {
			_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "new", Name: "New", RoleIDs: []string{s.billing.ID, s.sales.ID}})
			return err
		}, "new"},
		{"member import", func() error {
			_, err := e.svc.ImportMembers(e.ctx, "w", admin.Write{}, []admin.MemberInput{{UserID: "ok", Name: "Ok"},
				{UserID: "bill", Name: "Bill", DepartmentIDs: []string{"east"}, RoleIDs: []string{s.billing.ID, s.sales.ID}}})
			return err
		}, "bill"},
		{"owner stepping down", func() error {
			_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "own", Name: "Own", Owner: &no})
			return err
		}, "own"},
		{"role delete with reassignment (R5)", func() error {
			// mix holds sales and lite; lite's members move to billing.
			_, err := e.svc.DeleteRole(e.ctx, "w", admin.Write{}, s.lite.ID, s.billing.ID)
			return err
		}, "mix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := e.revision("w")
			pe := wantCode(t, tc.write(), policy.CodeSeparationOfDuties)
			if e.revision("w") != rev {
				t.Errorf("a refused write committed revision %d", e.revision("w"))
			}
			if !strings.Contains(pe.Message, tc.user) || !strings.Contains(pe.Message, "Billing vs") {
				t.Errorf("the refusal does not name the member and the rule: %s", pe.Message)
			}
			vs, _ := pe.Details["violations"].([]map[string]any)
			if len(vs) == 0 || vs[0]["user_id"] != tc.user {
				t.Errorf("details: %+v", pe.Details)
			}
		})
	}
	t.Run("P1: the preview lists who would break a rule", func(t *testing.T) {
		imp, err := e.svc.PreviewRole(e.ctx, "w", s.billing.ID, policy.Grants{"billing_view": all, "leads_view": all, "leads_edit": own}, admin.ImpactPage{})
		must(t, err)
		if len(imp.SoD) != 1 || imp.SoD[0].UserID != "bill" || imp.SoD[0].RuleID != "billing-vs-sales" || imp.SoD[0].Held[1][0] != "leads_edit" {
			t.Errorf("preview SoD: %+v", imp.SoD)
		}
		imp, err = e.svc.PreviewRole(e.ctx, "w", s.billing.ID, policy.Grants{"billing_view": all, "leads_view": all}, admin.ImpactPage{})
		must(t, err)
		if len(imp.SoD) != 0 {
			t.Errorf("a harmless edit previews violations: %+v", imp.SoD)
		}
	})
	t.Run("saved revision checked when applied (R6, R6a)", func(t *testing.T) {
		r, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, s.billing.ID, admin.RoleUpdate{Grants: policy.Grants{"billing_view": all, "deals_view": all, "deals_edit": all}, Apply: &no})
		must(t, err) // saved, not applied: nobody holds it yet
		rev := e.revision("w")
		_, _, err = e.svc.RestoreRevision(e.ctx, "w", admin.Write{}, s.billing.ID, r.Revision, &yes, 0)
		wantCode(t, err, policy.CodeSeparationOfDuties)
		if e.revision("w") != rev || e.level("w", "bill", "deals_edit") != policy.LevelNone {
			t.Error("the refused apply changed something")
		}
		// A member assigned later gets the newest revision: refused too.
		_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "plain", []string{s.billing.ID})
		wantCode(t, err, policy.CodeSeparationOfDuties)
		_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, s.billing.ID, admin.RoleUpdate{Grants: policy.Grants{"billing_view": all}})
		must(t, err)
	})
	t.Run("policy import", func(t *testing.T) {
		out, err := e.svc.ExportPolicy(e.ctx, "w")
		must(t, err)
		f, err := admin.ParsePolicy(out)
		must(t, err)
		for i := range f.Roles {
			if f.Roles[i].ID == s.sales.ID {
				f.Roles[i].Grants["invoices_view"] = policy.GrantValue{Level: all}
			}
		}
		rev := e.revision("w")
		_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, f.Marshal())
		wantCode(t, err, policy.CodeSeparationOfDuties)
		if e.revision("w") != rev {
			t.Error("a refused import committed")
		}
	})
	t.Run("writes that create no violation pass", func(t *testing.T) {
		_, _, err := e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "bill", []string{s.billing.ID, s.lite.ID})
		must(t, err)
		_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "sal", policy.Grants{"contacts_view": all})
		must(t, err)
		// deals_view is not in the rule; deals_edit is.
		_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "bill", policy.Grants{"deals_view": all})
		must(t, err)
	})
	t.Run("X3a: a delegated admin cannot break a rule either", func(t *testing.T) {
		r := billingVsSales()
		r.Exceptions = []admin.SoDException{{UserID: "hana", Reason: "she audits her own department"}}
		_, _, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, r)
		must(t, err)
		_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "hana", []string{s.head.ID, admin.RoleEmployee, s.billing.ID})
		must(t, err) // her exception lets her hold both
		// ed (Employee: deals_edit own) in hana's span gets billing_view
		// from her: within her levels and span, but a new violation.
		rev := e.revision("w")
		_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", as("hana"), "ed", policy.Grants{"billing_view": sub})
		wantCode(t, err, policy.CodeSeparationOfDuties)
		// Nor can she except herself or anyone: rules are role definitions.
		r.Exceptions = append(r.Exceptions, admin.SoDException{UserID: "ed", Reason: "mine"})
		_, _, err = e.svc.PutSoDRule(e.ctx, "w", as("hana"), r)
		wantCode(t, err, policy.CodeForbidden)
		if e.revision("w") != rev {
			t.Error("a refused write committed")
		}
	})
}

// testS3ExistingViolations: a rule current members break can be added;
// its violations are listed (and reported in the event feed's change);
// exceptions are recorded, audited and honoured until they expire; new
// violations are refused while the old ones remain.
func testS3ExistingViolations(t *testing.T, h Harness) {
	s := newSoD(t, h)
	e := s.env
	e.member("w", admin.MemberInput{UserID: "both1", Name: "Both 1", RoleIDs: []string{s.billing.ID, s.sales.ID}})
	e.member("w", admin.MemberInput{UserID: "both2", Name: "Both 2", RoleIDs: []string{s.billing.ID, s.sales.ID}})
	_, rev, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, billingVsSales())
	must(t, err)
	ch, err := e.svc.Changes(e.ctx, "w", rev-1, 1)
	must(t, err)
	for _, u := range []string{"both1", "both2"} {
		if !slices.Contains(ch[0].Targets, "sod_violation:billing-vs-sales:"+u) {
			t.Errorf("the rule's change does not report %s's violation: %v", u, ch[0].Targets)
		}
	}
	vs, next, err := e.svc.SoDViolations(e.ctx, "w", admin.Actor{}, "billing-vs-sales", admin.SoDPage{Limit: 1})
	must(t, err)
	if len(vs) != 1 || vs[0].UserID != "both1" || next != "both1" || vs[0].Held[0][0] != "billing_view" || vs[0].Held[1][0] != "deals_edit" {
		t.Fatalf("first page: %+v, next %q", vs, next)
	}
	vs, next, err = e.svc.SoDViolations(e.ctx, "w", admin.Actor{}, "billing-vs-sales", admin.SoDPage{After: next, Limit: 1})
	must(t, err)
	if len(vs) != 1 || vs[0].UserID != "both2" || next != "" {
		t.Fatalf("second page: %+v, next %q", vs, next)
	}
	_, _, err = e.svc.SoDViolations(e.ctx, "w", admin.Actor{}, "nope", admin.SoDPage{})
	wantCode(t, err, policy.CodeNotFound)

	// New violations are refused while the old ones remain; an old
	// violator may change what does not add a conflicting set.
	_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "sal", []string{s.sales.ID, s.billing.ID})
	wantCode(t, err, policy.CodeSeparationOfDuties)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "both1", Name: "Both One"})
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "both1", policy.Grants{"leads_view": all, "leads_edit": all})
	must(t, err) // leads_edit is in the sales set both1 already holds

	// An exception lets sal hold both, is audited, and expires.
	expires := e.clock.now().Add(time.Hour)
	r := billingVsSales()
	r.Exceptions = []admin.SoDException{{UserID: "sal", Reason: "covering billing in December", ExpiresAt: expires}}
	got, _, err := e.svc.PutSoDRule(e.ctx, "w", as("ra"), r)
	must(t, err)
	if len(got.Exceptions) != 1 || got.Exceptions[0].GrantedBy != "ra" || got.Exceptions[0].GrantedAt.IsZero() {
		t.Fatalf("exception: %+v", got.Exceptions)
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "member:sal"})
	must(t, err)
	if last := entries[len(entries)-1]; last.Action != "sod.exception" || last.Actor != "ra" || !strings.Contains(string(last.After), "December") {
		t.Errorf("the exception is not in sal's history: %+v", last)
	}
	_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "sal", []string{s.sales.ID, s.billing.ID})
	must(t, err)
	vs, _, err = e.svc.SoDViolations(e.ctx, "w", admin.Actor{}, "billing-vs-sales", admin.SoDPage{})
	must(t, err)
	i := slices.IndexFunc(vs, func(v admin.SoDViolation) bool { return v.UserID == "sal" })
	if i < 0 || !vs[i].Excepted || vs[i].Exception == nil || vs[i].Exception.Reason != "covering billing in December" {
		t.Fatalf("sal's listed violation: %+v", vs)
	}
	// Re-putting the rule unchanged keeps who recorded the exception.
	again, _, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, r)
	must(t, err)
	if again.Exceptions[0].GrantedBy != "ra" {
		t.Errorf("an unchanged exception changed hands: %+v", again.Exceptions[0])
	}
	// After the expiry the violation shows as not excepted, and a new one
	// on the same footing is refused.
	e.clock.mu.Lock()
	e.clock.t = expires.Add(time.Minute)
	e.clock.mu.Unlock()
	vs, _, err = e.svc.SoDViolations(e.ctx, "w", admin.Actor{}, "billing-vs-sales", admin.SoDPage{})
	must(t, err)
	i = slices.IndexFunc(vs, func(v admin.SoDViolation) bool { return v.UserID == "sal" })
	if i < 0 || vs[i].Excepted {
		t.Errorf("an expired exception still honoured: %+v", vs)
	}
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "bill", policy.Grants{"deals_view": all, "deals_edit": own})
	wantCode(t, err, policy.CodeSeparationOfDuties)
	r.Exceptions[0].ExpiresAt = expires // now in the past
	r.Exceptions[0].Reason = "extended"
	_, _, err = e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, r)
	wantCode(t, err, policy.CodeInvalidArgument)
}
