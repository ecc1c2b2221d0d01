package policy

// EffectivePermission is one permission a member holds above none, with
// every source that gives it a level (M3, M5, C6, W4): what a console or an
// API shows as "effective permissions".
type EffectivePermission struct {
	Permission string
	Level      Level
	DecidedBy  string
	// Roles lists the member's roles that give the permission a level
	// above none, with where each level comes from (explicit, inherited…).
	Roles []RoleTrace
	// Direct is the member's direct grant reaching the permission, when it
	// gives a level above none.
	Direct *GrantTrace
	// Owner is set for a workspace owner, who holds everything (W4).
	Owner bool
}

// EffectivePermissions lists, in catalog order, every permission the member
// holds above none with its sources. ok is false for a user who is not a
// member.
func (s *Snapshot) EffectivePermissions(user string) (out []EffectivePermission, ok bool) {
	eff, ok := s.Effective(user)
	if !ok {
		return nil, false
	}
	for _, p := range s.Catalog().Permissions() {
		if eff[p.ID] == LevelNone {
			continue
		}
		ex, err := s.Explain(user, p.Key, nil)
		if err != nil {
			continue // p comes from the snapshot's own catalog: unreachable
		}
		ep := EffectivePermission{Permission: p.Key, Level: ex.Level, DecidedBy: ex.DecidedBy, Owner: ex.Owner}
		for _, rt := range ex.Roles {
			if rt.Level > LevelNone {
				ep.Roles = append(ep.Roles, rt)
			}
		}
		if d := ex.Direct; d != nil && d.Level > LevelNone {
			ep.Direct = d
		}
		out = append(out, ep)
	}
	return out, true
}
