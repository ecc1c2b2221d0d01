package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func testW1Isolation(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("a", admin.PlanProfessional)
	e.workspace("b", admin.PlanProfessional)
	r := e.role("a", "Only in A", policy.Internal, policy.Grants{"leads_view": all})
	e.member("a", admin.MemberInput{UserID: "u1", RoleIDs: []string{r.ID}})
	if _, err := e.svc.Role(e.ctx, "b", r.ID); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Errorf("role of a read in b: %v, want not_found", err)
	}
	if _, err := e.svc.Member(e.ctx, "b", admin.Actor{}, "u1"); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Errorf("member of a read in b: %v, want not_found", err)
	}
	_, _, err := e.svc.UpsertMember(e.ctx, "b", admin.Write{}, admin.MemberInput{UserID: "u2", RoleIDs: []string{r.ID}})
	wantCode(t, err, policy.CodeNotFound)
	if d, _ := e.snaps.get("b").Check("u1", "leads_view"); d.Allowed || d.Reason != policy.ReasonNotAMember {
		t.Errorf("b decides for a's member: %+v", d)
	}
	if _, err := e.svc.Workspace(e.ctx, "nope"); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Errorf("unknown workspace: %v", err)
	}
	_, err = e.svc.CreateWorkspace(e.ctx, admin.WorkspaceInput{ID: "a", Name: "again", Plan: admin.PlanFree})
	wantCode(t, err, policy.CodeNameTaken)
}

func testW2PlanRolesAndLimits(t *testing.T, h Harness) {
	e := newEnv(t, h)
	cases := []struct {
		plan   admin.Plan
		roles  []string
		custom int
	}{
		{admin.PlanFree, []string{"employee", "manager"}, 0},
		{admin.PlanStandard, []string{"employee", "head", "hr", "sales_head", "sales_manager"}, 1},
		{admin.PlanProfessional, []string{"employee", "head", "hr", "sales_head", "sales_manager"}, 3},
	}
	for _, c := range cases {
		ws := "w-" + string(c.plan)
		e.workspace(ws, c.plan)
		roles, err := e.svc.Roles(e.ctx, ws, "", "")
		must(t, err)
		var ids []string
		for _, r := range roles {
			ids = append(ids, r.ID)
			if !r.Predefined {
				t.Errorf("%s: role %s not predefined", c.plan, r.ID)
			}
			if r.Default != (r.ID == "employee") {
				t.Errorf("%s: role %s default=%v", c.plan, r.ID, r.Default)
			}
			if err := policy.DefaultCatalog().ValidateGrants(r.Grants, r.Audience); err != nil {
				t.Errorf("%s: predefined %s invalid: %v", c.plan, r.ID, err)
			}
		}
		if strings.Join(slices.Sorted(slices.Values(ids)), ",") != strings.Join(c.roles, ",") {
			t.Errorf("%s: roles %v, want %v", c.plan, ids, c.roles)
		}
		for i := range c.custom {
			e.role(ws, "Custom "+string(rune('A'+i)), policy.Internal, nil)
		}
		if c.plan != admin.PlanProfessional {
			rev := e.revision(ws)
			_, _, err := e.svc.CreateRole(e.ctx, ws, admin.Write{}, admin.RoleInput{Name: "One too many"})
			wantCode(t, err, policy.CodePlanLimitReached)
			_, _, err = e.svc.DuplicateRole(e.ctx, ws, admin.Write{Reason: "x"}, "employee", "")
			wantCode(t, err, policy.CodePlanLimitReached)
			if e.revision(ws) != rev {
				t.Errorf("%s: a refused creation moved the revision", c.plan)
			}
		}
	}
}

