package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// RoleRevision is one immutable revision of a role, as compiled into a
// snapshot. Members reference roles at a revision (R6), so a snapshot holds
// every revision that some member is on.
type RoleRevision struct {
	RoleID     string
	Revision   int64
	Name       string
	Audience   Audience
	Predefined bool
	Grants     Grants
	// When holds the conditions of conditional grants (G1).
	When Conditions
}

// RoleRef names a role at one of its revisions.
type RoleRef struct {
	RoleID   string
	Revision int64
}

// Member is a workspace member as decisions need it (M1).
type Member struct {
	UserID        string
	Kind          Audience
	Owner         bool // workspace owners may do everything (W4)
	DepartmentIDs []string
	Roles         []RoleRef
	Grants        Grants     // direct grants, additive only (M5)
	When          Conditions // the conditions of conditional direct grants (G1)
	Epoch         int64
	// Email, when set, lets a record's owner be named by the member's
	// email rather than its user id (Z2; see Snapshot.MemberByEmail).
	Email string
	// Data is opaque to the policy core: the snapshot keeps it with the
	// member and returns it (Snapshot.Member, Snapshot.Members), so that
	// the admin model can keep its record of a member there rather than
	// in a second copy of every member beside the snapshot.
	Data string
}

// State is everything a snapshot is compiled from: one workspace's policy
// at one revision.
type State struct {
	Workspace   string
	Revision    int64
	Catalog     *Catalog // the workspace's catalog (see Catalog.WithObjects)
	Roles       []RoleRevision
	Departments []Department
	Members     []Member
	// Aliases maps a workspace's own action names to permission keys
	// (Z2), such as "can_update_todo" → "todos_edit". Aliases to keys the
	// catalog does not know are ignored, like orphaned grants (C7).
	Aliases map[string]string
	// Gateway are the workspace's gateway routes, in order (see
	// Snapshot.MatchGateway).
	Gateway []GatewayRoute
}

// compiledRole is a role revision resolved against the catalog.
type compiledRole struct {
	RoleRevision
	vec      Vector
	orphaned []string
	// uvec and conds are set for a revision with conditional grants: its
	// levels from unconditional grants only, and its conditional grants
	// by permission (see condsnap.go).
	uvec  Vector
	conds map[PermID]condGrant
}

// access is one distinct combination of (roles at revisions, direct grants,
// owner flag). Members with the same combination share one access, so
// memory grows with distinct combinations, never with members ×
// permissions.
type access struct {
	roles  []int32      // indexes into Snapshot.roles, sorted
	direct *directPart  // nil when the combination has no direct grants
	cond   *accessConds // nil when no grant of the combination is conditional
	// vec is the materialized effective vector (M3), only for combinations
	// a check cannot evaluate from role vectors alone: direct grants, owner,
	// more than maxInlineRoles roles. Otherwise nil: see Snapshot.level.
	vec    Vector
	vecIdx int32 // vec's index in Snapshot.levels, or -1
	owner  bool
}

// directPart is what an access with direct grants keeps for explaining
// them: apart, because most accesses have none and a node holds an access
// per distinct combination of every workspace.
type directPart struct {
	grants Grants
	// base is the levels from the roles alone (M5: a direct grant at or
	// below them is redundant).
	base Vector
}

// directGrants returns a's direct grants, nil when it has none.
func (a *access) directGrants() Grants {
	if a.direct == nil {
		return nil
	}
	return a.direct.grants
}

// maxInlineRoles is how many role revisions a hot member record holds.
const maxInlineRoles = 3

// flagVector marks a hot member whose r[0], r[1] hold the index of a
// materialized vector (low, high 16 bits) instead of role indexes.
const flagVector = 1

// hotMember is all a check without a record reads of a member: 16 bytes.
// The check path is bound by memory latency, so what it touches is kept
// small enough to stay in cache: see docs/policy.md, "Snapshot layout".
type hotMember struct {
	idOff uint32    // the user id is ids[idOff : idOff+idLen]
	idLen uint16    //
	flags uint8     // flagVector
	_     uint8     //
	dept  uint16    // deptNone, the sole department's index+1, or deptMany
	r     [3]uint16 // role revisions (indexes into roleLevels), padded with the no-role vector
}

// Values of hotMember.dept: most members are in one department, which a
// record check then reads without touching the cold member record.
const (
	deptNone = 0
	deptMany = 1<<16 - 1
)

