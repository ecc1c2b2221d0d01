package admin

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// view is one write in progress: a copy-on-write view of a model. Reads see
// the write's own changes; the model is untouched until the commit
// succeeds. The small maps are cloned; members, of which a workspace may
// have hundreds of thousands, are an overlay.
type view struct {
	base    *model
	now     time.Time
	actor   Actor
	auth    Authority // the actor's authority before the write (X3)
	ws      Workspace
	cat     *policy.Catalog
	roles   map[string]*Role
	revs    map[policy.RoleRef]*RoleRevision
	depts   map[string]*Department
	objects map[string]SmartObject
	keys    map[string]*APIKey
	aliases map[string]string
	gateway []policy.GatewayRoute
	sod     []SoDRule // replaced whole, never changed in place

	members map[string]*Member // overlay: nil marks a removed member
	dirty   map[string]bool    // members to write in full
	applied map[string]bool    // members moved only by ApplyRole
	// follow is the model's follows, replaced by an apply that moves the
	// holders of its role's common revision (see view.delta).
	follow follows
	// followMoves are the applies that moved follow: the role, from, to
	// (from 0: none followed the role before).
	followMoves []policy.RoleMove
	// moved are the members an apply moved by moving follow alone, with
	// their epochs: not in members, never decoded (see followers);
	// followerEpochs are the new epochs of those whose levels changed.
	moved          map[string]int64
	followerEpochs []policy.MemberEpoch
	// currents are members as this write sees them once follow moved,
	// decoded once each (see member).
	currents map[string]*Member

	wsDirty      bool
	rolesPut     []string
	rolesDeleted []string
	newRevs      []RoleRevision
	applies      []ApplyRole
	// revMoves are the revisions of a role its holders (members and
	// departments) were moved from and to by an apply (see condLifted).
	revMoves     []revMove
	deptsPut     []string
	deptsDeleted []string
	objsPut      []string
	objsDeleted  []string
	keysPut      []string
	keysDeleted  []string
	aliasesPut   bool
	gatewayPut   bool
	sodPut       bool
	// reviews is nil until the write changes a campaign (putReview).
	reviews    map[string]*Review
	reviewsPut []string
	itemsPut   []reviewItemRef
	// sodCompiled caches the view's SoD rules compiled against v.cat.
	sodCompiled []*policy.SoDSets

	// addressed lists the members and departments the write names, changed
	// or not: X3a.2 holds for them even when the write changes nothing,
	// so a no-op cannot probe outside the span.
	addressedMembers, addressedDepts []string

	audit []AuditEntry
	// auditKey signs the write's audit entries; nil writes them unkeyed.
	auditKey *AuditKey
	targets  []string
	seen     map[string]bool // targets, for a constant-time dedupe
	reason   string
	action   string
	// forced lists members whose record scope changed without a change of
	// their own (their department's subtree moved): their epochs move too.
	forced map[string]bool
	// allSuspect is set when the catalog changed (C9): every member's
	// effective levels may have changed.
	allSuspect bool
	// deptRolesExpired is set when the write expires department roles
	// (T2): the members they reached are suspects (see deptSuspects).
	deptRolesExpired bool
	// deptRoleCount is how many of depts hold roles (M9).
	deptRoleCount int
	// diffs caches revisionDiff, moves revisionChange (moveKey is the
	// buffer its keys are built in).
	diffs   map[revisionStep][]policy.PermID
	moves   map[string]revisionMove
	moveKey []byte
	// vecs caches the role vectors the write compiles (see vector).
	vecs   map[policy.RoleRef]viewVector
	epochs []string // user ids whose epoch moved, set by finish
	// bases caches the members baseMember decoded (nil: not a member).
	bases map[string]*Member
}

func newView(m *model, now time.Time, actor Actor) *view {
	return &view{base: m, now: now, actor: actor, ws: m.ws, cat: m.cat,
		roles: maps.Clone(m.roles), revs: maps.Clone(m.revs), depts: maps.Clone(m.depts), objects: maps.Clone(m.objects), keys: maps.Clone(m.keys), aliases: m.aliases, gateway: m.gateway, sod: m.sod,
		members: map[string]*Member{}, dirty: map[string]bool{}, applied: map[string]bool{}, forced: map[string]bool{},
		deptRoleCount: m.deptRoleCount, follow: m.follow}
}

// member returns a member as this write sees it, or nil.
func (v *view) member(id string) *Member {
	if m, ok := v.members[id]; ok {
		return m
	}
	if len(v.followMoves) == 0 {
		return v.baseMember(id)
	}
	// An apply moved follow: the record reads as the write left it with
	// the view's follows (the followers of the role hold the applied
	// revision), as the model will read it after the commit.
	if m, ok := v.currents[id]; ok {
		return m
	}
	var m *Member
	if r, ok := v.base.snap.Member(id); ok {
		var err error
		if m, err = decodeMember(r, v.follow); err != nil {
			panic(fmt.Sprintf("admin: %v", err))
		}
		id = m.UserID
	}
	if v.currents == nil {
		v.currents = map[string]*Member{}
	}
	v.currents[id] = m
	return m
}

