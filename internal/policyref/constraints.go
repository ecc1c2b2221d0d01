package policyref

import (
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Violations lists, sorted, every C4 pair that the levels given by level
// break, as "<perm>=<level> requires <perm>=<level>": between two scoped
// actions the level may not exceed the required one's; when either is
// unscoped, any level above none needs the required one above none.
func (r *Model) Violations(level func(perm string) policy.Level) []string {
	var out []string
	for _, m := range r.modules {
		for a, scoped := range m.actions {
			la := level(m.id + "_" + a)
			if la == policy.LevelNone {
				continue
			}
			for _, req := range m.requires[a] {
				lr := level(m.id + "_" + req)
				if scoped && m.actions[req] && la > lr || (!scoped || !m.actions[req]) && lr == policy.LevelNone {
					out = append(out, fmt.Sprintf("%s_%s=%s requires %s_%s=%s", m.id, a, la, m.id, req, lr))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// GrantViolations lists the C4 pairs that grant set g breaks for a role of
// audience aud, after inheritance (C6). Unknown (orphaned, C7) keys are
// ignored, as decisions ignore them.
func (r *Model) GrantViolations(g policy.Grants, aud policy.Audience) []string {
	return r.Violations(func(perm string) policy.Level { return r.Resolve(g, perm, aud) })
}

// MemberViolations lists the C4 pairs that user's effective levels break
// (C4, M5); none for a non-member.
func (r *Model) MemberViolations(user string) []string {
	return r.Violations(func(perm string) policy.Level { return r.Level(user, perm) })
}

// KeyViolations lists, sorted, the grants of g that no role or member of
// audience aud may hold, judged key by key: an unknown permission (C1), a
// relation module's (R10), a level its action does not take (C5), an
// internal-only module's above none for a client (M6).
func (r *Model) KeyViolations(g policy.Grants, aud policy.Audience) []string {
	var out []string
	for key, l := range g {
		k, ok := r.keys[key]
		switch {
		case !ok:
			out = append(out, key+": unknown permission")
		case k.m.relation:
			out = append(out, key+": relation module")
		case !l.Valid() || !k.m.actions[k.action] && l != policy.LevelNone && l != policy.LevelAll:
			out = append(out, fmt.Sprintf("%s: level %d on an unscoped action", key, l))
		case aud == policy.Client && k.m.internal && l > policy.LevelNone:
			out = append(out, key+": internal only, granted to a client")
		}
	}
	slices.Sort(out)
	return out
}

// Valid judges a role's grant set by brute force: no key violation and no
// C4 pair broken after inheritance.
func (r *Model) Valid(g policy.Grants, aud policy.Audience) bool {
	return len(r.KeyViolations(g, aud)) == 0 && len(r.GrantViolations(g, aud)) == 0
}
