package admin

import (
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// model is one workspace in memory, at one revision. Its values are
// immutable once published in a map: a write replaces a *Role with a new
// one, never changes it, so a view can share them.
type model struct {
	ws    Workspace
	cat   *policy.Catalog // the deployment catalog plus the smart objects
	roles map[string]*Role
	revs  map[policy.RoleRef]*RoleRevision // newest revisions and every revision a member holds
	// snap is the workspace's snapshot at the model's revision, and the
	// one copy of its members (see member, memberdata.go): the model
	// keeps none beside it. It is replaced (advance), never changed.
	snap *policy.Snapshot
	// follow gives the revision of each role that its members' records
	// store as 0 (see follows, memberdata.go); it changes with snap, and
	// only with it. Replaced, never changed.
	follow follows
	// followMin is Options.FollowMin.
	followMin int
	// roleCount is, by role id, how many members hold the role directly.
	roleCount map[string]int
	// roleMembers is, by role id, the user ids holding it directly: nil
	// until a write first asks (see holders), since a node of many
	// workspaces that are only read would pay for it in every one. Only
	// writers (under the space's write lock) touch it.
	roleMembers map[string]map[string]struct{}
	depts       map[string]*Department
	objects     map[string]SmartObject
	keys        map[string]*APIKey // X2, by key id
	aliases     map[string]string  // Z2: alias → permission key
	gateway     []policy.GatewayRoute
	sod         []SoDRule          // S1: sorted by id, immutable once published
	reviews     map[string]*Review // V1: by id; a write replaces a *Review
	audit       AuditHead
	// expiring holds, for each member with an expiring assignment or
	// direct grant, the earliest such instant (T1).
	expiring map[string]time.Time
	// now is the service's clock: what the model compiles and compares
	// is its members as they are live now (see Member.live).
	now func() time.Time
	// deptRoleCount is how many departments hold roles (M9).
	deptRoleCount int
	// vecs caches compiled role vectors for cat, nil until the first
	// write compiles one. Guarded by the space's write lock, like every
	// other field's mutation.
	vecs map[policy.RoleRef]cachedVector
}

// cachedVector is a compiled role revision, with the revision it was
// compiled from: a write's uncommitted revision never hits the cache.
type cachedVector struct {
	rv  *RoleRevision
	vec policy.Vector
}

// newModel builds a model from a stored dataset, compiling its snapshot at
// now's time; followMin is Options.FollowMin (0: the default).
func newModel(base *policy.Catalog, d *Dataset, now func() time.Time, followMin int) (*model, error) {
	if followMin <= 0 {
		followMin = FollowMin
	}
	m := &model{ws: d.Workspace, audit: d.AuditHead, followMin: followMin,
		roles: map[string]*Role{}, revs: map[policy.RoleRef]*RoleRevision{},
		roleCount: make(map[string]int, len(d.Roles)),
		objects:   map[string]SmartObject{}, keys: map[string]*APIKey{},
		expiring: map[string]time.Time{}, now: now}
	// The model points into the dataset's slices rather than copying each
	// row: a node holding many small workspaces pays for every per-row
	// allocation many times over. Nothing else keeps the dataset.
	for i := range d.Roles {
		r := &d.Roles[i]
		m.roles[r.ID] = r
	}
	for i := range d.Revisions {
		rv := &d.Revisions[i]
		m.revs[policy.RoleRef{RoleID: rv.RoleID, Revision: rv.Revision}] = rv
	}
	if len(d.Members) >= followMin {
		m.follow = follows{}
	}
	for i := range d.Members {
		mb := &d.Members[i]
		m.noteExpiry(mb.UserID, mb)
		for _, a := range mb.Roles {
			if _, ok := m.roles[a.RoleID]; ok {
				m.roleCount[a.RoleID]++
			}
			if m.follow != nil {
				if _, ok := m.follow[a.RoleID]; !ok {
					// The first holder's: loads have most on one revision.
					m.follow[a.RoleID] = a.Revision
				}
			}
		}
	}
	m.depts = deptsOf(d.Departments)
	for _, dp := range m.depts {
		if len(dp.Roles) > 0 {
			m.deptRoleCount++
		}
	}
	for _, o := range d.Objects {
		m.objects[o.ID] = o
	}
	for i := range d.Keys {
		m.keys[d.Keys[i].ID] = &d.Keys[i]
	}
	m.aliases, m.gateway, m.sod = d.Aliases, d.GatewayRoutes, d.SoDRules
	slices.SortFunc(m.sod, func(a, b SoDRule) int { return cmpString(a.ID, b.ID) })
	m.reviews = make(map[string]*Review, len(d.Reviews))
	for i := range d.Reviews {
		r := &d.Reviews[i]
		slices.SortFunc(r.Items, func(a, b ReviewItem) int { return a.ID - b.ID })
		m.reviews[r.ID] = r
	}
	var err error
	if m.cat, err = base.WithObjects(sortedObjects(m.objects)); err != nil {
		return nil, err
	}
	loaded := func(yield func(*Member, string) bool) {
		for i := range d.Members {
			if !yield(&d.Members[i], "") {
				return
			}
		}
	}
	if m.snap, err = policy.Compile(m.state(loaded, len(d.Members))); err != nil {
		return nil, err
	}
	return m, nil
}

// advance gives the model, merged with a committed change, the snapshot of
// its new revision, which holds the change's members: the last snapshot
// updated with d when d is given (see view.delta), which costs the pages
// of the member arrays d changes, else a compile of the model with over's
// members in place of the last snapshot's (nil: removed) and the epochs
// of members changed in nothing else.
//
// On an error the model's revision is set back to the last snapshot's:
// the change is committed, but the model no longer holds it whole, and the
// next write that commits from it is refused as stale and reloads.
func (m *model) advance(d *policy.Delta, over map[string]*Member, epochs []policy.MemberEpoch, log *slog.Logger) error {
	var snap *policy.Snapshot
	if d != nil && !m.expiryDue() {
		snap = updated(m.ws.ID, m.snap, *d, log)
	}
	return m.advanceTo(snap, over, epochs)
}

// updated returns last moved forward by d, or nil, logged, when the
// update fails: the caller compiles then.
func updated(ws string, last *policy.Snapshot, d policy.Delta, log *slog.Logger) *policy.Snapshot {
	snap, err := last.Update(d)
	if err != nil {
		log.Warn("incremental snapshot update failed; compiling", "workspace", ws, "err", err)
		return nil
	}
	return snap
}

// expiryDue reports whether access has expired that the last snapshot may
// still honour, for members a delta would not touch: the next snapshot is
// compiled then, which leaves it out (T1).
func (m *model) expiryDue() bool {
	next := m.nextExpiry()
	return !next.IsZero() && !m.now().Before(next)
}

// advanceTo is advance with the delta's snapshot already computed: nil
// when there is no delta or its update failed (nextSnapshot computes it
// while the store commits).
func (m *model) advanceTo(snap *policy.Snapshot, over map[string]*Member, epochs []policy.MemberEpoch) error {
	if snap != nil && m.expiryDue() {
		snap = nil // an expiry fell due since it was computed
	}
	if snap == nil {
		if len(epochs) > 0 {
			// Members an apply moved by moving follow, whose epochs
			// moved with no other change to their records (see
			// view.followers): merge gave the model the follows they
			// now read with.
			over = maps.Clone(over)
			for _, e := range epochs {
				if r, ok := m.snap.Member(e.UserID); ok {
					mb := m.decode(r)
					mb.Epoch = e.Epoch
					over[mb.UserID] = mb
				}
			}
		}
		var err error
		if snap, err = policy.Compile(m.state(m.withMembers(over), m.snap.NumMembers()+len(over))); err != nil {
			m.ws.Revision = m.snap.Revision()
			return fmt.Errorf("compile workspace %s: %w", m.ws.ID, err)
		}
	}
	m.snap = snap
	m.pruneRevisions()
	return nil
}

// member returns member u, nil for a non-member: decoded from the
// snapshot, a new value on each call, which the caller may keep.
func (m *model) member(u string) *Member {
	r, ok := m.snap.Member(u)
	if !ok {
		return nil
	}
	return m.decode(r)
}

// allMembers yields every member, decoded from the snapshot, in no
// particular order.
func (m *model) allMembers() iter.Seq2[string, *Member] {
	return func(yield func(string, *Member) bool) {
		for r := range m.snap.Members() {
			mb := m.decode(r)
			if !yield(mb.UserID, mb) {
				return
			}
		}
	}
}

// memberIDs yields the user id of every member without decoding it, in no
// particular order: ids to look members up by, not to keep (each is a
// slice of a page of the snapshot's ids; see decodeMember).
func (m *model) memberIDs() iter.Seq[string] {
	return func(yield func(string) bool) {
		for r := range m.snap.Members() {
			if !yield(r.UserID) {
				return
			}
		}
	}
}

// withMembers yields the members of the model with over's in place of
// theirs (nil: removed), each with its record when it has one already
// ("": encode it).
func (m *model) withMembers(over map[string]*Member) iter.Seq2[*Member, string] {
	return func(yield func(*Member, string) bool) {
		for r := range m.snap.Members() {
			if _, ok := over[r.UserID]; ok {
				continue
			}
			if !yield(m.decode(r), r.Data) {
				return
			}
		}
		for _, mb := range over {
			if mb != nil && !yield(mb, "") {
				return
			}
		}
	}
}

// decode decodes a record of the model's snapshot, which only
// appendMember made: one that does not decode is a bug.
func (m *model) decode(r policy.MemberRecord) *Member {
	mb, err := decodeMember(r, m.follow)
	if err != nil {
		panic(fmt.Sprintf("admin: %v", err))
	}
	return mb
}

func sortedObjects(objs map[string]SmartObject) []SmartObject {
	out := slices.Collect(maps.Values(objs))
	slices.SortFunc(out, func(a, b SmartObject) int { return cmpString(a.ID, b.ID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// holders returns, by role id, the user ids holding each role directly,
// building the index on first use. The caller holds the space's write
// lock.
func (m *model) holders() map[string]map[string]struct{} {
	if m.roleMembers != nil {
		return m.roleMembers
	}
	m.roleMembers = make(map[string]map[string]struct{}, len(m.roles))
	for id := range m.roles {
		m.roleMembers[id] = make(map[string]struct{}, m.roleCount[id])
	}
	for u, mb := range m.allMembers() {
		for _, a := range mb.Roles {
			if rm := m.roleMembers[a.RoleID]; rm != nil {
				rm[u] = struct{}{}
			}
		}
	}
	return m.roleMembers
}

// unhold and hold keep roleCount and, once built, roleMembers in step
// with a member losing or gaining a role.
func (m *model) unhold(roleID, u string) {
	if rm := m.roleMembers[roleID]; rm != nil {
		delete(rm, u)
	}
	if n, ok := m.roleCount[roleID]; ok {
		if n <= 1 {
			delete(m.roleCount, roleID)
		} else {
			m.roleCount[roleID] = n - 1
		}
	}
}

func (m *model) hold(roleID, u string) {
	if _, ok := m.roles[roleID]; !ok {
		return
	}
	m.roleCount[roleID]++
	if m.roleMembers != nil {
		rm := m.roleMembers[roleID]
		if rm == nil {
			rm = map[string]struct{}{}
			m.roleMembers[roleID] = rm
		}
		rm[u] = struct{}{}
	}
}

// rehold moves user u's role holdings from old to mb, either nil.
func (m *model) rehold(u string, old, mb *Member) {
	if old != nil && mb != nil && sameRoleIDs(old.Roles, mb.Roles) {
		return // an apply moved revisions only
	}
	if old != nil {
		for _, a := range old.Roles {
			if mb == nil || !mb.holds(a.RoleID) {
				m.unhold(a.RoleID, u)
			}
		}
	}
	if mb != nil {
		for _, a := range mb.Roles {
			if old == nil || !old.holds(a.RoleID) {
				m.hold(a.RoleID, u)
			}
		}
	}
}

func sameRoleIDs(a, b []Assignment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].RoleID != b[i].RoleID {
			return false
		}
	}
	return true
}

// state is the policy state a snapshot is compiled from, with members,
// about n of them, and their records ("": encode it).
func (m *model) state(members iter.Seq2[*Member, string], n int) policy.State {
	st := policy.State{Workspace: m.ws.ID, Revision: m.ws.Revision, Catalog: m.cat, Aliases: m.aliases, Gateway: m.gateway,
		Roles:       make([]policy.RoleRevision, 0, len(m.revs)),
		Departments: make([]policy.Department, 0, len(m.depts)),
		Members:     make([]policy.Member, 0, n)}
	for ref, rv := range m.revs {
		r := m.roles[ref.RoleID]
		if r == nil {
			continue
		}
		st.Roles = append(st.Roles, policyRole(r, rv))
	}
	// In a fixed order, not the map's: workspaces with the same roles then
	// compile the same role-level array, which the policy shares.
	slices.SortFunc(st.Roles, func(a, b policy.RoleRevision) int {
		if c := cmpString(a.RoleID, b.RoleID); c != 0 {
			return c
		}
		return int(a.Revision - b.Revision)
	})
	for _, d := range m.depts {
		st.Departments = append(st.Departments, policy.Department{ID: d.ID, Name: d.Name, ParentID: d.ParentID})
	}
	c := memberCompiler{depts: m.depts, roles: m.roles, follow: m.follow, now: m.now(), withDepts: m.deptRoleCount > 0, refs: make([]policy.RoleRef, 0, n*2)}
	for mb, data := range members {
		st.Members = append(st.Members, c.member(mb, data))
	}
	return st
}

// roleVector returns the compiled vector of a role revision in catalog cat,
// caching it when cat is the model's own.
func (m *model) roleVector(cat *policy.Catalog, r *Role, rv *RoleRevision) policy.Vector {
	ref := policy.RoleRef{RoleID: r.ID, Revision: rv.Revision}
	cacheable := cat == m.cat && m.revs[ref] == rv && m.roles[r.ID] == r
	if c, ok := m.vecs[ref]; ok && cacheable && c.rv == rv {
		return c.vec
	}
	v := cat.RoleVector(roleWithGrants(r, rv, rv.Grants))
	if cacheable {
		if m.vecs == nil { // made by the first write, not by each of a node's many workspaces at load
			m.vecs = map[policy.RoleRef]cachedVector{}
		}
		m.vecs[ref] = cachedVector{rv: rv, vec: v}
	}
	return v
}

// nextSnapshot starts computing the snapshot that follows v's write, from
// the model's snapshot and the view's delta, and returns a function that
// waits for it: nil when the write needs a compile (no delta) or the
// update failed. An update of a large role's holders takes the node as
// long as the store's commit, so the two run side by side. The caller
// holds the space's write lock, which keeps m.snap, and must not touch v
// before the returned function has returned: delta caches base members
// in v. Neither m nor the store's commit is changed by it; a commit that
// fails leaves the snapshot unused.
func (m *model) nextSnapshot(v *view, log *slog.Logger) func() *policy.Snapshot {
	ws, last := m.ws.ID, m.snap
	if m.expiryDue() {
		return func() *policy.Snapshot { return nil }
	}
	done := make(chan *policy.Snapshot, 1)
	go func() {
		var snap *policy.Snapshot
		// On the request's goroutine a panic here was one failed request;
		// on this one it would end the process. The change is committed
		// by now: a compile gives the model its snapshot.
		defer func() {
			if p := recover(); p != nil {
				log.Error("snapshot update panicked; compiling", "workspace", ws, "panic", p)
				snap = nil
			}
			done <- snap
		}()
		if d, ok := v.delta(last); ok {
			snap = updated(ws, last, d, log)
		}
	}()
	return func() *policy.Snapshot { return <-done }
}
