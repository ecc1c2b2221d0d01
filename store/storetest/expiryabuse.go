package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Abuse paths through expiry (T1, T3) and department roles (M9) that an
// administrator with partial rights (X3, X3a) could take, found by the
// escalation oracle or by looking for them. Each must be refused with
// privilege_escalation (or forbidden for the span) and write nothing.

// refusedAll runs each write and wants it refused with one of codes,
// nothing committed.
func refusedAll(t *testing.T, e *env, writes map[string]func() error, codes ...policy.Code) {
	t.Helper()
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			rev := e.revision("w")
			err := write()
			if err == nil {
				t.Fatal("accepted")
			}
			ok := false
			for _, c := range codes {
				ok = ok || policy.ErrorCode(err) == c
			}
			if !ok {
				t.Fatalf("got %v, want one of %v", err, codes)
			}
			if e.revision("w") != rev {
				t.Error("a refused write committed")
			}
		})
	}
}

// testT3X3aNoSelfExtension: an administrator given access until an
// instant cannot keep it longer itself — not by extending or removing the
// expiry of its own assignment, direct grant or department's role, nor by
// giving itself a permanent copy — though the access is within its levels
// now (X3a.3 at the instant it expires). Found by the oracle.
func testT3X3aNoSelfExtension(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	at := e.clock.peek().Add(time.Hour)
	later := at.Add(24 * time.Hour)
	temp := e.role("w", "Temp", policy.Internal, policy.Grants{"deals_view": sub})
	copyRole := e.role("w", "Temp copy", policy.Internal, policy.Grants{"deals_view": sub})
	// The host's key gives hana Temp, a direct grant and, through her
	// department, Temp copy, each for an hour.
	must(t, second(e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, temp.ID, []string{"hana"}, at)))
	must(t, fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "hana", policy.Grants{"reports_view": sub}, map[string]time.Time{"reports_view": at})))
	east := func() admin.Department {
		for _, d := range e.departments("w") {
			if d.ID == "east" {
				return d
			}
		}
		t.Fatal("no east")
		return admin.Department{}
	}
	must(t, third(e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, east(),
		&admin.DepartmentRolesInput{RoleIDs: []string{copyRole.ID}, ExpiresAt: map[string]time.Time{copyRole.ID: at}})))
	mine := []string{w.head.ID, admin.RoleEmployee, temp.ID}
	refusedAll(t, e, map[string]func() error{
		"extend her own role": func() error {
			return second(e.svc.AddRoleMembersUntil(e.ctx, "w", as("hana"), temp.ID, []string{"hana"}, later))
		},
		"make her own role permanent": func() error {
			return second(e.svc.AddRoleMembers(e.ctx, "w", as("hana"), temp.ID, []string{"hana"}))
		},
		"remove her role's expiry via PUT": func() error {
			return third(e.svc.SetMemberRolesUntil(e.ctx, "w", as("hana"), "hana", mine, map[string]time.Time{}))
		},
		"extend her own direct grant": func() error {
			return fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", as("hana"), "hana", policy.Grants{"reports_view": sub}, map[string]time.Time{"reports_view": later}))
		},
		"make her own direct grant permanent": func() error {
			return fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", as("hana"), "hana", policy.Grants{"reports_view": sub}, map[string]time.Time{}))
		},
		"extend her department's role": func() error {
			return third(e.svc.PutDepartmentWithRoles(e.ctx, "w", as("hana"), east(),
				&admin.DepartmentRolesInput{ExpiresAt: map[string]time.Time{copyRole.ID: later}}))
		},
		"a permanent copy of her department's role": func() error {
			return second(e.svc.AddRoleMembers(e.ctx, "w", as("hana"), copyRole.ID, []string{"hana"}))
		},
		"a permanent direct grant of what expires": func() error {
			return fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", as("hana"), "hana", policy.Grants{"reports_view": sub, "deals_view": sub},
				map[string]time.Time{"reports_view": at}))
		},
	}, policy.CodePrivilegeEscalation)
	// Taking her own access away sooner is allowed.
	must(t, second(e.svc.RemoveRoleMember(e.ctx, "w", as("hana"), temp.ID, "hana")))
	// After the instant she holds none of it.
	e.clock.advance(time.Hour + time.Second)
	must(t, second(e.svc.ExpireDue(e.ctx, "w")))
	for p, want := range map[string]policy.Level{"deals_view": dept, "reports_view": policy.LevelNone} {
		if l := e.level("w", "hana", p); l != want {
			t.Errorf("after the instant hana holds %s at %s, want %s", p, l, want)
		}
	}
}

