package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// empty reports whether the write changed nothing.
func (v *view) empty() bool {
	return !v.wsDirty && len(v.rolesPut) == 0 && len(v.rolesDeleted) == 0 && len(v.newRevs) == 0 &&
		len(v.applies) == 0 && len(v.deptsPut) == 0 && len(v.deptsDeleted) == 0 &&
		len(v.objsPut) == 0 && len(v.objsDeleted) == 0 && len(v.keysPut) == 0 && len(v.keysDeleted) == 0 && len(v.members) == 0 && len(v.forced) == 0 && !v.aliasesPut && !v.gatewayPut && !v.sodPut && len(v.reviewsPut) == 0
}

// record appends an audit entry for this write (X4). before and after are
// the target's states, marshalled as JSON; nil marks absence.
func (v *view) record(action, target string, before, after any) {
	v.audit = append(v.audit, AuditEntry{Time: v.now, Actor: v.actor.AuditName(), ActorName: v.actorName(), Action: action, Target: target,
		Before: marshal(before), After: marshal(after), Reason: v.reason})
	v.target(target)
}

// actorName is the acting member's name before the write, for the audit
// log (X5): names change, the entry keeps the one the actor had.
func (v *view) actorName() string {
	if v.actor.UserID == "" {
		return ""
	}
	if m := v.baseMember(v.actor.UserID); m != nil {
		return m.Name
	}
	return ""
}

func marshal(x any) json.RawMessage {
	if x == nil {
		return nil
	}
	b, err := json.Marshal(x)
	if err != nil {
		panic("admin: audit value does not marshal: " + err.Error())
	}
	if string(b) == "null" {
		return nil
	}
	return b
}

