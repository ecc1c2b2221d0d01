package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func (e *env) deptRoles(ws, id string, in admin.DepartmentRolesInput) error {
	e.t.Helper()
	var d admin.Department
	for _, x := range e.departments(ws) {
		if x.ID == id {
			d = x
		}
	}
	_, _, err := e.svc.PutDepartmentWithRoles(e.ctx, ws, admin.Write{}, d, &in)
	return err
}

func (e *env) departments(ws string) []admin.Department {
	e.t.Helper()
	ds, err := e.svc.Departments(e.ctx, ws)
	must(e.t, err)
	return ds
}

// testM9DepartmentRoles: a department's roles are held by its members
// while inside (and by its sub-departments' with include_subdepartments);
// joining, leaving and moving departments change exactly the right
// members' access and epochs (A1); M2/M4 count them, M6 never gives a
// client an internal role through one; R5 refuses deleting a role a
// department holds; a restart loads them.
func testM9DepartmentRoles(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	for _, d := range []admin.Department{{ID: "sales", Name: "Sales"}, {ID: "sales_east", Name: "Sales east", ParentID: "sales"}, {ID: "support", Name: "Support"}} {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, d)
		must(t, err)
	}
	sales := e.role("w", "Sales", policy.Internal, policy.Grants{"invoices_view": all})
	portal := e.role("w", "Portal", policy.Client, policy.Grants{"contacts_view": own})
	e.member("w", admin.MemberInput{UserID: "ana", DepartmentIDs: []string{"sales_east"}})
	e.member("w", admin.MemberInput{UserID: "ben", DepartmentIDs: []string{"sales"}})
	e.member("w", admin.MemberInput{UserID: "cat", DepartmentIDs: []string{"support"}})
	e.member("w", admin.MemberInput{UserID: "cli", Kind: policy.Client, DepartmentIDs: []string{"sales"}, RoleIDs: []string{portal.ID}})
	everyone := []string{"ana", "ben", "cat", "cli"}
	has := func(u string) bool { return e.level("w", u, "invoices_view") == all }
	step := func(name string, wantMoved []string, wantHolders ...string) {
		t.Helper()
		for _, u := range everyone {
			if got, want := has(u), slices.Contains(wantHolders, u); got != want {
				t.Errorf("%s: %s holds Sales = %v, want %v (M9)", name, u, got, want)
			}
		}
		_ = wantMoved
	}

	before := e.epochs("w", everyone...)
	must(t, e.deptRoles("w", "sales", admin.DepartmentRolesInput{RoleIDs: []string{sales.ID}}))
	step("sales gets the role", nil, "ben")
	if got := moved(before, e.epochs("w", everyone...)); got != "ben" {
		t.Errorf("epochs moved for %q, want ben (A1: the client in sales gains nothing, M6)", got)
	}

	before = e.epochs("w", everyone...)
	must(t, e.deptRoles("w", "sales", admin.DepartmentRolesInput{IncludeSubdepartments: ptr(true)}))
	step("with sub-departments", nil, "ben", "ana")
	if got := moved(before, e.epochs("w", everyone...)); got != "ana" {
		t.Errorf("epochs moved for %q, want ana", got)
	}
	ana := e.getMember("w", "ana")
	if len(ana.DepartmentRoles) != 1 || ana.DepartmentRoles[0].RoleID != sales.ID || ana.DepartmentRoles[0].Department != "sales" {
		t.Errorf("ana shows department roles %+v, want Sales through sales", ana.DepartmentRoles)
	}
	list, err := e.svc.Members(e.ctx, "w", admin.Actor{}, admin.MemberFilter{Role: sales.ID})
	must(t, err)
	if got := userIDs(list); !slices.Equal(got, []string{"ana", "ben"}) {
		t.Errorf("the role's member list is %v, want [ana ben] (held through departments)", got)
	}

	// A member moving out loses it; a department moving in brings its
	// members under it.
	before = e.epochs("w", everyone...)
	e.member("w", admin.MemberInput{UserID: "ana", DepartmentIDs: []string{"support"}})
	step("ana moves to support", nil, "ben")
	if got := moved(before, e.epochs("w", everyone...)); got != "ana" {
		t.Errorf("epochs moved for %q, want ana", got)
	}
	// The members of sales move too, as for any department moved under
	// theirs: what their subdepartments level reaches changed (A1).
	before = e.epochs("w", everyone...)
	_, _, err = e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "support", Name: "Support", ParentID: "sales"})
	must(t, err)
	step("support moves under sales", nil, "ben", "ana", "cat")
	if got := moved(before, e.epochs("w", everyone...)); got != "ana,ben,cat,cli" {
		t.Errorf("epochs moved for %q, want ana,ben,cat,cli", got)
	}
	if d := e.departments("w"); !slices.ContainsFunc(d, func(x admin.Department) bool { return x.ID == "sales" && len(x.Roles) == 1 && x.IncludeSubdepartments }) {
		t.Errorf("a move of another department changed sales: %+v", d)
	}

	// M2/M4: a role through a department counts; removing the member's
	// own role never removes it; left with none, the default role.
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, admin.RoleEmployee, "ben")
	must(t, err)
	if m := e.getMember("w", "ben"); len(m.Roles) != 0 || len(m.DepartmentRoles) != 1 {
		t.Errorf("ben after losing his own role: own %+v, through departments %+v", m.Roles, m.DepartmentRoles)
	}
	if !has("ben") {
		t.Error("removing ben's own role removed the role he holds through sales")
	}
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, sales.ID, admin.RoleEmployee)
	wantCode(t, err, policy.CodeRoleInUse) // R5: take it off the departments first
	must(t, e.deptRoles("w", "sales", admin.DepartmentRolesInput{RoleIDs: []string{}}))
	step("sales loses the role", nil)
	if ids := roleIDs(e.getMember("w", "ben")); !slices.Equal(ids, []string{admin.RoleEmployee}) {
		t.Errorf("ben left without a role holds %v, want the default role (M4)", ids)
	}

	// A restart loads department roles and their setting.
	must(t, e.deptRoles("w", "sales", admin.DepartmentRolesInput{RoleIDs: []string{sales.ID, portal.ID}}))
	other, otherSnaps := e.service()
	must(t, other.Open(e.ctx))
	sameSnapshots(t, e.snaps.get("w"), otherSnaps.get("w"), everyone...)
	if d, _ := otherSnaps.get("w").Check("cli", "contacts_view"); d.Level != own {
		t.Errorf("the client in sales: contacts_view %s, want own", d.Level)
	}
	if d, _ := otherSnaps.get("w").Check("cli", "invoices_view"); d.Level != none {
		t.Errorf("the client got an internal role through a department: invoices_view %s (M6)", d.Level)
	}

	// Policy as code: department roles export, and a re-import of the
	// export writes nothing; a file without them takes them away.
	must(t, e.deptRoles("w", "sales", admin.DepartmentRolesInput{IncludeSubdepartments: ptr(true)}))
	y, err := e.svc.ExportPolicy(e.ctx, "w")
	must(t, err)
	if !strings.Contains(string(y), "include_subdepartments: true") || !strings.Contains(string(y), "- "+sales.ID) {
		t.Fatalf("the export does not hold the department roles:\n%s", y)
	}
	rev := e.revision("w")
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, y)
	must(t, err)
	if e.revision("w") != rev {
		t.Error("re-importing the export wrote")
	}
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, []byte(strings.Replace(string(y), "include_subdepartments: true", "include_subdepartments: false", 1)))
	must(t, err)
	if has("ana") || !has("ben") {
		t.Error("importing sales without sub-departments left ana holding Sales, or took it from ben")
	}
}

