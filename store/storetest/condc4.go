package storetest

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testG2C4PerRecordAcrossGrantSets: C4 holds per record across a member's
// roles and direct grants (G2). Level arithmetic alone, where a conditional
// grant counts at its level, would accept a direct deals_edit beside a
// role's deals_view that reaches as far only under a condition; every such
// write is refused with dependency_violation naming the pair and the
// conditions, and writes nothing: a direct grant, a role edit applied to
// its members, a role taken away. A direct grant under the very condition
// of the role's view is accepted.
func testG2C4PerRecordAcrossGrantSets(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	const open, small = "record.stage != 'closed'", "record.amount < 5"
	viewWhen, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: "View open",
		Grants: policy.Grants{"deals_view": all}, When: policy.Conditions{"deals_view": open}})
	must(t, err)
	viewAll := e.role("w", "View all", policy.Internal, policy.Grants{"deals_view": all})
	e.member("w", admin.MemberInput{UserID: "x", RoleIDs: []string{viewWhen.ID}})
	e.member("w", admin.MemberInput{UserID: "z", RoleIDs: []string{viewAll.ID}})
	e.member("w", admin.MemberInput{UserID: "v", RoleIDs: []string{viewAll.ID, viewWhen.ID}})
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "z", policy.Grants{"deals_edit": all})
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "v", policy.Grants{"deals_edit": dept})
	must(t, err)

	refused := func(name string, err error, mention ...string) {
		t.Helper()
		rev := e.revision("w")
		pe := wantCode(t, err, policy.CodeDependencyViolation)
		for _, m := range append([]string{"deals_edit", "deals_view"}, mention...) {
			if !strings.Contains(pe.Message, m) {
				t.Errorf("%s: the error does not name %q: %s", name, m, pe.Message)
			}
		}
		if vs, ok := pe.Details["violations"].([]policy.Violation); !ok || len(vs) == 0 || vs[0].Permission != "deals_edit" || vs[0].Requires != "deals_view" {
			t.Errorf("%s: violations %v", name, pe.Details["violations"])
		}
		if e.revision("w") != rev {
			t.Errorf("%s: a refused write committed", name)
		}
	}
	for _, tc := range []struct {
		name    string
		g       policy.Grants
		when    policy.Conditions
		mention []string
	}{
		{"unconditional edit, view only when open", policy.Grants{"deals_edit": all}, nil, []string{open, "unconditionally"}},
		{"edit under another condition", policy.Grants{"deals_edit": all}, policy.Conditions{"deals_edit": small}, []string{open, small}},
		{"edit at department, view only when open", policy.Grants{"deals_edit": dept}, nil, []string{open}},
	} {
		_, _, _, err := e.svc.SetDirectGrantsWhen(e.ctx, "w", admin.Write{}, "x", tc.g, tc.when)
		refused("direct grant: "+tc.name, err, tc.mention...)
	}
	// The same condition as the role's view: every record editable is viewable.
	_, _, _, err = e.svc.SetDirectGrantsWhen(e.ctx, "w", admin.Write{}, "x", policy.Grants{"deals_edit": all}, policy.Conditions{"deals_edit": open})
	must(t, err)
	if e.level("w", "x", "deals_edit") != all {
		t.Error("the direct grant under the role's condition was not stored")
	}

	// A role edit applied to its members: z's direct deals_edit relied on
	// the role's unconditional view.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, viewAll.ID, admin.RoleUpdate{
		Grants: policy.Grants{"deals_view": all}, When: policy.Conditions{"deals_view": small}})
	refused("role edit applied", err, "member ", small) // v or z, whichever is checked first

	// An assignment taken away: v keeps only the conditional view.
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, viewAll.ID, "v")
	refused("role removed", err, "member v", open)

	// Roles alone keep C4 per record (each carries its own requirements):
	// a member holding both roles and no direct grant is fine.
	e.member("w", admin.MemberInput{UserID: "y", RoleIDs: []string{viewAll.ID, viewWhen.ID}})
}
