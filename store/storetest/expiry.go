package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// advance moves the test clock forward by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// peek returns the clock's time without moving it.
func (c *clock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// expiryEntries returns the workspace's audit entries of committed
// expiries (T2).
func (e *env) expiryEntries(ws string) []admin.AuditEntry {
	e.t.Helper()
	entries, err := e.svc.Audit(e.ctx, ws, admin.Actor{}, admin.AuditFilter{Actor: "system", Limit: 1000})
	must(e.t, err)
	var out []admin.AuditEntry
	for _, x := range entries {
		if x.Action == "member.expire" {
			out = append(out, x)
		}
	}
	return out
}

// testT1ExpiryNeverHonoured: an assignment and a direct grant with
// expires_at are honoured before the instant and never from it on, in
// what the service compiles after it and in a service that loads the
// store after it, before any expiry is committed.
func testT1ExpiryNeverHonoured(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	rep := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": all})
	e.member("w", admin.MemberInput{UserID: "ana"})
	at := e.clock.peek().Add(time.Hour)

	// In the past or now: refused.
	for name, err := range map[string]error{
		"role in the past":  third(e.svc.SetMemberRolesUntil(e.ctx, "w", admin.Write{}, "ana", []string{rep.ID, admin.RoleEmployee}, map[string]time.Time{rep.ID: e.clock.peek().Add(-time.Second)})),
		"add in the past":   second(e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, rep.ID, []string{"ana"}, e.clock.peek().Add(-time.Minute))),
		"grant in the past": fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ana", policy.Grants{"contacts_view": all}, map[string]time.Time{"contacts_view": e.clock.peek()})),
		"role not given":    third(e.svc.SetMemberRolesUntil(e.ctx, "w", admin.Write{}, "ana", []string{admin.RoleEmployee}, map[string]time.Time{rep.ID: at})),
		"grant not given":   fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ana", policy.Grants{"contacts_view": all}, map[string]time.Time{"leads_view": at})),
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, err, policy.CodeInvalidArgument) })
	}

	_, err := e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, rep.ID, []string{"ana"}, at)
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ana", policy.Grants{"contacts_view": all}, map[string]time.Time{"contacts_view": at.Add(time.Minute)})
	must(t, err)
	m := e.getMember("w", "ana")
	if i := slicesIndexRole(m, rep.ID); i < 0 || !m.Roles[i].ExpiresAt.Equal(at) {
		t.Fatalf("ana's roles %+v do not show the expiry %s (T3)", m.Roles, at)
	}
	if !m.GrantExpiry["contacts_view"].Equal(at.Add(time.Minute)) {
		t.Fatalf("ana's grant expiry %v, want %s", m.GrantExpiry, at.Add(time.Minute))
	}
	if e.level("w", "ana", "deals_view") != all || e.level("w", "ana", "contacts_view") != all {
		t.Fatal("access is not honoured before its instant")
	}

	// A restart keeps the expiry exactly (both stores).
	other, otherSnaps := e.service()
	must(t, other.Open(e.ctx))
	if m2, err := other.Member(e.ctx, "w", admin.Actor{}, "ana"); err != nil || !m2.Roles[slicesIndexRole(m2, rep.ID)].ExpiresAt.Equal(at) || !m2.GrantExpiry["contacts_view"].Equal(at.Add(time.Minute)) {
		t.Fatalf("after a restart ana is %+v, %v", m2, err)
	}

	// At the role's instant: a service that loads the store now never
	// honours it, though nothing was committed yet.
	rev := e.revision("w")
	e.clock.advance(time.Hour)
	late, lateSnaps := e.service()
	must(t, late.Open(e.ctx))
	if d, _ := lateSnaps.get("w").Check("ana", "deals_view"); d.Level == all {
		t.Error("a service loaded after the instant honours the expired role (T1)")
	}
	if d, _ := lateSnaps.get("w").Check("ana", "contacts_view"); d.Level != all {
		t.Error("the grant that expires a minute later stopped early")
	}
	if e.revision("w") != rev {
		t.Error("loading committed something")
	}
	_ = otherSnaps
	// Any write after the instant publishes a snapshot without it, even
	// one about someone else.
	e.member("w", admin.MemberInput{UserID: "bo"})
	if e.level("w", "ana", "deals_view") == all {
		t.Error("a snapshot published after the instant honours the expired role (T1)")
	}
}