// testT3X3aNoPermanentCopy: an administrator cannot let a member keep,
// past its expiry, a level above the administrator's own — by a permanent
// role of the same levels, a move into a department that gives them, or
// a sub-department move under such a department — though the member's
// levels do not change now (X3a.1 at the instant it expires). Found by
// the oracle.
func testT3X3aNoPermanentCopy(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	at := e.clock.peek().Add(time.Hour)
	big2 := e.role("w", "Big too", policy.Internal, policy.Grants{"crm_view": all})
	// ed holds Big (crm_view: all, above hana's subdepartments) until at.
	must(t, second(e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, w.big.ID, []string{"ed"}, at)))
	// east_x, in hana's span, gives Big too for good; east_y gives it to
	// its sub-departments.
	for _, d := range []admin.Department{{ID: "east_x", Name: "East X", ParentID: "east"}, {ID: "east_y", Name: "East Y", ParentID: "east"}} {
		must(t, third(e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, d,
			&admin.DepartmentRolesInput{RoleIDs: []string{big2.ID}, IncludeSubdepartments: ptr(d.ID == "east_y")})))
	}
	refusedAll(t, e, map[string]func() error{
		"a permanent role of the same levels": func() error {
			return second(e.svc.AddRoleMembers(e.ctx, "w", as("hana"), big2.ID, []string{"ed"}))
		},
		"a move into a department that gives them": func() error {
			return third(e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "ed", Name: "Ed", DepartmentIDs: []string{"east_x"}}))
		},
		"a department moved under one that gives them to its sub-departments": func() error {
			return third(e.svc.PutDepartment(e.ctx, "w", as("hana"), admin.Department{ID: "east_sales", Name: "East sales", ParentID: "east_y"}))
		},
	}, policy.CodePrivilegeEscalation)
	// A member created into a department whose only role for it expires
	// gets the default role then (M4): sam, who lacks the default role's
	// levels, may not create it (X3a.1 for a new member, found by the
	// oracle).
	e.member("w", admin.MemberInput{UserID: "sam", Name: "Sam", DepartmentIDs: []string{"east"}, RoleIDs: []string{w.head.ID}})
	must(t, third(e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, admin.Department{ID: "east_t", Name: "East T", ParentID: "east"},
		&admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}, ExpiresAt: map[string]time.Time{w.lite.ID: at}})))
	refusedAll(t, e, map[string]func() error{
		"a new member left to the default role at the expiry": func() error {
			return third(e.svc.UpsertMember(e.ctx, "w", as("sam"), admin.MemberInput{UserID: "newbie", Name: "Newbie", DepartmentIDs: []string{"east_t"}}))
		},
	}, policy.CodePrivilegeEscalation)
	// The host's key may; and hana may still shorten ed's Big.
	must(t, second(e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, big2.ID, []string{"ed"})))
	must(t, third(e.svc.SetMemberRolesUntil(e.ctx, "w", as("hana"), "ed", []string{w.big.ID, big2.ID, admin.RoleEmployee},
		map[string]time.Time{w.big.ID: at.Add(-time.Minute)})))
}

