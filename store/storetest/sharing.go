package storetest

import (
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testW1SharedStructuresStayPerWorkspace: two workspaces with the same
// departments, loaded by a restarted node, share their department map and
// org tree in memory (issue 17). A write to one — moving a department out
// of a lead's subtree, renaming another — changes that workspace's
// decisions and departments only: the other's lead still reaches the
// moved department's records, and its departments read as before (W1).
func testW1SharedStructuresStayPerWorkspace(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for _, ws := range []string{"a", "b"} {
		e.workspace(ws, admin.PlanProfessional)
		for _, d := range []admin.Department{{ID: "eu", Name: "Europe"}, {ID: "fr", Name: "France", ParentID: "eu"}} {
			_, _, err := e.svc.PutDepartment(e.ctx, ws, admin.Write{}, d)
			must(t, err)
		}
		lead := e.role(ws, "Lead", policy.Internal, policy.Grants{"deals_view": policy.LevelSubdepartments})
		e.member(ws, admin.MemberInput{UserID: "lea", RoleIDs: []string{lead.ID}, DepartmentIDs: []string{"eu"}})
	}
	e.svc, e.snaps = e.service() // a restart: both load from the store, sharing what they can
	e.departments("a")
	e.departments("b")
	_, _, err := e.svc.PutDepartment(e.ctx, "a", admin.Write{}, admin.Department{ID: "fr", Name: "France"})
	must(t, err)
	_, _, err = e.svc.PutDepartment(e.ctx, "a", admin.Write{}, admin.Department{ID: "eu", Name: "Europa"})
	must(t, err)
	reaches := func(ws string) bool {
		t.Helper()
		d, err := e.snaps.get(ws).CheckRecord("lea", "deals_view", &policy.Resource{OwnerID: "someone", DepartmentID: "fr"})
		must(t, err)
		return d.Allowed
	}
	if reaches("a") {
		t.Error("a: the lead of eu still reaches fr, which moved out of eu")
	}
	if !reaches("b") {
		t.Error("b: the lead of eu lost fr when a moved its own fr (W1)")
	}
	for _, d := range e.departments("b") {
		if (d.ID == "eu" && d.Name != "Europe") || (d.ID == "fr" && d.ParentID != "eu") {
			t.Errorf("b's department after a's writes: %+v (W1)", d)
		}
	}
}
