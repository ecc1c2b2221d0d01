package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/auditreplay"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testX4EveryRevisionAudited is a property test over random sequences of
// writes, every kind of write the admin service makes: after each, every
// committed revision has at least one audit entry, and replaying the
// audit log's before and after alone reproduces the role revisions and
// assignments the store holds (X4). Applies of saved revisions, restores
// of the newest revision and re-imports of an exported policy once
// committed revisions without an entry.
func testX4EveryRevisionAudited(t *testing.T, h Harness) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			e := newEnv(t, h)
			e.workspace("w", admin.PlanProfessional)
			g := &writeGen{e: e, rng: rand.New(rand.NewPCG(seed, 16))}
			replay, after := auditreplay.New(), int64(0)
			for i := range 120 {
				op := g.step()
				for {
					page, err := e.store.Audit(e.ctx, "w", admin.AuditFilter{After: after, Limit: 1000})
					must(t, err)
					for _, en := range page {
						if err := replay.Apply(en); err != nil {
							t.Fatalf("after write %d (%s): %v", i, op, err)
						}
						after = en.Seq
					}
					if len(page) < 1000 {
						break
					}
				}
				d, err := e.store.Load(e.ctx, "w")
				must(t, err)
				if err := replay.Compare(d); err != nil {
					t.Fatalf("after write %d (%s): %v", i, op, err)
				}
			}
			if rep, err := e.svc.VerifyAudit(e.ctx, "w"); err != nil || !rep.OK {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
			t.Logf("%d writes: %v", 120, g.done)
		})
	}
}

// writeGen makes random admin writes on workspace "w" of an env. A write
// may fail (a role in use, a last role): failures write nothing, which
// the property checks too.
type writeGen struct {
	e    *env
	rng  *rand.Rand
	n    int
	done map[string]int
}

// grantSets are the grants roles take; each satisfies C4, none raises a
// delete or export level (so no reason is needed).
var grantSets = []policy.Grants{
	{},
	{"leads_view": own},
	{"leads_view": all, "leads_edit": own},
	{"deals_view": dept, "contacts_view": all},
	{"leads_view": sub, "deals_view": all, "deals_edit": dept},
}

func (g *writeGen) pick(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[g.rng.IntN(len(xs))]
}

func (g *writeGen) roles() []string {
	rs, err := g.e.svc.Roles(g.e.ctx, "w", "", "")
	must(g.e.t, err)
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func (g *writeGen) members() []string {
	ms, err := g.e.svc.Members(g.e.ctx, "w", admin.Actor{}, admin.MemberFilter{Limit: 1000})
	must(g.e.t, err)
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.UserID)
	}
	return ids
}

