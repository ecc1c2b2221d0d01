package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// delegated is a workspace with administrators of every kind (X3):
//
//	east ── east_sales        west        finance
//
// boss owns it; hana heads east (roles view/edit at subdepartments, crm at
// subdepartments, deals at department); vic sees east's members only
// (roles view at department); ra administers roles at all but sees deals
// only in its own department (west); plain has no authority.
type delegated struct {
	*env
	head, viewer, roleAdmin, lite, big admin.Role
}

func newDelegated(t *testing.T, h Harness) *delegated {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	for _, d := range []admin.Department{{ID: "east", Name: "East"}, {ID: "east_sales", Name: "East sales", ParentID: "east"},
		{ID: "west", Name: "West"}, {ID: "finance", Name: "Finance"}} {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, d)
		must(t, err)
	}
	w := &delegated{env: e}
	w.head = e.role("w", "Dept head", policy.Internal, policy.Grants{"settings_roles_view": sub, "settings_roles_edit": sub,
		"crm_view": sub, "deals_view": dept})
	w.viewer = e.role("w", "Viewer", policy.Internal, policy.Grants{"settings_roles_view": dept})
	w.roleAdmin = e.role("w", "Role admin", policy.Internal, policy.Grants{"settings_roles_view": all, "settings_roles_edit": all,
		"deals_view": dept})
	w.lite = e.role("w", "Lite", policy.Internal, policy.Grants{"crm_view": own})
	w.big = e.role("w", "Big", policy.Internal, policy.Grants{"crm_view": all})
	for _, m := range []admin.MemberInput{
		{UserID: "boss", Name: "Boss", Owner: ptr(true)},
		{UserID: "hana", Name: "Hana", DepartmentIDs: []string{"east"}, RoleIDs: []string{w.head.ID, admin.RoleEmployee}},
		{UserID: "vic", Name: "Vic", DepartmentIDs: []string{"east"}, RoleIDs: []string{w.viewer.ID}},
		{UserID: "ed", Name: "Ed", DepartmentIDs: []string{"east_sales"}},
		{UserID: "wes", Name: "Wes", DepartmentIDs: []string{"west"}},
		{UserID: "fin", Name: "Fin", DepartmentIDs: []string{"finance"}},
		{UserID: "both", Name: "Both", DepartmentIDs: []string{"east", "finance"}},
		{UserID: "ra", Name: "Ra", DepartmentIDs: []string{"west"}, RoleIDs: []string{w.roleAdmin.ID, admin.RoleEmployee}},
		{UserID: "plain", Name: "Plain", DepartmentIDs: []string{"east"}},
		{UserID: "cli", Name: "Cli", Kind: policy.Client, RoleIDs: nil},
	} {
		if m.Kind == policy.Client {
			cr := e.role("w", "Client role", policy.Client, policy.Grants{"crm_view": own})
			m.RoleIDs = []string{cr.ID}
		}
		e.member("w", m)
	}
	return w
}

func as(u string) admin.Write { return admin.Write{Actor: admin.Actor{UserID: u}, Reason: "test"} }

func userIDs(ms []admin.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.UserID)
	}
	return out
}

