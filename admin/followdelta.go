package admin

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// A follower applies other nodes' commits as deltas when it can, and
// reloads the workspace when it cannot (followDelta).
//
// The rule: the changelog rows between the loaded revision and the
// stored one are read, in one read transaction, with the workspace row
// (so at one revision, with nothing committed in between), and the
// delta path is taken only when they are contiguous, at most
// maxDeltaChanges, and each is a write whose every effect is on member
// rows, assignments, roles and role revisions (deltaActions) and names
// only members and roles ("member:u", "role:r" targets). In the same
// transaction are then re-read: every member a change names or whose
// epoch it moved (Change.Epochs), every member holding a role a change
// names — which covers "save and apply" (ApplyRole), whose moved members
// are in neither list —, the named roles at their newest revisions, and
// every revision the members read hold. A member named and no longer
// stored was removed.
//
// Everything else — departments (their moves reach members through M9
// and record scopes), smart objects and the catalog (C9), keys, aliases,
// gateway routes, SoD rules, reviews, the workspace's own row changes,
// deleted roles, department expiries — falls back to today's full
// reload, as does a role whose name, audience or predefined flag changed
// (the model is patched, the snapshot compiled afresh), a named role's
// former holder that the read did not return, or any read error:
// correctness first.

// maxDeltaChanges is how many commits behind a follower may be and still
// apply them as one delta; further behind, a reload is as cheap.
const maxDeltaChanges = 64

// deltaActions are the write actions whose effects are all on member
// rows, assignments, roles and role revisions, each named by a target or
// an epoch of the changelog row (see the rule above).
var deltaActions = map[string]bool{
	"member.upsert": true, "member.import": true, "member.roles": true, "member.remove": true,
	"member.grants": true, "member.expire": true, "role.members.add": true, "role.members.remove": true,
	"role.create": true, "role.update": true, "role.duplicate": true, "role.restore": true,
}

// PartPicker chooses, from a workspace's stored revision and the
// changelog rows after the follower's, the members and roles to re-read;
// ok false means the follower reloads instead.
type PartPicker func(revision int64, changes []Change) (users, roles []string, ok bool)

// PartReader is implemented by stores that can read part of a workspace
// at one revision (store/sqlite and store/postgres, through sqlstore).
// A follower over a store without it reloads.
type PartReader interface {
	// ReadPart reads, in one read transaction, the workspace row, its
	// audit head and at most limit+1 changelog rows after revision after,
	// passes the revision and the rows to pick, and, unless pick refuses
	// (then it returns nil), the members pick names, every member holding
	// a role pick names, those roles at their newest revisions and every
	// revision the members read hold. not_found if there is no such
	// workspace.
	ReadPart(ctx context.Context, ws string, after int64, limit int, pick PartPicker) (*Part, error)
}

// Part is what ReadPart read.
type Part struct {
	Workspace Workspace
	AuditHead AuditHead
	Changes   []Change
	Users     []string       // the members asked for, sorted
	RoleIDs   []string       // the roles asked for, sorted
	Roles     []Role         // the roles asked for that exist, newest revisions with grants
	Revisions []RoleRevision // the newest revisions of Roles and every revision Members hold
	Members   []Member       // the members asked for that exist and the roles' holders, by user id
}

// pickPart is the rule above as a PartPicker for a follower at revision
// after.
func pickPart(after int64) PartPicker {
	return func(rev int64, changes []Change) ([]string, []string, bool) {
		if rev <= after {
			return nil, nil, true // nothing new: an empty part
		}
		if int64(len(changes)) != rev-after || len(changes) > maxDeltaChanges {
			return nil, nil, false
		}
		users, roles := map[string]bool{}, map[string]bool{}
		for i, c := range changes {
			if c.Revision != after+int64(i)+1 || !deltaActions[c.Action] {
				return nil, nil, false
			}
			for _, t := range c.Targets {
				kind, id, _ := strings.Cut(t, ":")
				switch kind {
				case "member":
					users[id] = true
				case "role":
					roles[id] = true
				default:
					return nil, nil, false
				}
			}
			for _, u := range c.Epochs {
				users[u] = true
			}
		}
		return slices.Sorted(maps.Keys(users)), slices.Sorted(maps.Keys(roles)), true
	}
}

