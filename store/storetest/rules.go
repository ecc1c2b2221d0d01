package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// epochs returns every member's epoch.
func (e *env) epochs(ws string, users ...string) map[string]int64 {
	out := map[string]int64{}
	for _, u := range users {
		out[u] = e.getMember(ws, u).Epoch
	}
	return out
}

// moved returns the users whose epoch differs between two readings.
func moved(a, b map[string]int64) string {
	var out []string
	for _, u := range slices.Sorted(maps.Keys(a)) {
		if a[u] != b[u] {
			if b[u] != a[u]+1 {
				out = append(out, fmt.Sprintf("%s(+%d)", u, b[u]-a[u]))
				continue
			}
			out = append(out, u)
		}
	}
	return strings.Join(out, ",")
}

func testA1Epochs(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	for _, d := range []admin.Department{{ID: "a", Name: "A"}, {ID: "b", Name: "B", ParentID: "a"}, {ID: "c", Name: "C"}} {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, d)
		must(t, err)
	}
	rep := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	big := e.role("w", "Big", policy.Internal, policy.Grants{"deals_view": all})
	e.member("w", admin.MemberInput{UserID: "r1", RoleIDs: []string{rep.ID}})
	e.member("w", admin.MemberInput{UserID: "r2", RoleIDs: []string{rep.ID, big.ID}}) // already all: an edit of rep changes nothing for r2
	e.member("w", admin.MemberInput{UserID: "x", RoleIDs: []string{big.ID}})
	e.member("w", admin.MemberInput{UserID: "ha", DepartmentIDs: []string{"a"}})
	e.member("w", admin.MemberInput{UserID: "hc", DepartmentIDs: []string{"c"}})
	e.member("w", admin.MemberInput{UserID: "late"})
	users := []string{"r1", "r2", "x", "ha", "hc", "late"}
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"applied edit", func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, rep.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": dept}})
			return err
		}, "r1"},
		{"save without apply", func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, rep.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": sub}, Apply: ptr(false)})
			return err
		}, ""},
		{"role given after a save: its newest revision", func() error {
			// In place of the default role: late holds rep alone, as r1.
			_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "late", RoleIDs: []string{rep.ID}})
			return err
		}, "late"},
		{"applied edit moving holders of one role from two revisions", func() error {
			// Back to what r1 holds: late's level changes, r1's does not.
			r, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, rep.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": dept}})
			if err == nil && r.MemberCount != 3 { // r1, r2, late (M7)
				err = fmt.Errorf("the edit answers member_count %d, want 3", r.MemberCount)
			}
			return err
		}, "late"},
		{"rename", func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, rep.ID, admin.RoleUpdate{Name: ptr("Reps")})
			return err
		}, ""},
		{"direct grant", func() error {
			_, _, _, err := e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "x", policy.Grants{"leads_view": own})
			return err
		}, "x"},
		{"redundant role assigned", func() error {
			_, err := e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, rep.ID, []string{"x"})
			return err
		}, ""},
		{"role assigned", func() error {
			_, err := e.svc.AddRoleMembers(e.ctx, "w", admin.Write{}, big.ID, []string{"ha"})
			return err
		}, "ha"},
		{"role removed", func() error {
			_, err := e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, big.ID, "ha")
			return err
		}, "ha"},
		{"department change", func() error {
			_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "hc", DepartmentIDs: []string{"b"}})
			return err
		}, "hc"},
		{"name change only", func() error {
			_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: "hc", Name: "H C", DepartmentIDs: []string{"b"}})
			return err
		}, ""},
		{"department moved: old and new ancestors", func() error {
			_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "b", Name: "B", ParentID: "c"})
			return err
		}, "ha"}, // hc is in b itself: what b's own subtree holds did not change
		{"delete with reassign", func() error {
			_, err := e.svc.DeleteRole(e.ctx, "w", admin.Write{}, big.ID, rep.ID)
			return err
		}, "r2,x"},
	}
	for _, s := range steps {
		before := e.epochs("w", users...)
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		after := e.epochs("w", users...)
		if got := moved(before, after); got != s.want {
			t.Errorf("%s: epochs moved for [%s], want [%s]", s.name, got, s.want)
		}
		for _, u := range users {
			if ep, _ := e.snaps.get("w").Epoch(u); ep != after[u] {
				t.Errorf("%s: snapshot epoch of %s = %d, stored %d", s.name, u, ep, after[u])
			}
		}
	}
}