// testX3Areas: each area needs its authority, reads follow the span, and
// the same refusal answers every route of an area (X3, W2).
func testX3Areas(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	who := func(u string) admin.Actor { return admin.Actor{UserID: u} }

	// Reads: no authority, a stranger, the span.
	for _, u := range []string{"plain", "stranger"} {
		_, err := e.svc.Members(e.ctx, "w", who(u), admin.MemberFilter{})
		wantCode(t, err, policy.CodeForbidden)
		_, err = e.svc.Member(e.ctx, "w", who(u), "ed")
		wantCode(t, err, policy.CodeForbidden)
		_, err = e.svc.Audit(e.ctx, "w", who(u), admin.AuditFilter{})
		wantCode(t, err, policy.CodeForbidden)
	}
	ms, err := e.svc.Members(e.ctx, "w", who("vic"), admin.MemberFilter{})
	must(t, err)
	if got, want := userIDs(ms), []string{"hana", "plain", "vic"}; !slices.Equal(got, want) {
		t.Errorf("vic (department) sees %v, want %v", got, want)
	}
	ms, err = e.svc.Members(e.ctx, "w", who("hana"), admin.MemberFilter{Limit: 2})
	must(t, err)
	if got, want := userIDs(ms), []string{"ed", "hana"}; !slices.Equal(got, want) {
		t.Errorf("hana's first page of 2 is %v, want %v", got, want)
	}
	ms, err = e.svc.Members(e.ctx, "w", who("hana"), admin.MemberFilter{})
	must(t, err)
	if got, want := userIDs(ms), []string{"ed", "hana", "plain", "vic"}; !slices.Equal(got, want) {
		t.Errorf("hana (subdepartments) sees %v, want %v", got, want)
	}
	for _, u := range []string{"fin", "both", "ed"} {
		_, err = e.svc.Member(e.ctx, "w", who("vic"), u)
		wantCode(t, err, policy.CodeForbidden)
	}
	_, err = e.svc.Member(e.ctx, "w", who("hana"), "ed")
	must(t, err)
	vis, err := e.svc.Visible(e.ctx, "w", who("vic"), []string{"boss", "ed", "hana", "ghost"})
	must(t, err)
	if !slices.Equal(vis, []string{"hana"}) {
		t.Errorf("Visible for vic = %v", vis)
	}
	// The audit log: whole only at all; one member's history in the span.
	_, err = e.svc.Audit(e.ctx, "w", who("hana"), admin.AuditFilter{})
	wantCode(t, err, policy.CodeForbidden)
	for _, target := range []string{"member:ed", "ed"} {
		entries, err := e.svc.Audit(e.ctx, "w", who("hana"), admin.AuditFilter{Target: target})
		must(t, err)
		if len(entries) == 0 || entries[0].Target != "member:ed" {
			t.Errorf("hana's audit of %s: %v", target, entries)
		}
	}
	_, err = e.svc.Audit(e.ctx, "w", who("hana"), admin.AuditFilter{Target: "member:fin"})
	wantCode(t, err, policy.CodeForbidden)
	_, err = e.svc.Audit(e.ctx, "w", who("hana"), admin.AuditFilter{Target: "role:" + w.big.ID})
	wantCode(t, err, policy.CodeForbidden)
	_, err = e.svc.Audit(e.ctx, "w", who("ra"), admin.AuditFilter{})
	must(t, err)

	// One answer per area, whatever the route.
	refusals := map[string]error{}
	_, _, err = e.svc.CreateRole(e.ctx, "w", as("hana"), admin.RoleInput{Name: "Mine"})
	refusals["create role"] = err
	_, _, err = e.svc.UpdateRole(e.ctx, "w", as("hana"), w.lite.ID, admin.RoleUpdate{Name: ptr("Lighter")})
	refusals["update role"] = err
	_, err = e.svc.DeleteRole(e.ctx, "w", as("hana"), w.lite.ID, "")
	refusals["delete role"] = err
	_, err = e.svc.ImportPolicy(e.ctx, "w", as("hana"), []byte("version: 1\nroles: []\n"))
	refusals["import"] = err
	var first string
	for op, err := range refusals {
		pe := wantCode(t, err, policy.CodeForbidden)
		if first == "" {
			first = pe.Message
		} else if pe.Message != first {
			t.Errorf("%s refused with %q, other role writes with %q", op, pe.Message, first)
		}
	}
	for _, u := range []string{"hana", "ra", "vic"} {
		_, _, _, err = e.svc.CreateKey(e.ctx, "w", as(u), admin.ScopeAdmin, "mine")
		wantCode(t, err, policy.CodeForbidden) // keys are the owners' (attack 1)
		_, err = e.svc.UpdateWorkspace(e.ctx, "w", as(u), admin.WorkspaceUpdate{Name: ptr("Mine")})
		wantCode(t, err, policy.CodeForbidden)
	}
	_, _, err = e.svc.UpsertMember(e.ctx, "w", as("ra"), admin.MemberInput{UserID: "ra", Name: "Ra", DepartmentIDs: []string{"west"},
		RoleIDs: []string{w.roleAdmin.ID}, Owner: ptr(true)})
	wantCode(t, err, policy.CodeForbidden) // ownership is the owners'
	_, err = e.svc.AddRoleMembers(e.ctx, "w", as("vic"), w.lite.ID, []string{"plain"})
	wantCode(t, err, policy.CodeForbidden) // view only

	// W2: the plan is the deployment admin key's, never a workspace key's
	// or a member's (attack 4).
	pro := admin.PlanStandard
	for _, a := range []admin.Actor{{KeyID: "k1"}, {UserID: "boss"}, {UserID: "boss", Deployment: true}} {
		_, err = e.svc.UpdateWorkspace(e.ctx, "w", admin.Write{Actor: a}, admin.WorkspaceUpdate{Plan: &pro})
		wantCode(t, err, policy.CodeForbidden)
	}
	_, err = e.svc.UpdateWorkspace(e.ctx, "w", admin.Write{Actor: admin.Actor{Deployment: true}}, admin.WorkspaceUpdate{Plan: &pro})
	must(t, err)
	_, err = e.svc.UpdateWorkspace(e.ctx, "w", admin.Write{Actor: admin.Actor{KeyID: "k1"}}, admin.WorkspaceUpdate{Name: ptr("Renamed by the host")})
	must(t, err)
}

