package policy_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// The reference model of the decision rules lives in internal/policyref,
// written from DESIGN.md without looking at the compiled snapshot; the
// differential tests below ask it and the snapshot the same random
// questions over random worlds.

// randomWorld builds a random catalog, roles, departments and members.
type world struct {
	cat   *policy.Catalog
	st    policy.State
	users []string
	depts []string
	// conditions makes random deltas carry conditions and random records
	// carry attributes (G1).
	conditions bool
}

func randomCatalogYAML(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("version: 1\nactions:\n")
	b.WriteString("  view: {scoped: true}\n  create: {requires: [view]}\n  edit: {scoped: true, requires: [view]}\n")
	b.WriteString("  delete: {scoped: true, requires: [edit]}\n  export: {scoped: true, requires: [view]}\n")
	b.WriteString("  approve: {requires: [edit]}\nmodules:\n")
	n := 0
	var mod func(depth int, indent string)
	mod = func(depth int, indent string) {
		n++
		id := fmt.Sprintf("m%d", n)
		fmt.Fprintf(&b, "%s- id: %s\n%s  description: module %d\n", indent, id, indent, n)
		if rng.IntN(6) == 0 {
			fmt.Fprintf(&b, "%s  internal_only: true\n", indent)
		}
		kids := 0
		if depth < 3 {
			kids = rng.IntN(4)
		}
		if kids == 0 || rng.IntN(3) == 0 {
			all := []string{"view", "create", "edit", "delete", "export", "approve"}
			acts := []string{"view"}
			for _, a := range all[1:] {
				if rng.IntN(2) == 0 {
					acts = append(acts, a)
				}
			}
			// keep requires closed
			if slices.Contains(acts, "delete") || slices.Contains(acts, "approve") {
				if !slices.Contains(acts, "edit") {
					acts = append(acts, "edit")
				}
			}
			fmt.Fprintf(&b, "%s  actions: [%s]\n", indent, strings.Join(acts, ", "))
		}
		if kids > 0 {
			fmt.Fprintf(&b, "%s  children:\n", indent)
			for range kids {
				mod(depth+1, indent+"    ")
			}
		}
	}
	for range 2 + rng.IntN(4) {
		mod(0, "  ")
	}
	fmt.Fprintf(&b, "  - id: tasks\n    kind: relation\n    description: tasks\n")
	b.WriteString("    actions: [{name: view, scoped: false}, {name: edit, scoped: false, requires: [view]}, {name: delete, scoped: false, requires: [edit]}]\n")
	b.WriteString("    relations: {creator: [view, edit, delete], responsible: [view, edit], participant: [view, edit], observer: [view]}\n")
	b.WriteString("    predefined_roles: {head: {view: all}}\n")
	return b.String()
}

func randomGrants(rng *rand.Rand, cat *policy.Catalog, n int) policy.Grants {
	g := policy.Grants{}
	perms := cat.Permissions()
	for range n {
		p := perms[rng.IntN(len(perms))]
		l := policy.Level(rng.IntN(5))
		if !p.Scoped {
			l = []policy.Level{policy.LevelNone, policy.LevelAll}[rng.IntN(2)]
		}
		g[p.Key] = l
	}
	if rng.IntN(10) == 0 {
		g["gone_view"] = policy.LevelAll // orphaned (C7)
	}
	return g
}

func randomWorld(t testing.TB, seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 7))
	cat, err := policy.ParseCatalog("random.yaml", []byte(randomCatalogYAML(rng)))
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	w := &world{cat: cat}
	st := policy.State{Workspace: "w", Revision: int64(seed), Catalog: cat}
	for i := range 3 + rng.IntN(10) {
		d := policy.Department{ID: fmt.Sprintf("d%d", i)}
		if i > 0 && rng.IntN(4) != 0 {
			d.ParentID = fmt.Sprintf("d%d", rng.IntN(i))
		}
		st.Departments = append(st.Departments, d)
		w.depts = append(w.depts, d.ID)
	}
	roleIDs := []string{"head", "employee"}
	for i := range 2 + rng.IntN(8) {
		roleIDs = append(roleIDs, fmt.Sprintf("r%d", i))
	}
	for _, id := range roleIDs {
		for rev := int64(1); rev <= 1+int64(rng.IntN(2)); rev++ {
			aud := policy.Internal
			if rng.IntN(5) == 0 {
				aud = policy.Client
			}
			st.Roles = append(st.Roles, policy.RoleRevision{RoleID: id, Revision: rev, Audience: aud,
				Predefined: id == "head" || id == "employee", Grants: randomGrants(rng, cat, rng.IntN(12))})
		}
	}
	for i := range 5 + rng.IntN(30) {
		m := policy.Member{UserID: fmt.Sprintf("u%d", i), Kind: policy.Internal, Owner: rng.IntN(15) == 0}
		if rng.IntN(4) == 0 {
			m.Kind = policy.Client
		}
		for range rng.IntN(3) {
			m.DepartmentIDs = append(m.DepartmentIDs, w.depts[rng.IntN(len(w.depts))])
		}
		slices.Sort(m.DepartmentIDs)
		m.DepartmentIDs = slices.Compact(m.DepartmentIDs)
		for range rng.IntN(6) { // beyond the 3 roles a hot member record holds
			ro := st.Roles[rng.IntN(len(st.Roles))]
			m.Roles = append(m.Roles, policy.RoleRef{RoleID: ro.RoleID, Revision: ro.Revision})
		}
		if rng.IntN(3) == 0 {
			m.Grants = randomGrants(rng, cat, 1+rng.IntN(4))
		}
		st.Members = append(st.Members, m)
		w.users = append(w.users, m.UserID)
	}
	w.st = st
	return w
}