func testW3PlanChange(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanFree)
	e.member("w", admin.MemberInput{UserID: "m", RoleIDs: []string{"manager"}})
	_, err := e.svc.UpdateWorkspace(e.ctx, "w", admin.Write{}, admin.WorkspaceUpdate{Plan: ptr(admin.PlanStandard)})
	must(t, err)
	roles, _ := e.svc.Roles(e.ctx, "w", "", "")
	for _, id := range []string{"employee", "manager", "head", "sales_head", "sales_manager", "hr"} {
		if !hasRole(roles, id) {
			t.Errorf("after upgrade, role %s missing", id)
		}
	}
	if got := roleIDs(e.getMember("w", "m")); len(got) != 1 || got[0] != "manager" {
		t.Errorf("upgrade changed assignments: %v", got)
	}
	c := e.role("w", "Custom", policy.Internal, policy.Grants{"leads_view": all})
	e.member("w", admin.MemberInput{UserID: "c", RoleIDs: []string{c.ID}})
	_, err = e.svc.UpdateWorkspace(e.ctx, "w", admin.Write{}, admin.WorkspaceUpdate{Plan: ptr(admin.PlanFree)})
	must(t, err)
	roles, _ = e.svc.Roles(e.ctx, "w", "", "")
	if len(roles) != 7 || !hasRole(roles, c.ID) {
		t.Errorf("downgrade deleted roles: %d left", len(roles))
	}
	if e.level("w", "c", "leads_view") != all {
		t.Error("custom role over the limit stopped working after a downgrade")
	}
	_, _, err = e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: "New"})
	wantCode(t, err, policy.CodePlanLimitReached)
	_, err = e.svc.UpdateWorkspace(e.ctx, "w", admin.Write{}, admin.WorkspaceUpdate{Plan: ptr(admin.Plan("gold"))})
	wantCode(t, err, policy.CodeInvalidArgument)
}

func testR1Names(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	e.role("w", "Sales", policy.Internal, nil)
	e.role("w", "Straße", policy.Internal, nil)
	// Look-alikes: a Cyrillic а, full-width letters, a doubled space.
	for _, name := range []string{"sales", "SALES", "  Sales  ", "STRASSE", "employee", "S\u0430les", "Ｓａｌｅｓ", "Sales\u00a0", "Head  of sales"} {
		_, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: name})
		wantCode(t, err, policy.CodeNameTaken)
	}
	for _, name := range []string{"", "   ", strings.Repeat("x", 101), "bad\x00name", "Sa\u200bles", "Sales\ufeff", "\u202eselaS", "bad\xffname"} {
		_, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: name})
		wantCode(t, err, policy.CodeInvalidArgument)
	}
	r := e.role("w", strings.Repeat("é", 100), policy.Internal, nil)
	if len([]rune(r.Name)) != 100 {
		t.Errorf("100-character name stored as %d characters", len([]rune(r.Name)))
	}
	_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Name: ptr("SALES")})
	wantCode(t, err, policy.CodeNameTaken)
	// Renaming a role to its own name in another case is fine.
	if got, _ := e.svc.Roles(e.ctx, "w", "SALES", ""); len(got) != 3 || got[0].Name != "Head of sales" || got[1].Name != "Sales" || got[2].Name != "Sales manager" {
		t.Fatalf("search for SALES: %d roles", len(got))
	}
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, "sales", admin.RoleUpdate{Name: ptr("SALES")})
	must(t, err)
}

func testR2R3Protected(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanStandard)
	_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, "employee", admin.RoleUpdate{Name: ptr("Basic access"),
		Grants: policy.Grants{"contacts_view": own}})
	must(t, err)
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, "employee", "")
	pe := wantCode(t, err, policy.CodeRoleProtected)
	if !strings.Contains(pe.Message, "Basic access") {
		t.Errorf("message %q does not use the default role's current name", pe.Message)
	}
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, "head", "")
	wantCode(t, err, policy.CodeRoleProtected)
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, "sales_head", "")
	must(t, err)
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, "sales_head", "")
	wantCode(t, err, policy.CodeNotFound)
	r, _ := e.svc.Role(e.ctx, "w", "employee")
	if !r.Default || r.Name != "Basic access" {
		t.Errorf("default role after rename: %+v", r)
	}
}