// testM9X3aDepartmentAbusePaths: department roles an administrator could
// use to give more than it has or reach beyond its span.
func testM9X3aDepartmentAbusePaths(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	clientBig := e.role("w", "Client big", policy.Client, policy.Grants{"crm_view": all})
	must(t, third(e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, admin.Department{ID: "east_x", Name: "East X", ParentID: "east"},
		&admin.DepartmentRolesInput{RoleIDs: []string{w.big.ID}})))
	must(t, third(e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, admin.Department{ID: "east_c", Name: "East C", ParentID: "east"},
		&admin.DepartmentRolesInput{RoleIDs: []string{clientBig.ID}})))
	must(t, third(e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, admin.Department{ID: "west_lite", Name: "West lite", ParentID: "west"},
		&admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}, IncludeSubdepartments: ptr(true),
			ExpiresAt: map[string]time.Time{w.lite.ID: e.clock.peek().Add(time.Hour)}})))
	dept := func(id, name, parent string) admin.Department {
		return admin.Department{ID: id, Name: name, ParentID: parent}
	}
	t.Run("refused", func(t *testing.T) {
		refusedAll(t, e, map[string]func() error{
			// A role of another audience, above her levels: a client joining
			// later would hold it (M6 keeps it from internal members only).
			"a client role above her levels": func() error {
				return third(e.svc.PutDepartmentWithRoles(e.ctx, "w", as("hana"), dept("east_sales", "East sales", "east"),
					&admin.DepartmentRolesInput{RoleIDs: []string{clientBig.ID}}))
			},
			"a client moved into a department with a client role above her levels": func() error {
				return third(e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "cli", Name: "Cli", Kind: policy.Client, DepartmentIDs: []string{"east_c"}}))
			},
			// A role given by the host's key without sub-departments, which
			// she widens to them.
			"widening a role above her levels to sub-departments": func() error {
				return third(e.svc.PutDepartmentWithRoles(e.ctx, "w", as("hana"), dept("east_x", "East X", "east"),
					&admin.DepartmentRolesInput{IncludeSubdepartments: ptr(true)}))
			},
		}, policy.CodePrivilegeEscalation)
		// A department moved under one whose roles reach its members.
		must(t, third(e.svc.PutDepartmentWithRoles(e.ctx, "w", admin.Write{}, dept("east_x", "East X", "east"),
			&admin.DepartmentRolesInput{IncludeSubdepartments: ptr(true)})))
		refusedAll(t, e, map[string]func() error{
			"a sub-department moved under a role above her levels": func() error {
				return third(e.svc.PutDepartment(e.ctx, "w", as("hana"), dept("east_sales", "East sales", "east_x")))
			},
		}, policy.CodePrivilegeEscalation)
		refusedAll(t, e, map[string]func() error{
			// Her department's members carried out of her span, where a
			// department role would reach them.
			"a department with members moved under one outside her span": func() error {
				return third(e.svc.PutDepartment(e.ctx, "w", as("hana"), dept("east_sales", "East sales", "west_lite")))
			},
			"a role given to a department outside her span": func() error {
				return third(e.svc.PutDepartmentWithRoles(e.ctx, "w", as("hana"), dept("west", "West", ""),
					&admin.DepartmentRolesInput{RoleIDs: []string{w.lite.ID}}))
			},
			"an expiry extended on a department outside her span": func() error {
				return third(e.svc.PutDepartmentWithRoles(e.ctx, "w", as("hana"), dept("west_lite", "West lite", "west"),
					&admin.DepartmentRolesInput{ExpiresAt: map[string]time.Time{}}))
			},
			"a member moved into a department outside her span, whose role she could give": func() error {
				return third(e.svc.UpsertMember(e.ctx, "w", as("hana"), admin.MemberInput{UserID: "ed", Name: "Ed", DepartmentIDs: []string{"west_lite"}}))
			},
		}, policy.CodeForbidden, policy.CodePrivilegeEscalation)
	})
	if l := e.level("w", "ed", "crm_view"); l == all {
		t.Errorf("ed holds crm_view at %s after refused writes", l)
	}
}