func (w *world) randomRecord(rng *rand.Rand) *policy.Resource {
	pick := func() string {
		if rng.IntN(8) == 0 {
			return "stranger"
		}
		return w.users[rng.IntN(len(w.users))]
	}
	r := &policy.Resource{OwnerID: pick()}
	if rng.IntN(2) == 0 {
		r.DepartmentID = w.depts[rng.IntN(len(w.depts))]
		if rng.IntN(10) == 0 {
			r.DepartmentID = "unknown_dept"
		}
	}
	if w.conditions {
		r.Attributes = policyref.RandomAttributes(rng)
	}
	lists := []*[]string{&r.Relations.Creator, &r.Relations.Responsible, &r.Relations.Participant, &r.Relations.Observer}
	for _, l := range lists {
		for range rng.IntN(3) {
			*l = append(*l, pick())
		}
	}
	return r
}

// TestDifferential_CheckAgreesWithReference asks the snapshot and the
// reference model the same random questions over random worlds: at least
// 100,000 per run (D1, D2, C6, M3, M5, M6, R10, W4).
func TestDifferential_CheckAgreesWithReference(t *testing.T) {
	t.Parallel()
	queries := 0
	for seed := uint64(1); queries < 120_000; seed++ {
		w := randomWorld(t, seed)
		s, err := policy.Compile(w.st)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		ref := policyref.New(w.cat, w.st)
		rng := rand.New(rand.NewPCG(seed, 99))
		perms := w.cat.Permissions()
		for range 2000 {
			queries++
			user := w.users[rng.IntN(len(w.users))]
			if rng.IntN(20) == 0 {
				user = "stranger"
			}
			p := perms[rng.IntN(len(perms))]
			var rec *policy.Resource
			if rng.IntN(3) != 0 {
				rec = w.randomRecord(rng)
			}
			d, err := s.CheckRecord(user, p.Key, rec)
			if err != nil {
				t.Fatal(err)
			}
			wantLevel := ref.Level(user, p.Key)
			want := ref.Allowed(user, p.Key, rec)
			if d.Allowed != want || d.Level != wantLevel {
				t.Fatalf("seed %d: %s %s %+v: snapshot %+v, reference allowed=%v level=%s", seed, user, p.Key, rec, d, want, wantLevel)
			}
		}
	}
	t.Logf("%d queries agreed", queries)
}

// TestDifferential_FilterAgreesWithCheck: a record satisfies the plan of
// Filter iff CheckRecord allows it (D5).
func TestDifferential_FilterAgreesWithCheck(t *testing.T) {
	t.Parallel()
	for seed := uint64(1000); seed < 1060; seed++ {
		w := randomWorld(t, seed)
		s, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 5))
		perms := w.cat.Permissions()
		for range 100 {
			user := w.users[rng.IntN(len(w.users))]
			p := perms[rng.IntN(len(perms))]
			plan, err := s.Filter(user, p.Key)
			if err != nil {
				t.Fatal(err)
			}
			for range 30 {
				rec := w.randomRecord(rng)
				d, _ := s.CheckRecord(user, p.Key, rec)
				if plan.Matches(rec) != d.Allowed {
					t.Fatalf("seed %d: %s %s %+v: plan %+v matches=%v, check %+v", seed, user, p.Key, rec, plan, plan.Matches(rec), d)
				}
			}
		}
	}
}