// baseMember returns a member as it was before the write, or nil. The
// model decodes a member on each read (model.member); a write reads the
// members it touches several times (its change, X3a, C4, A1, the audit),
// so it decodes each once. Like every member the model hands out, the
// value must not be changed: clone it.
func (v *view) baseMember(id string) *Member {
	if m, ok := v.bases[id]; ok {
		return m
	}
	m := v.base.member(id)
	if v.bases == nil {
		v.bases = map[string]*Member{}
	}
	if m != nil {
		id = m.UserID // its own string: id may be a slice of the snapshot's (memberIDs)
	}
	v.bases[id] = m
	return m
}

// putMember records a member's new state; m must be a fresh value.
func (v *view) putMember(m *Member) {
	m.UpdatedAt = v.now
	v.members[m.UserID] = m
	v.dirty[m.UserID] = true
}

// removeMember records a member's removal (M8).
func (v *view) removeMember(id string) {
	v.members[id] = nil
	delete(v.dirty, id)
	delete(v.applied, id)
}

// membersOf returns the user ids holding role id, sorted.
func (v *view) membersOf(roleID string) []string {
	out := v.unsortedMembersOf(roleID)
	slices.Sort(out)
	return out
}

// unsortedMembersOf is membersOf in no order.
func (v *view) unsortedMembersOf(roleID string) []string {
	var out []string
	for u := range v.base.holders()[roleID] {
		if _, over := v.members[u]; !over {
			out = append(out, u)
		}
	}
	for u, m := range v.members {
		if m != nil && m.holds(roleID) {
			out = append(out, u)
		}
	}
	return out
}

// holderCount is len(v.membersOf(roleID)), without listing and sorting
// them: an edit's answer counts the role's members, 10,000 for a large one.
func (v *view) holderCount(roleID string) int {
	n := 0
	for u := range v.base.holders()[roleID] {
		if _, over := v.members[u]; !over {
			n++
		}
	}
	for _, m := range v.members {
		if m != nil && m.holds(roleID) {
			n++
		}
	}
	return n
}

// holds reports whether the member has the role.
func (m *Member) holds(roleID string) bool {
	_, ok := m.assignment(roleID)
	return ok
}

func (m *Member) assignment(roleID string) (int, bool) {
	return slices.BinarySearchFunc(m.Roles, roleID, func(a Assignment, id string) int { return cmpString(a.RoleID, id) })
}

// clone returns a copy of m that may be changed.
func (m *Member) clone() *Member {
	c := *m
	c.Roles = slices.Clone(m.Roles)
	c.DepartmentIDs = slices.Clone(m.DepartmentIDs)
	c.Grants = m.Grants.Clone()
	c.When = m.When.Clone()
	if m.GrantExpiry != nil {
		c.GrantExpiry = maps.Clone(m.GrantExpiry)
	}
	return &c
}

// putRole records a role's new row.
func (v *view) putRole(r *Role) {
	r.UpdatedAt = v.now
	v.roles[r.ID] = r
	v.rolesPut = append(v.rolesPut, r.ID)
	v.target("role:" + r.ID)
}

// addRevision records a new role revision and makes it the role's newest.
func (v *view) addRevision(r *Role, rv RoleRevision) {
	rv.RoleID, rv.CreatedAt = r.ID, v.now
	v.revs[policy.RoleRef{RoleID: r.ID, Revision: rv.Revision}] = &rv
	v.newRevs = append(v.newRevs, rv)
}

