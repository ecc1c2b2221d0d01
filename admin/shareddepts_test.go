package admin

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestW1_SharedDepartmentsStayPerWorkspace: two workspaces loaded with
// the same departments share one department map; a write renaming a
// department of one leaves the other's as it was. Departments holding
// roles (M9) are never shared.
func TestW1_SharedDepartmentsStayPerWorkspace(t *testing.T) {
	t.Parallel()
	load := func(ws string, roles []Assignment) *model {
		t.Helper()
		d := &Dataset{Workspace: Workspace{ID: ws, Name: ws, Plan: PlanFree, Revision: 1},
			Departments: []Department{{ID: "eu", Name: "Europe"}, {ID: "fr", Name: "France", ParentID: "eu", Roles: roles}}}
		m, err := newModel(policy.DefaultCatalog(), d, time.Now, 0)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := load("a", nil), load("b", nil)
	if a.depts["eu"] != b.depts["eu"] {
		t.Fatal("the same departments loaded into two maps")
	}
	v := newView(a, time.Now(), Actor{})
	c := *v.depts["eu"]
	c.Name = "Europa"
	v.putDept(&c)
	v.merge()
	if err := v.base.advance(nil, v.members, nil, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if a.depts["eu"].Name != "Europa" || b.depts["eu"].Name != "Europe" {
		t.Errorf("after a's rename: a %q, b %q", a.depts["eu"].Name, b.depts["eu"].Name)
	}
	r1 := load("r1", []Assignment{{RoleID: "sales", Revision: 1}})
	r2 := load("r2", []Assignment{{RoleID: "sales", Revision: 1}})
	if r1.depts["eu"] == r2.depts["eu"] {
		t.Error("departments holding roles are shared")
	}
}
