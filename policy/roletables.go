package policy

import (
	"reflect"
	"strconv"
	"strings"
)

// roleTable is the compiled roles of a snapshot: what Compile derives from
// a catalog and a list of role revisions alone, so workspaces with the
// same roles (every workspace starts with the predefined roles, most
// never edit them) can share one. It is never written once shared:
// Update's addRoles copies roles and index before it appends.
type roleTable struct {
	roles  []compiledRole
	idx    map[RoleRef]int32
	levels []Level
}

// sharedRoleTables holds role tables node-wide, by catalog and by the
// identity of the role revisions they were compiled from. Identity, not
// content: role grants are parsed once per distinct text and never changed
// in place (see the stores' grant interning), so the same revision of a
// predefined role in many workspaces is the same map. Revisions with equal
// grants in different maps are only not shared. Tables with conditional
// grants are not shared, since their conditions compile into the
// snapshot's own condition tables. At most maxRoleTables are kept; past
// that, a snapshot compiles its own.
var sharedRoleTables = newInternTable[roleTableKey, *roleTable](maxRoleTables)

const maxRoleTables = 1024

type roleTableKey struct {
	cat *Catalog
	sig string
}

// roleTableSig identifies a list of role revisions for sharedRoleTables,
// or reports false when the list cannot be shared.
func roleTableSig(rs []RoleRevision) (string, bool) {
	n := 0
	for _, r := range rs {
		n += len(r.RoleID) + len(r.Name) + len(r.Audience) + 2*13 + 5 // two numbers in base 36, separators
	}
	var b strings.Builder
	b.Grow(n) // one allocation: a node builds the key of every workspace it loads
	for _, r := range rs {
		if len(r.When) > 0 {
			return "", false
		}
		b.WriteString(r.RoleID)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(r.Revision, 36))
		b.WriteByte(0)
		b.WriteString(r.Name)
		b.WriteByte(0)
		b.WriteString(string(r.Audience))
		if r.Predefined {
			b.WriteByte('p')
		}
		b.WriteByte(0)
		b.WriteString(strconv.FormatUint(uint64(reflect.ValueOf(r.Grants).Pointer()), 36))
		b.WriteByte(1)
	}
	return b.String(), true
}

// compileRoles compiles st's role revisions into s, sharing the table
// with other snapshots of the same roles.
func (s *Snapshot) compileRoles(st State) error {
	sig, shareable := roleTableSig(st.Roles)
	key := roleTableKey{cat: st.Catalog, sig: sig}
	if shareable {
		if t, ok := sharedRoleTables.lookup(key); ok {
			s.roles, s.roleIdx, s.roleLevels = t.roles, t.idx, t.levels
			return nil
		}
	}
	s.roleIdx = make(map[RoleRef]int32, len(st.Roles))
	s.roleLevels = make([]Level, 0, (len(st.Roles)+1)*s.stride)
	s.roles = make([]compiledRole, 0, len(st.Roles))
	s.roleLevels = append(s.roleLevels, st.Catalog.roleLevels()...)
	for _, r := range st.Roles {
		ref := RoleRef{r.RoleID, r.Revision}
		if _, dup := s.roleIdx[ref]; dup {
			return Errorf(CodeInvalidArgument, "compile %s: duplicate role revision %s@%d", st.Workspace, r.RoleID, r.Revision)
		}
		s.roleIdx[ref] = int32(len(s.roles))
		cr := st.Catalog.compileRole(r)
		s.roleLevels = append(s.roleLevels, cr.vec...)
		s.roles = append(s.roles, cr)
		s.roleConds(int32(len(s.roles) - 1))
	}
	s.roleLevels = internLevels(s.roleLevels)
	s.pointRoleVectors()
	if !shareable {
		return nil
	}
	for i := range s.roles {
		if s.roles[i].conds != nil {
			return nil
		}
	}
	sharedRoleTables.share(key, &roleTable{roles: s.roles, idx: s.roleIdx, levels: s.roleLevels})
	return nil
}