func slicesIndexRole(m admin.Member, id string) int {
	for i, a := range m.Roles {
		if a.RoleID == id {
			return i
		}
	}
	return -1
}

// testT2ExpiryCommittedOnce: the expiry is committed by system, once,
// however many services race to commit it; it moves the epoch (A1), is in
// the changelog (A3) and the audit log (X4), and a member whose last role
// expires gets the default role (M4).
func testT2ExpiryCommittedOnce(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	rep := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": all, "contacts_view": own, "campaigns_view": all})
	e.member("w", admin.MemberInput{UserID: "ana", RoleIDs: []string{rep.ID}})
	e.member("w", admin.MemberInput{UserID: "ben"})
	at := e.clock.peek().Add(time.Hour)
	_, _, err := e.svc.SetMemberRolesUntil(e.ctx, "w", admin.Write{}, "ana", []string{rep.ID}, map[string]time.Time{rep.ID: at})
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ben", policy.Grants{"leads_view": all}, map[string]time.Time{"leads_view": at})
	must(t, err)
	epochAna, epochBen := e.getMember("w", "ana").Epoch, e.getMember("w", "ben").Epoch

	// Before the instant there is nothing to commit.
	rev := e.revision("w")
	r, err := e.svc.ExpireDue(e.ctx, "w")
	must(t, err)
	if r != rev || e.revision("w") != rev {
		t.Fatalf("ExpireDue before the instant committed (revision %d → %d)", rev, r)
	}

	services := []*admin.Service{e.svc}
	for range 3 {
		s, _ := e.service()
		must(t, s.Open(e.ctx))
		services = append(services, s)
	}
	e.clock.advance(time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, len(services))
	for i, s := range services {
		wg.Go(func() { _, errs[i] = s.ExpireDue(e.ctx, "w") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("service %d: %v", i, err)
		}
	}
	must(t, e.svc.Follow(e.ctx, "w", 0))
	if _, err := e.svc.Sync(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.revision("w"); got != rev+1 {
		t.Errorf("revision %d after the race, want %d: the expiry committed once", got, rev+1)
	}
	entries := e.expiryEntries("w")
	if len(entries) != 2 {
		t.Fatalf("%d expiry audit entries, want 2 (ana, ben): %+v", len(entries), entries)
	}
	for _, x := range entries {
		if x.Actor != "system" || x.Revision != rev+1 {
			t.Errorf("entry %+v: want actor system at revision %d (X5, T2)", x, rev+1)
		}
	}
	ana, ben := e.getMember("w", "ana"), e.getMember("w", "ben")
	if ids := roleIDs(ana); len(ids) != 1 || ids[0] != admin.RoleEmployee {
		t.Errorf("ana's roles after her last role expired: %v, want the default role (M4)", ids)
	} else if ana.Roles[0].AssignedBy != "system" {
		t.Errorf("the default role was assigned by %q, want system", ana.Roles[0].AssignedBy)
	}
	if len(ben.Grants) != 0 || len(ben.GrantExpiry) != 0 {
		t.Errorf("ben's expired grant is still stored: %v %v", ben.Grants, ben.GrantExpiry)
	}
	if ana.Epoch != epochAna+1 || ben.Epoch != epochBen+1 {
		t.Errorf("epochs %d, %d; want %d, %d (A1)", ana.Epoch, ben.Epoch, epochAna+1, epochBen+1)
	}
	changes, err := e.svc.Changes(e.ctx, "w", rev, 10)
	must(t, err)
	if len(changes) != 1 || changes[0].Action != "member.expire" || len(changes[0].Epochs) != 2 {
		t.Errorf("changelog after the expiry: %+v, want one member.expire moving 2 epochs (A3)", changes)
	}
	// Nothing is left to commit, on any service.
	for i, s := range services {
		if r, err := s.ExpireDue(e.ctx, "w"); err != nil || r != rev+1 {
			t.Errorf("service %d ExpireDue again: %d, %v", i, r, err)
		}
	}
	// A client member cannot be left to the internal default role.
	cr := e.role("w", "Clients", policy.Client, policy.Grants{"contacts_view": own})
	e.member("w", admin.MemberInput{UserID: "cli", Kind: policy.Client, RoleIDs: []string{cr.ID}})
	_, _, err = e.svc.SetMemberRolesUntil(e.ctx, "w", admin.Write{}, "cli", []string{cr.ID}, map[string]time.Time{cr.ID: e.clock.peek().Add(time.Hour)})
	wantCode(t, err, policy.CodeLastRole)
	// C4 at every future instant: an edit grant may not outlive the view
	// it needs.
	_, _, err = e.svc.SetMemberRolesUntil(e.ctx, "w", admin.Write{}, "ben", []string{rep.ID, admin.RoleEmployee}, map[string]time.Time{rep.ID: e.clock.peek().Add(time.Hour)})
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ben", policy.Grants{"campaigns_edit": own}, nil)
	wantCode(t, err, policy.CodeDependencyViolation)
}

// testT3ExtensionIsAGrant: extending or removing an expiry is a grant
// (X3a): an acting member with partial rights cannot extend anyone's
// access beyond its own levels, nor outside its span; within them it can.
func testT3ExtensionIsAGrant(t *testing.T, h Harness) {
	w := newDelegated(t, h)
	e := w.env
	at := e.clock.peek().Add(time.Hour)
	// The host's key gives ed "Big" (crm_view: all, above hana's) for an
	// hour and a direct grant above hana's, for an hour.
	_, err := e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, w.big.ID, []string{"ed"}, at)
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ed", policy.Grants{"leads_view": all}, map[string]time.Time{"leads_view": at})
	must(t, err)
	_, err = e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, w.lite.ID, []string{"ed"}, at)
	must(t, err)
	later := at.Add(24 * time.Hour)
	for name, err := range map[string]error{
		"extend a role above own":    second(e.svc.AddRoleMembersUntil(e.ctx, "w", as("hana"), w.big.ID, []string{"ed"}, later)),
		"make a role permanent":      second(e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.big.ID, []string{"ed"})),
		"remove the expiry via PUT":  third(e.svc.SetMemberRolesUntil(e.ctx, "w", as("hana"), "ed", []string{w.big.ID, w.lite.ID, admin.RoleEmployee}, map[string]time.Time{})),
		"extend via PUT":             third(e.svc.SetMemberRolesUntil(e.ctx, "w", as("hana"), "ed", []string{w.big.ID, w.lite.ID, admin.RoleEmployee}, map[string]time.Time{w.big.ID: later})),
		"extend a grant above own":   fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", as("hana"), "ed", policy.Grants{"leads_view": all}, map[string]time.Time{"leads_view": later})),
		"make a grant permanent":     fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", as("hana"), "ed", policy.Grants{"leads_view": all}, map[string]time.Time{})),
		"extend outside the span":    second(e.svc.AddRoleMembersUntil(e.ctx, "w", as("hana"), w.lite.ID, []string{"fin"}, later)),
		"extend own access":          second(e.svc.AddRoleMembersUntil(e.ctx, "w", as("hana"), w.big.ID, []string{"hana"}, later)),
		"new role above own, timed":  second(e.svc.AddRoleMembersUntil(e.ctx, "w", as("hana"), w.big.ID, []string{"plain"}, at)),
		"new grant above own, timed": fourth(e.svc.SetDirectGrantsUntil(e.ctx, "w", as("hana"), "plain", policy.Grants{"leads_view": all}, map[string]time.Time{"leads_view": at})),
	} {
		t.Run(name, func(t *testing.T) {
			rev := e.revision("w")
			wantCode(t, err, policy.CodePrivilegeEscalation)
			if e.revision("w") != rev {
				t.Error("a refused write committed")
			}
		})
	}
	if got := e.getMember("w", "ed"); !got.Roles[slicesIndexRole(got, w.big.ID)].ExpiresAt.Equal(at) || !got.GrantExpiry["leads_view"].Equal(at) {
		t.Errorf("ed's expiry moved: %+v %v", got.Roles, got.GrantExpiry)
	}
	// Within hana's levels and span: extending Lite (crm_view: own) is
	// allowed, and so is shortening Big (taking access away sooner).
	_, err = e.svc.AddRoleMembersUntil(e.ctx, "w", as("hana"), w.lite.ID, []string{"ed"}, later)
	must(t, err)
	_, _, err = e.svc.SetMemberRolesUntil(e.ctx, "w", as("hana"), "ed", []string{w.big.ID, w.lite.ID, admin.RoleEmployee},
		map[string]time.Time{w.big.ID: at.Add(-30 * time.Minute), w.lite.ID: later})
	must(t, err)
	got := e.getMember("w", "ed")
	if !got.Roles[slicesIndexRole(got, w.big.ID)].ExpiresAt.Equal(at.Add(-30*time.Minute)) || !got.Roles[slicesIndexRole(got, w.lite.ID)].ExpiresAt.Equal(later) {
		t.Errorf("ed's roles %+v", got.Roles)
	}
	// Hana may make her own timed Lite permanent: it reaches nothing she
	// does not reach already.
	_, err = e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, w.lite.ID, []string{"hana"}, at)
	must(t, err)
	_, err = e.svc.AddRoleMembers(e.ctx, "w", as("hana"), w.lite.ID, []string{"hana"})
	must(t, err) // Lite reaches nothing hana does not reach already (X3a.3)
}

