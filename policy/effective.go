package policy

// RoleVector compiles one role revision on its own, exactly as a snapshot
// evaluates it: inheritance (C6), audience (M6), relation access (R10).
// The admin layer uses it to compare members' effective levels before and
// after a write without compiling a whole snapshot.
func (c *Catalog) RoleVector(r RoleRevision) Vector { return c.compileRole(r).vec }

// EffectiveLevels is a member's effective level of every permission: the
// maximum over its role vectors (M3, from RoleVector) and its direct grants
// (M5), or everything for a workspace owner (W4). It is what a snapshot
// decides with, computed for one member.
func (c *Catalog) EffectiveLevels(kind Audience, owner bool, roles []Vector, direct Grants) Vector {
	v := c.roleLevels(roles...)
	if owner {
		c.ownerLevels(v, kind)
		return v
	}
	if len(direct) > 0 {
		maxInto(v, c.resolve(direct, kind))
	}
	return v
}

// ownerLevels sets v to what a workspace owner of the given kind holds:
// every permission at all (W4), except that a client is never reached by
// an internal-only module, owner or not (M6).
func (c *Catalog) ownerLevels(v Vector, kind Audience) {
	for i, p := range c.perms {
		if kind == Client && p.Module.InternalOnly {
			v[i] = LevelNone
			continue
		}
		v[i] = LevelAll
	}
}
