package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Expiring access (T1–T3).
//
// An assignment or a direct grant may carry an instant from which it is no
// longer honoured. The policy core knows no clock: the model holds every
// stored assignment and grant, and whatever admin compiles or compares
// (snapshots, effective levels, an actor's authority) is built from the
// members as they are live at the service's clock (Member.live). So an
// expired entry stops counting at once in this process, whether or not its
// removal has been committed yet.
//
// Each node arms one timer per workspace for the earliest instant its
// model holds (Service.arm). When it fires the node first republishes the
// workspace's snapshot compiled at that instant, from memory alone, so it
// stops honouring the entry even when the database is out of reach; then
// it commits the expiry (ExpireDue) as a change by "system": an audit
// entry, an epoch move and an event, and M4's default role for a member
// left with none. The commit is the ordinary compare-and-set of every
// write, so when several nodes race to commit one expiry exactly one
// wins; the others reload, find nothing left to expire and write nothing.
// A failed commit is retried every expiryRetry. After a restart or an
// outage the loaded model still holds the expired rows: they are not
// honoured (live) and the timer, armed in the past, fires at once.

// expiryRetry is how long a node waits to commit an expiry again after
// its last attempt failed (the database unreachable, say).
const expiryRetry = time.Second

// expiryCommitTimeout bounds one attempt to commit expiries.
const expiryCommitTimeout = 10 * time.Second

// expired reports whether an expiry instant has passed at now: an
// instant is honoured strictly before it, never at or after it (T1).
func expired(at, now time.Time) bool { return !at.IsZero() && !now.Before(at) }

// live returns the member as it holds at now: without the assignments and
// direct grants that have expired. It returns m itself when nothing has.
func (m *Member) live(now time.Time) *Member {
	if m == nil || !m.hasExpiredAt(now) {
		return m
	}
	c := m.clone()
	c.Roles = slices.DeleteFunc(c.Roles, func(a Assignment) bool { return expired(a.ExpiresAt, now) })
	for k, at := range c.GrantExpiry {
		if expired(at, now) {
			delete(c.Grants, k)
			delete(c.When, k)
			delete(c.GrantExpiry, k)
		}
	}
	if len(c.Grants) == 0 {
		c.Grants, c.When = nil, nil
	}
	if len(c.GrantExpiry) == 0 {
		c.GrantExpiry = nil
	}
	return c
}

// droppedExpired reports whether a write takes from old an entry that
// had expired but whose expiry was not committed yet. Live levels do not
// change (the entry no longer counted), yet the expiry that would have
// moved the epoch (T2, A1) now never will: the write moves it instead,
// or a session issued while the entry counted would stay current.
func droppedExpired(old, m *Member, now time.Time) bool {
	if !old.hasExpiredAt(now) {
		return false
	}
	for _, a := range old.Roles {
		if expired(a.ExpiresAt, now) && !slices.ContainsFunc(m.Roles, func(b Assignment) bool { return b.RoleID == a.RoleID && b.ExpiresAt.Equal(a.ExpiresAt) }) {
			return true
		}
	}
	for k, at := range old.GrantExpiry {
		if expired(at, now) && !m.GrantExpiry[k].Equal(at) {
			return true
		}
	}
	return false
}

// pendingExpiryChanged reports whether a write changes what a member
// holds through an entry that has expired but whose expiry is not
// committed yet: its own assignment or direct grant, or a role of one of
// its departments. Live levels ignore such an entry, yet the stored state
// still grants it until the expiry commits; a write that moves its role
// to another revision changes what the stored state grants, and moves the
// epoch like any other change of levels (A1). The levels are compared
// with nothing expired, and only when something has.
func (v *view) pendingExpiryChanged(old, m *Member) bool {
	if !old.hasExpiredAt(v.now) && !m.hasExpiredAt(v.now) && !v.deptRoleExpired() {
		return false
	}
	var never time.Time // before every instant: nothing has expired
	a := effectiveAt(v, v.base, v.base.cat, v.base.roles, v.base.revs, v.base.depts, old, never)
	b := effectiveAt(v, v.base, v.cat, v.roles, v.revs, v.depts, m, never)
	return !sameLevels(v.base.cat, a, v.cat, b)
}

// deptRoleExpired reports whether some department role, before or after
// the write, has expired at the write's instant.
func (v *view) deptRoleExpired() bool {
	if v.base.deptRoleCount == 0 && v.deptRoleCount == 0 {
		return false
	}
	for _, depts := range []map[string]*Department{v.base.depts, v.depts} {
		for _, d := range depts {
			for _, a := range d.Roles {
				if expired(a.ExpiresAt, v.now) {
					return true
				}
			}
		}
	}
	return false
}

func (m *Member) hasExpiredAt(now time.Time) bool {
	next := m.nextExpiry()
	return !next.IsZero() && !now.Before(next)
}

