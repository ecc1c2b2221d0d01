package stress

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/auditreplay"
	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// checker reads one workspace's stored state again and again and asserts
// the invariants on it, and compares the nodes' decisions with the
// reference model of the state they were made at.
type checker struct {
	h   *harness
	ws  string
	rng *rand.Rand

	prev    *state          // the state checked before the current one
	epochs  map[string]seen // per user: the epoch last seen (A1)
	sawHead bool            // R3: Head, once there, is never deleted
	lastDec map[int]int64   // per node: the revision of its last decision (D8)
	quietAt time.Time       // when the last quiesced sample was taken
	missed  int             // samples since then that could not be compared
	tokens  []token         // sessions issued (A2)
	audit   auditReplay     // W2, W3
}

// seen is a member's epoch as last seen, at a revision, and when that
// member was created: a user removed and added again is a new member.
type seen struct {
	epoch, rev int64
	created    time.Time
}

// state is a workspace as stored at one revision, with its reference model.
type state struct {
	d   *admin.Dataset
	rev int64
	cat *policy.Catalog
	// ref is the reference at the time of loading; refAt builds it at
	// another time, as expiry (T1) makes decisions depend on the clock.
	ref *policyref.Model
	// stored is the reference of the stored rows with nothing expired:
	// what epochs follow (A1), since an expiry moves epochs when it is
	// committed (T2).
	stored   *policyref.Model
	st       policy.State
	acc      policyref.Access
	expiry   []time.Time // every expiry instant in the state (T1)
	loadedAt time.Time
	members  map[string]*admin.Member
	roles    map[string]*admin.Role
	levels   map[string]map[string]policy.Level // user → permission → level, filled by levelsOf
}

func newChecker(h *harness, ws string, i int) *checker {
	return &checker{h: h, ws: ws, rng: rand.New(rand.NewPCG(h.runSeed, 100+uint64(i))), epochs: map[string]seen{},
		lastDec: map[int]int64{}, audit: auditReplay{custom: map[string]bool{}, log: auditreplay.New()}}
}

// quietEvery is how often at least a checker stops the writers for a
// moment to take a sample no write can race; it does so sooner when its
// last samples all came back decided at a later revision than the one it
// loaded, which a busy run can make the rule.
const quietEvery = 2 * time.Second

func (c *checker) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		quiet := time.Since(c.quietAt) >= quietEvery || c.missed >= 3
		start := time.Now()
		if quiet {
			c.h.gate.Lock()
		}
		s := c.load()
		if s != nil {
			c.decisions(s, quiet)
		}
		if quiet {
			c.h.gate.Unlock()
			c.quietAt, c.missed = time.Now(), 0
			c.h.stats.add("check quiet samples", 1)
			c.h.stats.add("check quiet ms", int(time.Since(start).Milliseconds()))
		}
		if s == nil {
			time.Sleep(10 * time.Millisecond) // reported; try again
			continue
		}
		for range 2 {
			c.filter(s)
		}
		c.check(s)
		c.issueSession(s)
	}
}

