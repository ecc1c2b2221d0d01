package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testFollowDeltaEqualsFreshLoad: random writes on one node — member
// upserts and removals, imports, role edits saved and applied, new and
// deleted roles, removals from roles, assignments with expiries and their
// expiry, direct grants, department moves, department roles (M9), smart
// objects (C9) — and, after each, a
// second node that follows by hand (Follow, which takes the changelog's
// delta when it can) holds exactly what a fresh load of the store holds:
// every member × permission decision and deciding role, every epoch (A1),
// and the admin reads. The member and role writes must have taken the
// delta path, the others may reload.
func testFollowDeltaEqualsFreshLoad(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const ws = "w"
	e.workspace(ws, admin.PlanProfessional)
	_, _, err := e.svc.PutDepartment(e.ctx, ws, admin.Write{}, admin.Department{ID: "top", Name: "Top"})
	must(t, err)
	roles := []string{
		e.role(ws, "Rep", policy.Internal, policy.Grants{"deals_view": own}).ID,
		e.role(ws, "Lead", policy.Internal, policy.Grants{"deals_view": dept, "deals_edit": own}).ID,
		// Partial admins (X3a): their authority and span on the follower
		// must be those of a fresh load too.
		e.role(ws, "People admin", policy.Internal, policy.Grants{"settings_roles_view": sub, "settings_roles_edit": dept}).ID,
	}
	depts := []string{"top"}
	var users []string
	for i := range 12 {
		u := fmt.Sprintf("u%02d", i)
		users = append(users, u)
		e.member(ws, admin.MemberInput{UserID: u, RoleIDs: []string{roles[i%2]}, DepartmentIDs: []string{"top"}})
	}
	follower, followerSnaps := e.service()
	must(t, follower.Open(e.ctx))

	rng := rand.New(rand.NewPCG(17, 3))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	grantSets := []policy.Grants{{"deals_view": all}, {"deals_view": own, "contacts_view": sub}, {"deals_view": dept}, {}}
	next := 0
	type step struct {
		name  string
		delta bool // must follow by a delta
		do    func() error
	}
	steps := []step{
		{"member.upsert new", true, func() error {
			next++
			u := fmt.Sprintf("n%03d", next)
			users = append(users, u)
			_, _, err := e.svc.UpsertMember(e.ctx, ws, admin.Write{}, admin.MemberInput{UserID: u, Name: "N " + u, Email: u + "@example.com", DepartmentIDs: []string{pick(depts)}})
			return err
		}},
		{"member.upsert rename and move", true, func() error {
			_, _, err := e.svc.UpsertMember(e.ctx, ws, admin.Write{}, admin.MemberInput{UserID: pick(users), Name: fmt.Sprintf("renamed %d", rng.IntN(100)), DepartmentIDs: []string{pick(depts)}})
			return err
		}},
		{"member.import", true, func() error {
			var in []admin.MemberInput
			for range 4 {
				next++
				u := fmt.Sprintf("n%03d", next)
				users = append(users, u)
				in = append(in, admin.MemberInput{UserID: u, RoleIDs: []string{pick(roles)}, DepartmentIDs: []string{pick(depts)}})
			}
			in = append(in, admin.MemberInput{UserID: pick(users), Name: "reimported"})
			_, err := e.svc.ImportMembers(e.ctx, ws, admin.Write{}, in)
			return err
		}},
		{"member.remove", true, func() error {
			if len(users) < 6 {
				return nil
			}
			i := rng.IntN(len(users))
			u := users[i]
			users = slices.Delete(users, i, i+1)
			_, err := e.svc.RemoveMember(e.ctx, ws, admin.Write{}, u)
			return err
		}},
		{"member.roles with expiry", true, func() error {
			r := pick(roles)
			_, _, err := e.svc.SetMemberRolesUntil(e.ctx, ws, admin.Write{}, pick(users), []string{pick(roles), r},
				map[string]time.Time{r: e.clock.now().Add(time.Hour)})
			return err
		}},
		{"role.members.add", true, func() error {
			_, err := e.svc.AddRoleMembers(e.ctx, ws, admin.Write{}, pick(roles), []string{pick(users), pick(users)})
			return err
		}},
		{"role.update saved", true, func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, ws, admin.Write{Reason: "test"}, pick(roles), admin.RoleUpdate{Grants: grantSets[rng.IntN(len(grantSets))], Apply: ptr(false)})
			return err
		}},
		{"role.update applied", true, func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, ws, admin.Write{Reason: "test"}, pick(roles), admin.RoleUpdate{Grants: grantSets[rng.IntN(len(grantSets))], Apply: ptr(true)})
			return err
		}},
		{"role.update renamed", true, func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, ws, admin.Write{Reason: "test"}, pick(roles), admin.RoleUpdate{Name: ptr(fmt.Sprintf("Renamed %d", rng.IntN(1000)))})
			return err
		}},
		{"role.create", true, func() error {
			r, _, err := e.svc.CreateRole(e.ctx, ws, admin.Write{Reason: "test"}, admin.RoleInput{Name: fmt.Sprintf("Role %d", len(roles)), Audience: policy.Internal, Grants: grantSets[rng.IntN(len(grantSets))]})
			if err == nil {
				roles = append(roles, r.ID)
			}
			return err
		}},
		{"role.members.remove", true, func() error {
			_, err := e.svc.RemoveRoleMember(e.ctx, ws, admin.Write{}, pick(roles), pick(users))
			return err
		}},
		{"role.delete with reassignment (reloads)", false, func() error {
			if len(roles) < 3 {
				return nil
			}
			if len(roles) < 4 {
				return nil
			}
			i := 3 + rng.IntN(len(roles)-3)
			id := roles[i]
			_, err := e.svc.DeleteRole(e.ctx, ws, admin.Write{Reason: "test"}, id, roles[0])
			if err == nil {
				roles = slices.Delete(roles, i, i+1)
			}
			return err
		}},
		{"role.update applied with a condition (G6)", true, func() error {
			_, _, err := e.svc.UpdateRole(e.ctx, ws, admin.Write{Reason: "test"}, pick(roles), admin.RoleUpdate{Grants: policy.Grants{"deals_view": dept},
				When: policy.Conditions{"deals_view": fmt.Sprintf("record.amount <= %d", 100*(1+rng.IntN(9)))}, Apply: ptr(true)})
			return err
		}},
		{"member.grants with a condition (G6)", true, func() error {
			_, _, _, err := e.svc.SetDirectGrantsWhen(e.ctx, ws, admin.Write{Reason: "test"}, pick(users), policy.Grants{"contacts_view": all},
				policy.Conditions{"contacts_view": fmt.Sprintf("record.amount > %d", 100*(1+rng.IntN(9)))})
			return err
		}},
		{"member.grants with expiry", true, func() error {
			_, _, _, err := e.svc.SetDirectGrantsUntil(e.ctx, ws, admin.Write{Reason: "test"}, pick(users), policy.Grants{"contacts_view": all},
				map[string]time.Time{"contacts_view": e.clock.now().Add(time.Hour)})
			return err
		}},
		{"member.expire", true, func() error {
			e.clock.mu.Lock()
			e.clock.t = e.clock.t.Add(2 * time.Hour)
			e.clock.mu.Unlock()
			// The follower commits the expiry from what it followed (its
			// expiry bookkeeping, T1/T2); then the writer finds nothing due.
			must(t, follower.Follow(e.ctx, ws, e.revision(ws)))
			if _, err := follower.ExpireDue(e.ctx, ws); err != nil {
				return err
			}
			before, _ := follower.Revision(ws)
			must(t, e.svc.Follow(e.ctx, ws, before))
			rev, err := e.svc.ExpireDue(e.ctx, ws)
			if err == nil && rev != before {
				t.Errorf("the writer expired again what the follower had to expire (revision %d → %d)", before, rev)
			}
			return err
		}},
		{"department.put (reloads)", false, func() error {
			d := fmt.Sprintf("d%d", len(depts))
			_, _, err := e.svc.PutDepartment(e.ctx, ws, admin.Write{}, admin.Department{ID: d, Name: "D " + d, ParentID: pick(depts)})
			if err == nil {
				depts = append(depts, d)
			}
			return err
		}},
		{"department roles (reloads)", false, func() error {
			_, _, err := e.svc.PutDepartmentWithRoles(e.ctx, ws, admin.Write{}, admin.Department{ID: "top", Name: "Top"},
				&admin.DepartmentRolesInput{RoleIDs: []string{pick(roles)}})
			return err
		}},
		{"object.put (reloads)", false, func() error {
			_, _, err := e.svc.PutObject(e.ctx, ws, admin.Write{}, admin.SmartObject{ID: fmt.Sprintf("obj_%d", rng.IntN(3)), Name: "Objects", Description: fmt.Sprint(rng.IntN(100))})
			return err
		}},
	}
	var deltas, reloads int64
	committed := map[string]int{}
	// Each round commits one step (the first rounds: each step once) or
	// up to four, as notices coalesce, and then follows.
	for i := range 100 {
		round := []step{steps[i%len(steps)]}
		if i >= len(steps) {
			round = round[:0]
			for range 1 + rng.IntN(4) {
				round = append(round, steps[rng.IntN(len(steps))])
			}
		}
		old, _ := follower.Revision(ws)
		var names []string
		allDelta := true
		for _, st := range round {
			before := e.revision(ws)
			if err := st.do(); err != nil && policy.ErrorCode(err) == "" {
				t.Fatalf("round %d %s: %v", i, st.name, err)
			}
			if e.revision(ws) > before {
				committed[st.name]++
			}
			names = append(names, st.name)
			allDelta = allDelta && st.delta
		}
		rev := e.revision(ws)
		must(t, follower.Follow(e.ctx, ws, rev))
		d, r := follower.FollowCounts()
		if r > reloads && allDelta && e.namesOnlyMembersAndRoles(ws, old, rev) {
			t.Errorf("round %d %v reloaded the workspace; it must follow by a delta", i, names)
		}
		deltas, reloads = d, r
		sameAsFreshLoad(t, e, follower, followerSnaps, ws, fmt.Sprintf("round %d %v", i, names))
	}
	if deltas == 0 {
		t.Error("no write was followed by a delta")
	}
	for _, st := range steps {
		if committed[st.name] == 0 {
			t.Errorf("step %s never committed: the test does not exercise it", st.name)
		}
	}
	t.Logf("%d deltas, %d reloads; commits by step: %v", deltas, reloads, committed)
}