// testM9T1DepartmentRoleExpiry: a department's role with expires_at is
// never honoured after the instant and its expiry is committed by system
// (T1, T2), moving the epochs of the members it reached.
func testM9T1DepartmentRoleExpiry(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "sales", Name: "Sales"})
	must(t, err)
	sales := e.role("w", "Sales", policy.Internal, policy.Grants{"invoices_view": all})
	e.member("w", admin.MemberInput{UserID: "ana", DepartmentIDs: []string{"sales"}})
	e.member("w", admin.MemberInput{UserID: "bo"})
	at := e.clock.peek().Add(time.Hour)
	must(t, e.deptRoles("w", "sales", admin.DepartmentRolesInput{RoleIDs: []string{sales.ID}, ExpiresAt: map[string]time.Time{sales.ID: at}}))
	if e.level("w", "ana", "invoices_view") != all {
		t.Fatal("the department role is not honoured before its instant")
	}
	if d := e.departments("w"); len(d) != 1 || len(d[0].Roles) != 1 || !d[0].Roles[0].ExpiresAt.Equal(at) {
		t.Fatalf("departments %+v do not show the expiry", d)
	}
	epoch := e.getMember("w", "ana").Epoch
	rev := e.revision("w")
	e.clock.advance(time.Hour)
	e.member("w", admin.MemberInput{UserID: "cy"}) // any later snapshot leaves it out
	if e.level("w", "ana", "invoices_view") == all {
		t.Error("an expired department role is honoured (T1)")
	}
	_, err = e.svc.ExpireDue(e.ctx, "w")
	must(t, err)
	if e.revision("w") != rev+2 {
		t.Errorf("revision %d, want %d: the expiry commits once", e.revision("w"), rev+2)
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Actor: "system"})
	must(t, err)
	if len(entries) != 1 || entries[0].Action != "department.expire" || entries[0].Target != "department:sales" {
		t.Errorf("system entries %+v, want one department.expire", entries)
	}
	if got := e.getMember("w", "ana").Epoch; got != epoch+1 {
		t.Errorf("ana's epoch %d, want %d (T2, A1)", got, epoch+1)
	}
	if d := e.departments("w"); len(d[0].Roles) != 0 {
		t.Errorf("the expired role is still stored: %+v", d[0].Roles)
	}
}