// member is the rest of a compiled member. Its departments are a range of
// one shared slice, so a member costs no allocation of its own.
type member struct {
	access  int32
	deptOff uint32
	deptLen uint16
	client  bool
	gone    bool // removed by Snapshot.Update: unreachable by id, skipped by scans
	// sorted says the email index holds the member by its email: Compile
	// made it, and no Update has changed its email since (see names.go).
	sorted bool
	epoch  int64
	// rec holds the member's email and Data: packRecord's layout, one
	// string rather than two, which would cost a header and an
	// allocation more per member.
	rec string
}

func (m *member) kind() Audience {
	if m.client {
		return Client
	}
	return Internal
}

// Snapshot is an immutable, compiled view of one workspace's policy at one
// revision. Every decision is a pure function of a Snapshot; it is safe for
// concurrent use without locks.
type Snapshot struct {
	workspace string
	revision  int64
	cat       *Catalog
	stride    int // permissions per vector
	roles     []compiledRole
	roleIdx   map[RoleRef]int32
	// roleLevels holds, back to back, the vector of the relation access
	// every member has (the no-role vector, slot 0), then every role
	// revision's vector: role revision i is slot i+1, and the level of
	// permission p in slot r is roleLevels[r*stride+p]. The no-role vector
	// comes first so that role revisions can be appended (Snapshot.Update)
	// without moving any slot a hot member record points to.
	roleLevels []Level
	accesses   []access
	// levels holds the materialized vectors back to back.
	levels []Level
	// ids holds, for each page of hot (see paged.go), the user ids of its
	// members back to back: member i's is ids[i>>pageShift][idOff:][:idLen].
	// id0 is ids[0] again, for the reason paged has a head.
	ids         []string
	id0         string
	hot         paged[hotMember]
	members     paged[member] // same indexes as hot
	byUser      userIndex
	depts       deptTree
	deptArena   []int32
	deptMembers [][]int32 // per department, its members: Filter without a scan
	gone        int       // members removed by Update, still in hot and members
	// emails finds members by email (Z2): the positions of the members
	// Compile made, sorted by email (4 bytes a member, where a map took
	// 52), with the changes of later updates in emailsAdded, which Update
	// copies (it grows with updates until the next Compile, like accesses).
	emails      []int32
	emailsAdded map[string][]int32
	aliases     map[string]PermID
	gateway     []gatewayRoute
	// compiled is how many accesses the last Compile or compaction left;
	// Update compacts when its additions outgrow it (see compact.go).
	// compiledRoles is how many role revisions the last Compile held.
	compiled, compiledRoles int
	// condPerms marks the permissions some access reaches through a
	// conditional grant; conds are the compiled conditions by source,
	// shared by the snapshots an Update derives (see condsnap.go).
	condPerms      []bool
	conds          map[string]*Condition
	condPermsOwned bool
	condsOwned     bool
	// tail is taken by the first Update of the snapshot, which may then
	// append to the snapshot's append-only arrays (accesses, levels, the
	// department arena and lists, the last page of the member arrays) in
	// place: past the snapshot's length, where the snapshot never reads.
	// Any later Update of the same snapshot copies what it appends to.
	// Writes form a chain, each deriving from the last, so a write pays for
	// what it adds rather than for a copy of every array.
	tail *atomic.Bool
}

// noConds is all false, shared by the snapshots without conditional
// grants, which are most: one per workspace would cost a byte per
// permission in each.
var noConds = make([]bool, 4096)

func noCondPerms(n int) []bool {
	if n <= len(noConds) {
		return noConds[:n:n]
	}
	return make([]bool, n)
}