func (g *writeGen) depts() []string {
	ds, err := g.e.svc.Departments(g.e.ctx, "w")
	must(g.e.t, err)
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

// step makes one random write and names it.
func (g *writeGen) step() string {
	if g.done == nil {
		g.done = map[string]int{}
	}
	e, ctx, rng := g.e, g.e.ctx, g.rng
	g.n++
	w := admin.Write{Reason: fmt.Sprintf("write %d", g.n)}
	role, user, dept := g.pick(g.roles()), g.pick(g.members()), g.pick(g.depts())
	grants := grantSets[rng.IntN(len(grantSets))]
	apply := rng.IntN(3) > 0
	var err error
	var op string
	switch k := rng.IntN(18); k {
	case 0:
		op = "create role"
		_, _, err = e.svc.CreateRole(ctx, "w", w, admin.RoleInput{Name: fmt.Sprintf("Role %d", g.n), Grants: grants})
	case 1, 2:
		op = "edit grants"
		_, _, err = e.svc.UpdateRole(ctx, "w", w, role, admin.RoleUpdate{Grants: grants, Apply: &apply})
	case 3:
		op = "apply saved revision"
		r, rerr := e.svc.Role(ctx, "w", role)
		must(e.t, rerr)
		yes := true
		_, _, err = e.svc.UpdateRole(ctx, "w", w, role, admin.RoleUpdate{Grants: r.Grants, Apply: &yes})
	case 4:
		op = "restore revision"
		r, rerr := e.svc.Role(ctx, "w", role)
		must(e.t, rerr)
		n := r.Revision - int64(rng.IntN(int(r.Revision)))
		_, _, err = e.svc.RestoreRevision(ctx, "w", w, role, n, &apply, 0)
	case 5:
		op = "duplicate role"
		_, _, err = e.svc.DuplicateRole(ctx, "w", w, role, fmt.Sprintf("Copy %d", g.n))
	case 6:
		op = "delete role"
		_, err = e.svc.DeleteRole(ctx, "w", w, role, g.pick(g.roles()))
	case 7, 8:
		op = "upsert member"
		var rs []string
		if rng.IntN(2) == 0 {
			rs = []string{role}
		}
		var ds []string
		if dept != "" && rng.IntN(2) == 0 {
			ds = []string{dept}
		}
		_, _, err = e.svc.UpsertMember(ctx, "w", w, admin.MemberInput{UserID: fmt.Sprintf("u%d", rng.IntN(12)), Name: "U", RoleIDs: rs, DepartmentIDs: ds})
	case 9:
		op = "set member roles"
		_, _, err = e.svc.SetMemberRoles(ctx, "w", w, user, []string{role, g.pick(g.roles())})
	case 10:
		op = "add role members"
		_, err = e.svc.AddRoleMembers(ctx, "w", w, role, []string{user, g.pick(g.members())})
	case 11:
		op = "remove role member"
		_, err = e.svc.RemoveRoleMember(ctx, "w", w, role, user)
	case 12:
		op = "remove member"
		_, err = e.svc.RemoveMember(ctx, "w", w, user)
	case 13:
		op = "direct grants"
		_, _, _, err = e.svc.SetDirectGrants(ctx, "w", w, user, grantSets[rng.IntN(3)])
	case 14:
		op = "put department"
		parent := ""
		if rng.IntN(2) == 0 {
			parent = dept
		}
		_, _, err = e.svc.PutDepartment(ctx, "w", w, admin.Department{ID: fmt.Sprintf("d%d", rng.IntN(5)), Name: "D", ParentID: parent})
	case 15:
		op = "delete department"
		_, err = e.svc.DeleteDepartment(ctx, "w", w, dept)
	case 16:
		op = "re-import the exported policy"
		data, xerr := e.svc.ExportPolicy(ctx, "w")
		must(e.t, xerr)
		if rng.IntN(2) == 0 {
			op = "import an edited policy"
			data = []byte(strings.Replace(string(data), "leads_view: own", "leads_view: all", 1))
		}
		_, err = e.svc.ImportPolicy(ctx, "w", w, data)
	case 17:
		op = "import members"
		in := make([]admin.MemberInput, 3)
		for i := range in {
			in[i] = admin.MemberInput{UserID: fmt.Sprintf("u%d", rng.IntN(12)), Name: fmt.Sprint("Imported ", g.n)}
		}
		slices.SortFunc(in, func(a, b admin.MemberInput) int { return strings.Compare(a.UserID, b.UserID) })
		in = slices.CompactFunc(in, func(a, b admin.MemberInput) bool { return a.UserID == b.UserID })
		_, err = e.svc.ImportMembers(ctx, "w", w, in)
	}
	if err != nil {
		if policy.ErrorCode(err) == policy.CodeInternal {
			e.t.Fatalf("%s: %v", op, err)
		}
		op += " (refused)"
	}
	g.done[op]++
	return op
}

// testX4AppliesAudited: the four writes the attack review found committing
// revisions without an audit entry now each write one, and re-importing
// the exported policy writes nothing and leaves saved revisions unapplied.
func testX4AppliesAudited(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"leads_view": own})
	e.member("w", admin.MemberInput{UserID: "a", RoleIDs: []string{r.ID}})
	e.member("w", admin.MemberInput{UserID: "b", RoleIDs: []string{r.ID}})
	no, yes := false, true
	saved, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": all}, Apply: &no})
	must(t, err)
	entries := func() int {
		es, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Limit: 1000})
		must(t, err)
		return len(es)
	}
	audited := func(what string, rev0 int64, n0 int) {
		t.Helper()
		if rev := e.revision("w"); rev != rev0+1 {
			t.Fatalf("%s: revision %d → %d, want one commit", what, rev0, rev)
		}
		es, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{After: int64(n0), Limit: 1000})
		must(t, err)
		if len(es) == 0 || es[len(es)-1].Revision != rev0+1 {
			t.Fatalf("%s committed revision %d without an audit entry: %+v", what, rev0+1, es)
		}
		if a := es[len(es)-1]; a.Action != "role.apply" || a.Target != "role:"+r.ID || !strings.Contains(string(a.After), `"members":2`) {
			t.Errorf("%s: entry %+v", what, a)
		}
	}

	// Re-importing the exported policy changes nothing: no revision, no
	// entry, and a and b stay on the revision they have.
	data, err := e.svc.ExportPolicy(e.ctx, "w")
	must(t, err)
	rev, n := e.revision("w"), entries()
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, data)
	must(t, err)
	if e.revision("w") != rev || entries() != n {
		t.Fatalf("re-importing the exported policy wrote: revision %d → %d, %d → %d entries", rev, e.revision("w"), n, entries())
	}
	if got := e.getMember("w", "a").Roles[0].Revision; got != 1 {
		t.Fatalf("re-importing the exported policy applied saved revision %d", got)
	}

	// Applying the saved revision (PATCH {"apply": true}, the console's
	// "Apply revision N").
	rev, n = e.revision("w"), entries()
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: saved.Grants, Apply: &yes})
	must(t, err)
	audited("applying a saved revision", rev, n)
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Apply: &yes})
	must(t, err)
	if e.revision("w") != rev+1 {
		t.Fatal("an apply that moves nobody committed")
	}

	// Restoring the newest revision, after a save without apply.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": dept}, Apply: &no})
	must(t, err)
	rev, n = e.revision("w"), entries()
	_, _, err = e.svc.RestoreRevision(e.ctx, "w", admin.Write{}, r.ID, 3, nil, 0)
	must(t, err)
	audited("restoring the newest revision", rev, n)

	// Importing a file that only applies: a saved revision, then a file
	// whose grants are the saved ones applies nothing either.
	_, _, err = e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": sub}, Apply: &no})
	must(t, err)
	data, err = e.svc.ExportPolicy(e.ctx, "w")
	must(t, err)
	rev = e.revision("w")
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, data)
	must(t, err)
	if e.revision("w") != rev || e.getMember("w", "b").Roles[0].Revision != 3 {
		t.Fatalf("an import of the unchanged policy wrote or applied (revision %d → %d, b on %d)", rev, e.revision("w"), e.getMember("w", "b").Roles[0].Revision)
	}
}