// applyRole moves every member of a role to revision rev (R6). Moving
// members is a change of its own, audited here whatever the write that
// asked for it (X4): an apply of a saved revision changes no grant, and
// used to commit with no entry at all.
func (v *view) applyRole(roleID string, rev int64) {
	from := map[int64]int{} // revision moved from → members
	followers := v.followers(roleID, rev)
	if len(followers) > 0 {
		from[v.base.follow[roleID]] = len(followers)
	}
	holders := v.membersOf
	if followers != nil {
		holders = v.unsortedMembersOf // the order moves nothing
	}
	for _, u := range holders(roleID) {
		if _, ok := followers[u]; ok {
			continue
		}
		m := v.member(u)
		i, _ := m.assignment(roleID)
		if m.Roles[i].Revision == rev {
			continue
		}
		from[m.Roles[i].Revision]++
		// Only the roles change: the rest is shared with m, which no
		// write changes in place (every change starts from a clone).
		c := *m
		c.Roles = slices.Clone(m.Roles)
		c.Roles[i].Revision = rev
		v.members[u] = &c
		if !v.dirty[u] {
			v.applied[u] = true
		}
	}
	// Departments holding the role move to the revision too (M9).
	movedDepts := 0
	deptFrom := map[int64]bool{} // every revision moved from, members' and departments'
	for _, id := range slices.Sorted(maps.Keys(v.depts)) {
		d := v.depts[id]
		i := slices.IndexFunc(d.Roles, func(a Assignment) bool { return a.RoleID == roleID })
		if i < 0 || d.Roles[i].Revision == rev {
			continue
		}
		deptFrom[d.Roles[i].Revision] = true
		c := *d
		c.Roles = slices.Clone(d.Roles)
		c.Roles[i].Revision = rev
		v.putDept(&c)
		movedDepts++
	}
	for r := range from {
		deptFrom[r] = true
	}
	for r := range deptFrom {
		v.revMoves = append(v.revMoves, revMove{roleID, r, rev})
	}
	if len(from) == 0 {
		if movedDepts > 0 {
			v.record("role.apply", "role:"+roleID, nil, map[string]any{"revision": rev, "departments": movedDepts})
		}
		return
	}
	v.applies = append(v.applies, ApplyRole{RoleID: roleID, Revision: rev})
	n := 0
	before := make(map[string]int, len(from))
	for r, k := range from {
		before[strconv.FormatInt(r, 10)] = k
		n += k
	}
	v.moveFollow(roleID, rev, n, followers)
	v.record("role.apply", "role:"+roleID, map[string]any{"members_at_revision": before},
		map[string]any{"revision": rev, "members": n})
}

func (v *view) deleteRole(id string) {
	delete(v.roles, id)
	for ref := range v.revs {
		if ref.RoleID == id {
			delete(v.revs, ref)
		}
	}
	v.rolesDeleted = append(v.rolesDeleted, id)
	v.target("role:" + id)
}

func (v *view) putDept(d *Department) {
	if old := v.depts[d.ID]; old != nil && len(old.Roles) > 0 {
		v.deptRoleCount--
	}
	if len(d.Roles) > 0 {
		v.deptRoleCount++
	}
	v.depts[d.ID] = d
	v.deptsPut = append(v.deptsPut, d.ID)
	v.target("department:" + d.ID)
}

func (v *view) deleteDept(id string) {
	if old := v.depts[id]; old != nil && len(old.Roles) > 0 {
		v.deptRoleCount--
	}
	delete(v.depts, id)
	v.deptsDeleted = append(v.deptsDeleted, id)
	v.target("department:" + id)
}

func (v *view) target(t string) {
	if v.seen == nil {
		v.seen = map[string]bool{}
	}
	if !v.seen[t] {
		v.seen[t] = true
		v.targets = append(v.targets, t)
	}
}

// roleRevision returns the revision rev of role r as this write sees it.
func (v *view) roleRevision(roleID string, rev int64) *RoleRevision {
	return v.revs[policy.RoleRef{RoleID: roleID, Revision: rev}]
}

// newest returns role r's newest revision.
func (v *view) newest(r *Role) *RoleRevision { return v.roleRevision(r.ID, r.Revision) }

// vector returns the compiled vector of a role revision as this write
// sees it. Revisions the model holds come from the model's cache; the
// write's own (a new revision an apply moves 10,000 members to) are
// compiled once per write and kept in the view, not once per member.
func (v *view) vector(cat *policy.Catalog, r *Role, rv *RoleRevision) policy.Vector {
	ref := policy.RoleRef{RoleID: r.ID, Revision: rv.Revision}
	m := v.base
	if cat == m.cat && m.revs[ref] == rv && m.roles[r.ID] == r {
		return m.roleVector(cat, r, rv)
	}
	if c, ok := v.vecs[ref]; ok && c.cat == cat && c.r == r && c.rv == rv {
		return c.vec
	}
	vec := cat.RoleVector(roleWithGrants(r, rv, rv.Grants))
	if v.vecs == nil {
		v.vecs = map[policy.RoleRef]viewVector{}
	}
	v.vecs[ref] = viewVector{cat: cat, r: r, rv: rv, vec: vec}
	return vec
}

// viewVector is a role revision compiled during one write, with what it
// was compiled from.
type viewVector struct {
	cat *policy.Catalog
	r   *Role
	rv  *RoleRevision
	vec policy.Vector
}

// effective returns a member's effective levels as this write sees them.
func (v *view) effective(m *Member) policy.Vector {
	return effectiveIn(v, v.base, v.cat, v.roles, v.revs, v.depts, m)
}

