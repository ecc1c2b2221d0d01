package admin

import (
	"encoding/binary"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// onlyRevisionsMoved reports whether a member differs from before only in
// the revisions of roles it holds (a "save and apply", R6), in a write
// that kept the catalog: then only the permissions those role revisions
// grant differently can have changed, which is what revisionChange
// compares instead of two whole effective vectors per member.
func (v *view) onlyRevisionsMoved(u string, old, m *Member) bool {
	if v.dirty[u] || !v.applied[u] || v.allSuspect || v.cat != v.base.cat || len(m.Grants) > 0 || m.Owner ||
		old.Owner || old.Kind != m.Kind || len(old.Roles) != len(m.Roles) || v.anyDeptRoles() {
		return false // department roles (M9) count too: the full comparison
	}
	for i := range m.Roles {
		if m.Roles[i].RoleID != old.Roles[i].RoleID || !m.Roles[i].ExpiresAt.IsZero() {
			return false
		}
	}
	return true
}

// revisionChange compares a member's levels before and after, on the
// permissions where a moved role revision differs (see
// onlyRevisionsMoved). It returns whether any level changed, and the X3
// escalations when an actor's levels are given.
//
// Members moved between the same revisions of the same roles get the same
// answer, computed once per write: an applied edit of a role held by
// 10,000 moves them in a few dozen combinations.
func (v *view) revisionChange(old, m *Member, actor policy.Vector) (bool, []string) {
	key := v.moveKey[:0]
	for i, a := range m.Roles {
		key = append(key, a.RoleID...)
		key = binary.AppendVarint(append(key, 0), old.Roles[i].Revision)
		key = binary.AppendVarint(key, a.Revision)
	}
	v.moveKey = key
	if r, ok := v.moves[string(key)]; ok {
		return r.changed, r.esc
	}
	changed, esc := v.compareMoved(old, m, actor)
	if v.moves == nil {
		v.moves = map[string]revisionMove{}
	}
	v.moves[string(key)] = revisionMove{changed, esc}
	return changed, esc
}

// revisionMove is revisionChange's answer for one combination of moves.
type revisionMove struct {
	changed bool
	esc     []string
}

// compareMoved is revisionChange without the cache.
func (v *view) compareMoved(old, m *Member, actor policy.Vector) (bool, []string) {
	var perms []policy.PermID
	for i, a := range m.Roles {
		if a.Revision != old.Roles[i].Revision {
			perms = append(perms, v.revisionDiff(a.RoleID, old.Roles[i].Revision, a.Revision)...)
		}
	}
	if len(perms) == 0 {
		return false, nil
	}
	oldVecs := make([]policy.Vector, len(old.Roles))
	newVecs := make([]policy.Vector, len(m.Roles))
	for i, a := range old.Roles {
		oldVecs[i] = v.vector(v.base.cat, v.base.roles[a.RoleID], v.base.revs[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}])
	}
	for i, a := range m.Roles {
		newVecs[i] = v.vector(v.cat, v.roles[a.RoleID], v.roleRevision(a.RoleID, a.Revision))
	}
	changed := false
	var esc []string
	for _, p := range perms {
		var lo, ln policy.Level
		for i := range oldVecs {
			lo, ln = max(lo, oldVecs[i][p]), max(ln, newVecs[i][p])
		}
		if lo == ln {
			continue
		}
		changed = true
		if actor != nil && ln > lo && ln > actor[p] && v.cat.Permission(p).Module.Kind != policy.Relation {
			esc = append(esc, fmt.Sprintf("%s: %s (yours: %s)", v.cat.Permission(p).Key, ln, actor[p]))
		}
	}
	return changed, esc
}

// revisionDiff lists the permissions whose level differs between two
// revisions of a role, computed once per write.
func (v *view) revisionDiff(roleID string, from, to int64) []policy.PermID {
	key := revisionStep{roleID, from, to}
	if d, ok := v.diffs[key]; ok {
		return d
	}
	r := v.roles[roleID]
	a := v.vector(v.base.cat, v.base.roles[roleID], v.base.revs[policy.RoleRef{RoleID: roleID, Revision: from}])
	b := v.vector(v.cat, r, v.roleRevision(roleID, to))
	var out []policy.PermID
	for i := range a {
		if a[i] != b[i] {
			out = append(out, policy.PermID(i))
		}
	}
	if v.diffs == nil {
		v.diffs = map[revisionStep][]policy.PermID{}
	}
	v.diffs[key] = out
	return out
}

// revisionStep is a role moved from one revision to another.
type revisionStep struct {
	roleID   string
	from, to int64
}