// finish checks the write as a whole and turns it into a Commit:
//   - the members it may have changed get their epochs bumped, exactly
//     those whose effective levels, departments or kind changed (A1);
//   - no member's effective levels break C4 (a role edit can take away
//     what a member's direct grant relied on);
//   - the actor escalates on no path (X3a: see escalation.go);
//   - no member comes to hold a conflicting combination of a
//     separation-of-duties rule without an exception (S2: see sod.go);
//   - a raised delete or export level carries a reason (X4).
func (v *view) finish() (*Commit, error) {
	rev := v.ws.Revision + 1
	v.unfollowIfNeeded()
	// M9 with M2/M4: members whose roles through departments changed are
	// suspects; any touched member left with no role at all gets the
	// default one.
	deptSuspects := v.deptSuspects()
	v.addressedMembers = append(v.addressedMembers, deptSuspects...)
	if v.anyDeptRoles() {
		touched := append(slices.Clone(deptSuspects), slices.Collect(maps.Keys(v.dirty))...)
		slices.Sort(touched)
		for _, u := range slices.Compact(touched) {
			if err := v.fallBackToDefault(u); err != nil {
				return nil, err
			}
		}
	}
	if err := v.checkAudited(); err != nil {
		return nil, err
	}
	if err := v.checkEscalation(); err != nil {
		return nil, err
	}
	var actorLevels policy.Vector // nil: not limited by X3a
	if !v.auth.unlimited {
		actorLevels = v.auth.levels
	}
	if err := v.checkRoleRaises(actorLevels); err != nil {
		return nil, err
	}
	suspects := make([]string, 0, len(v.members))
	for u := range v.members {
		suspects = append(suspects, u)
	}
	for u := range v.forced {
		if _, ok := v.members[u]; !ok {
			suspects = append(suspects, u)
		}
	}
	for _, u := range deptSuspects {
		if _, ok := v.members[u]; !ok && !v.forced[u] {
			suspects = append(suspects, u)
		}
	}
	if v.allSuspect {
		for u := range v.base.memberIDs() {
			if _, ok := v.members[u]; !ok && !v.forced[u] {
				suspects = append(suspects, u)
			}
		}
	}
	slices.Sort(suspects)
	suspects = slices.Compact(suspects)
	var bumped []string
	var escalations []string
	for _, u := range suspects {
		m := v.member(u)
		old := v.baseMember(u)
		if m == nil || old == nil {
			continue
		}
		var changed bool
		if v.onlyRevisionsMoved(u, old, m) {
			var esc []string
			changed, esc = v.revisionChange(old, m, actorLevels)
			escalations = append(escalations, esc...)
		} else {
			oldEff, newEff := v.baseEffective(old), v.effective(m)
			if len(m.Grants) > 0 && (v.dirty[u] || v.applied[u] || slices.Contains(deptSuspects, u)) {
				if err := v.checkMemberC4(m); err != nil {
					return nil, err
				}
				if !v.actor.System {
					if err := v.checkFutureC4(m); err != nil {
						return nil, err
					}
				}
			}
			// What a member holds changes with its own roles, its
			// departments (M9) and its kind (M6): each can leave it with
			// only roles that expire.
			holdsChanged := !slices.Equal(old.Roles, m.Roles) || !slices.Equal(old.DepartmentIDs, m.DepartmentIDs) || old.Kind != m.Kind
			if (v.dirty[u] && holdsChanged || slices.Contains(deptSuspects, u)) && !v.actor.System {
				if err := v.checkNotAllExpiring(m); err != nil {
					return nil, err
				}
			}
			if actorLevels != nil {
				escalations = append(escalations, raisedAbove(v.base.cat, oldEff, v.cat, newEff, v.base.cat, actorLevels)...)
				if len(old.When) > 0 {
					escalations = append(escalations, condLifted(old.When, v.cat, v.cat.Resolve(m.Grants, m.Kind), m.When, v.base.cat, actorLevels)...)
				}
				escalations = append(escalations, v.extendedAbove(old, m, actorLevels)...)
				escalations = append(escalations, v.raisedLater(old, m, actorLevels)...)
			}
			changed = !sameLevels(v.base.cat, oldEff, v.cat, newEff) || droppedExpired(old, m, v.now) || v.pendingExpiryChanged(old, m)
		}
		if changed || v.forced[u] || !slices.Equal(old.DepartmentIDs, m.DepartmentIDs) || old.Kind != m.Kind {
			// Only the epoch changes: the rest may be shared with m, which
			// no write changes in place (every change starts from a clone).
			c := *m
			c.Epoch = old.Epoch + 1
			if _, over := v.members[u]; !over {
				v.applied[u] = true // written by BumpEpochs alone
			}
			v.members[u] = &c
			bumped = append(bumped, u)
		}
	}
	bumped, escalations = v.followersMoved(actorLevels, bumped, escalations)
	for u, m := range v.members { // new members: X3 against nothing
		if m != nil && v.baseMember(u) == nil && actorLevels != nil {
			escalations = append(escalations, raisedAbove(v.cat, make(policy.Vector, v.cat.NumPermissions()), v.cat, v.effective(m), v.base.cat, actorLevels)...)
			escalations = append(escalations, v.raisedLater(nil, m, actorLevels)...)
		}
	}
	if err := escalationError(escalations); err != nil {
		return nil, err
	}
	if err := v.checkDirectRaises(); err != nil {
		return nil, err
	}
	if err := v.checkSoD(suspects); err != nil { // suspects holds the new members too
		return nil, err
	}
	slices.Sort(bumped) // followersMoved appended its bumps after the others
	v.epochs = bumped

	c := &Commit{Workspace: v.ws.ID, Base: v.ws.Revision, Revision: rev, Time: v.now}
	v.ws.Revision, v.ws.UpdatedAt = rev, v.now
	c.Ops = v.ops(bumped)
	head := v.base.audit
	for i := range v.audit {
		e := &v.audit[i]
		e.Seq, e.Revision, e.PrevHash = head.Seq+1, rev, head.Hash
		seal(e, v.auditKey)
		head = AuditHead{Seq: e.Seq, Hash: e.Hash}
	}
	c.Audit, c.AuditHead = v.audit, head
	c.Change = Change{Revision: rev, Time: v.now, Action: v.action, Targets: v.targets, Epochs: bumped}
	return c, nil
}

// checkAudited refuses a write that would commit a revision without an
// audit entry (X4: every committed write is audited). Reaching it is a
// bug in admin, not in the request: the operation changed state without
// recording it, and nothing is written.
func (v *view) checkAudited() error {
	if len(v.audit) > 0 {
		return nil
	}
	return fmt.Errorf("admin: %s would commit workspace %s revision %d without an audit entry (X4); nothing was written",
		v.action, v.ws.ID, v.ws.Revision+1)
}