// testA1T2WriteTakingExpiredAccess: a write that takes away a role or a
// direct grant whose instant has passed, before system committed its
// expiry, moves the member's epoch as that expiry would have (T2, A1):
// live levels do not change, but the expiry will now never be committed,
// and a session issued while the access counted must not stay current.
func testA1T2WriteTakingExpiredAccess(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	rep := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": all})
	e.member("w", admin.MemberInput{UserID: "ana"})
	e.member("w", admin.MemberInput{UserID: "ben"})
	at := e.clock.peek().Add(time.Hour)
	_, err := e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, rep.ID, []string{"ana"}, at)
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ben", policy.Grants{"contacts_view": all}, map[string]time.Time{"contacts_view": at})
	must(t, err)
	e.clock.advance(time.Hour + time.Second)
	before := e.epochs("w", "ana", "ben")
	_, err = e.svc.RemoveRoleMember(e.ctx, "w", admin.Write{}, rep.ID, "ana")
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrantsUntil(e.ctx, "w", admin.Write{}, "ben", policy.Grants{}, nil)
	must(t, err)
	if got := moved(before, e.epochs("w", "ana", "ben")); got != "ana,ben" {
		t.Errorf("epochs moved for %q, want ana,ben: taking expired access whose expiry was not committed moves the epoch (A1, T2)", got)
	}
	// Nothing is left for system to commit.
	rev := e.revision("w")
	_, err = e.svc.ExpireDue(e.ctx, "w")
	must(t, err)
	if e.revision("w") != rev {
		t.Errorf("ExpireDue committed after the writes took the expired access")
	}
}