func testX3Actor(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	admins := e.role("w", "Admins", policy.Internal, policy.Grants{"settings_roles_view": all, "settings_roles_edit": all,
		"leads_view": dept, "leads_edit": own})
	e.member("w", admin.MemberInput{UserID: "adm", RoleIDs: []string{admins.ID}})
	e.member("w", admin.MemberInput{UserID: "plain"})
	e.member("w", admin.MemberInput{UserID: "boss", Owner: ptr(true)})
	e.member("w", admin.MemberInput{UserID: "target"})
	as := func(u string) admin.Write { return admin.Write{Actor: admin.Actor{UserID: u}, Reason: "test"} }

	_, _, err := e.svc.CreateRole(e.ctx, "w", as("stranger"), admin.RoleInput{Name: "X"})
	wantCode(t, err, policy.CodeForbidden)
	_, _, err = e.svc.CreateRole(e.ctx, "w", as("plain"), admin.RoleInput{Name: "X"})
	wantCode(t, err, policy.CodeForbidden)
	r, _, err := e.svc.CreateRole(e.ctx, "w", as("adm"), admin.RoleInput{Name: "Within", Grants: policy.Grants{"leads_view": dept}})
	must(t, err)
	_, _, err = e.svc.UpdateRole(e.ctx, "w", as("adm"), r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": all}})
	pe := wantCode(t, err, policy.CodePrivilegeEscalation)
	if !strings.Contains(pe.Message, "leads_view") {
		t.Errorf("message %q does not name the permission", pe.Message)
	}
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", as("adm"), "target", policy.Grants{"campaigns_view": own})
	wantCode(t, err, policy.CodePrivilegeEscalation)
	big := e.role("w", "Big", policy.Internal, policy.Grants{"deals_view": all})
	_, err = e.svc.AddRoleMembers(e.ctx, "w", as("adm"), big.ID, []string{"target"})
	wantCode(t, err, policy.CodePrivilegeEscalation)
	_, _, err = e.svc.UpsertMember(e.ctx, "w", as("adm"), admin.MemberInput{UserID: "target", Owner: ptr(true)})
	wantCode(t, err, policy.CodeForbidden) // ownership is the owners' (X3)
	_, err = e.svc.AddRoleMembers(e.ctx, "w", as("adm"), r.ID, []string{"target"})
	must(t, err)
	_, _, err = e.svc.UpdateRole(e.ctx, "w", as("boss"), r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": all}})
	must(t, err) // owners may do everything (W4)
	// An actor may edit a role that already holds more than the actor, as
	// long as the edit raises nothing above the actor.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", as("adm"), r.ID, admin.RoleUpdate{Name: ptr("Renamed")})
	must(t, err)
}

func testX4Audit(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	e.member("w", admin.MemberInput{UserID: "boss", Owner: ptr(true)})
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"leads_view": all})
	rev := e.revision("w")
	for _, g := range []policy.Grants{
		{"leads_view": all, "leads_export": own},
		{"leads_view": all, "leads_edit": all, "leads_delete": own},
	} {
		_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{Actor: admin.Actor{UserID: "boss"}}, r.ID, admin.RoleUpdate{Grants: g})
		wantCode(t, err, policy.CodeReasonRequired)
	}
	_, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{}, admin.RoleInput{Name: "Exporter", Grants: policy.Grants{"reports_view": all, "reports_export": all}})
	wantCode(t, err, policy.CodeReasonRequired)
	if e.revision("w") != rev {
		t.Fatal("a write refused for want of a reason wrote")
	}
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{Actor: admin.Actor{UserID: "boss"}, Reason: "quarterly export"}, r.ID,
		admin.RoleUpdate{Grants: policy.Grants{"leads_view": all, "leads_export": own}})
	must(t, err)
	// Lowering needs no reason.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": all}})
	must(t, err)
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "role:" + r.ID})
	must(t, err)
	if len(entries) != 3 {
		t.Fatalf("%d audit entries for the role, want 3", len(entries))
	}
	up := entries[1]
	if up.Actor != "boss" || up.Reason != "quarterly export" || up.Action != "role.update" || up.Revision == 0 ||
		!strings.Contains(string(up.Before), `"leads_view":"all"`) || !strings.Contains(string(up.After), `"leads_export":"own"`) || up.Time.IsZero() {
		t.Errorf("audit entry %+v", up)
	}
	if got, _ := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Actor: "boss"}); len(got) != 1 {
		t.Errorf("audit by actor: %d entries", len(got))
	}
	if got, _ := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Since: up.Time}); len(got) != 2 {
		t.Errorf("audit since: %d entries", len(got))
	}
	rep, err := e.svc.VerifyAudit(e.ctx, "w")
	must(t, err)
	if !rep.OK || rep.Entries < 10 {
		t.Fatalf("intact chain: %+v", rep)
	}
	if h.Exec == nil {
		return
	}
	tamper := []struct {
		name string
		sql  []string
	}{
		{"altered", []string{`UPDATE audit SET reason = 'nothing to see' WHERE workspace_id = 'w' AND seq = 3`}},
		{"altered shared reason", []string{`UPDATE audit_reasons SET reason = 'nothing to see' WHERE workspace_id = 'w' AND revision = 1`}},
		{"removed", []string{`DELETE FROM audit WHERE workspace_id = 'w' AND seq = 4`}},
		{"removed newest", []string{`DELETE FROM audit WHERE workspace_id = 'w' AND seq = (SELECT MAX(seq) FROM audit WHERE workspace_id = 'w')`}},
		{"reordered", []string{
			`UPDATE audit SET seq = -1 WHERE workspace_id = 'w' AND seq = 2`,
			`UPDATE audit SET seq = 2 WHERE workspace_id = 'w' AND seq = 5`,
			`UPDATE audit SET seq = 5 WHERE workspace_id = 'w' AND seq = -1`}},
	}
	for _, tc := range tamper {
		e2 := newEnv(t, h)
		e2.workspace("w", admin.PlanProfessional)
		for i := range 6 {
			e2.role("w", fmt.Sprintf("R%d", i), policy.Internal, nil)
		}
		for _, q := range tc.sql {
			h.Exec(t, e2.store, q)
		}
		rep, err := e2.svc.VerifyAudit(e2.ctx, "w")
		must(t, err)
		if rep.OK {
			t.Errorf("%s entry not detected", tc.name)
		}
	}
}