// TestDifferential_ExplainAgreesWithCheck: the explanation's decision and
// levels are the check's (D6).
func TestDifferential_ExplainAgreesWithCheck(t *testing.T) {
	t.Parallel()
	for seed := uint64(2000); seed < 2030; seed++ {
		w := randomWorld(t, seed)
		s, _ := policy.Compile(w.st)
		rng := rand.New(rand.NewPCG(seed, 3))
		for range 200 {
			user := w.users[rng.IntN(len(w.users))]
			p := w.cat.Permissions()[rng.IntN(w.cat.NumPermissions())]
			rec := w.randomRecord(rng)
			e, err := s.Explain(user, p.Key, rec)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := s.CheckRecord(user, p.Key, rec)
			if e.Decision != d {
				t.Fatalf("seed %d: explain %+v, check %+v", seed, e.Decision, d)
			}
			for _, rt := range e.Roles {
				v, _ := s.RoleVector(policy.RoleRef{RoleID: rt.RoleID, Revision: rt.Revision})
				if v[p.ID] != rt.Level {
					t.Fatalf("seed %d: role trace %+v, compiled %s", seed, rt, v[p.ID])
				}
			}
		}
	}
}

// TestValidation_IsTotal: for random grant sets, ValidateGrants accepts a
// set iff it satisfies C1, C4, C5, M6 and R10, judged by brute force with
// the reference resolution.
func TestValidation_IsTotal(t *testing.T) {
	t.Parallel()
	for seed := uint64(3000); seed < 3040; seed++ {
		w := randomWorld(t, seed)
		ref := policyref.New(w.cat, w.st)
		rng := rand.New(rand.NewPCG(seed, 11))
		for range 500 {
			aud := []policy.Audience{policy.Internal, policy.Client}[rng.IntN(2)]
			g := policy.Grants{}
			perms := w.cat.Permissions()
			for range rng.IntN(6) {
				g[perms[rng.IntN(len(perms))].Key] = policy.Level(rng.IntN(5))
			}
			if rng.IntN(15) == 0 {
				g["nope_view"] = policy.LevelAll
			}
			valid := ref.Valid(g, aud)
			err := w.cat.ValidateGrants(g, aud)
			if (err == nil) != valid {
				t.Fatalf("seed %d: %v (%s): validate %v, brute force valid=%v", seed, g, aud, err, valid)
			}
		}
	}
}

// TestEffectiveLevels_AgreesWithSnapshot keeps the per-member computation
// the admin layer uses (A1 epochs, X3) equal to what decisions use, over
// random worlds.
func TestEffectiveLevels_AgreesWithSnapshot(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 50; seed++ {
		w := randomWorld(t, seed)
		s, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		revs := map[policy.RoleRef]policy.RoleRevision{}
		for _, r := range w.st.Roles {
			revs[policy.RoleRef{RoleID: r.RoleID, Revision: r.Revision}] = r
		}
		for _, m := range w.st.Members {
			var vs []policy.Vector
			for _, ref := range m.Roles {
				vs = append(vs, w.cat.RoleVector(revs[ref]))
			}
			got := w.cat.EffectiveLevels(m.Kind, m.Owner, vs, m.Grants)
			want, _ := s.Effective(m.UserID)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d member %s: EffectiveLevels = %v, snapshot = %v", seed, m.UserID, got, want)
			}
		}
	}
}

