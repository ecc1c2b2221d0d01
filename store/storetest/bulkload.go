package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testBulkLoadEqualsLoad: a workspace read by a range load (LoadRange,
// what Open uses for many workspaces) is exactly what Load returns for it
// (roles, revisions, members with departments and assignments, department
// roles, objects, keys, aliases, audit head), whatever range it falls in;
// ranges page through every workspace once, in id order; and a node
// opened on many workspaces serves the same snapshots as the node that
// wrote them.
func testBulkLoadEqualsLoad(t *testing.T, h Harness) {
	e := newEnv(t, h)
	bl, ok := e.store.(admin.BulkLoader)
	if !ok {
		t.Fatalf("%T is not an admin.BulkLoader", e.store)
	}
	const n = 40 // above the bulk threshold of Sync
	var ids []string
	for i := range n {
		ws := fmt.Sprintf("bulk%02d", i)
		ids = append(ids, ws)
		e.workspace(ws, admin.PlanProfessional)
		if i%3 != 0 {
			continue // most stay small: predefined roles, no members
		}
		r := e.role(ws, "Rep", policy.Internal, policy.Grants{"deals_view": own})
		_, _, err := e.svc.PutDepartment(e.ctx, ws, admin.Write{}, admin.Department{ID: "sales", Name: "Sales"})
		must(t, err)
		_, _, err = e.svc.PutDepartment(e.ctx, ws, admin.Write{}, admin.Department{ID: "east", Name: "East", ParentID: "sales"})
		must(t, err)
		must(t, e.deptRoles(ws, "sales", admin.DepartmentRolesInput{RoleIDs: []string{r.ID}}))
		for j := range 4 {
			e.member(ws, admin.MemberInput{UserID: fmt.Sprintf("u%d", j), Email: fmt.Sprintf("u%d@x.test", j), RoleIDs: []string{r.ID},
				DepartmentIDs: []string{"east"}})
		}
		e.member(ws, admin.MemberInput{UserID: "plain"})
		_, _, err = e.svc.UpdateRole(e.ctx, ws, admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: ptr(false)})
		must(t, err) // saved, not applied: members hold revision 1, the role is at 2
		// A department given the role now holds revision 2, which the
		// next save leaves neither newest nor applied: loads must still
		// read it (department_roles' branch of the revision query).
		_, _, err = e.svc.PutDepartment(e.ctx, ws, admin.Write{}, admin.Department{ID: "west", Name: "West"})
		must(t, err)
		must(t, e.deptRoles(ws, "west", admin.DepartmentRolesInput{RoleIDs: []string{r.ID}}))
		e.member(ws, admin.MemberInput{UserID: "w", DepartmentIDs: []string{"west"}})
		_, _, err = e.svc.UpdateRole(e.ctx, ws, admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": dept}, Apply: ptr(false)})
		must(t, err)
		_, _, err = e.svc.PutObject(e.ctx, ws, admin.Write{}, admin.SmartObject{ID: "invoice", Name: "Invoice", Description: "Invoices"})
		must(t, err)
		_, _, _, err = e.svc.CreateKey(e.ctx, ws, admin.Write{}, admin.ScopeCheck, "ci")
		must(t, err)
		_, _, err = e.svc.SetActionAliases(e.ctx, ws, admin.Write{}, map[string]string{"read": "deals_view"})
		must(t, err)
	}

	var got []string
	after := ""
	for {
		ds, err := bl.LoadRange(e.ctx, after, 7)
		must(t, err)
		if len(ds) == 0 {
			break
		}
		if len(ds) > 7 {
			t.Fatalf("LoadRange(%q, 7) returned %d workspaces", after, len(ds))
		}
		for _, d := range ds {
			got = append(got, d.Workspace.ID)
			one, err := e.store.Load(e.ctx, d.Workspace.ID)
			must(t, err)
			if !reflect.DeepEqual(d, one) {
				t.Errorf("%s: the range load differs from Load:\nrange %+v\nload  %+v", d.Workspace.ID, *d, *one)
			}
		}
		after = ds[len(ds)-1].Workspace.ID
	}
	if !reflect.DeepEqual(got, ids) {
		t.Fatalf("ranges paged through %v, want %v", got, ids)
	}

	other, snaps := e.service()
	must(t, other.Open(e.ctx))
	for i, ws := range ids {
		mine := e.snaps.get(ws)
		users := []string{}
		if i%3 == 0 {
			users = []string{"u0", "u3", "plain", "w"}
		}
		sameSnapshots(t, mine, snaps.get(ws), users...)
	}
}

// testW1SharedPredefinedGrants: workspaces load their identical
// predefined roles' grants as one shared value (issue 17: a node holds
// 100,000 workspaces); editing a predefined role in one workspace, and
// then restarting, leaves every other workspace's copy and snapshot as
// it was (W1).
func testW1SharedPredefinedGrants(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for _, ws := range []string{"a", "b"} {
		e.workspace(ws, admin.PlanProfessional)
		e.member(ws, admin.MemberInput{UserID: "u"}) // the default role, employee (M2)
	}
	restarted, snaps := e.service()
	must(t, restarted.Open(e.ctx)) // both loaded by the store: grants shared
	before := snaps.get("b").Revision()
	if lvl := e.level("b", "u", "crm_view"); lvl != own {
		t.Fatalf("b's employee crm_view = %v, want own", lvl)
	}
	_, _, err := restarted.UpdateRole(e.ctx, "a", admin.Write{}, "employee",
		admin.RoleUpdate{Grants: policy.Grants{"crm_view": all}, Apply: ptr(true)})
	must(t, err)
	if d, _ := snaps.get("a").Check("u", "crm_view"); d.Level != all {
		t.Fatalf("a's edit did not reach a: crm_view %v", d.Level)
	}
	for _, svc := range []*admin.Service{restarted, e.svc} {
		r, err := svc.Role(e.ctx, "b", "employee")
		must(t, err)
		if r.Grants["crm_view"] != own || r.Grants["email_send"] != all {
			t.Errorf("a's edit of its employee role reached b's: %v", r.Grants)
		}
	}
	if s := snaps.get("b"); s.Revision() != before {
		t.Errorf("b was republished at %d", s.Revision())
	} else if d, _ := s.Check("u", "crm_view"); d.Level != own {
		t.Errorf("b's member's crm_view = %v after a's edit, want own", d.Level)
	}
	third, snaps3 := e.service()
	must(t, third.Open(e.ctx))
	if d, _ := snaps3.get("b").Check("u", "crm_view"); d.Level != own {
		t.Errorf("after a restart, b's crm_view = %v, want own", d.Level)
	}
	if d, _ := snaps3.get("a").Check("u", "crm_view"); d.Level != all {
		t.Errorf("after a restart, a's crm_view = %v, want all", d.Level)
	}
}

// testLoadRoleGrantsOfNewestRevision: a load gives each role the grants
// of its newest revision, which it reads with the revisions members hold
// (R6: a saved edit leaves holders on the revision they have), by Load
// and by LoadRange alike, each revision once however many hold it; a
// role whose newest revision is missing from
// the database fails the load rather than loading without it.
func testLoadRoleGrantsOfNewestRevision(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	e.member("w", admin.MemberInput{UserID: "u", RoleIDs: []string{r.ID}})
	saved, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: ptr(false)})
	must(t, err)
	// Assigned after the save, a member and a department hold the newest
	// revision too: read from three sources, it is loaded once.
	e.member("w", admin.MemberInput{UserID: "late", RoleIDs: []string{r.ID}})
	_, _, err = e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "d", Name: "D"})
	must(t, err)
	must(t, e.deptRoles("w", "d", admin.DepartmentRolesInput{RoleIDs: []string{r.ID}}))
	loads := map[string]func() (*admin.Dataset, error){
		"Load": func() (*admin.Dataset, error) { return e.store.Load(e.ctx, "w") },
		"LoadRange": func() (*admin.Dataset, error) {
			ds, err := e.store.(admin.BulkLoader).LoadRange(e.ctx, "", 10)
			if err != nil || len(ds) != 1 {
				return nil, fmt.Errorf("%d workspaces, %w", len(ds), err)
			}
			return ds[0], nil
		},
	}
	for name, load := range loads {
		d, err := load()
		must(t, err)
		i := slices.IndexFunc(d.Roles, func(x admin.Role) bool { return x.ID == r.ID })
		if i < 0 {
			t.Fatalf("%s: role %s not loaded", name, r.ID)
		}
		if got := d.Roles[i]; got.Revision != saved.Revision || got.Grants["deals_view"] != all {
			t.Fatalf("%s: role %s loaded at revision %d with %v, want revision %d granting deals_view all", name, r.ID, got.Revision, got.Grants, saved.Revision)
		}
		var revs []int64
		for _, rv := range d.Revisions {
			if rv.RoleID == r.ID {
				revs = append(revs, rv.Revision)
			}
		}
		if !slices.Equal(revs, []int64{r.Revision, saved.Revision}) {
			t.Errorf("%s: revisions of %s loaded %v, want the held %d and the newest %d", name, r.ID, revs, r.Revision, saved.Revision)
		}
	}
	h.Exec(t, e.store, "DELETE FROM department_roles WHERE workspace_id = 'w'")
	h.Exec(t, e.store, "DELETE FROM assignments WHERE workspace_id = 'w' AND user_id = 'late'")
	h.Exec(t, e.store, fmt.Sprintf("DELETE FROM role_revisions WHERE workspace_id = 'w' AND role_id = '%s' AND revision = %d", r.ID, saved.Revision))
	for name, load := range loads {
		if _, err := load(); err == nil || !strings.Contains(err.Error(), r.ID) {
			t.Errorf("%s without the role's newest revision: %v, want an error naming %s", name, err, r.ID)
		}
	}
}