// Compile builds a Snapshot from a workspace's state. It returns
// invalid_argument when the state is inconsistent: a member on a role
// revision or in a department the state does not contain, duplicate or
// overlong ids, or a cyclic department tree. Grants are not re-validated
// (the admin layer validated them on write); orphaned keys are ignored (C7).
// The snapshot keeps st's grant maps, and snapshots compiled from the same
// maps share their compiled roles (see roletables.go): a caller must not
// change a map once it has compiled it.
func Compile(st State) (*Snapshot, error) {
	if st.Catalog == nil {
		return nil, Errorf(CodeInvalidArgument, "compile %s: no catalog", st.Workspace)
	}
	s := &Snapshot{workspace: st.Workspace, revision: st.Revision, cat: st.Catalog,
		stride: st.Catalog.NumPermissions(),
		// No condition yet: shared, copied on the first (see condsnap.go).
		condPerms: noCondPerms(st.Catalog.NumPermissions()), tail: new(atomic.Bool)}
	var err error
	if s.depts, err = sharedDeptTree(st.Departments); err != nil {
		return nil, fmt.Errorf("compile %s: %w", st.Workspace, err)
	}
	if err := s.compileRoles(st); err != nil {
		return nil, err
	}

	n := len(st.Members)
	s.ids = make([]string, 0, (n+pageMask)>>pageShift)
	for lo := 0; lo < n; lo += pageSize {
		page := st.Members[lo:min(n, lo+pageSize)]
		size := 0
		for _, m := range page {
			if len(m.UserID) == 0 || len(m.UserID) > maxUserIDLen {
				return nil, Errorf(CodeInvalidArgument, "compile %s: member id %q must be 1 to %d bytes", st.Workspace, m.UserID, maxUserIDLen)
			}
			size += len(m.UserID)
		}
		var ids strings.Builder
		ids.Grow(size)
		for _, m := range page {
			ids.WriteString(m.UserID)
		}
		s.ids = append(s.ids, ids.String())
	}
	if n > 0 {
		s.id0 = s.ids[0]
	}
	off := 0
	seen := make(map[string]struct{}, n)
	var c memberCompiler
	c.interned = map[string]int32{}
	links := 0
	for i := range st.Members {
		links += len(st.Members[i].DepartmentIDs)
	}
	s.deptArena = make([]int32, 0, links) // exactly: a node keeps it
	s.byUser = newUserIndex(n)
	hot, members := build(&s.hot, n), build(&s.members, n)
	for i := range st.Members {
		m := &st.Members[i]
		if _, dup := seen[m.UserID]; dup {
			return nil, Errorf(CodeInvalidArgument, "compile %s: duplicate member %q", st.Workspace, m.UserID)
		}
		seen[m.UserID] = struct{}{}
		if i&pageMask == 0 {
			off = 0 // a page's ids start its string
		}
		h, cm, err := c.compile(s, m, uint32(off), nil)
		if err != nil {
			return nil, err
		}
		off += len(m.UserID)
		cm.sorted = true
		s.byUser.insert(s.byUser.slots, m.UserID, int32(i))
		hot.push(h)
		members.push(cm)
	}
	if cap(s.accesses) > len(s.accesses)+len(s.accesses)/4 {
		// Appended one by one, the array has up to twice the room it
		// needs; a node of many small workspaces would keep it all.
		s.accesses = slices.Clone(s.accesses)
	}
	s.byUser.first = int32(n)
	s.flattenVectors(0)
	s.indexDepartments()
	s.indexEmails()
	s.aliases = st.Catalog.resolveAliases(st.Aliases)
	s.gateway = st.Catalog.compileGateway(st.Gateway, s.aliases)
	s.compiled, s.compiledRoles = len(s.accesses), len(s.roles)
	return s, nil
}

// maxUserIDLen bounds user ids: hot member records store the length in 16
// bits.
const maxUserIDLen = 1024

// accessKey renders a member's combination as a map key.
func accessKey(b []byte, roles []int32, direct Grants, when Conditions, owner bool, kind Audience) []byte {
	if owner {
		// An owner's vector depends on its kind (M6).
		b = append(b, 'O')
		b = append(b, kind...)
		b = append(b, ':')
	}
	if len(direct) > 0 {
		// Direct grants resolve differently for clients (M6).
		b = append(b, kind...)
		b = append(b, ':')
	}
	for _, r := range roles {
		b = strconv.AppendInt(b, int64(r), 36)
		b = append(b, ',')
	}
	for _, k := range sortedKeys(direct) {
		b = append(b, '|')
		b = append(b, k...)
		b = append(b, '=', '0'+byte(direct[k]))
		if c, ok := when[k]; ok {
			b = strconv.AppendQuote(b, c)
		}
	}
	return b
}

