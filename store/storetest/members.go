package storetest

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func testM2M4DefaultRole(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, "employee", admin.RoleUpdate{Name: ptr("Basic access")})
	must(t, err)
	r := e.role("w", "Sales", policy.Internal, nil)
	m := e.member("w", admin.MemberInput{UserID: "u"})
	if got := roleIDs(m); len(got) != 1 || got[0] != "employee" {
		t.Fatalf("member created without roles has %v (M2)", got)
	}
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, "employee", "u")
	pe := wantCode(t, err, policy.CodeLastRole)
	if !strings.Contains(pe.Message, "Basic access") {
		t.Errorf("last_role message %q does not name the default role's current name", pe.Message)
	}
	_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "u", nil)
	wantCode(t, err, policy.CodeLastRole)
	_, err = e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, r.ID, []string{"u"})
	must(t, err)
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, "employee", "u")
	must(t, err)
	if got := roleIDs(e.getMember("w", "u")); len(got) != 1 || got[0] != r.ID {
		t.Fatalf("roles %v", got)
	}
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, r.ID, "u")
	must(t, err)
	if got := roleIDs(e.getMember("w", "u")); len(got) != 1 || got[0] != "employee" {
		t.Errorf("removing the last non-default role left %v, want the default (M4)", got)
	}
	_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "u", []string{r.ID, "employee", r.ID})
	must(t, err)
	if got := roleIDs(e.getMember("w", "u")); len(got) != 2 {
		t.Errorf("several roles (M3): %v", got)
	}
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, "head", "u")
	wantCode(t, err, policy.CodeNotFound)
}

func testM5DirectGrants(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": all, "deals_edit": own})
	e.member("w", admin.MemberInput{UserID: "u", RoleIDs: []string{r.ID}})
	_, redundant, _, err := e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "u", policy.Grants{"deals_view": own, "leads_view": all, "deals_edit": all})
	must(t, err)
	if len(redundant) != 1 || redundant[0] != "deals_view" {
		t.Errorf("redundant %v, want [deals_view]", redundant)
	}
	if e.level("w", "u", "deals_view") != all || e.level("w", "u", "leads_view") != all || e.level("w", "u", "deals_edit") != all {
		t.Error("direct grants are not additive (M3, M5)")
	}
	rev := e.revision("w")
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "u", policy.Grants{"leads_delete": all})
	wantCode(t, err, policy.CodeDependencyViolation) // delete needs edit (C4)
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "u", policy.Grants{"leads_view": all, "leads_edit": all, "leads_delete": all})
	wantCode(t, err, policy.CodeReasonRequired) // X4
	if e.revision("w") != rev {
		t.Error("a rejected direct grant wrote")
	}
	// A role edit may not take away what a direct grant relies on (C4 on
	// the member's effective levels).
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{Reason: "cleanup duty"}, "u", policy.Grants{"deals_delete": own})
	must(t, err)
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}})
	pe := wantCode(t, err, policy.CodeDependencyViolation)
	if pe.Details["user_id"] != "u" {
		t.Errorf("details %v do not name the member", pe.Details)
	}
	// A client's direct grants never reach internal-only modules (M6).
	cr := e.role("w", "Clients", policy.Client, nil)
	e.member("w", admin.MemberInput{UserID: "c", Kind: policy.Client, RoleIDs: []string{cr.ID}})
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "c", policy.Grants{"settings_roles_view": all})
	wantCode(t, err, policy.CodeAudienceMismatch)
}

func testM6Audience(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	cr := e.role("w", "Clients", policy.Client, policy.Grants{"contacts_view": own})
	_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "c", Kind: policy.Client})
	wantCode(t, err, policy.CodeAudienceMismatch) // the default role is internal
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "i", RoleIDs: []string{cr.ID}})
	wantCode(t, err, policy.CodeAudienceMismatch)
	e.member("w", admin.MemberInput{UserID: "c", Kind: policy.Client, RoleIDs: []string{cr.ID}})
	_, err = e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, "employee", []string{"c"})
	wantCode(t, err, policy.CodeAudienceMismatch)
	for _, k := range []string{"settings_roles_view", "billing_view", "flows_view", "invoices_view"} {
		_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, cr.ID, admin.RoleUpdate{Grants: policy.Grants{k: all}})
		wantCode(t, err, policy.CodeAudienceMismatch)
	}
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, cr.ID, "c")
	wantCode(t, err, policy.CodeLastRole) // the default role cannot take over a client
	// Changing a member's kind needs roles of the new kind.
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "c", Kind: policy.Internal})
	wantCode(t, err, policy.CodeAudienceMismatch)
}