// namesOnlyMembersAndRoles reports whether the changes after revision
// after up to rev name only members and roles: ones a follower applies
// as a delta.
func (e *env) namesOnlyMembersAndRoles(ws string, after, rev int64) bool {
	cs, err := e.store.Changes(e.ctx, ws, after, int(rev-after))
	must(e.t, err)
	for _, c := range cs {
		for _, t := range c.Targets {
			if !strings.HasPrefix(t, "member:") && !strings.HasPrefix(t, "role:") {
				return false
			}
		}
	}
	return true
}

// sameAsFreshLoad fails unless the follower's model and snapshot equal
// those of a service that loads the store afresh.
func sameAsFreshLoad(t *testing.T, e *env, follower *admin.Service, snaps *snapshots, ws, what string) {
	t.Helper()
	fresh, freshSnaps := e.service()
	must(t, fresh.Open(e.ctx))
	a, b := snaps.get(ws), freshSnaps.get(ws)
	if a == nil || b == nil || a.Revision() != b.Revision() || a.NumMembers() != b.NumMembers() {
		t.Fatalf("%s: follower snapshot %v, fresh %v (revision or member count differ)", what, a, b)
	}
	wa, err := follower.Workspace(e.ctx, ws)
	must(t, err)
	wb, err := fresh.Workspace(e.ctx, ws)
	must(t, err)
	if !reflect.DeepEqual(wa, wb) {
		t.Fatalf("%s: workspace %+v on the follower, %+v fresh", what, wa, wb)
	}
	ra, err := follower.Roles(e.ctx, ws, "", "")
	must(t, err)
	rb, err := fresh.Roles(e.ctx, ws, "", "")
	must(t, err)
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("%s: roles differ:\n follower %+v\n fresh    %+v", what, ra, rb)
	}
	ms, err := fresh.Members(e.ctx, ws, admin.Actor{}, admin.MemberFilter{Limit: 1000})
	must(t, err)
	for _, m := range ms {
		ma, err := follower.Member(e.ctx, ws, admin.Actor{}, m.UserID)
		must(t, err)
		mb, err := fresh.Member(e.ctx, ws, admin.Actor{}, m.UserID)
		must(t, err)
		if !reflect.DeepEqual(ma, mb) {
			t.Fatalf("%s: member %s differs:\n follower %+v\n fresh    %+v", what, m.UserID, ma, mb)
		}
		ha, xa, err := follower.HeldRoles(e.ctx, ws, m.UserID)
		must(t, err)
		hb, xb, err := fresh.HeldRoles(e.ctx, ws, m.UserID)
		must(t, err)
		if !reflect.DeepEqual(ha, hb) || !reflect.DeepEqual(xa, xb) {
			t.Fatalf("%s: held roles of %s differ: %+v %v / %+v %v", what, m.UserID, ha, xa, hb, xb)
		}
		// X3, X3a: the member acting as an admin has the same authority and
		// span on the follower as on a fresh load.
		aa, errA := follower.Authority(e.ctx, ws, admin.Actor{UserID: m.UserID})
		ab, errB := fresh.Authority(e.ctx, ws, admin.Actor{UserID: m.UserID})
		if (errA == nil) != (errB == nil) || aa.Owner() != ab.Owner() {
			t.Fatalf("%s: authority of %s: %v / %v", what, m.UserID, errA, errB)
		}
		for area := admin.AreaWorkspace; area <= admin.AreaOwner; area++ {
			if (aa.Can(area) == nil) != (ab.Can(area) == nil) {
				t.Fatalf("%s: %s may act in area %d on one node only", what, m.UserID, area)
			}
		}
		for _, o := range ms {
			if aa.Manages(&o) != ab.Manages(&o) || aa.Sees(&o) != ab.Sees(&o) {
				t.Fatalf("%s: whether %s manages %s differs between the follower and a fresh load", what, m.UserID, o.UserID)
			}
		}
		ea, okA := a.Epoch(m.UserID)
		eb, okB := b.Epoch(m.UserID)
		if ea != eb || okA != okB {
			t.Fatalf("%s: epoch of %s is %d on the follower, %d fresh (A1)", what, m.UserID, ea, eb)
		}
		for _, p := range b.Catalog().Permissions() {
			da, errA := a.Check(m.UserID, p.Key)
			db, errB := b.Check(m.UserID, p.Key)
			if (errA == nil) != (errB == nil) || da.Allowed != db.Allowed || da.Level != db.Level || da.Reason != db.Reason || da.Conditional != db.Conditional {
				t.Fatalf("%s: %s %s is %+v (%v) on the follower, %+v (%v) fresh", what, m.UserID, p.Key, da, errA, db, errB)
			}
			// G6: conditional grants decide records alike on both.
			for _, amount := range []float64{50, 450, 5000} {
				rec := &policy.Resource{OwnerID: "someone", DepartmentID: "top", Attributes: map[string]any{"amount": amount}}
				ra, errA := a.CheckRecord(m.UserID, p.Key, rec)
				rb, errB := b.CheckRecord(m.UserID, p.Key, rec)
				if (errA == nil) != (errB == nil) || ra.Allowed != rb.Allowed || ra.Reason != rb.Reason {
					t.Fatalf("%s: %s %s on a record of amount %v is %+v (%v) on the follower, %+v (%v) fresh", what, m.UserID, p.Key, amount, ra, errA, rb, errB)
				}
			}
			sa, okA := a.DecidingRole(da)
			sb, okB := b.DecidingRole(db)
			// Two held roles giving the same level tie: either may be named.
			va, _ := b.RoleVector(sa)
			vb, _ := b.RoleVector(sb)
			if okA != okB || sa != sb && (va == nil || vb == nil || va[p.ID] != vb[p.ID]) {
				t.Fatalf("%s: %s %s decided by %v on the follower, %v fresh", what, m.UserID, p.Key, sa, sb)
			}
		}
	}
}
