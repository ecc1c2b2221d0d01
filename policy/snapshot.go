package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	Grants        Grants // direct grants, additive only (M5)
	Epoch         int64
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
}

// compiledRole is a role revision resolved against the catalog.
type compiledRole struct {
	RoleRevision
	vec      Vector
	orphaned []string
}

// access is one distinct combination of (roles at revisions, direct grants,
// owner flag) and its effective vector. Members with the same combination
// share one access, so memory grows with distinct combinations, never with
// members × permissions.
type access struct {
	roles  []int32 // indexes into Snapshot.roles, sorted
	direct Grants  // nil when the combination has no direct grants
	owner  bool
	vec    Vector // effective levels (M3)
	base   Vector // levels from the roles alone; == vec when direct is nil
}

// member is a compiled member: 40 bytes. Its user id is a substring of one
// arena string and its departments a range of one shared slice, so a
// member costs no allocation of its own.
type member struct {
	userID  string
	access  int32
	deptOff uint32
	deptLen uint16
	client  bool
	epoch   int64
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
	roles     []compiledRole
	roleIdx   map[RoleRef]int32
	accesses  []access
	// levels holds every access's effective vector back to back: the level
	// of permission p for access a is levels[a*stride+p]. One flat array
	// keeps the check path to a single load and the vectors dense in cache.
	levels    []Level
	stride    int
	members   []member
	byUser    userIndex
	depts     deptTree
	deptArena []int32
	// deptMembers lists, per department, the members in it: Filter's
	// department_owner_ids without a scan of every member.
	deptMembers [][]int32
}

// Compile builds a Snapshot from a workspace's state. It returns
// invalid_argument when the state is inconsistent: a member on a role
// revision or in a department the state does not contain, duplicate ids, or
// a cyclic department tree. Grants are not re-validated (the admin layer
// validated them on write); orphaned keys are ignored (C7).
func Compile(st State) (*Snapshot, error) {
	if st.Catalog == nil {
		return nil, Errorf(CodeInvalidArgument, "compile %s: no catalog", st.Workspace)
	}
	s := &Snapshot{workspace: st.Workspace, revision: st.Revision, cat: st.Catalog,
		roleIdx: make(map[RoleRef]int32, len(st.Roles)),
		byUser:  newUserIndex(len(st.Members)), stride: st.Catalog.NumPermissions()}
	var err error
	if s.depts, err = buildDeptTree(st.Departments); err != nil {
		return nil, fmt.Errorf("compile %s: %w", st.Workspace, err)
	}
	for _, r := range st.Roles {
		ref := RoleRef{r.RoleID, r.Revision}
		if _, dup := s.roleIdx[ref]; dup {
			return nil, Errorf(CodeInvalidArgument, "compile %s: duplicate role revision %s@%d", st.Workspace, r.RoleID, r.Revision)
		}
		s.roleIdx[ref] = int32(len(s.roles))
		s.roles = append(s.roles, st.Catalog.compileRole(r))
	}

	var ids strings.Builder
	for _, m := range st.Members {
		ids.WriteString(m.UserID)
	}
	arena, off := ids.String(), 0
	seen := make(map[string]struct{}, len(st.Members))
	interned := map[string]int32{}
	var key []byte
	var roles []int32
	s.members = make([]member, 0, len(st.Members))
	for _, m := range st.Members {
		if _, dup := seen[m.UserID]; dup || m.UserID == "" {
			return nil, Errorf(CodeInvalidArgument, "compile %s: duplicate or empty member id %q", st.Workspace, m.UserID)
		}
		seen[m.UserID] = struct{}{}
		userID := arena[off : off+len(m.UserID)]
		off += len(m.UserID)
		roles = roles[:0]
		for _, ref := range m.Roles {
			i, ok := s.roleIdx[ref]
			if !ok {
				return nil, Errorf(CodeInvalidArgument, "compile %s: member %q holds unknown role revision %s@%d", st.Workspace, m.UserID, ref.RoleID, ref.Revision)
			}
			roles = append(roles, i)
		}
		slices.Sort(roles)
		roles = slices.Compact(roles)
		key = accessKey(key[:0], roles, m.Grants, m.Owner, m.Kind)
		ai, ok := interned[string(key)]
		if !ok {
			ai = int32(len(s.accesses))
			interned[string(key)] = ai
			s.accesses = append(s.accesses, s.newAccess(slices.Clone(roles), m.Grants, m.Owner, m.Kind))
		}
		cm := member{userID: userID, access: ai, deptOff: uint32(len(s.deptArena)),
			deptLen: uint16(len(m.DepartmentIDs)), client: m.Kind == Client, epoch: m.Epoch}
		if len(m.DepartmentIDs) > 1<<16-1 {
			return nil, Errorf(CodeInvalidArgument, "compile %s: member %q is in too many departments", st.Workspace, m.UserID)
		}
		for _, d := range m.DepartmentIDs {
			di, ok := s.depts.byID[d]
			if !ok {
				return nil, Errorf(CodeInvalidArgument, "compile %s: member %q is in unknown department %q", st.Workspace, m.UserID, d)
			}
			s.deptArena = append(s.deptArena, di)
		}
		s.byUser.insert(userID, int32(len(s.members)))
		s.members = append(s.members, cm)
	}
	s.deptMembers = make([][]int32, len(s.depts.nodes))
	for i := range s.members {
		for _, d := range s.memberDepts(&s.members[i]) {
			s.deptMembers[d] = append(s.deptMembers[d], int32(i))
		}
	}
	s.levels = make([]Level, len(s.accesses)*s.stride)
	for i := range s.accesses {
		a := &s.accesses[i]
		dst := s.levels[i*s.stride : (i+1)*s.stride : (i+1)*s.stride]
		copy(dst, a.vec)
		if len(a.direct) == 0 {
			a.base = dst
		}
		a.vec = dst
	}
	return s, nil
}