func testR4Duplicate(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	src := e.role("w", "Support", policy.Client, policy.Grants{"contacts_view": own})
	_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, src.ID, admin.RoleUpdate{Description: ptr("Helps clients")})
	must(t, err)
	e.member("w", admin.MemberInput{UserID: "c1", Kind: policy.Client, RoleIDs: []string{src.ID}})
	d1, _, err := e.svc.DuplicateRole(e.ctx, "w", admin.Write{}, src.ID, "")
	must(t, err)
	d2, _, err := e.svc.DuplicateRole(e.ctx, "w", admin.Write{}, src.ID, "")
	must(t, err)
	if d1.Name != "Support (Copy)" || d2.Name != "Support (Copy 2)" {
		t.Errorf("duplicate names %q, %q", d1.Name, d2.Name)
	}
	if d1.Audience != policy.Client || d1.Description != "Helps clients" || d1.Grants["contacts_view"] != own || d1.Predefined {
		t.Errorf("duplicate did not copy audience, description, grants: %+v", d1)
	}
	if d1.MemberCount != 0 {
		t.Errorf("duplicate copied %d members", d1.MemberCount)
	}
	_, _, err = e.svc.DuplicateRole(e.ctx, "w", admin.Write{}, "head", "")
	wantCode(t, err, policy.CodeRoleProtected)
	named, _, err := e.svc.DuplicateRole(e.ctx, "w", admin.Write{}, "employee", "Employee 2")
	must(t, err)
	if named.Name != "Employee 2" || named.Default || named.Predefined {
		t.Errorf("named duplicate of employee: %+v", named)
	}
}

func testR5DeleteReassign(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	old := e.role("w", "Old", policy.Internal, policy.Grants{"leads_view": all})
	to := e.role("w", "New", policy.Internal, policy.Grants{"deals_view": all})
	cl := e.role("w", "Clients", policy.Client, nil)
	e.member("w", admin.MemberInput{UserID: "a", RoleIDs: []string{old.ID}})
	e.member("w", admin.MemberInput{UserID: "b", RoleIDs: []string{old.ID, to.ID}})
	rev := e.revision("w")
	_, err := e.svc.DeleteRole(e.ctx, "w", admin.Write{}, old.ID, "")
	pe := wantCode(t, err, policy.CodeRoleInUse)
	if pe.Details["member_count"] != 2 {
		t.Errorf("role_in_use details %v, want member_count 2", pe.Details)
	}
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, old.ID, cl.ID)
	wantCode(t, err, policy.CodeAudienceMismatch)
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, old.ID, "nope")
	wantCode(t, err, policy.CodeNotFound)
	if e.revision("w") != rev {
		t.Fatal("a refused delete moved the revision")
	}
	_, err = e.svc.DeleteRole(e.ctx, "w", admin.Write{}, old.ID, to.ID)
	must(t, err)
	for _, u := range []string{"a", "b"} {
		if got := roleIDs(e.getMember("w", u)); len(got) != 1 || got[0] != to.ID {
			t.Errorf("member %s roles %v after reassign, want [%s]", u, got, to.ID)
		}
	}
	if e.level("w", "a", "leads_view") != none || e.level("w", "a", "deals_view") != all {
		t.Error("snapshot did not follow the reassignment")
	}
	e2, _ := e.service()
	must(t, e2.Open(e.ctx))
	if m, _ := e2.Member(e.ctx, "w", admin.Actor{}, "a"); len(m.Roles) != 1 || m.Roles[0].RoleID != to.ID {
		t.Errorf("stored member a: %+v", m.Roles)
	}
}

func testR6SaveVersusApply(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	e.member("w", admin.MemberInput{UserID: "early", RoleIDs: []string{r.ID}})
	saved, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: ptr(false)})
	must(t, err)
	if saved.Revision != 2 {
		t.Fatalf("revision after save = %d, want 2", saved.Revision)
	}
	e.member("w", admin.MemberInput{UserID: "late", RoleIDs: []string{r.ID}})
	if e.level("w", "early", "deals_view") != own || e.level("w", "late", "deals_view") != all {
		t.Errorf("save: early=%s late=%s, want own, all", e.level("w", "early", "deals_view"), e.level("w", "late", "deals_view"))
	}
	if m := e.getMember("w", "early"); m.Roles[0].Revision != 1 {
		t.Errorf("early member on revision %d after save", m.Roles[0].Revision)
	}
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Apply: ptr(true)})
	must(t, err)
	if e.level("w", "early", "deals_view") != all {
		t.Error("a later apply did not move the early member")
	}
	if m := e.getMember("w", "early"); m.Roles[0].Revision != 2 {
		t.Errorf("early member on revision %d after apply", m.Roles[0].Revision)
	}
	// Save and apply is the default.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": dept}})
	must(t, err)
	if e.level("w", "early", "deals_view") != dept || e.level("w", "late", "deals_view") != dept {
		t.Error("save and apply did not move every assignee")
	}
}