// testX3aSpan: a department-level administrator changes members and
// departments of its span only (X3a.2), and may do so within its levels.
func testX3aSpan(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	// Within the span and within hana's levels.
	_, err := e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.lite.ID, []string{"ed"})
	must(t, err)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "newbie", Name: "New", DepartmentIDs: []string{"east_sales"}})
	must(t, err)
	_, _, err = e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "east_support", Name: "East support", ParentID: "east"})
	must(t, err) // a new sub-department holds no records yet
	_, _, err = e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "ed", Name: "Ed", DepartmentIDs: []string{"east_support"}})
	must(t, err)
	// Outside it: members, departments given, the tree.
	for name, err := range map[string]error{
		"assign outside":          second(e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.lite.ID, []string{"fin"})),
		"assign half outside":     second(e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.lite.ID, []string{"both"})),
		"grant outside":           fourth(e.svc.SetDirectGrants(e.ctx, "w", as("hana"), "wes", policy.Grants{"crm_view": own})),
		"remove outside":          second(e.svc.RemoveMember(e.ctx, "w", as("hana"), "fin")),
		"no department":           third(e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "nodept", Name: "N"})),
		"move member out":         third(e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "ed", Name: "Ed", DepartmentIDs: []string{"finance"}})),
		"join finance":            third(e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "hana", Name: "Hana", DepartmentIDs: []string{"east", "finance"}, RoleIDs: []string{w.head.ID, admin.RoleEmployee}})),
		"move finance under east": third(e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "finance", Name: "Finance", ParentID: "east"})),
		"move east_sales out":     third(e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "east_sales", Name: "East sales", ParentID: "west"})),
		"new root":                third(e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "mine", Name: "Mine"})),
		"delete west":             second(e.svc.DeleteDepartment(e.ctx, "w", as("hana"), "west")),
		"rename west":             third(e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "west", Name: "Wild west"})),
		"raise above own":         second(e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.big.ID, []string{"ed"})),
	} {
		t.Run(name, func(t *testing.T) {
			rev := e.revision("w")
			wantCode(t, err, policy.CodePrivilegeEscalation)
			if e.revision("w") != rev {
				t.Error("a refused write committed")
			}
		})
	}
	if got := e.getMember("w", "hana").DepartmentIDs; !slices.Equal(got, []string{"east"}) {
		t.Errorf("hana's departments became %v", got)
	}
}

