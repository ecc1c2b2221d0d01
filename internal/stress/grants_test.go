package stress

import "github.com/gatehouse-authz/gatehouse/policy"

// invalidGrantCodes are the refusals of a grant set that breaks C1, C4,
// C5, M6 or R10.
var invalidGrantCodes = codes{policy.CodeDependencyViolation, policy.CodeAudienceMismatch, policy.CodeInvalidArgument, policy.CodeUnknownPermission}

// grants returns a random grant set for audience aud, valid about three
// times in four, and whether the reference judges it valid. Invalid sets
// break C4 (edit above view, delete without edit), name unknown or
// relation permissions, or give clients internal-only modules.
func (w *writer) grants(aud policy.Audience) (policy.Grants, bool) {
	wantValid := w.rng.IntN(4) != 0
	for range 20 {
		g := w.rawGrants(aud, 1+w.rng.IntN(6))
		if wantValid {
			closeRequires(w.h.base, g)
		} else if w.rng.IntN(10) == 0 {
			g[[]string{"lead_view", "tasks_view", "invoices_view"}[w.rng.IntN(3)]] = policy.LevelAll
		}
		if valid := w.h.baseRef.Valid(g, aud); valid == wantValid {
			return g, valid
		}
	}
	g := policy.Grants{"leads_view": policy.LevelOwn}
	return g, w.h.baseRef.Valid(g, aud)
}

// rawGrants picks n random permissions at random levels their action
// takes, avoiding relation modules and, for clients, internal-only ones.
func (w *writer) rawGrants(aud policy.Audience, n int) policy.Grants {
	perms := w.h.base.Permissions()
	g := policy.Grants{}
	for len(g) < n {
		p := perms[w.rng.IntN(len(perms))]
		if p.Module.Kind == policy.Relation || aud == policy.Client && p.Module.InternalOnly {
			continue
		}
		l := policy.LevelAll
		if p.Scoped {
			l = policy.Level(w.rng.IntN(5))
		} else if w.rng.IntN(3) == 0 {
			l = policy.LevelNone
		}
		g[p.Key] = l
	}
	return g
}

// closeRequires raises the explicit grants every explicit grant requires
// (C4), until nothing changes. Inheritance may still break the set; the
// caller asks the reference.
func closeRequires(cat *policy.Catalog, g policy.Grants) {
	for changed := true; changed; {
		changed = false
		for key, l := range g {
			p, err := cat.PermissionByKey(key)
			if err != nil || l == policy.LevelNone {
				continue
			}
			for _, q := range p.Requires {
				need := policy.LevelAll
				switch {
				case p.Scoped && q.Scoped:
					need = l
				case q.Scoped:
					need = policy.LevelOwn
				}
				if g[q.Key] < need {
					g[q.Key] = need
					changed = true
				}
			}
		}
	}
}