// randomDelta changes a world: new revisions of some roles, members
// changed, added and removed. It returns the delta and the full state
// after it.
func randomDelta(rng *rand.Rand, w *world, st policy.State, rev int64) (policy.Delta, policy.State) {
	d := policy.Delta{Revision: rev}
	next := st
	next.Revision = rev
	next.Roles = slices.Clone(st.Roles)
	for range rng.IntN(3) {
		base := st.Roles[rng.IntN(len(st.Roles))]
		nr := base
		nr.Revision = rev*10 + int64(rng.IntN(10)) // unique: rev grows
		if slices.ContainsFunc(next.Roles, func(r policy.RoleRevision) bool { return r.RoleID == nr.RoleID && r.Revision == nr.Revision }) {
			continue
		}
		nr.Grants = randomGrants(rng, w.cat, rng.IntN(12))
		if w.conditions {
			nr.When = randomConditions(rng, nr.Grants)
		}
		d.Roles = append(d.Roles, nr)
		next.Roles = append(next.Roles, nr)
	}
	randomMember := func(id string) policy.Member {
		m := policy.Member{UserID: id, Kind: policy.Internal, Owner: rng.IntN(15) == 0, Epoch: rev}
		if rng.IntN(4) == 0 {
			m.Kind = policy.Client
		}
		for range rng.IntN(3) {
			m.DepartmentIDs = append(m.DepartmentIDs, w.depts[rng.IntN(len(w.depts))])
		}
		slices.Sort(m.DepartmentIDs)
		m.DepartmentIDs = slices.Compact(m.DepartmentIDs)
		for range rng.IntN(6) {
			ro := next.Roles[rng.IntN(len(next.Roles))]
			m.Roles = append(m.Roles, policy.RoleRef{RoleID: ro.RoleID, Revision: ro.Revision})
		}
		if rng.IntN(3) == 0 {
			m.Grants = randomGrants(rng, w.cat, 1+rng.IntN(4))
			if w.conditions {
				m.When = randomConditions(rng, m.Grants)
			}
		}
		return m
	}
	next.Members = nil
	touched := map[string]bool{}
	for _, m := range st.Members {
		switch rng.IntN(6) {
		case 0:
			d.Removed = append(d.Removed, m.UserID)
			touched[m.UserID] = true
		case 1:
			nm := randomMember(m.UserID)
			d.Members = append(d.Members, nm)
			next.Members = append(next.Members, nm)
			touched[m.UserID] = true
		default:
			next.Members = append(next.Members, m)
		}
	}
	for i := range rng.IntN(8) {
		id := fmt.Sprintf("n%d_%d", rev, i)
		if rng.IntN(3) == 0 && len(w.users) > 0 { // bring back someone removed earlier
			cand := w.users[rng.IntN(len(w.users))]
			if !touched[cand] && !slices.ContainsFunc(next.Members, func(m policy.Member) bool { return m.UserID == cand }) {
				id = cand
			}
		}
		if touched[id] {
			continue
		}
		touched[id] = true
		nm := randomMember(id)
		d.Members = append(d.Members, nm)
		next.Members = append(next.Members, nm)
		if !slices.Contains(w.users, id) {
			w.users = append(w.users, id)
		}
	}
	return d, next
}

// TestDifferential_UpdateAgreesWithCompile: a snapshot updated by deltas
// decides exactly as one compiled from the whole new state, for every
// user (present, added, removed, re-added) and permission, with and
// without records; Filter, WhoCan, epochs and effective levels too.
func TestDifferential_UpdateAgreesWithCompile(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 60; seed++ {
		w := randomWorld(t, seed)
		rng := rand.New(rand.NewPCG(seed, 5))
		snap, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		st := w.st
		for step := int64(1); step <= 3; step++ {
			d, next := randomDelta(rng, w, st, st.Revision+step*100)
			if snap, err = snap.Update(d); err != nil {
				t.Fatalf("seed %d step %d: update: %v", seed, step, err)
			}
			want, err := policy.Compile(next)
			if err != nil {
				t.Fatalf("seed %d step %d: compile: %v", seed, step, err)
			}
			st = next
			compareSnapshots(t, fmt.Sprintf("seed %d step %d", seed, step), w, rng, snap, want)
		}
	}
}

func compareSnapshots(t *testing.T, where string, w *world, rng *rand.Rand, got, want *policy.Snapshot) {
	t.Helper()
	if got.NumMembers() != want.NumMembers() || got.Revision() != want.Revision() {
		t.Fatalf("%s: members %d/%d, revision %d/%d", where, got.NumMembers(), want.NumMembers(), got.Revision(), want.Revision())
	}
	users := append(slices.Clone(w.users), "stranger")
	for _, u := range users {
		if got.HasMember(u) != want.HasMember(u) {
			t.Fatalf("%s: HasMember(%s) %v, want %v", where, u, got.HasMember(u), want.HasMember(u))
		}
		ge, _ := got.Epoch(u)
		we, _ := want.Epoch(u)
		gv, _ := got.Effective(u)
		wv, _ := want.Effective(u)
		if ge != we || !slices.Equal(gv, wv) {
			t.Fatalf("%s: member %s: epoch %d/%d, effective differs", where, u, ge, we)
		}
		for _, p := range w.cat.Permissions() {
			rec := w.randomRecord(rng)
			for _, r := range []*policy.Resource{nil, rec} {
				a, _ := got.CheckRecord(u, p.Key, r)
				b, _ := want.CheckRecord(u, p.Key, r)
				if a.Allowed != b.Allowed || a.Level != b.Level || a.Reason != b.Reason {
					t.Fatalf("%s: %s %s %+v: updated %+v, compiled %+v", where, u, p.Key, r, a, b)
				}
			}
			pa, _ := got.Filter(u, p.Key)
			pb, _ := want.Filter(u, p.Key)
			if pa.Kind != pb.Kind || pa.Matches(rec) != pb.Matches(rec) {
				t.Fatalf("%s: filter %s %s differs", where, u, p.Key)
			}
		}
	}
	for _, p := range w.cat.Permissions() {
		for _, l := range []policy.Level{policy.LevelOwn, policy.LevelAll} {
			a, _ := got.WhoCan(p.Key, l)
			b, _ := want.WhoCan(p.Key, l)
			if !slices.Equal(a, b) {
				t.Fatalf("%s: WhoCan(%s, %s) = %v, want %v", where, p.Key, l, a, b)
			}
		}
	}
}