// testX3aOwnReach: an actor never widens its own reach (X3a.3), on any
// path: its departments, its roles, a department move, a policy import.
func testX3aOwnReach(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	// ra administers at all but sees deals only in west (attack 2).
	_, _, err := e.svc.UpsertMember(e.ctx, "w", as("ra"), admin.MemberInput{UserID: "ra", Name: "Ra", DepartmentIDs: []string{"west", "finance"}})
	pe := wantCode(t, err, policy.CodePrivilegeEscalation)
	if !strings.Contains(pe.Message, "deals_view") {
		t.Errorf("message %q does not name deals_view", pe.Message)
	}
	// deals_view at department does not reach sub-departments: moving
	// finance under west reaches nothing new for ra.
	_, _, err = e.svc.PutDepartment(e.ctx, "w", as("ra"), admin.Department{ID: "finance", Name: "Finance", ParentID: "west"})
	must(t, err)
	_, err = e.svc.ImportPolicy(e.ctx, "w", as("ra"), e.policyWithParent("east_sales", "west"))
	must(t, err)
	// With deals_view at subdepartments, a move under west widens ra's
	// reach, through the tree or through a policy import.
	wide := e.role("w", "Wide deals", policy.Internal, policy.Grants{"deals_view": sub})
	_, err = e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, wide.ID, []string{"ra"})
	must(t, err)
	moved := e.policyWithParent("east", "west")
	rev := e.revision("w")
	_, err = e.svc.ImportPolicy(e.ctx, "w", as("ra"), moved)
	wantCode(t, err, policy.CodePrivilegeEscalation)
	_, _, err = e.svc.PutDepartment(e.ctx, "w", as("ra"), admin.Department{ID: "east", Name: "East", ParentID: "west"})
	wantCode(t, err, policy.CodePrivilegeEscalation)
	if e.revision("w") != rev {
		t.Error("a refused write committed")
	}
	// Its own roles and grants: what reaches nothing new is fine, what
	// reaches more is not.
	_, err = e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.lite.ID, []string{"hana"})
	must(t, err)
	_, err = e.svc.AddRoleMembers(e.ctx, "w", as("ra"), w.big.ID, []string{"ra"})
	wantCode(t, err, policy.CodePrivilegeEscalation)
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", as("ra"), "ra", policy.Grants{"deals_view": all})
	wantCode(t, err, policy.CodePrivilegeEscalation)
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", as("ra"), "ra", policy.Grants{"deals_view": sub})
	must(t, err) // redundant: ra holds it through Wide deals
	// Joining a department reaches nothing new for a member whose grants
	// are all at all or own.
	_, _, err = e.svc.UpsertMember(e.ctx, "w", as("boss"), admin.MemberInput{UserID: "ra2", Name: "Ra 2", RoleIDs: []string{w.roleAdmin.ID}})
	must(t, err)
	noDept := e.role("w", "Admin at all", policy.Internal, policy.Grants{"settings_roles_view": all, "settings_roles_edit": all, "crm_view": own})
	_, _, err = e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "ra2", []string{noDept.ID})
	must(t, err)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", as("ra2"), admin.MemberInput{UserID: "ra2", Name: "Ra 2", DepartmentIDs: []string{"finance"}})
	must(t, err)
}

// testM6ClientOwner: a client member is never an owner, and a client owner
// stored by an older version holds no internal-only module (M6, attack 5).
func testM6ClientOwner(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	_, _, err := e.svc.UpsertMember(e.ctx, "w", as("boss"), admin.MemberInput{UserID: "cli", Name: "Cli", Kind: policy.Client, Owner: ptr(true)})
	wantCode(t, err, policy.CodeAudienceMismatch)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "cli", Name: "Cli", Kind: policy.Client, Owner: ptr(true)})
	wantCode(t, err, policy.CodeAudienceMismatch)
	cat := e.svc.Catalog()
	lv := cat.EffectiveLevels(policy.Client, true, nil, nil)
	for _, key := range []string{"settings_roles_edit", "billing_view", "flows_view"} {
		if id, _ := cat.Lookup(key); lv[id] != none {
			t.Errorf("a client owner holds %s at %s", key, lv[id])
		}
	}
	if id, _ := cat.Lookup("deals_view"); lv[id] != all {
		t.Errorf("a client owner holds deals_view at %s, want all", lv[id])
	}
}