// compileRole resolves a role revision's grants (C6) and adds what roles get
// without granting: relation access to related records on every relation
// module (R10), and the fixed levels a relation module gives a predefined
// role, such as Head seeing every task.
func (c *Catalog) compileRole(r RoleRevision) compiledRole {
	vec := c.resolve(r.Grants, r.Audience)
	c.addRelationLevels(vec)
	if r.Predefined {
		for _, id := range c.relations {
			p := c.perms[id]
			if l, ok := p.Module.PredefinedRoles[r.RoleID][p.Action]; ok && l > vec[id] {
				vec[id] = l
			}
		}
	}
	return compiledRole{RoleRevision: r, vec: vec, orphaned: c.Orphaned(r.Grants)}
}

// addRelationLevels gives every relation-module permission that some
// relation allows the level LevelOwn, meaning "records the member is related
// to" (R10).
func (c *Catalog) addRelationLevels(v Vector) {
	for _, id := range c.relations {
		if c.perms[id].relations != 0 && v[id] < LevelOwn {
			v[id] = LevelOwn
		}
	}
}

func (s *Snapshot) newAccess(roles []int32, direct Grants, when Conditions, owner bool, kind Audience) access {
	a := access{roles: roles, owner: owner, vecIdx: -1}
	a.cond = s.accessConditions(&a, direct, when, kind)
	if !owner && len(direct) == 0 && len(roles) <= maxInlineRoles {
		return a // evaluated from the role vectors: see Snapshot.level
	}
	vs := make([]Vector, len(roles))
	for i, r := range roles {
		vs[i] = s.roles[r].vec
	}
	a.vec = s.cat.roleLevels(vs...)
	if owner {
		s.cat.ownerLevels(a.vec, kind)
	}
	if len(direct) > 0 {
		a.direct = &directPart{grants: direct.Clone(), base: slices.Clone(a.vec)}
		maxInto(a.vec, s.cat.resolve(direct, kind))
	}
	a.vecIdx = int32(len(s.levels) / s.stride)
	s.levels = append(s.levels, make([]Level, s.stride)...) // placeholder, see flattenVectors
	return a
}

// flattenVectors copies the materialized vectors of accesses[from:] into
// s.levels, whose size is final once every member is compiled, and points
// each access at its copy, so the check path reads one flat array.
func (s *Snapshot) flattenVectors(from int) {
	for i := from; i < len(s.accesses); i++ {
		a := &s.accesses[i]
		if a.vecIdx < 0 {
			continue
		}
		dst := s.levels[int(a.vecIdx)*s.stride : int(a.vecIdx+1)*s.stride : int(a.vecIdx+1)*s.stride]
		copy(dst, a.vec)
		a.vec = dst
	}
}

// setHot fills a hot member's role or vector reference.
func (s *Snapshot) setHot(h *hotMember, a *access) error {
	if a.vecIdx >= 0 {
		h.flags = flagVector
		h.r[0], h.r[1] = uint16(a.vecIdx), uint16(a.vecIdx>>16)
		return nil
	}
	if len(s.roles) >= 1<<16-1 {
		return Errorf(CodeInvalidArgument, "more than %d role revisions in one workspace", 1<<16-1)
	}
	h.r = [3]uint16{} // the no-role slot
	for i, r := range a.roles {
		h.r[i] = uint16(r + 1)
	}
	return nil
}

// level is a member's effective level of permission p (M3): one load from
// a materialized vector, or the maximum of three loads from the role
// vectors, which are few and stay in cache. No branch depends on how many
// roles the member has: unused slots read the no-role vector.
func (s *Snapshot) level(h *hotMember, p int) Level {
	if h.flags&flagVector != 0 {
		return s.levels[(int(h.r[0])|int(h.r[1])<<16)*s.stride+p]
	}
	rl := s.roleLevels
	return max(rl[int(h.r[0])*s.stride+p], rl[int(h.r[1])*s.stride+p], rl[int(h.r[2])*s.stride+p])
}

// accessLevel is an access's level of permission p.
func (s *Snapshot) accessLevel(a *access, p PermID) Level {
	if a.vec != nil {
		return a.vec[p]
	}
	l := s.roleLevels[int(p)] // the no-role vector
	for _, r := range a.roles {
		l = max(l, s.roles[r].vec[p])
	}
	return l
}

// accessVector is an access's effective vector; it allocates when the
// access is not materialized.
func (s *Snapshot) accessVector(a *access) Vector {
	if a.vec != nil {
		return a.vec
	}
	vs := make([]Vector, len(a.roles))
	for i, r := range a.roles {
		vs[i] = s.roles[r].vec
	}
	return s.cat.roleLevels(vs...)
}

