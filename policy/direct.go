package policy

// ValidateDirectGrants checks a member's direct grants (M5) against the
// levels its roles give it (roles, from Snapshot.RoleVector or
// Catalog.Resolve): every violation of C1, C5, R10 and M6 for the member's
// kind, and every C4 pair broken in the resulting effective levels. It
// returns the grants that are redundant (at or below the roles' level:
// kept, but reported) and nil, or the violations as an error.
func (c *Catalog) ValidateDirectGrants(direct Grants, kind Audience, roles []Vector) (redundant []string, err error) {
	vs := c.checkKeys(direct, kind)
	base := make(Vector, len(c.perms))
	c.addRelationLevels(base)
	for _, v := range roles {
		maxInto(base, v)
	}
	if len(vs) == 0 {
		eff := append(Vector(nil), base...)
		maxInto(eff, c.resolve(direct, kind))
		vs = c.checkDependencies(eff, direct, nil)
	}
	if err := violationsError("direct grants", vs); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(direct) {
		if id, ok := c.byKey[k]; ok && direct[k] <= base[id] {
			redundant = append(redundant, k)
		}
	}
	return redundant, nil
}
