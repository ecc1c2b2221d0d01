package policy_test

import (
	"fmt"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// The README's library example: compile a workspace and ask questions.
func Example() {
	cat := policy.DefaultCatalog()
	snap, err := policy.Compile(policy.State{
		Workspace: "acme", Revision: 1, Catalog: cat,
		Departments: []policy.Department{{ID: "sales"}, {ID: "sales_east", ParentID: "sales"}},
		Roles: []policy.RoleRevision{{RoleID: "head", Revision: 1, Name: "Head", Predefined: true,
			Audience: policy.Internal, Grants: policy.Grants{"crm_view": policy.LevelSubdepartments}}},
		Members: []policy.Member{{UserID: "ana", Kind: policy.Internal,
			DepartmentIDs: []string{"sales"}, Roles: []policy.RoleRef{{RoleID: "head", Revision: 1}}}},
	})
	if err != nil {
		panic(err)
	}
	d, _ := snap.Check("ana", "leads_view")
	fmt.Println(d.Allowed, d.Level)
	d, _ = snap.CheckRecord("ana", "deals_view", &policy.Resource{OwnerID: "bo", DepartmentID: "sales_east"})
	fmt.Println(d.Allowed, d.Reason)
	_, err = snap.Check("ana", "contact_view")
	fmt.Println(err)
	plan, _ := snap.Filter("ana", "leads_view")
	fmt.Println(plan.Kind, plan.DepartmentIDs)
	// Output:
	// true subdepartments
	// true subdepartment
	// unknown permission "contact_view"; did you mean "contacts_view"?
	// conditional [sales sales_east]
}