// testX5AuditNamesWho: entries name the acting member with its name at the
// time, keys as key:<id>, the deployment admin, and the target filter
// takes a bare id.
func testX5AuditNamesWho(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	_, err := e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.lite.ID, []string{"ed"})
	must(t, err)
	_, err = e.svc.AddRoleMembers(e.ctx, "w", admin.Write{Actor: admin.Actor{KeyID: "abc"}}, w.lite.ID, []string{"plain"})
	must(t, err)
	_, err = e.svc.UpdateWorkspace(e.ctx, "w", admin.Write{Actor: admin.Actor{Deployment: true}}, admin.WorkspaceUpdate{Name: ptr("New name")})
	must(t, err)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "hana", Name: "Hana Renamed", DepartmentIDs: []string{"east"}})
	must(t, err)
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "ed"})
	must(t, err)
	last := entries[len(entries)-1]
	if last.Actor != "hana" || last.ActorName != "Hana" {
		t.Errorf("hana's write is audited as %q / %q", last.Actor, last.ActorName)
	}
	if a := e.getMember("w", "ed").Roles; !slices.ContainsFunc(a, func(x admin.Assignment) bool { return x.AssignedBy == "hana" }) {
		t.Errorf("ed's assignment does not name hana: %+v", a)
	}
	entries, err = e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "member:plain", Actor: "key:abc"})
	must(t, err)
	if len(entries) != 1 || entries[0].ActorName != "" {
		t.Errorf("key write audited as %+v", entries)
	}
	entries, err = e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "w", Actor: "deployment"})
	must(t, err)
	if len(entries) != 2 || entries[0].Action != "workspace.create" || entries[1].Action != "workspace.update" {
		t.Errorf("deployment writes audited as %+v", entries)
	}
	rep, err := e.svc.VerifyAudit(e.ctx, "w")
	must(t, err)
	if !rep.OK {
		t.Errorf("chain with names does not verify: %s", rep.Problem)
	}
}

// policyWithParent exports the workspace's policy with one department
// moved under another.
func (e *env) policyWithParent(id, parent string) []byte {
	e.t.Helper()
	out, err := e.svc.ExportPolicy(e.ctx, "w")
	must(e.t, err)
	f, err := admin.ParsePolicy(out)
	must(e.t, err)
	for i := range f.Departments {
		if f.Departments[i].ID == id {
			f.Departments[i].Parent = parent
			return f.Marshal()
		}
	}
	e.t.Fatalf("the export has no department %s", id)
	return nil
}

func second[A any](_ A, err error) error                 { return err }
func third[A, B any](_ A, _ B, err error) error          { return err }
func fourth[A, B, C any](_ A, _ B, _ C, err error) error { return err }

