package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testS2PropertyAgainstReference: random writes (members created,
// assignments, direct grants, applied role edits) against two SoD rules,
// one over permissions with an exception and one over roles. S2 refuses
// exactly the writes after which the reference model (policyref) finds a
// member, not excepted, holding a conflicting combination it did not
// hold; and after every write no member without an exception breaks a
// rule (the invariant the stress test's checker states).
func testS2PropertyAgainstReference(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 2026))
	perms := []string{"billing_view", "invoices_view", "deals_view", "leads_view", "contacts_view", "reports_view", "crm_view"}
	randGrants := func(n int) policy.Grants {
		g := policy.Grants{}
		for range n {
			g[perms[rnd.IntN(len(perms))]] = []policy.Level{policy.LevelOwn, policy.LevelAll}[rnd.IntN(2)]
		}
		return g
	}
	roles := map[string]policy.Grants{}
	var roleIDs []string
	for i := range 4 {
		g := randGrants(1 + rnd.IntN(2))
		r := e.role("w", fmt.Sprintf("R%d", i), policy.Internal, g)
		roles[r.ID], roleIDs = g, append(roleIDs, r.ID)
	}
	type shadowMember struct {
		roles  []string
		grants policy.Grants
	}
	members := map[string]*shadowMember{}
	rules := []admin.SoDRule{
		{ID: "perm", Name: "Billing vs sales", Permissions: [][]string{{"billing_view"}, {"deals_view", "leads_view"}}},
		{ID: "roles", Name: "R0 vs R2", Roles: [][]string{{roleIDs[0]}, {roleIDs[2]}}},
	}
	// u2 exists before the rules, with one role, and is excepted from
	// the permission rule.
	e.member("w", admin.MemberInput{UserID: "u2", Name: "u2", RoleIDs: []string{roleIDs[1]}})
	members["u2"] = &shadowMember{roles: []string{roleIDs[1]}}
	rules[0].Exceptions = []admin.SoDException{{UserID: "u2", Reason: "the property's excepted member"}}
	excepted := map[[2]string]bool{{"perm", "u2"}: true}
	for _, r := range rules {
		_, _, err := e.svc.PutSoDRule(e.ctx, "w", admin.Write{}, r)
		must(t, err)
	}
	cat, err := e.svc.WorkspaceCatalog(e.ctx, "w")
	must(t, err)
	model := func(ms map[string]*shadowMember, rs map[string]policy.Grants) *policyref.Model {
		st := policy.State{Workspace: "w", Revision: 1, Catalog: cat}
		for id, g := range rs {
			st.Roles = append(st.Roles, policy.RoleRevision{RoleID: id, Revision: 1, Audience: policy.Internal, Grants: g})
		}
		for u, m := range ms {
			pm := policy.Member{UserID: u, Kind: policy.Internal, Grants: m.grants}
			for _, r := range m.roles {
				pm.Roles = append(pm.Roles, policy.RoleRef{RoleID: r, Revision: 1})
			}
			st.Members = append(st.Members, pm)
		}
		return policyref.New(cat, st)
	}
	held := func(m *policyref.Model, u string, r admin.SoDRule) [][]string {
		if r.Roles != nil {
			return m.SoDHeld(u, r.Roles, true)
		}
		return m.SoDHeld(u, r.Permissions, false)
	}
	// newViolation is S2 written from DESIGN: a member, not excepted,
	// holds two or more sets after, and a set it did not hold before (or
	// it broke nothing before).
	newViolation := func(before, after *policyref.Model, users []string) bool {
		for _, u := range users {
			for _, r := range rules {
				a := held(after, u, r)
				if !policyref.Breaks(a) || excepted[[2]string{r.ID, u}] {
					continue
				}
				if !before.IsMember(u) {
					return true
				}
				b := held(before, u, r)
				if !policyref.Breaks(b) {
					return true
				}
				for i := range a {
					if len(a[i]) > 0 && len(b[i]) == 0 {
						return true
					}
				}
			}
		}
		return false
	}
	clone := func(ms map[string]*shadowMember) map[string]*shadowMember {
		out := map[string]*shadowMember{}
		for u, m := range ms {
			c := *m
			c.roles, c.grants = slices.Clone(m.roles), maps.Clone(m.grants)
			out[u] = &c
		}
		return out
	}
	someRoles := func() []string {
		out := []string{}
		for _, id := range roleIDs {
			if rnd.IntN(3) == 0 {
				out = append(out, id)
			}
		}
		if len(out) == 0 {
			out = append(out, roleIDs[rnd.IntN(len(roleIDs))])
		}
		slices.Sort(out)
		return out
	}
	refused, accepted := 0, 0
	for step := range 150 {
		nextMembers, nextRoles := clone(members), maps.Clone(roles)
		var what string
		var write func() error
		u := fmt.Sprintf("u%d", 1+rnd.IntN(6))
		switch k := rnd.IntN(4); {
		case members[u] == nil:
			rs := someRoles()
			what = fmt.Sprintf("create %s with %v", u, rs)
			nextMembers[u] = &shadowMember{roles: rs}
			write = func() error {
				_, _, err := e.svc.UpsertMember(e.ctx, "w", admin.Write{}, admin.MemberInput{UserID: u, Name: u, RoleIDs: rs})
				return err
			}
		case k == 0:
			rs := someRoles()
			what = fmt.Sprintf("roles of %s := %v", u, rs)
			nextMembers[u].roles = rs
			write = func() error { _, _, err := e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, u, rs); return err }
		case k == 1:
			g := randGrants(rnd.IntN(3))
			what = fmt.Sprintf("grants of %s := %v", u, g)
			nextMembers[u].grants = g
			write = func() error { _, _, _, err := e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, u, g); return err }
		default:
			id := roleIDs[rnd.IntN(len(roleIDs))]
			g := randGrants(1 + rnd.IntN(3))
			what = fmt.Sprintf("role %s := %v, applied", id, g)
			nextRoles[id] = g
			write = func() error {
				_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, id, admin.RoleUpdate{Grants: g})
				return err
			}
		}
		before, after := model(members, roles), model(nextMembers, nextRoles)
		want := newViolation(before, after, slices.Sorted(maps.Keys(nextMembers)))
		err := write()
		switch {
		case want && policy.ErrorCode(err) == policy.CodeSeparationOfDuties:
			refused++
		case !want && err == nil:
			accepted++
			members, roles = nextMembers, nextRoles
		default:
			t.Fatalf("step %d (%s): the reference expects a refusal: %v; got %v", step, what, want, err)
		}
		// The invariant: nobody without an exception breaks a rule.
		now := model(members, roles)
		for u := range members {
			for _, r := range rules {
				if policyref.Breaks(held(now, u, r)) && !excepted[[2]string{r.ID, u}] {
					t.Fatalf("step %d (%s): %s breaks rule %s without an exception", step, what, u, r.ID)
				}
			}
		}
	}
	t.Logf("%d writes accepted, %d refused by S2", accepted, refused)
	if refused == 0 || accepted == 0 {
		t.Errorf("a one-sided run (%d accepted, %d refused): the property was not exercised", accepted, refused)
	}
}