// load reads the workspace in one read transaction and builds the
// reference model of it: what a snapshot at that revision must decide.
// It reports a failure and returns nil when it cannot.
func (c *checker) load() *state {
	d := c.h.load(c.ws)
	if d == nil {
		return nil
	}
	objs := slices.Clone(d.Objects)
	slices.SortFunc(objs, func(a, b policy.SmartObject) int { return strings.Compare(a.ID, b.ID) })
	cat, err := c.h.base.WithObjects(objs)
	if err != nil {
		c.h.rep.fail("C9 smart objects extend the catalog", "%s at revision %d: catalog with smart objects %v: %v", c.ws, d.Workspace.Revision, objs, err)
		return nil
	}
	s := &state{d: d, rev: d.Workspace.Revision, cat: cat, members: map[string]*admin.Member{}, roles: map[string]*admin.Role{}}
	st := policy.State{Workspace: c.ws, Revision: s.rev, Catalog: cat}
	for i := range d.Roles {
		s.roles[d.Roles[i].ID] = &d.Roles[i]
	}
	for _, rv := range d.Revisions {
		if r := s.roles[rv.RoleID]; r != nil {
			st.Roles = append(st.Roles, policy.RoleRevision{RoleID: r.ID, Revision: rv.Revision, Name: r.Name,
				Audience: r.Audience, Predefined: r.Predefined, Grants: rv.Grants})
		}
	}
	for _, dp := range d.Departments {
		st.Departments = append(st.Departments, policy.Department{ID: dp.ID, Name: dp.Name, ParentID: dp.ParentID})
	}
	acc := policyref.Access{RoleExpiry: map[string]map[string]time.Time{}, GrantExpiry: map[string]map[string]time.Time{}}
	for _, dp := range d.Departments {
		for _, a := range dp.Roles {
			acc.DeptRoles = append(acc.DeptRoles, policyref.DeptRole{Department: dp.ID, Role: policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision},
				IncludeSub: dp.IncludeSubdepartments, ExpiresAt: a.ExpiresAt})
			if !a.ExpiresAt.IsZero() {
				s.expiry = append(s.expiry, a.ExpiresAt)
			}
		}
	}
	for i := range d.Members {
		m := &d.Members[i]
		s.members[m.UserID] = m
		pm := policy.Member{UserID: m.UserID, Kind: m.Kind, Owner: m.Owner, DepartmentIDs: m.DepartmentIDs, Grants: m.Grants, Epoch: m.Epoch}
		for _, a := range m.Roles {
			pm.Roles = append(pm.Roles, policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision})
			if !a.ExpiresAt.IsZero() {
				if acc.RoleExpiry[m.UserID] == nil {
					acc.RoleExpiry[m.UserID] = map[string]time.Time{}
				}
				acc.RoleExpiry[m.UserID][a.RoleID] = a.ExpiresAt
				s.expiry = append(s.expiry, a.ExpiresAt)
			}
		}
		if len(m.GrantExpiry) > 0 {
			acc.GrantExpiry[m.UserID] = m.GrantExpiry
			s.expiry = append(s.expiry, slices.Collect(maps.Values(m.GrantExpiry))...)
		}
		st.Members = append(st.Members, pm)
	}
	s.st, s.acc = st, acc
	s.stored = policyref.NewWith(cat, st, acc) // Now zero: nothing expired
	s.loadedAt = time.Now()
	s.ref = s.refAt(s.loadedAt)
	return s
}

// refAt is the reference of s judged at t (T1).
func (s *state) refAt(t time.Time) *policyref.Model {
	if len(s.expiry) == 0 && s.stored != nil {
		return s.stored
	}
	acc := s.acc
	acc.Now = t
	return policyref.NewWith(s.cat, s.st, acc)
}

// expiresWithin reports whether some expiry instant of s lies in [lo, hi].
func (s *state) expiresWithin(lo, hi time.Time) bool {
	for _, t := range s.expiry {
		if !t.Before(lo) && !t.After(hi) {
			return true
		}
	}
	return false
}

// levelsOf is every effective level of user in s, by the reference.
func (s *state) levelsOf(user string) map[string]policy.Level {
	if s.levels == nil {
		s.levels = map[string]map[string]policy.Level{}
	}
	if l, ok := s.levels[user]; ok {
		return l
	}
	l := map[string]policy.Level{}
	for _, p := range s.cat.Permissions() {
		l[p.Key] = s.stored.Level(user, p.Key)
	}
	s.levels[user] = l
	return l
}

