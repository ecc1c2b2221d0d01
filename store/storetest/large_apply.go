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

// testR6LargeApply: an applied edit of a role with hundreds of holders
// moves the holders that follow the role's revision by moving the
// model's follows and the snapshot's slot of the revision, not member by
// member (admin's followApply, policy.RoleMove). Whatever way a holder
// takes (followers; holders with direct grants, ownership, expiring
// access or a pinned revision), after every step:
//   - the published snapshot decides as a fresh load of the store does,
//     every member's levels and epoch alike;
//   - epochs moved exactly for the members whose levels changed (A1);
//   - every holder holds the applied revision (R6), read back from the
//     service and from a restart;
//   - a limited admin's apply that would raise a follower above the
//     admin's own level is refused whole (X3a).
func testR6LargeApply(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const ws = "w"
	e.workspace(ws, admin.PlanProfessional)
	_, _, err := e.svc.PutDepartment(e.ctx, ws, admin.Write{}, admin.Department{ID: "top", Name: "Top"})
	must(t, err)
	team := e.role(ws, "Team", policy.Internal, policy.Grants{"deals_view": own, "contacts_view": own})
	others := []string{
		e.role(ws, "A", policy.Internal, policy.Grants{"deals_view": dept}).ID,
		e.role(ws, "B", policy.Internal, policy.Grants{"contacts_view": all, "campaigns_view": own}).ID,
		e.role(ws, "C", policy.Internal, policy.Grants{"leads_view": own}).ID,
		e.role(ws, "D", policy.Internal, policy.Grants{"leads_view": own, "leads_edit": own, "deals_view": own}).ID,
	}
	// Wide's holders are all followers: no direct grants, ownership or
	// expiring access among them.
	wide := e.role(ws, "Wide", policy.Internal, policy.Grants{"contacts_view": own})
	admins := e.role(ws, "Admins", policy.Internal, policy.Grants{"settings_roles_view": all, "settings_roles_edit": all,
		"deals_view": own, "contacts_view": own})
	const n = 320 // above admin's followMin (256)
	var users []string
	var in []admin.MemberInput
	for i := range n {
		u := fmt.Sprintf("u%03d", i)
		users = append(users, u)
		roles := []string{team.ID}
		for b, r := range others { // 0 to 4 more: a fifth of them hold 4 or 5 roles
			if i>>b&1 == 1 {
				roles = append(roles, r)
			}
		}
		if i%10 != 0 && i%15 != 3 && i != 7 {
			roles = append(roles, wide.ID)
		}
		in = append(in, admin.MemberInput{UserID: u, Name: u, DepartmentIDs: []string{"top"}, RoleIDs: roles})
	}
	_, err = e.svc.ImportMembers(e.ctx, ws, admin.Write{}, in)
	must(t, err)
	e.member(ws, admin.MemberInput{UserID: "adm", RoleIDs: []string{admins.ID}, DepartmentIDs: []string{"top"}})
	e.member(ws, admin.MemberInput{UserID: "boss", Owner: ptr(true)})
	users = append(users, "adm", "boss")
	// The holders that cannot follow: direct grants, an owner, expiring
	// access.
	for i := 0; i < n; i += 10 {
		_, _, _, err := e.svc.SetDirectGrants(e.ctx, ws, admin.Write{}, users[i], policy.Grants{"campaigns_view": own})
		must(t, err)
	}
	_, _, err = e.svc.UpsertMember(e.ctx, ws, admin.Write{}, admin.MemberInput{UserID: users[7], Owner: ptr(true)})
	must(t, err)
	var expiring []string
	for i := 3; i < n; i += 15 {
		expiring = append(expiring, users[i])
	}
	_, err = e.svc.AddRoleMembersUntil(e.ctx, ws, admin.Write{}, others[2], expiring, e.clock.now().Add(24*time.Hour))
	must(t, err)

	// Levels by permission key, those above none: a catalog change (a
	// smart object) changes the vectors' length, not the levels (A1).
	type state struct {
		eff   map[string]map[string]policy.Level
		epoch map[string]int64
	}
	read := func(s *policy.Snapshot) state {
		st := state{eff: map[string]map[string]policy.Level{}, epoch: map[string]int64{}}
		perms := s.Catalog().Permissions()
		for _, u := range users {
			v, _ := s.Effective(u)
			st.eff[u] = map[string]policy.Level{}
			for i, l := range v {
				if l > none {
					st.eff[u][perms[i].Key] = l
				}
			}
			st.epoch[u], _ = s.Epoch(u)
		}
		return st
	}
	applied := team.Revision
	pinned := map[string]bool{} // assigned after a save: the newest revision (R6)
	check := func(step string, before state) state {
		t.Helper()
		got := read(e.snaps.get(ws))
		fresh, freshSnaps := e.service()
		must(t, fresh.Open(e.ctx))
		want := read(freshSnaps.get(ws))
		changed := 0
		for _, u := range users {
			if !maps.Equal(got.eff[u], want.eff[u]) || got.epoch[u] != want.epoch[u] {
				t.Fatalf("%s: member %s: epoch %d and levels %v on the writer, epoch %d and levels %v on a fresh load",
					step, u, got.epoch[u], got.eff[u], want.epoch[u], want.eff[u])
			}
			moved := !maps.Equal(before.eff[u], got.eff[u])
			if moved {
				changed++
			}
			if wantEpoch := before.epoch[u] + map[bool]int64{true: 1, false: 0}[moved]; before.eff != nil && got.epoch[u] != wantEpoch {
				t.Fatalf("%s: member %s: epoch %d, want %d (levels changed: %v) (A1)", step, u, got.epoch[u], wantEpoch, moved)
			}
		}
		r, err := e.svc.Role(e.ctx, ws, team.ID)
		must(t, err)
		for _, svc := range []*admin.Service{e.svc, fresh} {
			ms, err := svc.Members(e.ctx, ws, admin.Actor{}, admin.MemberFilter{Role: team.ID, Limit: 1000})
			must(t, err)
			if len(ms) != r.MemberCount || len(ms) < n {
				t.Fatalf("%s: %d holders listed, role counts %d", step, len(ms), r.MemberCount)
			}
			for _, m := range ms {
				want := applied
				if pinned[m.UserID] {
					want = r.Revision
				}
				if i := slices.IndexFunc(m.Roles, func(a admin.Assignment) bool { return a.RoleID == team.ID }); m.Roles[i].Revision != want {
					t.Fatalf("%s: %s holds revision %d, want %d (R6)", step, m.UserID, m.Roles[i].Revision, want)
				}
			}
		}
		t.Logf("%s: %d members changed levels", step, changed)
		return got
	}
	edit := func(actor string, g policy.Grants, apply bool) error {
		w := admin.Write{Reason: "test"}
		if actor != "" {
			w.Actor = admin.Actor{UserID: actor}
		}
		r, _, err := e.svc.UpdateRole(e.ctx, ws, w, team.ID, admin.RoleUpdate{Grants: g, Apply: &apply})
		if err == nil && apply {
			applied = r.Revision
			clear(pinned)
		}
		return err
	}
	st := check("setup", state{})
	// The writer's model was built empty and grew: its first large apply
	// goes member by member and makes the holders follow; the next ones
	// move them by follows.
	must(t, edit("", policy.Grants{"deals_view": all, "contacts_view": own}, true))
	st = check("first apply", st)
	must(t, edit("", policy.Grants{"deals_view": own, "contacts_view": sub}, true))
	st = check("second apply", st)
	// A save, members assigned after it (pinned to the saved revision),
	// then the apply of the saved revision.
	must(t, edit("", policy.Grants{"deals_view": dept, "contacts_view": sub}, false))
	st = check("save", st)
	_, err = e.svc.AddRoleMembers(e.ctx, ws, admin.Write{}, team.ID, []string{"adm"})
	must(t, err)
	pinned["adm"] = true
	st = check("late assignment", st)
	must(t, edit("", policy.Grants{"deals_view": dept, "contacts_view": sub}, true))
	st = check("apply of the saved revision", st)
	// A restarted writer's model follows from its load.
	e.svc, e.snaps = e.service()
	must(t, e.svc.Open(e.ctx))
	must(t, edit("", policy.Grants{"deals_view": own, "contacts_view": all}, true))
	st = check("apply after a restart", st)

	// A write that applies the role and then changes the catalog: a
	// smart object granted by the role, deleted with force, applies the
	// role without its grants (C9), and the followers it moved are then
	// compared one by one.
	_, _, err = e.svc.PutObject(e.ctx, ws, admin.Write{}, admin.SmartObject{ID: "vehicles", Name: "Vehicles", Description: "Fleet"})
	must(t, err)
	st = check("object put", st)
	must(t, edit("", policy.Grants{"deals_view": own, "contacts_view": all, "vehicles_view": all}, true))
	st = check("object granted", st)
	_, err = e.svc.DeleteObject(e.ctx, ws, admin.Write{}, "vehicles", true)
	must(t, err)
	r, err := e.svc.Role(e.ctx, ws, team.ID)
	must(t, err)
	applied = r.Revision
	st = check("object deleted", st)

	// X3a: the owner saves a raise; the limited admin (deals_view own)
	// may not apply it to others, followers included.
	must(t, edit("boss", policy.Grants{"deals_view": all, "contacts_view": own}, false))
	st = check("owner's save", st)
	rev := e.revision(ws)
	err = edit("adm", policy.Grants{"deals_view": all, "contacts_view": own}, true)
	pe := wantCode(t, err, policy.CodePrivilegeEscalation)
	if !strings.Contains(pe.Message, "deals_view") {
		t.Errorf("refusal %q does not name deals_view", pe.Message)
	}
	if e.revision(ws) != rev {
		t.Fatalf("a refused apply committed revision %d", e.revision(ws))
	}
	st = check("refused apply", st)
	must(t, edit("boss", policy.Grants{"deals_view": all, "contacts_view": own}, true))
	st = check("owner's apply", st)

	// The same with followers only: nothing but the snapshot's answer for
	// them can refuse it.
	_, _, err = e.svc.UpdateRole(e.ctx, ws, admin.Write{Actor: admin.Actor{UserID: "boss"}, Reason: "test"}, wide.ID,
		admin.RoleUpdate{Grants: policy.Grants{"contacts_view": all}, Apply: ptr(false)})
	must(t, err)
	rev = e.revision(ws)
	_, _, err = e.svc.UpdateRole(e.ctx, ws, admin.Write{Actor: admin.Actor{UserID: "adm"}, Reason: "test"}, wide.ID,
		admin.RoleUpdate{Grants: policy.Grants{"contacts_view": all}, Apply: ptr(true)})
	pe = wantCode(t, err, policy.CodePrivilegeEscalation)
	if !strings.Contains(pe.Message, "contacts_view") {
		t.Errorf("refusal %q does not name contacts_view", pe.Message)
	}
	if e.revision(ws) != rev {
		t.Fatalf("a refused apply committed revision %d", e.revision(ws))
	}
	st = check("followers' refused apply", st)
	_, _, err = e.svc.UpdateRole(e.ctx, ws, admin.Write{Actor: admin.Actor{UserID: "adm"}, Reason: "test"}, wide.ID,
		admin.RoleUpdate{Grants: policy.Grants{"contacts_view": none}, Apply: ptr(true)})
	must(t, err) // lowering is within anyone's authority
	check("followers' lowered", st)
}