// accessKey renders a member's combination as a map key.
func accessKey(b []byte, roles []int32, direct Grants, owner bool, kind Audience) []byte {
	if owner {
		b = append(b, 'O')
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

func (s *Snapshot) newAccess(roles []int32, direct Grants, owner bool, kind Audience) access {
	a := access{roles: roles, owner: owner}
	vs := make([]Vector, len(roles))
	for i, r := range roles {
		vs[i] = s.roles[r].vec
	}
	a.base = s.cat.roleLevels(vs...)
	if owner {
		for i := range a.base {
			a.base[i] = LevelAll
		}
	}
	a.vec = a.base
	if len(direct) > 0 {
		a.direct = direct.Clone()
		a.vec = slices.Clone(a.base)
		maxInto(a.vec, s.cat.resolve(direct, kind))
	}
	return a
}

// Workspace returns the id of the snapshot's workspace.
func (s *Snapshot) Workspace() string { return s.workspace }

// Revision returns the workspace revision the snapshot was compiled at (D8).
func (s *Snapshot) Revision() int64 { return s.revision }

// Catalog returns the workspace catalog the snapshot was compiled against.
func (s *Snapshot) Catalog() *Catalog { return s.cat }

// NumMembers returns the number of members.
func (s *Snapshot) NumMembers() int { return len(s.members) }

// NumAccessVectors returns the number of distinct effective vectors: the
// number of distinct (roles, direct grants, owner) combinations.
func (s *Snapshot) NumAccessVectors() int { return len(s.accesses) }

// HasMember reports whether user is a member of the workspace.
func (s *Snapshot) HasMember(user string) bool {
	_, ok := s.byUser.lookup(s.members, user)
	return ok
}

// Epoch returns a member's epoch (A1), and false for a non-member. It does
// not allocate.
func (s *Snapshot) Epoch(user string) (int64, bool) {
	i, ok := s.byUser.lookup(s.members, user)
	if !ok {
		return 0, false
	}
	return s.members[i].epoch, true
}

// Effective returns a member's effective level of every permission (M3) and
// false for a non-member. The vector is shared: do not modify it.
func (s *Snapshot) Effective(user string) (Vector, bool) {
	i, ok := s.byUser.lookup(s.members, user)
	if !ok {
		return nil, false
	}
	return s.accesses[s.members[i].access].vec, true
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