func testR6aRevisions(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	e.member("w", admin.MemberInput{UserID: "boss", Owner: ptr(true)})
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own, "leads_view": all})
	_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{Actor: admin.Actor{UserID: "boss"}, Reason: "wider deals"}, r.ID,
		admin.RoleUpdate{Grants: policy.Grants{"deals_view": all, "contacts_view": own}})
	must(t, err)
	revs, err := e.svc.RoleRevisions(e.ctx, "w", r.ID)
	must(t, err)
	if len(revs) != 2 || revs[1].Author != "boss" || revs[1].Reason != "wider deals" || revs[1].CreatedAt.IsZero() {
		t.Fatalf("revisions %+v", revs)
	}
	d, err := e.svc.RoleRevision(e.ctx, "w", r.ID, 2)
	must(t, err)
	want := []admin.GrantChange{
		{Permission: "contacts_view", Old: none, New: own, NewSet: true},
		{Permission: "deals_view", Old: own, New: all, OldSet: true, NewSet: true},
		{Permission: "leads_view", Old: all, New: none, OldSet: true},
	}
	if len(d.Changes) != len(want) {
		t.Fatalf("diff %+v, want %+v", d.Changes, want)
	}
	for i := range want {
		if d.Changes[i] != want[i] {
			t.Errorf("diff[%d] = %+v, want %+v", i, d.Changes[i], want[i])
		}
	}
	_, err = e.svc.RoleRevision(e.ctx, "w", r.ID, 9)
	wantCode(t, err, policy.CodeNotFound)
	restored, _, err := e.svc.RestoreRevision(e.ctx, "w", admin.Write{}, r.ID, 1, nil, 2)
	must(t, err)
	if restored.Revision != 3 || restored.Grants["leads_view"] != all || restored.Grants["deals_view"] != own {
		t.Errorf("restore: %+v", restored)
	}
	revs, _ = e.svc.RoleRevisions(e.ctx, "w", r.ID)
	if revs[2].Restored != 1 {
		t.Errorf("revision 3 restored=%d, want 1", revs[2].Restored)
	}
	_, _, err = e.svc.RestoreRevision(e.ctx, "w", admin.Write{}, r.ID, 1, nil, 2)
	wantCode(t, err, policy.CodeRevisionConflict)
}

func testR7RevisionConflict(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, IfRevision: 1})
	must(t, err)
	rev := e.revision("w")
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": all}, IfRevision: 1})
	pe := wantCode(t, err, policy.CodeRevisionConflict)
	if pe.Details["actual"] != int64(2) {
		t.Errorf("details %v", pe.Details)
	}
	got, _ := e.svc.Role(e.ctx, "w", r.ID)
	if e.revision("w") != rev || got.Grants["deals_view"] != all || got.Grants["leads_view"] != none {
		t.Error("a conflicting edit wrote something")
	}
}

func testR8AllowDeny(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Power", policy.Internal, nil)
	c := e.role("w", "Client power", policy.Client, nil)
	_, _, err := e.svc.SetAllGrants(e.ctx, "w", admin.Write{}, r.ID, true, nil, 0)
	wantCode(t, err, policy.CodeReasonRequired) // X4: allow-all raises delete and export
	got, _, err := e.svc.SetAllGrants(e.ctx, "w", admin.Write{Reason: "admins"}, r.ID, true, nil, 0)
	must(t, err)
	cat := policy.DefaultCatalog()
	for _, p := range cat.Permissions() {
		if p.Module.Kind == policy.Relation {
			continue
		}
		if got.Grants[p.Key] != all {
			t.Errorf("allow all: %s = %s", p.Key, got.Grants[p.Key])
		}
	}
	cg, _, err := e.svc.SetAllGrants(e.ctx, "w", admin.Write{Reason: "clients"}, c.ID, true, nil, 0)
	must(t, err)
	if _, ok := cg.Grants["settings_roles_edit"]; ok {
		t.Error("allow all gave a client role an internal-only permission (M6)")
	}
	got, _, err = e.svc.SetAllGrants(e.ctx, "w", admin.Write{}, r.ID, false, nil, 0)
	must(t, err)
	if len(got.Grants) != 0 || got.Revision != 3 {
		t.Errorf("deny all: %d grants at revision %d", len(got.Grants), got.Revision)
	}
}