// check asserts the invariants of one stored state, and of it next to
// the state checked before.
func (c *checker) check(s *state) {
	h, ws, rev := c.h, c.ws, s.rev
	h.stats.add("check states checked", 1)
	if c.prev != nil && rev < c.prev.rev {
		h.rep.fail("revisions never go backwards", "%s: stored revision %d after %d", ws, rev, c.prev.rev)
	}

	// R2, R3: exactly one default role, the predefined Employee, which
	// is never deleted; nor is Head once it exists.
	var defaults []string
	for _, r := range s.d.Roles {
		if r.Default {
			defaults = append(defaults, r.ID)
		}
	}
	if len(defaults) != 1 || defaults[0] != admin.RoleEmployee || !s.roles[admin.RoleEmployee].Predefined {
		h.rep.fail("R2 exactly one default role", "%s at revision %d: default roles %v", ws, rev, defaults)
	}
	if s.roles[admin.RoleHead] != nil {
		c.sawHead = true
	} else if c.sawHead {
		h.rep.fail("R3 Head is never deleted", "%s at revision %d: Head is gone", ws, rev)
	}

	// Departments form a tree.
	for _, dp := range s.d.Departments {
		steps := 0
		for p := dp.ParentID; p != "" && steps <= len(s.d.Departments); steps++ {
			parent := slices.IndexFunc(s.d.Departments, func(x admin.Department) bool { return x.ID == p })
			if parent < 0 {
				h.rep.fail("departments form a tree", "%s at revision %d: %s has a missing ancestor %s", ws, rev, dp.ID, p)
				break
			}
			p = s.d.Departments[parent].ParentID
		}
		if steps > len(s.d.Departments) {
			h.rep.fail("departments form a tree", "%s at revision %d: %s is in a cycle", ws, rev, dp.ID)
		}
	}

	// C4 (and C1, C5, M6, R10) on every role's newest revision, judged by
	// the policy core and the reference; C4 on every revision a member
	// holds.
	for _, r := range s.d.Roles {
		if err := s.cat.ValidateGrants(r.Grants, r.Audience); err != nil {
			h.rep.fail("C4 every role is valid", "%s at revision %d: role %s@%d %v: %v", ws, rev, r.ID, r.Revision, r.Grants, err)
		} else if !s.ref.Valid(r.Grants, r.Audience) {
			h.rep.fail("C4 every role is valid", "%s at revision %d: role %s@%d %v: reference finds %v %v", ws, rev, r.ID, r.Revision,
				r.Grants, s.ref.KeyViolations(r.Grants, r.Audience), s.ref.GrantViolations(r.Grants, r.Audience))
		}
	}
	for _, rv := range s.d.Revisions {
		if r := s.roles[rv.RoleID]; r != nil {
			if v := s.ref.GrantViolations(rv.Grants, r.Audience); len(v) > 0 {
				h.rep.fail("C4 every role is valid", "%s at revision %d: held revision %s@%d breaks %v", ws, rev, rv.RoleID, rv.Revision, v)
			}
		}
	}

	c.checkMembers(s)
	c.checkSoD(s)
	c.audit.replay(c, s)
	c.prev = s
}

// checkMembers asserts M2, M6, R6, M5/C4 and A1 on every member.
func (c *checker) checkMembers(s *state) {
	h, ws, rev := c.h, c.ws, s.rev
	revs := map[policy.RoleRef]bool{}
	for _, rv := range s.d.Revisions {
		revs[policy.RoleRef{RoleID: rv.RoleID, Revision: rv.Revision}] = true
	}
	depts := map[string]bool{}
	for _, dp := range s.d.Departments {
		depts[dp.ID] = true
	}
	for _, m := range s.d.Members {
		u := m.UserID
		if len(m.Roles) == 0 && len(s.stored.Roles(u)) == 0 {
			h.rep.fail("M2 every member has a role", "%s at revision %d: %s has no role, of its own or through a department (M9)", ws, rev, u)
		}
		for _, a := range m.Roles {
			r := s.roles[a.RoleID]
			switch {
			case r == nil:
				h.rep.fail("M2 every member has a role", "%s at revision %d: %s holds deleted role %s", ws, rev, u, a.RoleID)
			case r.Audience != m.Kind:
				h.rep.fail("M6 audiences match", "%s at revision %d: %s member %s holds %s role %s", ws, rev, m.Kind, u, r.Audience, r.ID)
			case a.Revision > r.Revision || !revs[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}]:
				h.rep.fail("R6 members hold existing revisions", "%s at revision %d: %s holds %s@%d, newest %d", ws, rev, u, a.RoleID, a.Revision, r.Revision)
			}
		}
		if !s.permanent(&m) {
			h.rep.fail("M2 every member keeps a role at every future instant (T1)", "%s at revision %d: every role of %s member %s expires, and the default role is not for %s members: %v (audit since revision %d: %s)",
				ws, rev, m.Kind, u, m.Kind, m.Roles, c.prevRev(), c.auditOf(s, "member:"+u))
		}
		for _, d := range m.DepartmentIDs {
			if !depts[d] {
				h.rep.fail("members are in existing departments", "%s at revision %d: %s is in missing department %s", ws, rev, u, d)
			}
		}
		if v := s.ref.KeyViolations(m.Grants, m.Kind); len(v) > 0 {
			h.rep.fail("M5 direct grants are valid", "%s at revision %d: %s: %v", ws, rev, u, v)
		}
		if v := s.ref.MemberViolations(u); len(v) > 0 {
			h.rep.fail("C4 effective levels (M5)", "%s at revision %d: %s breaks %v", ws, rev, u, v)
		}

		// A1: epochs never go backwards, not even when a user is
		// removed and added again: a session of the earlier member
		// would otherwise count as current again (A2).
		if before, ok := c.epochs[u]; ok {
			switch {
			case before.created.Equal(m.CreatedAt) && m.Epoch < before.epoch:
				h.rep.fail("A1 epochs never go backwards", "%s: %s has epoch %d at revision %d, had %d at revision %d",
					ws, u, m.Epoch, rev, before.epoch, before.rev)
			case !before.created.Equal(m.CreatedAt) && m.Epoch <= before.epoch:
				h.rep.fail("A1 epochs never go backwards (re-created members)", "%s: %s was removed and added again; its epoch restarted at %d "+
					"(revision %d), not above the %d it had at revision %d, so sessions of the removed member count as current again (A2)",
					ws, u, m.Epoch, rev, before.epoch, before.rev)
			}
		}
		c.epochs[u] = seen{epoch: m.Epoch, rev: rev, created: m.CreatedAt}

		// A1: an epoch moves whenever effective levels, departments or
		// kind change.
		if c.prev == nil {
			continue
		}
		old := c.prev.members[u]
		if old == nil || !old.CreatedAt.Equal(m.CreatedAt) || m.Epoch != old.Epoch {
			continue
		}
		switch {
		case old.Kind != m.Kind:
			h.rep.fail("A1 epochs move with permissions", "%s: %s changed kind %s → %s between revisions %d and %d, epoch stayed %d", ws, u, old.Kind, m.Kind, c.prev.rev, rev, m.Epoch)
		case !slices.Equal(old.DepartmentIDs, m.DepartmentIDs):
			h.rep.fail("A1 epochs move with permissions", "%s: %s moved departments %v → %v between revisions %d and %d, epoch stayed %d", ws, u, old.DepartmentIDs, m.DepartmentIDs, c.prev.rev, rev, m.Epoch)
		default:
			was, is := c.prev.levelsOf(u), s.levelsOf(u)
			for _, k := range slices.Sorted(maps.Keys(is)) {
				if l, ok := was[k]; ok && l != is[k] {
					h.rep.fail("A1 epochs move with permissions", "%s: %s's %s went %s → %s between revisions %d and %d, epoch stayed %d (audit: %s)", ws, u, k, l, is[k], c.prev.rev, rev, m.Epoch, c.auditOf(s, "member:"+u))
					break
				}
			}
		}
	}
}