// followDelta brings a loaded space to the store's revision by a delta,
// and reports false, having changed nothing, when the rule above sends it
// to a reload. The caller holds sp.write.
func (s *Service) followDelta(ctx context.Context, sp *space, ws string) (bool, error) {
	pr, ok := s.store.(PartReader)
	if !ok || sp.m == nil {
		return false, nil
	}
	m := sp.m
	after := m.ws.Revision
	p, err := pr.ReadPart(ctx, ws, after, maxDeltaChanges, pickPart(after))
	if err != nil || p == nil {
		return false, err
	}
	if p.Workspace.Revision <= after {
		return true, nil
	}
	read := make(map[string]*Member, len(p.Members))
	for i := range p.Members {
		read[p.Members[i].UserID] = &p.Members[i]
	}
	// Whoever held a named role before and is not read now must have been
	// named itself (a removal, an unassignment); if not, the rule missed a
	// change: reload.
	named := make(map[string]bool, len(p.Users))
	for _, u := range p.Users {
		named[u] = true
	}
	for _, id := range p.RoleIDs {
		for u := range m.holders()[id] {
			if read[u] == nil && !named[u] {
				s.log.Warn("follow: a role's former holder is not named by the changelog; reloading", "workspace", ws, "role", id, "member", u)
				return false, nil
			}
		}
	}
	roles := maps.Clone(m.roles)
	compile := false
	for i := range p.Roles {
		r := &p.Roles[i]
		if old := roles[r.ID]; old != nil && (old.Name != r.Name || old.Audience != r.Audience || old.Predefined != r.Predefined) {
			compile = true // the snapshot names roles: see view.delta
		}
		roles[r.ID] = r
	}
	for _, id := range p.RoleIDs {
		if roles[id] == nil {
			return false, nil // deleted: Update does not remove roles
		}
	}
	revs := maps.Clone(m.revs)
	for i := range p.Revisions {
		rv := &p.Revisions[i]
		if roles[rv.RoleID] == nil {
			return false, nil // held but not loaded: should not happen, reload
		}
		revs[policy.RoleRef{RoleID: rv.RoleID, Revision: rv.Revision}] = rv
	}

	// The change as a delta of the snapshot, when Update covers it.
	changed := slices.Sorted(maps.Keys(read))
	var removed []string
	for _, u := range p.Users {
		if read[u] == nil && m.snap.HasMember(u) {
			removed = append(removed, u)
		}
	}
	sp.pubMu.Lock()
	defer sp.pubMu.Unlock()
	last := m.snap
	var d *policy.Delta
	if !compile && !last.Stale() && last.Revision() == after {
		d = &policy.Delta{Revision: p.Workspace.Revision, Removed: removed}
		for i := range p.Revisions { // the revisions the snapshot lacks
			rv := &p.Revisions[i]
			if _, held := last.RoleVector(policy.RoleRef{RoleID: rv.RoleID, Revision: rv.Revision}); !held {
				d.Roles = append(d.Roles, policyRole(roles[rv.RoleID], rv))
			}
		}
		c := memberCompiler{depts: m.depts, roles: roles, follow: m.follow, now: s.now(), withDepts: m.deptRoleCount > 0, refs: make([]policy.RoleRef, 0, 2*len(changed))}
		for _, u := range changed {
			d.Members = append(d.Members, c.member(read[u], ""))
		}
	}

	// Apply to the model: the bookkeeping of view.merge, then the
	// snapshot, which holds the members.
	over := make(map[string]*Member, len(removed)+len(changed))
	sp.mu.Lock()
	m.ws, m.audit, m.roles, m.revs = p.Workspace, p.AuditHead, roles, revs
	for _, id := range p.RoleIDs {
		for ref := range m.vecs {
			if ref.RoleID == id {
				delete(m.vecs, ref)
			}
		}
	}
	for _, u := range removed {
		m.rehold(u, m.member(u), nil)
		m.noteExpiry(u, nil)
		over[u] = nil
	}
	for _, u := range changed {
		mb := read[u]
		m.rehold(u, m.member(u), mb)
		m.noteExpiry(u, mb)
		over[u] = mb
	}
	err = m.advance(d, over, nil, s.log)
	sp.mu.Unlock()
	if err != nil {
		return false, err
	}
	s.publish(sp)
	return true, nil
}
