package admin

import (
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// How a preview sees conditions (P1, G1). A conditional grant counts at its
// level in effective levels, so a preview comparing levels alone misses an
// edit that adds, removes or changes a condition at the same level. For a
// member holding a conditional grant on either side, the preview compares
// each permission's access: the level reached unconditionally, and the
// conditional grants reaching above it. A change shows the effective level
// and the condition under which the member holds that level ("" when it is
// held unconditionally), old and new.

// condAccess is one member's access to one permission, conditions included.
type condAccess struct {
	level policy.Level // the effective level: conditional grants count at theirs (G1)
	when  string       // the condition of the top level, "" when it is held unconditionally
	shape string       // everything that decides: the unconditional level and the conditional grants above it
}

// condSource is what a grant set (one role revision, or direct grants)
// contributes conditionally: its levels from unconditional grants only,
// and for each permission whose level comes from a conditional grant, that
// grant's condition.
type condSource struct {
	uvec  policy.Vector
	full  policy.Vector
	conds map[policy.PermID]string
}

// condSources caches condSource values per catalog and role revision for
// one preview: the edited role is shared by every member listed.
type condSources map[condKey]*condSource

type condKey struct {
	cat *policy.Catalog
	rv  *RoleRevision
}

// conditionalPerms finds which permissions of a grant set get their level
// from a conditional grant, and from which: vec compiles a grant set
// (RoleVector for roles, Resolve for direct grants). Restoring one
// conditional grant onto the unconditional grants raises exactly the
// permissions whose nearest explicit grant (C6) it is.
func conditionalPerms(g policy.Grants, when policy.Conditions, vec func(policy.Grants) policy.Vector) *condSource {
	full := vec(g)
	if len(when) == 0 {
		return &condSource{uvec: full, full: full}
	}
	u := make(policy.Grants, len(g))
	for k, l := range g {
		if when[k] != "" {
			l = policy.LevelNone // still explicit: it overrides an ancestor's grant (C6)
		}
		u[k] = l
	}
	cs := &condSource{uvec: vec(u), full: full, conds: map[policy.PermID]string{}}
	for _, k := range slices.Sorted(maps.Keys(when)) {
		if when[k] == "" || g[k] <= policy.LevelNone {
			continue
		}
		u[k] = g[k]
		with := vec(u)
		u[k] = policy.LevelNone
		for p := range with {
			if with[p] != cs.uvec[p] {
				cs.conds[policy.PermID(p)] = when[k]
			}
		}
	}
	return cs
}

// hasConditions reports whether any grant a member holds is conditional.
func hasConditions(revs map[policy.RoleRef]*RoleRevision, m *Member) bool {
	if m == nil || m.Owner {
		return false
	}
	if len(m.When) > 0 {
		return true
	}
	for _, a := range m.Roles {
		if rv := revs[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}]; rv != nil && len(rv.When) > 0 {
			return true
		}
	}
	return false
}

// conditionalAccess returns a member's access to every permission with its
// conditions, given its effective levels eff (effectiveIn's answer).
func (cs condSources) conditionalAccess(cat *policy.Catalog, roles map[string]*Role, revs map[policy.RoleRef]*RoleRevision, m *Member, eff policy.Vector) []condAccess {
	var srcs []*condSource
	for _, a := range m.Roles {
		r, rv := roles[a.RoleID], revs[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}]
		if r == nil || rv == nil {
			continue
		}
		k := condKey{cat, rv}
		s, ok := cs[k]
		if !ok {
			s = conditionalPerms(rv.Grants, rv.When, func(g policy.Grants) policy.Vector {
				return cat.RoleVector(roleWithGrants(r, rv, g))
			})
			cs[k] = s
		}
		srcs = append(srcs, s)
	}
	if len(m.Grants) > 0 {
		srcs = append(srcs, conditionalPerms(m.Grants, m.When, func(g policy.Grants) policy.Vector { return cat.Resolve(g, m.Kind) }))
	}
	out := make([]condAccess, len(eff))
	type cg struct {
		level policy.Level
		when  string
	}
	for p := range eff {
		u := policy.LevelNone
		for _, s := range srcs {
			u = max(u, s.uvec[p])
		}
		var above []cg
		for _, s := range srcs {
			if w, ok := s.conds[policy.PermID(p)]; ok && s.full[p] > u {
				above = append(above, cg{s.full[p], w})
			}
		}
		if len(above) == 0 {
			out[p] = condAccess{level: eff[p], shape: eff[p].String()}
			continue
		}
		slices.SortFunc(above, func(a, b cg) int {
			if a.level != b.level {
				return int(b.level) - int(a.level)
			}
			return strings.Compare(a.when, b.when)
		})
		above = slices.Compact(above)
		var top []string
		shape := []string{u.String()}
		for _, c := range above {
			if c.level == above[0].level {
				top = append(top, c.when)
			}
			shape = append(shape, c.level.String()+" when "+c.when)
		}
		out[p] = condAccess{level: eff[p], when: anyOf(top), shape: strings.Join(shape, "; ")}
	}
	return out
}

// anyOf joins conditions with ||, parenthesized when there are several.
func anyOf(conds []string) string {
	if len(conds) == 1 {
		return conds[0]
	}
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = "(" + c + ")"
	}
	return strings.Join(parts, " || ")
}