// testZ2ActionAliases: aliases are validated against the catalog, audited,
// need role-definition authority, survive a restart, and reach the
// snapshot (Z2).
func testZ2ActionAliases(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	_, _, err := e.svc.SetActionAliases(e.ctx, "w", admin.Write{}, map[string]string{"can_read": "contact_view"})
	wantCode(t, err, policy.CodeUnknownPermission)
	for _, bad := range []map[string]string{{"deals_view": "leads_view"}, {"9lives": "leads_view"}, {"a b": "leads_view"}} {
		_, _, err = e.svc.SetActionAliases(e.ctx, "w", admin.Write{}, bad)
		wantCode(t, err, policy.CodeInvalidArgument)
	}
	_, _, err = e.svc.SetActionAliases(e.ctx, "w", as("hana"), map[string]string{"can_read": "contacts_view"})
	wantCode(t, err, policy.CodeForbidden) // role definitions need settings_roles_edit at all (X3)
	// ra maps actions only onto permissions it holds at all (X3a.1, see
	// testX3aActionMappings).
	contacts := e.role("w", "Contacts", policy.Internal, policy.Grants{"contacts_view": all, "contacts_edit": all})
	_, err = e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, contacts.ID, []string{"ra"})
	must(t, err)
	rev := e.revision("w")
	got, _, err := e.svc.SetActionAliases(e.ctx, "w", as("ra"), map[string]string{"can_read": "contacts_view", "can_update": "contacts_edit"})
	must(t, err)
	if len(got) != 2 || e.revision("w") != rev+1 {
		t.Fatalf("aliases %v at revision %d", got, e.revision("w"))
	}
	_, _, err = e.svc.SetActionAliases(e.ctx, "w", admin.Write{}, map[string]string{"can_update": "contacts_edit", "can_read": "contacts_view"})
	must(t, err)
	if e.revision("w") != rev+1 {
		t.Error("setting the same aliases committed a revision")
	}
	if key, ok := e.snaps.get("w").Alias("can_update"); !ok || key != "contacts_edit" {
		t.Errorf("the snapshot resolves can_update to %q, %v", key, ok)
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "workspace:w"})
	must(t, err)
	if last := entries[len(entries)-1]; last.Action != "aliases.put" || last.Actor != "ra" {
		t.Errorf("last workspace entry: %+v", last)
	}
	svc2, snaps2 := e.service()
	must(t, svc2.Open(e.ctx))
	a, err := svc2.ActionAliases(e.ctx, "w")
	must(t, err)
	if a["can_read"] != "contacts_view" || len(a) != 2 {
		t.Errorf("after a restart: %v", a)
	}
	if key, ok := snaps2.get("w").Alias("can_read"); !ok || key != "contacts_view" {
		t.Errorf("after a restart the snapshot resolves can_read to %q, %v", key, ok)
	}
	// Members' emails reach the snapshot (owners named by email, Z2).
	if u, ok := snaps2.get("w").MemberByEmail("hana@example.com"); ok {
		t.Errorf("an email nobody has resolves to %s", u)
	}
	_, _, err = e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "hana", Name: "Hana", Email: "hana@example.com",
		DepartmentIDs: []string{"east"}})
	must(t, err)
	if u, ok := e.snaps.get("w").MemberByEmail("hana@example.com"); !ok || u != "hana" {
		t.Errorf("hana's email resolves to %q, %v", u, ok)
	}
	// Policy as code: exported, and set by an import that names them.
	out, err := e.svc.ExportPolicy(e.ctx, "w")
	must(t, err)
	f, err := admin.ParsePolicy(out)
	must(t, err)
	if f.ActionAliases == nil || (*f.ActionAliases)["can_read"] != "contacts_view" {
		t.Fatalf("the export has no aliases:\n%s", out)
	}
	*f.ActionAliases = map[string]string{"can_view_deal": "deals_view"}
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, f.Marshal())
	must(t, err)
	if a, _ := e.svc.ActionAliases(e.ctx, "w"); len(a) != 1 || a["can_view_deal"] != "deals_view" {
		t.Errorf("after an import: %v", a)
	}
	f.ActionAliases = nil // a file without the key keeps them
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, f.Marshal())
	must(t, err)
	if a, _ := e.svc.ActionAliases(e.ctx, "w"); len(a) != 1 {
		t.Errorf("an import without aliases changed them: %v", a)
	}
	_, _, err = e.svc.SetActionAliases(e.ctx, "w", admin.Write{}, nil)
	must(t, err)
	if _, ok := e.snaps.get("w").Alias("can_view_deal"); ok {
		t.Error("a removed alias still resolves")
	}
}