// userID returns member i's user id.
func (s *Snapshot) userID(i int32) string {
	h := s.hot.at(int(i))
	return s.idPage(i)[h.idOff : h.idOff+uint32(h.idLen)]
}

// idPage returns the ids of member i's page.
func (s *Snapshot) idPage(i int32) string {
	if i < pageSize {
		return s.id0
	}
	return s.ids[i>>pageShift]
}

// Workspace returns the id of the snapshot's workspace.
func (s *Snapshot) Workspace() string { return s.workspace }

// Revision returns the workspace revision the snapshot was compiled at (D8).
func (s *Snapshot) Revision() int64 { return s.revision }

// Catalog returns the workspace catalog the snapshot was compiled against.
func (s *Snapshot) Catalog() *Catalog { return s.cat }

// NumMembers returns the number of members.
func (s *Snapshot) NumMembers() int { return s.hot.len() - s.gone }

// NumAccessVectors returns the number of distinct (roles, direct grants,
// owner) combinations: the number of distinct effective vectors.
func (s *Snapshot) NumAccessVectors() int { return len(s.accesses) }

// NumMaterialized returns how many effective vectors are stored; the others
// are evaluated from role vectors at check time.
func (s *Snapshot) NumMaterialized() int { return len(s.levels) / max(1, s.stride) }

// HasMember reports whether user is a member of the workspace.
func (s *Snapshot) HasMember(user string) bool {
	_, ok := s.byUser.lookup(s, user)
	return ok
}

// Epoch returns a member's epoch (A1), and false for a non-member. It does
// not allocate.
func (s *Snapshot) Epoch(user string) (int64, bool) {
	i, ok := s.byUser.lookup(s, user)
	if !ok {
		return 0, false
	}
	return s.members.at(int(i)).epoch, true
}

// Effective returns a member's effective level of every permission (M3) and
// false for a non-member. The vector may be shared: do not modify it.
func (s *Snapshot) Effective(user string) (Vector, bool) {
	i, ok := s.byUser.lookup(s, user)
	if !ok {
		return nil, false
	}
	return s.accessVector(&s.accesses[s.members.at(int(i)).access]), true
}

// RoleVector returns the compiled levels of a role revision held in the
// snapshot. The vector is shared: do not modify it.
func (s *Snapshot) RoleVector(ref RoleRef) (Vector, bool) {
	i, ok := s.roleIdx[ref]
	if !ok {
		return nil, false
	}
	return s.roles[i].vec, true
}

// deptsOf returns member i's departments, using buf for the common case of
// one department so that the cold member record is not read.
func (s *Snapshot) deptsOf(i int32, buf *[1]int32) []int32 {
	switch d := s.hot.at(int(i)).dept; d {
	case deptNone:
		return nil
	case deptMany:
		return s.memberDepts(s.members.at(int(i)))
	default:
		buf[0] = int32(d) - 1
		return buf[:]
	}
}

func (s *Snapshot) memberDepts(m *member) []int32 {
	return s.deptArena[m.deptOff : m.deptOff+uint32(m.deptLen)]
}

func (s *Snapshot) deptIDs(ds []int32) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = s.depts.nodes[d].id
	}
	return out
}

func (r RoleRef) String() string { return r.RoleID + "@" + strconv.FormatInt(r.Revision, 10) }

// sharedLevels holds role level arrays node-wide by content: workspaces
// whose roles are the same (every workspace starts with the predefined
// roles, most never edit them) share one array instead of a few
// kilobytes each. The arrays are never written after Compile; Update
// appends to a clipped copy (addRoles), so sharing cannot carry one
// workspace's change into another. At most maxSharedLevels arrays are
// kept; past that, a snapshot keeps its own.
var sharedLevels = newInternTable[string, []Level](maxSharedLevels)

const maxSharedLevels = 1024

// internLevels returns the shared array equal to l, sharing l when it is
// the first, clipped so that no append can write into it.
func internLevels(l []Level) []Level {
	l = slices.Clip(l)
	key := make([]byte, len(l))
	for i, v := range l {
		key[i] = byte(v)
	}
	return sharedLevels.share(string(key), l)
}

// pointRoleVectors points each compiled role's vector into roleLevels, so
// that the check path reads one flat array.
func (s *Snapshot) pointRoleVectors() {
	for i := range s.roles {
		lo, hi := (i+1)*s.stride, (i+2)*s.stride
		s.roles[i].vec = s.roleLevels[lo:hi:hi]
	}
}