// auditReplay replays the audit log (X4) to know the plan and the custom
// roles at every revision, so that W2 is checked at the exact revision
// each custom role was created, even between two sampled states.
type auditReplay struct {
	seq    int64 // the last entry replayed
	plan   admin.Plan
	custom map[string]bool
	// roles and assignments as the log tells them (X4); nil once the log
	// failed to replay, which is reported once.
	log *auditreplay.Replay
}

var predefined = func() map[string]bool {
	out := map[string]bool{}
	for _, p := range admin.Plans() {
		for _, id := range p.PredefinedRoles() {
			out[id] = true
		}
	}
	return out
}()

// replay reads the audit entries up to state s's revision and checks each
// custom role's creation against the plan of its time (W2; W3: after a
// downgrade nothing new is made until the count is under the limit); then
// the custom roles replayed must be those stored.
func (a *auditReplay) replay(c *checker, s *state) {
	h, ws := c.h, c.ws
	for done := false; !done; {
		es, err := h.nodes[0].Store.Audit(h.ctx, ws, admin.AuditFilter{After: a.seq, Limit: 500})
		if err != nil {
			h.rep.fail("unexpected error", "%s: read audit: %v", ws, err)
			return
		}
		done = len(es) < 500
		for _, e := range es {
			if e.Revision > s.rev {
				done = true
				break
			}
			a.seq = e.Seq
			if a.log != nil {
				if err := a.log.Apply(e); err != nil {
					h.rep.fail("X4 every revision has an audit entry, and the log replays to the database", "%s: %v", ws, err)
					a.log = nil
				}
			}
			id, _ := strings.CutPrefix(e.Target, "role:")
			switch e.Action {
			case "workspace.create", "workspace.update":
				var w struct {
					Plan admin.Plan `json:"plan"`
				}
				if err := json.Unmarshal(e.After, &w); err != nil || w.Plan == "" {
					h.rep.fail("unexpected error", "%s: audit entry %d: %s: %v", ws, e.Seq, e.After, err)
				}
				a.plan = w.Plan
			case "role.create":
				if predefined[id] {
					continue
				}
				if limit := a.plan.CustomRoleLimit(); limit >= 0 && len(a.custom) >= limit {
					h.rep.fail("W2 plan limits", "%s: custom role %s created at revision %d with %d custom roles already, on the %s plan (limit %d)",
						ws, id, e.Revision, len(a.custom), a.plan, limit)
				}
				a.custom[id] = true
			case "role.delete":
				delete(a.custom, id)
			}
		}
	}
	if a.log != nil {
		if err := a.log.Compare(s.d); err != nil {
			h.rep.fail("X4 every revision has an audit entry, and the log replays to the database", "%s at revision %d: %v", ws, s.rev, err)
			a.log = nil
		}
	}
	stored := map[string]bool{}
	for _, r := range s.d.Roles {
		if !r.Predefined {
			stored[r.ID] = true
		}
	}
	if !maps.Equal(stored, a.custom) || a.plan != s.d.Workspace.Plan {
		h.rep.fail("X4 the audit log agrees with the stored plan and roles", "%s at revision %d: stored plan %s, custom roles %v; the audit log gives %s, %v",
			ws, s.rev, s.d.Workspace.Plan, slices.Sorted(maps.Keys(stored)), a.plan, slices.Sorted(maps.Keys(a.custom)))
	}
}