// ops lists the store writes of this view, in an order that keeps foreign
// keys satisfied: rows that others point to first, deletions last.
func (v *view) ops(bumped []string) []Op {
	var ops []Op
	ops = append(ops, PutWorkspace{Workspace: v.ws})
	for _, id := range unique(v.objsPut) {
		if o, ok := v.objects[id]; ok {
			ops = append(ops, PutObject{Object: o})
		}
	}
	for _, id := range unique(v.rolesPut) {
		if r, ok := v.roles[id]; ok {
			ops = append(ops, PutRole{Role: *r})
		}
	}
	for _, rv := range v.newRevs {
		if _, ok := v.roles[rv.RoleID]; ok {
			ops = append(ops, PutRoleRevision{Revision: rv})
		}
	}
	for _, a := range v.applies {
		if _, ok := v.roles[a.RoleID]; ok {
			ops = append(ops, a)
		}
	}
	// Departments after the role revisions their roles may hold (M9),
	// before the members that may join them.
	for _, id := range unique(v.deptsPut) {
		if d, ok := v.depts[id]; ok {
			ops = append(ops, PutDepartment{Department: *d})
		}
	}
	users := make([]string, 0, len(v.members))
	for u := range v.members {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		m, old := v.members[u], v.baseMember(u)
		switch {
		case m == nil:
			if old != nil {
				ops = append(ops, DeleteMember{UserID: u})
			}
		case v.dirty[u]:
			put := *m
			if old != nil {
				put.Epoch = old.Epoch // BumpEpochs below adds the bump
			}
			ops = append(ops, PutMember{Member: put, Created: old == nil})
			ops = append(ops, assignmentOps(u, old, m)...)
		}
	}
	if len(bumped) > 0 {
		ops = append(ops, BumpEpochs{UserIDs: bumped})
	}
	for _, id := range unique(v.rolesDeleted) {
		if _, ok := v.roles[id]; !ok {
			ops = append(ops, DeleteRole{RoleID: id})
		}
	}
	for _, id := range unique(v.deptsDeleted) {
		if _, ok := v.depts[id]; !ok {
			ops = append(ops, DeleteDepartment{ID: id})
		}
	}
	for _, id := range unique(v.objsDeleted) {
		if _, ok := v.objects[id]; !ok {
			ops = append(ops, DeleteObject{ID: id})
		}
	}
	for _, id := range unique(v.keysPut) {
		if k, ok := v.keys[id]; ok {
			ops = append(ops, PutKey{Key: *k})
		}
	}
	for _, id := range unique(v.keysDeleted) {
		if _, ok := v.keys[id]; !ok {
			ops = append(ops, DeleteKey{ID: id})
		}
	}
	if v.aliasesPut {
		ops = append(ops, PutAliases{Aliases: v.aliases})
	}
	if v.gatewayPut {
		ops = append(ops, PutGatewayRoutes{Routes: v.gateway})
	}
	if v.sodPut {
		ops = append(ops, PutSoDRules{Rules: v.sod})
	}
	ops = append(ops, v.reviewOps()...)
	return ops
}

// assignmentOps turns the difference between two states of a member's
// assignments into writes.
func assignmentOps(u string, old, m *Member) []Op {
	var ops []Op
	if old != nil {
		for _, a := range old.Roles {
			if !m.holds(a.RoleID) {
				ops = append(ops, DeleteAssignment{UserID: u, RoleID: a.RoleID})
			}
		}
	}
	for _, a := range m.Roles {
		if old != nil {
			if i, ok := old.assignment(a.RoleID); ok && old.Roles[i] == a {
				continue
			}
		}
		ops = append(ops, PutAssignment{UserID: u, Assignment: a})
	}
	return ops
}