// nextExpiry returns the earliest expiry instant the member holds, or the
// zero time.
func (m *Member) nextExpiry() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, a := range m.Roles {
		earlier(a.ExpiresAt)
	}
	for _, t := range m.GrantExpiry {
		earlier(t)
	}
	return next
}

// nextExpiry returns the earliest expiry instant of the workspace, or the
// zero time.
func (m *model) nextExpiry() time.Time {
	var next time.Time
	for _, t := range m.expiring {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if m.deptRoleCount > 0 {
		for _, d := range m.depts {
			for _, a := range d.Roles {
				if t := a.ExpiresAt; !t.IsZero() && (next.IsZero() || t.Before(next)) {
					next = t
				}
			}
		}
	}
	return next
}

// noteExpiry keeps model.expiring in step with one member's new state.
func (m *model) noteExpiry(u string, mb *Member) {
	if mb == nil {
		delete(m.expiring, u)
		return
	}
	if t := mb.nextExpiry(); !t.IsZero() {
		m.expiring[u] = t
	} else {
		delete(m.expiring, u)
	}
}

// checkExpiry validates an expiry instant given by a request: in the
// future (T1), and returned in UTC at the precision the stores keep.
func (v *view) checkExpiry(what string, at time.Time) (time.Time, error) {
	if at.IsZero() {
		return time.Time{}, nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	if !at.After(v.now) {
		return time.Time{}, &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("expires_at of %s must be in the future, got %s", what, at.Format(time.RFC3339)),
			Details: map[string]any{"field": "expires_at", "expires_at": at.Format(time.RFC3339Nano)}}
	}
	if at.Year() > 9999 {
		return time.Time{}, policy.Errorf(policy.CodeInvalidArgument, "expires_at of %s is too far in the future", what)
	}
	return at, nil
}

// checkNotAllExpiring keeps M2 and M6 true at every future instant: a
// member whose every role expires falls back to the default role (M4), so
// a member whose kind the default role is not for needs a role that does
// not expire.
func (v *view) checkNotAllExpiring(m *Member) error {
	def := v.defaultRole()
	if def.Audience == m.Kind || v.hasPermanentRole(m) {
		return nil
	}
	return &policy.Error{Code: policy.CodeLastRole,
		Message: fmt.Sprintf("every role of %s would expire, and the default role %q is not for %s members; keep one %s role without an expiry", m.UserID, def.Name, m.Kind, m.Kind),
		Details: map[string]any{"user_id": m.UserID, "role_id": def.ID}}
}

// hasPermanentRole reports whether m holds a role that does not expire,
// of its own or through a department.
func (v *view) hasPermanentRole(m *Member) bool {
	for _, a := range m.live(v.now).Roles {
		if a.ExpiresAt.IsZero() {
			return true
		}
	}
	if v.deptRoleCount == 0 {
		return false
	}
	for _, h := range deptHeld(v.depts, v.roles, m, v.now) {
		if h.ExpiresAt.IsZero() {
			return true
		}
	}
	return false
}

// checkFutureC4 holds C4 at every instant an entry of m expires: a direct
// grant may not outlive the level it depends on (an edit grant until
// December on a view that ends in June is refused now, not broken then).
func (v *view) checkFutureC4(m *Member) error {
	if len(m.Grants) == 0 {
		return nil
	}
	var instants []time.Time
	for _, a := range m.Roles {
		if !a.ExpiresAt.IsZero() {
			instants = append(instants, a.ExpiresAt)
		}
	}
	for _, t := range m.GrantExpiry {
		instants = append(instants, t)
	}
	if v.deptRoleCount > 0 {
		for _, h := range deptHeld(v.depts, v.roles, m, v.now) {
			if !h.ExpiresAt.IsZero() {
				instants = append(instants, h.ExpiresAt)
			}
		}
	}
	slices.SortFunc(instants, func(a, b time.Time) int { return a.Compare(b) })
	instants = slices.Compact(instants)
	for _, t := range instants {
		at := m.live(t)
		if len(at.Grants) == 0 {
			continue
		}
		if err := v.checkMemberC4At(at, t); err != nil {
			var pe *policy.Error
			if errors.As(err, &pe) {
				return &policy.Error{Code: pe.Code, Message: fmt.Sprintf("from %s, when access of %s expires: %s", t.Format(time.RFC3339), m.UserID, pe.Message),
					Details: withDetail(pe.Details, "at", t.Format(time.RFC3339Nano))}
			}
			return err
		}
	}
	return nil
}

// extendedAbove is X3a.1 for expiry (T3): extending or removing an expiry,
// like assigning anew, grants what the entry gives for longer. It lists
// the levels of every assignment and direct grant whose expiry the write
// moves later (or removes) that are above the actor's own.
func (v *view) extendedAbove(old, m *Member, actor policy.Vector) []string {
	if old == nil || actor == nil {
		return nil
	}
	later := func(o, n time.Time) bool { // n outlives o
		return !o.IsZero() && (n.IsZero() || n.After(o))
	}
	var out []string
	check := func(vec policy.Vector, what string) {
		for _, p := range v.cat.Permissions() {
			if mine := levelOf(v.base.cat, actor, p.Key); vec[p.ID] > mine {
				out = append(out, fmt.Sprintf("%s: %s for longer through %s (yours: %s)", p.Key, vec[p.ID], what, mine))
			}
		}
	}
	for _, a := range m.Roles {
		i, ok := old.assignment(a.RoleID)
		if !ok || !later(old.Roles[i].ExpiresAt, a.ExpiresAt) {
			continue
		}
		r, rv := v.roles[a.RoleID], v.roleRevision(a.RoleID, a.Revision)
		if r == nil || rv == nil {
			continue
		}
		check(v.vector(v.cat, r, rv), "role "+r.Name)
	}
	for k, l := range m.Grants {
		ol, had := old.Grants[k]
		if !had || ol > l || !later(old.GrantExpiry[k], m.GrantExpiry[k]) {
			continue
		}
		check(v.cat.Resolve(policy.Grants{k: l}, m.Kind), "direct grant "+k)
	}
	return out
}

// ExpireDue commits, as one change by "system" (T2), every assignment and
// direct grant of the workspace whose expiry has passed: they are removed,
// their members' epochs move (A1), and a member left without a role gets
// the default role (M4). It returns the new revision, or the current one
// when nothing was due (and nothing is written). Nodes racing to commit
// one expiry commit it once: see update's compare-and-set.
func (s *Service) ExpireDue(ctx context.Context, ws string) (int64, error) {
	v, err := s.update(ctx, ws, Write{Actor: SystemActor}, "member.expire", func(v *view) error {
		users := make([]string, 0)
		for u, t := range v.base.expiring {
			if expired(t, v.now) {
				users = append(users, u)
			}
		}
		slices.Sort(users)
		for _, u := range users {
			if err := v.expireMember(u); err != nil {
				return err
			}
		}
		if v.base.deptRoleCount > 0 {
			for _, id := range slices.Sorted(maps.Keys(v.depts)) {
				v.expireDepartment(id)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// expireMember removes a member's expired entries.
func (v *view) expireMember(u string) error {
	old := v.member(u)
	if old == nil {
		return nil
	}
	m := old.live(v.now)
	if m == old {
		return nil
	}
	m = m.clone()
	var roles []string
	for _, a := range old.Roles {
		if expired(a.ExpiresAt, v.now) {
			roles = append(roles, a.RoleID)
		}
	}
	var grants []string
	for k, t := range old.GrantExpiry {
		if expired(t, v.now) {
			grants = append(grants, k)
		}
	}
	slices.Sort(grants)
	if def := v.defaultRole(); len(m.Roles) == 0 && def.Audience == m.Kind { // M4; never another audience's (M6)
		m.addAssignment(Assignment{RoleID: def.ID, Revision: def.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName()})
	}
	dropped := v.dropBrokenGrants(m)
	v.addressedMembers = append(v.addressedMembers, u)
	v.putMember(m)
	v.forced[u] = true // access ended: the epoch moves even if levels did not (A1, T2)
	after := map[string]any{"expired_roles": roles, "expired_grants": grants, "roles": assignmentsJSON(m)["roles"], "grants": m.Grants}
	if len(dropped) > 0 {
		after["dropped_grants"] = unique(dropped)
	}
	v.record("member.expire", "member:"+u, map[string]any{"roles": assignmentsJSON(old)["roles"], "grants": old.Grants}, after)
	return nil
}

// expireDepartment removes a department's expired roles (M9, T2); the
// members they reached are compared by finish (deptSuspects) and the
// epochs of those whose levels fall move.
func (v *view) expireDepartment(id string) {
	old := v.depts[id]
	var gone []string
	for _, a := range old.Roles {
		if expired(a.ExpiresAt, v.now) {
			gone = append(gone, a.RoleID)
		}
	}
	if len(gone) == 0 {
		return
	}
	d := *old
	d.Roles = slices.DeleteFunc(slices.Clone(old.Roles), func(a Assignment) bool { return expired(a.ExpiresAt, v.now) })
	if len(d.Roles) == 0 {
		d.Roles = nil
	}
	v.deptRolesExpired = true
	// Whoever held an expired role through the department loses access:
	// its epoch moves whatever its levels (T2).
	v.putDept(&d)
	for u, m := range v.base.allMembers() {
		if !reaches(v.base.depts, old, m) {
			continue
		}
		v.forced[u] = true
		if cur := v.member(u); len(cur.Grants) > 0 {
			c := cur.clone()
			if dropped := v.dropBrokenGrants(c); len(dropped) > 0 {
				v.putMember(c)
				v.record("member.expire", "member:"+u, map[string]any{"roles": assignmentsJSON(cur)["roles"], "grants": cur.Grants},
					map[string]any{"roles": assignmentsJSON(c)["roles"], "grants": c.Grants, "dropped_grants": dropped})
			}
		}
	}
	after := deptRolesJSON(&d)
	after["expired_roles"] = gone
	v.record("department.expire", "department:"+id, deptRolesJSON(old), after)
}

// dropBrokenGrants removes from m (a fresh value) the direct grants that
// break C4 once access has expired: a role edit made after a grant was
// given may have left it depending on what just expired. Such a grant
// goes too, named in the audit entry, rather than the expiry being stuck.
func (v *view) dropBrokenGrants(m *Member) []string {
	var dropped []string
	for range 8 {
		if len(m.Grants) == 0 {
			break
		}
		err := v.checkMemberC4(m)
		var pe *policy.Error
		if err == nil || !errors.As(err, &pe) {
			break
		}
		vs, _ := pe.Details["violations"].([]policy.Violation)
		if len(vs) == 0 {
			break
		}
		for _, x := range vs {
			if _, ok := m.Grants[x.Permission]; ok {
				delete(m.Grants, x.Permission)
				delete(m.When, x.Permission)
				delete(m.GrantExpiry, x.Permission)
				dropped = append(dropped, x.Permission)
			}
		}
	}
	if len(m.Grants) == 0 {
		m.Grants, m.When = nil, nil
	}
	if len(m.GrantExpiry) == 0 {
		m.GrantExpiry = nil
	}
	return unique(dropped)
}

// arm sets the workspace's expiry timer for the earliest instant its
// model holds, or stops it when none. The caller holds sp.write.
func (s *Service) arm(sp *space) {
	if !s.timers {
		return
	}
	next := sp.m.nextExpiry()
	sp.timerMu.Lock()
	defer sp.timerMu.Unlock()
	if sp.closed {
		return
	}
	if next.IsZero() {
		if sp.timer != nil {
			sp.timer.Stop()
		}
		sp.timerAt = time.Time{}
		return
	}
	if sp.timer != nil && sp.timerAt.Equal(next) {
		return
	}
	d := next.Sub(s.now())
	if sp.timer == nil {
		ws := sp.m.ws.ID
		sp.timer = time.AfterFunc(max(d, 0), func() { s.onExpiry(ws, sp) })
	} else {
		sp.timer.Reset(max(d, 0))
	}
	sp.timerAt = next
}

// onExpiry runs when a workspace's earliest expiry instant comes: the
// snapshot stops honouring what expired at once, from memory (T1), then
// the expiry is committed (T2), retried while that fails.
func (s *Service) onExpiry(ws string, sp *space) {
	s.mask(sp)
	ctx, cancel := context.WithTimeout(context.Background(), expiryCommitTimeout)
	defer cancel()
	if _, err := s.ExpireDue(ctx, ws); err != nil {
		s.log.Warn("committing expired access failed; the snapshot no longer honours it; retrying", "workspace", ws, "err", err)
		sp.timerMu.Lock()
		if !sp.closed && sp.timer != nil {
			sp.timer.Reset(expiryRetry)
		}
		sp.timerMu.Unlock()
	}
}

// mask republishes a workspace's snapshot compiled at the service's clock
// from the loaded model, without the store: entries that have expired
// leave it though their removal is not committed yet. The model keeps its
// own snapshot, which a write reads without the locks mask takes: until
// the expiry is committed, the workspace has two. The next write's
// snapshot is compiled, not updated from the model's (see advance), so it
// does not bring back what expired.
func (s *Service) mask(sp *space) {
	if s.pub == nil {
		return
	}
	sp.pubMu.Lock()
	defer sp.pubMu.Unlock()
	sp.mu.RLock()
	m := sp.m
	var st policy.State
	if m != nil {
		st = m.state(m.withMembers(nil), m.snap.NumMembers())
	}
	sp.mu.RUnlock()
	if m == nil {
		return
	}
	snap, err := policy.Compile(st)
	if err != nil {
		s.log.Error("compile snapshot without expired access", "workspace", m.ws.ID, "err", err)
		return
	}
	s.pub.Publish(snap)
}

// Close stops the service's expiry timers. Calls in progress finish.
func (s *Service) Close() {
	s.mu.Lock()
	spaces := slices.Collect(maps.Values(s.spaces))
	s.mu.Unlock()
	for _, sp := range spaces {
		sp.timerMu.Lock()
		sp.closed = true
		if sp.timer != nil {
			sp.timer.Stop()
		}
		sp.timerMu.Unlock()
	}
}