// memberCompiler compiles members into a snapshot, reusing its buffers.
// With interned set, members with the same combination share one access.
type memberCompiler struct {
	interned map[string]int32
	key      []byte
	roles    []int32
	depts    []int32
}

// compile builds the hot and cold records of member m, whose id is at
// idOff in its page's ids, adding an access to s when needed. old is the
// record m replaces (Update), nil for a new member: when m's departments
// are old's, m keeps old's range of the department arena instead of
// appending a copy (an applied role edit replaces 10,000 members whose
// departments stay).
func (c *memberCompiler) compile(s *Snapshot, m *Member, idOff uint32, old *member) (hotMember, member, error) {
	ws := s.workspace
	if len(m.UserID) == 0 || len(m.UserID) > maxUserIDLen {
		return hotMember{}, member{}, Errorf(CodeInvalidArgument, "compile %s: member id %q must be 1 to %d bytes", ws, m.UserID, maxUserIDLen)
	}
	if len(m.DepartmentIDs) > 1<<16-1 {
		return hotMember{}, member{}, Errorf(CodeInvalidArgument, "compile %s: member %q is in too many departments", ws, m.UserID)
	}
	c.roles = c.roles[:0]
	for _, ref := range m.Roles {
		i, ok := s.roleIdx[ref]
		if !ok {
			return hotMember{}, member{}, Errorf(CodeInvalidArgument, "compile %s: member %q holds unknown role revision %s@%d", ws, m.UserID, ref.RoleID, ref.Revision)
		}
		c.roles = append(c.roles, i)
	}
	slices.Sort(c.roles)
	c.roles = slices.Compact(c.roles)
	ai := int32(-1)
	if c.interned != nil {
		c.key = accessKey(c.key[:0], c.roles, m.Grants, m.When, m.Owner, m.Kind)
		if i, ok := c.interned[string(c.key)]; ok {
			ai = i
		} else {
			c.interned[string(c.key)] = int32(len(s.accesses))
		}
	}
	if ai < 0 {
		ai = int32(len(s.accesses))
		s.accesses = append(s.accesses, s.newAccess(slices.Clone(c.roles), m.Grants, m.When, m.Owner, m.Kind))
	}
	h := hotMember{idOff: idOff, idLen: uint16(len(m.UserID))}
	if err := s.setHot(&h, &s.accesses[ai]); err != nil {
		return hotMember{}, member{}, fmt.Errorf("compile %s: %w", ws, err)
	}
	cm := member{access: ai, deptLen: uint16(len(m.DepartmentIDs)), client: m.Kind == Client, epoch: m.Epoch, rec: packRecord(m.Email, m.Data)}
	c.depts = c.depts[:0]
	for _, d := range m.DepartmentIDs {
		di, ok := s.depts.byID[d]
		if !ok {
			return hotMember{}, member{}, Errorf(CodeInvalidArgument, "compile %s: member %q is in unknown department %q", ws, m.UserID, d)
		}
		c.depts = append(c.depts, di)
	}
	if old != nil && slices.Equal(s.memberDepts(old), c.depts) {
		cm.deptOff = old.deptOff
	} else {
		cm.deptOff = uint32(len(s.deptArena))
		s.deptArena = append(s.deptArena, c.depts...)
	}
	switch n := len(c.depts); {
	case n == 1 && c.depts[0] < deptMany-1:
		h.dept = uint16(c.depts[0] + 1)
	case n > 0:
		h.dept = deptMany
	}
	return h, cm, nil
}

// smallScan is the number of members up to which a snapshot keeps no
// department lists and no email index: scanning so few members costs a
// query a microsecond or two, where the indexes cost each of a node's many
// small workspaces hundreds of bytes (30 departments' list headers alone
// are 720).
const smallScan = 128

// indexDepartments lists each department's members, for Filter, unless
// the workspace is small (see smallScan): Filter then scans.
func (s *Snapshot) indexDepartments() {
	s.deptMembers = nil
	if s.members.len() <= smallScan {
		return
	}
	s.deptMembers = make([][]int32, len(s.depts.nodes))
	for i := range s.members.len() {
		m := s.members.at(i)
		if m.gone {
			continue
		}
		for _, d := range s.memberDepts(m) {
			s.deptMembers[d] = append(s.deptMembers[d], int32(i))
		}
	}
}