func testU1Usage(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"leads_view": all, "deals_view": own})
	now := e.clock.now()
	must(t, e.svc.RecordUsage(e.ctx, "w", []admin.Usage{
		{Permission: "leads_view", RoleID: r.ID, Count: 3, LastUsed: now},
		{Permission: "deals_view", RoleID: r.ID, Count: 1, LastUsed: now.Add(-40 * 24 * time.Hour)},
		{Permission: "leads_view", RoleID: "deleted_role", Count: 5, LastUsed: now},
	}))
	must(t, e.svc.RecordUsage(e.ctx, "w", []admin.Usage{{Permission: "leads_view", RoleID: r.ID, Count: 2, LastUsed: now.Add(-time.Hour)}}))
	us, err := e.svc.Usage(e.ctx, "w")
	must(t, err)
	if len(us) != 2 {
		t.Fatalf("usage %+v", us)
	}
	for _, u := range us {
		if u.Permission == "leads_view" && (u.Count != 5 || !u.LastUsed.Equal(now.Truncate(time.Microsecond))) {
			t.Errorf("leads_view usage %+v: counts add, last use is the latest", u)
		}
	}
	unused, err := e.svc.UnusedGrants(e.ctx, "w", 30)
	must(t, err)
	var got []string
	for _, u := range unused {
		if u.RoleID == r.ID {
			got = append(got, u.Permission)
		}
	}
	if strings.Join(got, ",") != "deals_view" {
		t.Errorf("unused grants of rep: %v, want [deals_view]", got)
	}
	_, err = e.svc.UnusedGrants(e.ctx, "w", 0)
	wantCode(t, err, policy.CodeInvalidArgument)
}

