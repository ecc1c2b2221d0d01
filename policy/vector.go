package policy

// Vector holds one level per permission of a catalog, indexed by PermID:
// the compiled form of a role revision or of a member's effective grants.
// Vectors in a Snapshot are shared and must not be modified.
type Vector []Level

// Level returns the level of permission id.
func (v Vector) Level(id PermID) Level { return v[id] }

// maxInto raises dst to the per-permission maximum of dst and src (M3).
func maxInto(dst, src Vector) {
	for i, l := range src {
		if l > dst[i] {
			dst[i] = l
		}
	}
}

// resolve compiles explicit grants into a vector, applying inheritance (C6):
// a permission without an explicit grant takes the level of the same action
// on its nearest ancestor that supports it; an explicit grant, LevelNone
// included, overrides. Keys missing from the catalog are orphaned grants
// (C7) and are ignored. For a client audience, internal-only permissions
// stay LevelNone whatever reaches them (M6). Relation modules are left LevelNone here;
// their levels come from relations, see compileRole.
//
// Because permission ids are assigned in preorder, an ancestor's permission
// is always resolved before its descendants', so one pass suffices.
func (c *Catalog) resolve(g Grants, audience Audience) Vector {
	v := make(Vector, len(c.perms))
	explicit := make([]bool, len(c.perms))
	for key, l := range g {
		if id, ok := c.byKey[key]; ok && l.Valid() && c.perms[id].Allows(l) {
			v[id], explicit[id] = l, true
		}
	}
	for _, p := range c.perms {
		switch {
		case p.Module.Kind == Relation:
			v[p.ID] = LevelNone
		case audience == Client && p.Module.InternalOnly:
			v[p.ID] = LevelNone
		case !explicit[p.ID] && p.parent != nil:
			v[p.ID] = v[p.parent.ID] // the loader keeps scoped-ness equal along a chain
		}
	}
	return v
}

// Orphaned returns the keys of g that this catalog does not know: grants kept
// in storage for a module that left the catalog (C7), ignored by decisions.
func (c *Catalog) Orphaned(g Grants) []string {
	var out []string
	for _, k := range sortedKeys(g) {
		if _, ok := c.byKey[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// Resolve returns the level of every permission that grants g give a role of
// the given audience, with inheritance applied (C6, C7, M6).
func (c *Catalog) Resolve(g Grants, audience Audience) Vector { return c.resolve(g, audience) }

// AllowAll returns the grant set of R8's "Allow everything" for a role of the
// given audience: every grantable permission at its highest level.
func (c *Catalog) AllowAll(audience Audience) Grants {
	g := Grants{}
	for _, p := range c.perms {
		if p.Module.Kind == Relation || (audience == Client && p.Module.InternalOnly) {
			continue
		}
		g[p.Key] = LevelAll
	}
	return g
}

// roleLevels is the level of every permission that a set of compiled role
// vectors gives together (M3), starting from the relation access every
// member has (R10), so a member without roles still reaches related records.
func (c *Catalog) roleLevels(roles ...Vector) Vector {
	v := make(Vector, len(c.perms))
	c.addRelationLevels(v)
	for _, r := range roles {
		maxInto(v, r)
	}
	return v
}

// redundantGrants returns the keys of direct whose level does not exceed
// what base already gives: kept, but reported (M5).
func (c *Catalog) redundantGrants(direct Grants, base Vector) []string {
	var out []string
	for _, k := range sortedKeys(direct) {
		if id, ok := c.byKey[k]; ok && direct[k] <= base[id] {
			out = append(out, k)
		}
	}
	return out
}
