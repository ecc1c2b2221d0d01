package policy

import "slices"

// How conditions live in a snapshot (G6). A conditional grant counts at its
// level in every vector (roleLevels, materialized vectors), so that every
// rule comparing levels sees it (C4, M5, X3a, D7) and the check path of a
// member without conditional grants is unchanged. What else a conditional
// grant needs is kept beside the vectors:
//
//   - Snapshot.condPerms marks each permission that some access reaches
//     through a conditional grant: a check of any other permission reads
//     one more byte and goes on exactly as before;
//   - a compiled role revision with conditional grants keeps its levels
//     from unconditional grants only (uvec) and its conditional grants by
//     permission (conds); an access with direct conditional grants keeps
//     the same for them (access.cond). A check gathers them from the
//     member's few role revisions (conditionalGrants): nothing is
//     materialized per access, so compile time and memory stay those of
//     levels. Conditions compile once per distinct source and are shared
//     through Snapshot.conds.

// condGrant is one conditional grant reaching a permission.
type condGrant struct {
	level Level
	cond  *Condition
	from  string // the granted key: the permission itself or an ancestor (C6)
	role  int32  // index into Snapshot.roles, or -1 for a direct grant
}

// accessConds is what an access with conditional grants needs beyond its
// roles, which keep their own conditional grants (compiledRole.conds):
// the levels of its unconditional direct grants, and its conditional
// direct grants by permission. Both are empty without direct grants.
type accessConds struct {
	direct Vector
	by     map[PermID]condGrant
}

// condition returns the compiled condition of src, compiling it once per
// snapshot lineage. A stored condition that no longer compiles (it was
// validated on write) gives a condition whose every evaluation fails, so
// its grant never allows (G3).
func (s *Snapshot) condition(src string) *Condition {
	if c, ok := s.conds[src]; ok {
		return c
	}
	if !s.condsOwned {
		m := make(map[string]*Condition, len(s.conds)+1)
		for k, v := range s.conds {
			m[k] = v
		}
		s.conds, s.condsOwned = m, true
	}
	c, err := CompileCondition(src)
	if err != nil {
		c = &Condition{Source: src, err: err}
	}
	s.conds[src] = c
	return c
}

// conditionalPerms returns, for grants g of the given audience with
// conditions when, every permission whose level comes from a conditional
// grant (C6: the nearest explicit grant decides), with that grant's key.
func (c *Catalog) conditionalPerms(g Grants, when Conditions, audience Audience) map[PermID]string {
	if len(when) == 0 {
		return nil
	}
	out := map[PermID]string{}
	for _, p := range c.perms {
		if p.Module.Kind == Relation || (audience == Client && p.Module.InternalOnly) {
			continue
		}
		if o := c.origin(g, p); o != nil && when[o.Key] != "" && g[o.Key] > LevelNone {
			out[p.ID] = o.Key
		}
	}
	return out
}

// unconditional returns g without its conditional grants, or g itself
// when it has none.
func unconditional(g Grants, when Conditions) Grants {
	if len(when) == 0 {
		return g
	}
	out := make(Grants, len(g))
	for k, l := range g {
		if when[k] != "" {
			l = LevelNone // still explicit: it overrides an ancestor's grant (C6)
		}
		out[k] = l
	}
	return out
}

// roleConds compiles the conditions of role revision i.
func (s *Snapshot) roleConds(i int32) {
	cr := &s.roles[i]
	perms := s.cat.conditionalPerms(cr.Grants, cr.When, cr.Audience)
	if len(perms) == 0 {
		return
	}
	cr.uvec = s.cat.compileRole(RoleRevision{RoleID: cr.RoleID, Audience: cr.Audience,
		Predefined: cr.Predefined, Grants: unconditional(cr.Grants, cr.When)}).vec
	cr.conds = map[PermID]condGrant{}
	for p, key := range perms {
		cr.conds[p] = condGrant{level: cr.vec[p], cond: s.condition(cr.When[key]), from: key, role: i}
		s.markConditional(p)
	}
}

// accessConditions builds the conditional part of an access, or nil when
// none of its grants is conditional.
func (s *Snapshot) accessConditions(a *access, direct Grants, when Conditions, kind Audience) *accessConds {
	if a.owner {
		return nil // an owner holds everything unconditionally (W4)
	}
	dperms := s.cat.conditionalPerms(direct, when, kind)
	any := len(dperms) > 0
	for _, r := range a.roles {
		any = any || s.roles[r].conds != nil
	}
	if !any {
		return nil
	}
	ac := &accessConds{}
	if len(direct) > 0 {
		ac.direct = s.cat.resolve(unconditional(direct, when), kind)
	}
	if len(dperms) > 0 {
		dv := s.cat.resolve(direct, kind)
		ac.by = make(map[PermID]condGrant, len(dperms))
		for p, key := range dperms {
			ac.by[p] = condGrant{level: dv[p], cond: s.condition(when[key]), from: key, role: -1}
			s.markConditional(p)
		}
	}
	return ac
}

// conditionalGrants appends to buf the conditional grants of access a
// reaching permission p, strongest first, and returns the access's
// level of p from unconditional grants only. It does not allocate while
// buf has room (a member holds at most a few).
func (s *Snapshot) conditionalGrants(a *access, p PermID, buf []condGrant) (Level, []condGrant) {
	ul := s.roleLevels[p] // the no-role vector: relation access (R10)
	for _, r := range a.roles {
		cr := &s.roles[r]
		if cr.uvec == nil {
			ul = max(ul, cr.vec[p])
			continue
		}
		ul = max(ul, cr.uvec[p])
		if g, ok := cr.conds[p]; ok {
			buf = append(buf, g)
		}
	}
	if a.cond.direct != nil {
		ul = max(ul, a.cond.direct[p])
	}
	if g, ok := a.cond.by[p]; ok {
		buf = append(buf, g)
	}
	// Strongest first; ties keep role order, then the direct grant.
	for i := 1; i < len(buf); i++ {
		for j := i; j > 0 && buf[j].level > buf[j-1].level; j-- {
			buf[j], buf[j-1] = buf[j-1], buf[j]
		}
	}
	return ul, buf
}

// hasConditional reports whether access a reaches p through a
// conditional grant.
func (s *Snapshot) hasConditional(a *access, p PermID) bool {
	if a.cond == nil {
		return false
	}
	if _, ok := a.cond.by[p]; ok {
		return true
	}
	for _, r := range a.roles {
		if _, ok := s.roles[r].conds[p]; ok {
			return true
		}
	}
	return false
}

// markConditional sets condPerms[p], copying condPerms first if it is
// shared with the snapshot an Update started from.
func (s *Snapshot) markConditional(p PermID) {
	if s.condPerms[p] {
		return
	}
	if !s.condPermsOwned {
		s.condPerms = slices.Clone(s.condPerms)
		s.condPermsOwned = true
	}
	s.condPerms[p] = true
}