// testM2T1MoveOntoExpiringDepartmentRoles: a client member holding its
// role only through a department cannot move to a department whose
// client role expires, nor lose the department: the default role is not
// for clients, so at the instant it would hold nothing (M2, M6, T1).
// Nothing is written by the refused moves.
func testM2T1MoveOntoExpiringDepartmentRoles(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	for _, d := range []admin.Department{{ID: "north", Name: "North"}, {ID: "south", Name: "South"}} {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, d)
		must(t, err)
	}
	portal := e.role("w", "Portal", policy.Client, policy.Grants{"contacts_view": own})
	must(t, e.deptRoles("w", "north", admin.DepartmentRolesInput{RoleIDs: []string{portal.ID}}))
	must(t, e.deptRoles("w", "south", admin.DepartmentRolesInput{RoleIDs: []string{portal.ID},
		ExpiresAt: map[string]time.Time{portal.ID: e.clock.peek().Add(time.Hour)}}))
	e.member("w", admin.MemberInput{UserID: "cli", Kind: policy.Client, DepartmentIDs: []string{"north"}, RoleIDs: []string{portal.ID}})
	_, err := e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, portal.ID, "cli")
	must(t, err)
	if m := e.getMember("w", "cli"); len(m.Roles) != 0 || len(m.DepartmentRoles) != 1 {
		t.Fatalf("cli holds own %+v, through departments %+v; want Portal through north alone", m.Roles, m.DepartmentRoles)
	}
	rev := e.revision("w")
	for name, depts := range map[string][]string{"to the expiring department": {"south"}, "out of every department": nil} {
		_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "cli", Kind: policy.Client, DepartmentIDs: depts})
		if policy.ErrorCode(err) != policy.CodeLastRole {
			t.Errorf("cli moved %s: %v, want last_role", name, err)
		}
	}
	if e.revision("w") != rev {
		t.Error("a refused move committed")
	}
	// Both departments together keep a permanent role: allowed.
	e.member("w", admin.MemberInput{UserID: "cli", Kind: policy.Client, DepartmentIDs: []string{"north", "south"}})
}

// testM9X3aDepartmentRoleIsAGrant: giving a department a role is a grant
// to every member it reaches (X3a): each must be in the actor's span and
// the role within the actor's own levels.
func testM9X3aDepartmentRoleIsAGrant(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	dept := func(id string) admin.Department {
		for _, d := range e.departments("w") {
			if d.ID == id {
				return d
			}
		}
		t.Fatalf("no department %s", id)
		return admin.Department{}
	}
	put := func(actor admin.Write, id string, in admin.DepartmentRolesInput) error {
		_, _, err := e.svc.PutDepartmentWithRoles(e.ctx, "w", actor, dept(id), &in)
		return err
	}
	for name, err := range map[string]error{
		"a role above own":            put(as("hana"), "east_sales", admin.DepartmentRolesInput{RoleIDs: []string{w.big.ID}}),
		"a department outside":        put(as("hana"), "finance", admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}}),
		"a member half outside":       put(as("hana"), "east", admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}}),
		"own department, wider reach": put(as("vic"), "east", admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}}),
	} {
		t.Run(name, func(t *testing.T) {
			if err == nil {
				t.Fatal("refused nothing")
			}
			if c := policy.ErrorCode(err); c != policy.CodePrivilegeEscalation && c != policy.CodeForbidden {
				t.Fatalf("got %v, want privilege_escalation or forbidden", err)
			}
		})
	}
	// Within the span and levels: allowed, and ed holds it.
	must(t, put(as("hana"), "east_sales", admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}}))
	if e.level("w", "ed", "contacts_view") < own {
		t.Error("ed does not hold Lite through east_sales")
	}
	// Extending a timed department role above the actor's levels is a
	// grant too (T3).
	at := e.clock.peek().Add(time.Hour)
	_, _, err := e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, dept("east_sales"),
		&admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID, w.big.ID}, ExpiresAt: map[string]time.Time{w.big.ID: at}})
	must(t, err)
	err = put(as("hana"), "east_sales", admin.DepartmentRolesInput{ExpiresAt: map[string]time.Time{w.big.ID: at.Add(time.Hour)}})
	wantCode(t, err, policy.CodePrivilegeEscalation)
}