// testA1T2ApplyMovingExpiredAccess: a save-and-apply that moves an
// assignment whose instant has passed, before system committed its
// expiry, to a revision granting more moves the member's epoch (A1):
// live levels ignore the expired assignment, but what the stored state
// grants changed. The same for a role held through a department (M9).
func testA1T2ApplyMovingExpiredAccess(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	base := e.role("w", "Base", policy.Internal, policy.Grants{"contacts_view": own})
	rep := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own})
	_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "eu", Name: "Europe"})
	must(t, err)
	e.member("w", admin.MemberInput{UserID: "ana", RoleIDs: []string{base.ID}})
	e.member("w", admin.MemberInput{UserID: "ben", RoleIDs: []string{base.ID}, DepartmentIDs: []string{"eu"}})
	at := e.clock.peek().Add(time.Hour)
	_, err = e.svc.AddRoleMembersUntil(e.ctx, "w", admin.Write{}, rep.ID, []string{"ana"}, at)
	must(t, err)
	must(t, e.deptRoles("w", "eu", admin.DepartmentRolesInput{RoleIDs: []string{rep.ID}, ExpiresAt: map[string]time.Time{rep.ID: at}}))
	e.clock.advance(time.Hour + time.Second)
	before := e.epochs("w", "ana", "ben")
	apply := true
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, rep.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: &apply})
	must(t, err)
	if got := moved(before, e.epochs("w", "ana", "ben")); got != "ana,ben" {
		t.Errorf("epochs moved for %q, want ana,ben: moving expired access whose expiry was not committed to a revision granting more moves the epoch (A1)", got)
	}
	if l := e.level("w", "ana", "deals_view"); l != policy.LevelNone {
		t.Errorf("ana's deals_view after the apply: %s, want none: the assignment has expired (T1)", l)
	}
}