func testM7Filters(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	for _, d := range []admin.Department{{ID: "sales", Name: "Sales"}, {ID: "east", Name: "East", ParentID: "sales"}, {ID: "ops", Name: "Ops"}} {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, d)
		must(t, err)
	}
	e.member("w", admin.MemberInput{UserID: "boss", Owner: ptr(true)})
	r := e.role("w", "Rep", policy.Internal, nil)
	e.member("w", admin.MemberInput{UserID: "ann", Name: "Ann Lee", Email: "ann@example.com", DepartmentIDs: []string{"east"}})
	e.member("w", admin.MemberInput{UserID: "bob", Name: "Bob_Smith", Email: "bob@example.com", DepartmentIDs: []string{"ops", "sales"}})
	e.member("w", admin.MemberInput{UserID: "cy", Name: "Cy", DepartmentIDs: []string{"sales"}})
	before := e.clock.now()
	_, err := e.svc.AddRoleMembers(e.ctx, "w", admin.Write{Actor: admin.Actor{UserID: "boss"}}, r.ID, []string{"ann", "bob"})
	must(t, err)
	ann := e.getMember("w", "ann")
	i := 0
	for ; ann.Roles[i].RoleID != r.ID; i++ {
	}
	if ann.Roles[i].AssignedBy != "boss" || ann.Roles[i].AssignedAt.Before(before) {
		t.Errorf("assignment %+v does not record who and when", ann.Roles[i])
	}
	cases := []struct {
		f    admin.MemberFilter
		want string
	}{
		{admin.MemberFilter{Role: r.ID}, "ann,bob"},
		{admin.MemberFilter{Department: "sales"}, "bob,cy"},
		{admin.MemberFilter{Role: r.ID, Department: "sales"}, "bob"},
		{admin.MemberFilter{Query: "LEE"}, "ann"},
		{admin.MemberFilter{Query: "example.com"}, "ann,bob"},
		{admin.MemberFilter{Query: "_"}, "bob"},
		{admin.MemberFilter{Query: "%"}, ""},
		{admin.MemberFilter{Limit: 2}, "ann,bob"},
		{admin.MemberFilter{After: "bob", Limit: 2}, "boss,cy"},
	}
	for _, c := range cases {
		ms, err := e.svc.Members(e.ctx, "w", admin.Actor{}, c.f)
		must(t, err)
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.UserID)
		}
		if got := strings.Join(ids, ","); got != c.want {
			t.Errorf("members %+v = %q, want %q", c.f, got, c.want)
		}
	}
	ms, _ := e.svc.Members(e.ctx, "w", admin.Actor{}, admin.MemberFilter{Role: r.ID})
	if len(ms) != 2 || len(ms[1].DepartmentIDs) != 2 || len(ms[0].Roles) != 2 {
		t.Errorf("listed members lack departments or roles: %+v", ms)
	}
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "x", DepartmentIDs: []string{"nope"}})
	wantCode(t, err, policy.CodeInvalidArgument)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "x", Email: "not an email"})
	wantCode(t, err, policy.CodeInvalidArgument)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: ""})
	wantCode(t, err, policy.CodeInvalidArgument)
}

func testM8RemoveMember(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"leads_view": all})
	e.member("w", admin.MemberInput{UserID: "u", RoleIDs: []string{r.ID}})
	_, _, _, err := e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "u", policy.Grants{"deals_view": all})
	must(t, err)
	_, err = e.svc.RemoveMember(e.ctx, "w", admin.Write{}, "u")
	must(t, err)
	if _, err := e.svc.Member(e.ctx, "w", admin.Actor{}, "u"); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Errorf("removed member still there: %v", err)
	}
	if d, _ := e.snaps.get("w").Check("u", "leads_view"); d.Allowed {
		t.Error("removed member still allowed")
	}
	if ms, _ := e.svc.Members(e.ctx, "w", admin.Actor{}, admin.MemberFilter{Role: r.ID}); len(ms) != 0 {
		t.Error("removed member still listed under its role")
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "member:u"})
	must(t, err)
	if len(entries) != 3 || entries[2].Action != "member.remove" || entries[2].Before == nil {
		t.Errorf("audit of member u: %+v", entries)
	}
	// Re-adding starts fresh: no old roles or grants come back.
	m := e.member("w", admin.MemberInput{UserID: "u"})
	if len(m.Grants) != 0 || roleIDs(m)[0] != "employee" {
		t.Errorf("re-added member: %+v", m)
	}
	_, err = e.svc.RemoveMember(e.ctx, "w", admin.Write{}, "ghost")
	wantCode(t, err, policy.CodeNotFound)
}

func testDepartments(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	put := func(id, parent string) error {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: id, Name: strings.ToUpper(id), ParentID: parent})
		return err
	}
	must(t, put("a", ""))
	must(t, put("b", "a"))
	must(t, put("c", "b"))
	wantCode(t, put("a", "c"), policy.CodeInvalidArgument) // under its own descendant
	wantCode(t, put("a", "a"), policy.CodeInvalidArgument)
	wantCode(t, put("x", "nope"), policy.CodeInvalidArgument)
	wantCode(t, put("Bad Id", ""), policy.CodeInvalidArgument)
	r := e.role("w", "Heads", policy.Internal, policy.Grants{"leads_view": sub})
	e.member("w", admin.MemberInput{UserID: "head", DepartmentIDs: []string{"a"}, RoleIDs: []string{r.ID}})
	e.member("w", admin.MemberInput{UserID: "low", DepartmentIDs: []string{"c"}})
	rec := &policy.Resource{OwnerID: "someone", DepartmentID: "c"}
	if d, _ := e.snaps.get("w").CheckRecord("head", "leads_view", rec); !d.Allowed {
		t.Fatal("head of a does not reach c")
	}
	_, err := e.svc.DeleteDepartment(e.ctx, "w", admin.Write{}, "b")
	must(t, err)
	ds, _ := e.svc.Departments(e.ctx, "w")
	if len(ds) != 2 || ds[1].ID != "c" || ds[1].ParentID != "a" {
		t.Errorf("after deleting b: %+v, want c moved under a", ds)
	}
	if d, _ := e.snaps.get("w").CheckRecord("head", "leads_view", rec); !d.Allowed {
		t.Error("head of a lost c when b was deleted")
	}
	_, err = e.svc.DeleteDepartment(e.ctx, "w", admin.Write{}, "c")
	must(t, err)
	if m := e.getMember("w", "low"); len(m.DepartmentIDs) != 0 {
		t.Errorf("member still in deleted department: %v", m.DepartmentIDs)
	}
}
