package policy

// ValidateDirectGrants checks a member's direct grants (M5) against the
// levels its roles give it (roles, from Snapshot.RoleVector or
// Catalog.Resolve): every violation of C1, C5, R10 and M6 for the member's
// kind, and every C4 pair broken in the resulting effective levels. It
// returns the grants that are redundant (at or below the roles' level:
// kept, but reported) and nil, or the violations as an error.
func (c *Catalog) ValidateDirectGrants(direct Grants, kind Audience, roles []Vector) ([]string, error) {
	vs := c.checkKeys(direct, kind)
	base := c.roleLevels(roles...)
	if len(vs) == 0 {
		eff := append(Vector(nil), base...)
		maxInto(eff, c.resolve(direct, kind))
		vs = c.checkDependencies(eff, direct)
	}
	if err := violationsError("direct grants", vs); err != nil {
		return nil, err
	}
	return c.redundantGrants(direct, base), nil
}