func testP1Preview(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	big := e.role("w", "Big", policy.Internal, policy.Grants{"deals_view": all})
	e.member("w", admin.MemberInput{UserID: "a", RoleIDs: []string{r.ID}})
	e.member("w", admin.MemberInput{UserID: "b", RoleIDs: []string{r.ID, big.ID}})
	rev := e.revision("w")
	imp, err := e.svc.PreviewRole(e.ctx, "w", r.ID, policy.Grants{"deals_view": dept, "leads_view": own}, admin.ImpactPage{})
	must(t, err)
	if len(imp.Members) != 2 || imp.Unaffected != 0 || imp.Affected != 2 || imp.Next != "" ||
		!slices.Equal(imp.Permissions, []admin.PermissionImpact{{Permission: "leads_view", Gaining: 2}, {Permission: "deals_view", Gaining: 1}}) {
		t.Fatalf("impact %+v", imp)
	}
	a := imp.Members[0]
	if a.UserID != "a" || len(a.Changes) != 2 || !slices.Contains(a.Changes, admin.LevelChange{Permission: "deals_view", Old: own, New: dept}) {
		t.Errorf("impact on a: %+v", a)
	}
	if b := imp.Members[1]; len(b.Changes) != 1 || b.Changes[0].Permission != "leads_view" {
		t.Errorf("impact on b: %+v", b)
	}
	if e.revision("w") != rev || e.level("w", "a", "deals_view") != own {
		t.Error("preview wrote")
	}
	_, err = e.svc.PreviewRole(e.ctx, "w", r.ID, policy.Grants{"deals_edit": all}, admin.ImpactPage{})
	wantCode(t, err, policy.CodeDependencyViolation)

	// P1 is paged: a summary over every member, then pages of members.
	in := make([]admin.MemberInput, 250)
	for i := range in {
		in[i] = admin.MemberInput{UserID: fmt.Sprintf("m%03d", i), RoleIDs: []string{r.ID}}
	}
	_, err = e.svc.ImportMembers(e.ctx, "w", admin.Write{}, in)
	must(t, err)
	var seen []string
	for after, pages := "", 0; ; pages++ {
		imp, err := e.svc.PreviewRole(e.ctx, "w", r.ID, policy.Grants{"deals_view": all}, admin.ImpactPage{After: after, Limit: 100})
		must(t, err)
		if imp.Affected != 251 || imp.Unaffected != 1 || len(imp.Permissions) != 1 || imp.Permissions[0] != (admin.PermissionImpact{Permission: "deals_view", Gaining: 251}) {
			t.Fatalf("summary of page %d: %+v", pages, imp)
		}
		if len(imp.Members) > 100 || pages > 3 {
			t.Fatalf("page %d has %d members", pages, len(imp.Members))
		}
		for _, m := range imp.Members {
			seen = append(seen, m.UserID)
		}
		if imp.Next == "" {
			break
		}
		after = imp.Next
	}
	if len(seen) != 251 || !slices.IsSorted(seen) || slices.Contains(seen, "b") {
		t.Errorf("pages list %d members (want every affected one once, by id): %v…", len(seen), seen[:min(5, len(seen))])
	}
}

// testX4ReasonOnce: a reason is at most admin.MaxReason characters, and a
// write stores it once however many entries it makes: a 10,000-member
// import with a 1,000-character reason once wrote it 10,000 times.
func testX4ReasonOnce(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	rev := e.revision("w")
	_, _, err := e.svc.CreateRole(e.ctx, "w", admin.Write{Reason: strings.Repeat("é", admin.MaxReason+1)}, admin.RoleInput{Name: "R"})
	wantCode(t, err, policy.CodeInvalidArgument)
	if e.revision("w") != rev {
		t.Fatal("a write with an over-long reason wrote")
	}
	reason := strings.Repeat("é", admin.MaxReason) // 1,000 characters, 2,000 bytes
	const n = admin.MaxImport
	in := make([]admin.MemberInput, n)
	for i := range in {
		in[i] = admin.MemberInput{UserID: fmt.Sprintf("u%05d", i), Name: "U"}
	}
	if _, err := e.svc.ImportMembers(e.ctx, "w", admin.Write{Reason: reason}, in); err != nil {
		t.Fatal(err)
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "member:u09999"})
	must(t, err)
	if len(entries) != 1 || entries[0].Reason != reason {
		t.Fatalf("the last imported member's entry does not carry the write's reason: %+v", entries)
	}
	rep, err := e.svc.VerifyAudit(e.ctx, "w")
	must(t, err)
	if !rep.OK {
		t.Fatalf("chain after the import: %+v", rep)
	}
	if h.QueryInt == nil {
		return
	}
	stored := h.QueryInt(t, e.store, `SELECT COALESCE(SUM(LENGTH(reason)), 0) FROM audit WHERE workspace_id = 'w'`) +
		h.QueryInt(t, e.store, `SELECT COALESCE(SUM(LENGTH(reason)), 0) FROM audit_reasons WHERE workspace_id = 'w'`)
	t.Logf("a %d-member import with a %d-character reason stores %d characters of reasons", n, admin.MaxReason, stored)
	if stored > 2*int64(admin.MaxReason)+200 {
		t.Errorf("the import's reason is stored %d times over (%d characters of reasons for one write of %d members)", stored/int64(admin.MaxReason), stored, n)
	}
}