// baseEffective returns a member's effective levels before this write.
func (v *view) baseEffective(m *Member) policy.Vector {
	return effectiveIn(v, v.base, v.base.cat, v.base.roles, v.base.revs, v.base.depts, m)
}

// effectiveIn is a member's effective levels as it is live now, from its
// own roles, the roles it holds through departments (M9) and its direct
// grants.
//
// v, when not nil, is the write in progress, whose tree may hold
// department roles the base does not.
func effectiveIn(v *view, base *model, cat *policy.Catalog, roles map[string]*Role, revs map[policy.RoleRef]*RoleRevision, depts map[string]*Department, m *Member) policy.Vector {
	if v != nil {
		// One instant for the whole write: the clock read afresh for the
		// levels before and again for the levels after could straddle an
		// expiry, and a change of levels would go unseen (A1).
		return effectiveAt(v, base, cat, roles, revs, depts, m, v.now)
	}
	return effectiveAt(v, base, cat, roles, revs, depts, m, base.now())
}

// effectiveAt is effectiveIn at instant now, which may lie ahead: what
// expires by then is not held (T1).
func effectiveAt(v *view, base *model, cat *policy.Catalog, roles map[string]*Role, revs map[policy.RoleRef]*RoleRevision, depts map[string]*Department, m *Member, now time.Time) policy.Vector {
	m = m.live(now)
	withDepts := base.deptRoleCount > 0
	if v != nil {
		withDepts = withDepts || v.deptRoleCount > 0
	}
	refs := heldRefs(depts, roles, m, now, nil, withDepts)
	vs := make([]policy.Vector, 0, len(refs))
	for _, a := range refs {
		r, rv := roles[a.RoleID], revs[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}]
		if r == nil || rv == nil {
			continue
		}
		if v != nil {
			vs = append(vs, v.vector(cat, r, rv))
		} else {
			vs = append(vs, base.roleVector(cat, r, rv))
		}
	}
	return cat.EffectiveLevels(m.Kind, m.Owner, vs, m.Grants)
}

// moveFollow makes rev the revision the records of roleID's holders
// follow after an apply that moved n of them, when they are many or when
// it moved followers (see followers), left out of members, by this
// alone: the holders that followed the role's old revision keep their
// records (see view.delta). An apply may be one of several in a write;
// each moves follow from where the last left it.
func (v *view) moveFollow(roleID string, rev int64, n int, followers map[string]int64) {
	old, had := v.follow[roleID]
	if len(followers) == 0 && (n < v.base.followMin || (had && old == rev)) {
		return
	}
	if len(v.followMoves) == 0 {
		v.follow = maps.Clone(v.follow) // the base's is shared
		if v.follow == nil {
			v.follow = follows{}
		}
	}
	v.follow[roleID] = rev
	if len(followers) > 0 {
		v.moved = followers // the write's first move: see followers
	}
	move := policy.RoleMove{RoleID: roleID, To: rev}
	if had {
		move.From = old // else none followed the role: nothing to move
	}
	v.followMoves = append(v.followMoves, move)
}

// followers are the holders of roleID an apply at rev can move by moving
// follow alone, with their epochs, or nil when the apply takes the
// member-by-member way for all of them. Their records stay as they are,
// the snapshot moves the slot of the revision they follow
// (policy.RoleMove), and finish asks the snapshot which of them change
// levels, once per combination of roles (followersMoved). Nil:
//   - a small role, or none of its holders follows it;
//   - an earlier apply in the write, a catalog change, department roles
//     (M9) or separation-of-duties rules over permissions (S2), which
//     compare members one by one.
//
// Holders with direct grants, ownership or expiring access, and holders
// the write changed otherwise, are not followers: applyRole moves them
// one by one, before follow moves (moveFollow).
func (v *view) followers(roleID string, rev int64) map[string]int64 {
	b, ok := v.follow[roleID]
	if !ok || b == rev || len(v.followMoves) > 0 || v.cat != v.base.cat || v.anyDeptRoles() || v.allSuspect ||
		v.base.roleCount[roleID] < v.base.followMin || v.sodOverPermissions() {
		return nil
	}
	out := map[string]int64{}
	for u, epoch := range v.base.snap.PlainHolders(policy.RoleRef{RoleID: roleID, Revision: b}) {
		if _, over := v.members[u]; over || v.forced[u] {
			continue
		}
		if _, exp := v.base.expiring[u]; exp {
			continue
		}
		out[u] = epoch
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sodOverPermissions reports whether a separation-of-duties rule of the
// write is over permissions (S2), which an apply can break.
func (v *view) sodOverPermissions() bool {
	for i := range v.sod {
		if len(v.sod[i].Permissions) > 0 {
			return true
		}
	}
	return false
}