// checkSoD asserts S2's invariant on every stored state: no member (owners
// aside, W4) holds a conflicting combination of a separation-of-duties
// rule without an active exception. The seed adds the rules before any
// member exists, so no violation is old enough to be allowed (S3).
func (c *checker) checkSoD(s *state) {
	now := time.Now()
	for _, r := range s.d.SoDRules {
		sets, roles := r.Permissions, false
		if r.Roles != nil {
			sets, roles = r.Roles, true
		}
		for _, m := range s.d.Members {
			held := s.ref.SoDHeld(m.UserID, sets, roles)
			if !policyref.Breaks(held) {
				continue
			}
			if i := slices.IndexFunc(r.Exceptions, func(e admin.SoDException) bool { return e.UserID == m.UserID }); i >= 0 && r.Exceptions[i].ActiveAt(now) {
				continue
			}
			c.h.rep.fail("S2 no member breaks a SoD rule without an exception", "%s at revision %d: %s holds %v of rule %s (audit since revision %d: %s)", c.ws, s.rev, m.UserID, held, r.ID, c.prevRev(), c.auditOf(s, "member:"+m.UserID))
		}
	}
}

// permanent reports whether member m holds a role that never expires, of
// its own or through a department, or is of the default role's kind: a
// member whose every role expires falls back to the default role (M4),
// so M2 and M6 hold after every expiry only then.
func (s *state) permanent(m *admin.Member) bool {
	for _, r := range s.d.Roles {
		if r.Default && r.Audience == m.Kind {
			return true
		}
	}
	for _, a := range m.Roles {
		if a.ExpiresAt.IsZero() {
			return true
		}
	}
	byID := map[string]*admin.Department{}
	for i := range s.d.Departments {
		byID[s.d.Departments[i].ID] = &s.d.Departments[i]
	}
	for _, id := range m.DepartmentIDs {
		for d, own := byID[id], true; d != nil; d, own = byID[d.ParentID], false {
			if own || d.IncludeSubdepartments {
				for _, a := range d.Roles {
					if a.ExpiresAt.IsZero() {
						return true
					}
				}
			}
			if d.ParentID == "" {
				break
			}
		}
	}
	return false
}

func (c *checker) prevRev() int64 {
	if c.prev == nil {
		return 0
	}
	return c.prev.rev
}

// auditOf lists the audit entries on target after the previous state
// checked, up to s: what a failure report needs to say how it came about.
func (c *checker) auditOf(s *state, target string) string {
	es, err := c.h.nodes[0].Store.Audit(c.h.ctx, c.ws, admin.AuditFilter{Limit: 100000})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range es {
		if e.Revision > c.prevRev()-20 && e.Revision <= s.rev && (e.Target == target || e.Revision > c.prevRev()) {
			fmt.Fprintf(&b, "\n\t\t%d %s %s by %s before=%s after=%s", e.Revision, e.Action, e.Target, e.Actor, e.Before, e.After)
		}
	}
	return b.String()
}