func unique(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// HashAuditEntry returns the legacy, unkeyed hash an audit entry's Hash
// holds when its KeyID is empty (X4): for tools that write audit rows
// themselves, such as bulk seeders.
func HashAuditEntry(e *AuditEntry) string { return hashEntry(e) }

// hashEntry is the legacy, unkeyed hash of an entry: the SHA-256 of its
// fields and its predecessor's hash, each length-prefixed so that no two
// entries encode alike. Anyone can recompute it; entries are keyed (see
// auditkeys.go) whenever the Service has an audit key.
func hashEntry(e *AuditEntry) string {
	h := sha256.New()
	writeEntry(h, e)
	if e.ActorName != "" {
		// Entries written before X5 recorded names have none, and keep
		// the hash they were written with.
		h.Write([]byte("name" + strconv.Itoa(len(e.ActorName)) + ":" + e.ActorName))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// merge applies a committed view to its model, but for its members, which
// the model takes with its next snapshot (Service.advance, with
// v.members). The caller holds the space's locks.
func (v *view) merge() {
	m := v.base
	m.ws, m.roles, m.revs, m.depts, m.objects, m.keys, m.aliases, m.gateway, m.sod = v.ws, v.roles, v.revs, v.depts, v.objects, v.keys, v.aliases, v.gateway, v.sod
	m.deptRoleCount = v.deptRoleCount
	m.follow = v.follow // with the snapshot advance gives it next
	if m.cat != v.cat {
		m.cat = v.cat
		clear(m.vecs)
	}
	for _, id := range v.rolesDeleted {
		if _, ok := m.roles[id]; !ok {
			delete(m.roleMembers, id)
			delete(m.roleCount, id)
			for ref := range m.vecs {
				if ref.RoleID == id {
					delete(m.vecs, ref)
				}
			}
		}
	}
	for u, mb := range v.members {
		m.rehold(u, v.baseMember(u), mb)
		m.noteExpiry(u, mb)
	}
	if v.reviews != nil {
		m.reviews = v.reviews
	}
	if n := len(v.audit); n > 0 {
		m.audit = AuditHead{Seq: v.audit[n-1].Seq, Hash: v.audit[n-1].Hash}
	}
}

// pruneRevisions drops from memory the role revisions that are neither a
// role's newest nor held by a member; the store keeps them (R6a). It reads
// the members of the model's snapshot: it runs once the snapshot holds a
// change's members (advance).
func (m *model) pruneRevisions() {
	if len(m.revs) <= 2*len(m.roles)+16 {
		return
	}
	held := map[policy.RoleRef]bool{}
	for _, mb := range m.allMembers() {
		for _, a := range mb.Roles {
			held[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}] = true
		}
	}
	for _, d := range m.depts {
		for _, a := range d.Roles {
			held[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}] = true
		}
	}
	for ref := range m.revs {
		if r := m.roles[ref.RoleID]; r == nil || (r.Revision != ref.Revision && !held[ref]) {
			delete(m.revs, ref)
			delete(m.vecs, ref)
		}
	}
}

// followersMoved is finish's A1 and X3a for the followers an apply moved
// by moving follow (view.followers): the snapshot says, once per
// combination of roles, which of them change levels and how; they are
// bumped (followerEpochs), and a raise above a limited actor's own level
// is an escalation, as revisionChange finds for the other holders.
func (v *view) followersMoved(actor policy.Vector, bumped, escalations []string) ([]string, []string) {
	if len(v.moved) == 0 {
		return bumped, escalations
	}
	mv := v.followMoves[0]
	perms := v.revisionDiff(mv.RoleID, mv.From, mv.To)
	to := v.vector(v.cat, v.roles[mv.RoleID], v.roleRevision(mv.RoleID, mv.To))
	seen := map[string]bool{}
	last := ""
	v.base.snap.MoveChanges(policy.RoleRef{RoleID: mv.RoleID, Revision: mv.From}, to, perms, func(u string, p policy.PermID, lo, ln policy.Level) {
		epoch, ok := v.moved[u]
		if _, over := v.members[u]; !ok || over {
			return // not moved by follow, or changed since: compared with the others
		}
		if u != last {
			last = u
			id := strings.Clone(u) // u is a slice of a page of the snapshot's ids
			v.followerEpochs = append(v.followerEpochs, policy.MemberEpoch{UserID: id, Epoch: epoch + 1})
			bumped = append(bumped, id)
		}
		if actor != nil && ln > lo && ln > actor[p] && v.cat.Permission(p).Module.Kind != policy.Relation {
			if e := fmt.Sprintf("%s: %s (yours: %s)", v.cat.Permission(p).Key, ln, actor[p]); !seen[e] {
				seen[e] = true
				escalations = append(escalations, e)
			}
		}
	})
	return bumped, escalations
}

// unfollowIfNeeded puts the followers an apply moved by moving follow
// back among the members compared one by one, when the write went on to
// do what that way does not cover (view.followers): a catalog change (a
// smart object's grants removed from the role), department roles, a
// separation-of-duties rule over permissions. Their records read with the
// write's follows, so each is the member as the write left it.
func (v *view) unfollowIfNeeded() {
	if len(v.moved) == 0 || (v.cat == v.base.cat && !v.anyDeptRoles() && !v.allSuspect && !v.sodOverPermissions()) {
		return
	}
	for u := range v.moved {
		if _, over := v.members[u]; over {
			continue
		}
		if m := v.member(u); m != nil {
			c := *m
			v.members[c.UserID] = &c
			v.applied[c.UserID] = true
		}
	}
	v.moved = nil
}