// withConditions gives a third of the grants of w's roles and direct
// grants a random condition (G1), reproducibly.
func withConditions(w *world, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 18))
	for i := range w.st.Roles {
		w.st.Roles[i].When = randomConditions(rng, w.st.Roles[i].Grants)
	}
	for i := range w.st.Members {
		w.st.Members[i].When = randomConditions(rng, w.st.Members[i].Grants)
	}
}

// randomConditions gives a third of g's grants above none a condition.
func randomConditions(rng *rand.Rand, g policy.Grants) policy.Conditions {
	when := policy.Conditions{}
	for _, k := range slices.Sorted(maps.Keys(g)) {
		if g[k] > policy.LevelNone && rng.IntN(3) == 0 {
			when[k] = policyref.RandomCondition(rng, 2)
		}
	}
	return when
}

// TestDifferential_UpdateAgreesWithCompileUnderConditions is
// TestDifferential_UpdateAgreesWithCompile with conditional grants in the
// world and in every delta, and attributes on every record (G6: compiled
// conditions are shared by an update and its snapshot, copied on write).
func TestDifferential_UpdateAgreesWithCompileUnderConditions(t *testing.T) {
	t.Parallel()
	for seed := uint64(7000); seed < 7030; seed++ {
		w := randomWorld(t, seed)
		withConditions(w, seed)
		w.conditions = true
		rng := rand.New(rand.NewPCG(seed, 5))
		snap, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		st := w.st
		for step := int64(1); step <= 3; step++ {
			d, next := randomDelta(rng, w, st, st.Revision+step*100)
			if snap, err = snap.Update(d); err != nil {
				t.Fatalf("seed %d step %d: update: %v", seed, step, err)
			}
			want, err := policy.Compile(next)
			if err != nil {
				t.Fatalf("seed %d step %d: compile: %v", seed, step, err)
			}
			st = next
			compareSnapshots(t, fmt.Sprintf("seed %d step %d", seed, step), w, rng, snap, want)
		}
	}
}

// TestDifferential_ConditionsAgreeWithReference: with random conditions
// on a third of the grants, random record attributes and random request
// contexts, the snapshot's check equals the naive reference (any grant
// that reaches the record and whose condition holds, G2, G3), and the
// filter's plan, conditions included, matches exactly the records the
// check allows (G4).
func TestDifferential_ConditionsAgreeWithReference(t *testing.T) {
	t.Parallel()
	queries, conditional := 0, 0
	for seed := uint64(5000); queries < 40_000; seed++ {
		w := randomWorld(t, seed)
		withConditions(w, seed)
		s, err := policy.Compile(w.st)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		ref := policyref.New(w.cat, w.st)
		rng := rand.New(rand.NewPCG(seed, 77))
		perms := w.cat.Permissions()
		for range 400 {
			user := w.users[rng.IntN(len(w.users))]
			p := perms[rng.IntN(len(perms))]
			ctx := policy.Context(policyref.RandomContext(rng))
			plan, err := s.FilterContext(user, p.Key, ctx)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				queries++
				var rec *policy.Resource
				if rng.IntN(4) != 0 {
					rec = w.randomRecord(rng)
					rec.Attributes = policyref.RandomAttributes(rng)
				}
				d, err := s.CheckContext(user, p.Key, rec, ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d.Conditional && d.Allowed {
					conditional++
				}
				if want := ref.AllowedContext(user, p.Key, rec, ctx); d.Allowed != want {
					t.Fatalf("seed %d: %s %s %+v %v: snapshot %+v, reference %v", seed, user, p.Key, rec, ctx, d, want)
				}
				if want := ref.Level(user, p.Key); d.Level != want {
					t.Fatalf("seed %d: %s %s: level %s, reference %s (a conditional grant counts at its level)", seed, user, p.Key, d.Level, want)
				}
				if rec != nil && plan.Matches(rec) != d.Allowed {
					t.Fatalf("seed %d: %s %s %+v %v: plan matches %v, check %+v", seed, user, p.Key, rec, ctx, plan.Matches(rec), d)
				}
			}
		}
	}
	if conditional < 500 {
		t.Fatalf("only %d checks allowed through conditions", conditional)
	}
	t.Logf("%d queries agreed, %d allowed only through conditions", queries, conditional)
}