func testR9Templates(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	for _, tpl := range policy.Templates() {
		r, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{Reason: "from template"}, admin.RoleInput{Name: "T " + tpl.Name, Template: tpl.ID})
		must(t, err)
		if r.Audience != tpl.Audience || len(r.Grants) != len(tpl.Grants) {
			t.Errorf("template %s: audience %s, %d grants", tpl.ID, r.Audience, len(r.Grants))
		}
	}
	_, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: "X", Template: "nope"})
	wantCode(t, err, policy.CodeNotFound)
}

func testGrantValidation(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	rev := e.revision("w")
	cases := []struct {
		g    policy.Grants
		code policy.Code
	}{
		{policy.Grants{"contact_view": all}, policy.CodeUnknownPermission},
		{policy.Grants{"deals_edit": all}, policy.CodeDependencyViolation},
		{policy.Grants{"deals_view": own, "deals_edit": all}, policy.CodeDependencyViolation},
		{policy.Grants{"deals_view": all, "deals_create": own}, policy.CodeInvalidArgument},
		{policy.Grants{"tasks_view": all}, policy.CodeInvalidArgument},
	}
	for _, c := range cases {
		_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: c.g})
		pe := wantCode(t, err, c.code)
		if c.code == policy.CodeUnknownPermission && !strings.Contains(pe.Message, "contacts_view") {
			t.Errorf("unknown permission message %q lacks the suggestion", pe.Message)
		}
		_, _, err = e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: "New", Grants: c.g})
		wantCode(t, err, c.code)
	}
	if e.revision("w") != rev {
		t.Error("rejected grants moved the revision")
	}
	got, _ := e.svc.Role(e.ctx, "w", r.ID)
	if got.Revision != 1 || len(got.Grants) != 1 {
		t.Errorf("rejected grants changed the role: %+v", got)
	}
}

func testC9SmartObjects(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Objects", policy.Internal, policy.Grants{"smart_objects_view": all})
	e.member("w", admin.MemberInput{UserID: "u", RoleIDs: []string{r.ID}})
	epoch := e.getMember("w", "u").Epoch
	_, _, err := e.svc.PutObject(e.ctx, "w", admin.Write{}, admin.SmartObject{ID: "vehicles", Name: "Vehicles", Description: "Fleet"})
	must(t, err)
	if e.level("w", "u", "vehicles_view") != all {
		t.Error("smart_objects_view did not reach the new object (C6)")
	}
	if e.getMember("w", "u").Epoch != epoch+1 {
		t.Error("a new object that changed u's levels did not move u's epoch (A1)")
	}
	_, _, err = e.svc.PutObject(e.ctx, "w", admin.Write{}, admin.SmartObject{ID: "leads", Name: "Clash", Description: "Taken id"})
	wantCode(t, err, policy.CodeInvalidArgument)
	g := e.role("w", "Vehicles", policy.Internal, policy.Grants{"vehicles_view": all, "vehicles_edit": own})
	_, err = e.svc.DeleteObject(e.ctx, "w", admin.Write{}, "vehicles", false)
	pe := wantCode(t, err, policy.CodeRoleInUse)
	if roles, _ := pe.Details["roles"].([]string); len(roles) != 1 || roles[0] != g.ID {
		t.Errorf("details %v", pe.Details)
	}
	_, err = e.svc.DeleteObject(e.ctx, "w", admin.Write{}, "vehicles", true)
	must(t, err)
	got, _ := e.svc.Role(e.ctx, "w", g.ID)
	if len(got.Grants) != 0 || got.Revision != 2 {
		t.Errorf("force delete left grants %v at revision %d", got.Grants, got.Revision)
	}
	if _, err := e.snaps.get("w").Check("u", "vehicles_view"); policy.ErrorCode(err) != policy.CodeUnknownPermission {
		t.Errorf("deleted object's permission: %v", err)
	}
	cat, _ := e.svc.WorkspaceCatalog(e.ctx, "w")
	if _, ok := cat.Lookup("vehicles_view"); ok {
		t.Error("catalog still has the deleted object")
	}
}
