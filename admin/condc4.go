package admin

import (
	"fmt"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// C4 per record across a member's grant sets (G2). Each grant set is
// checked on its own when written (policy.Catalog.ValidateConditions): a
// permission granted under condition c has each permission it requires at
// least as wide, unconditionally or under c. A role's requirements are in
// the role itself, so the union of roles keeps C4 per record: a record one
// of them makes editable, the same one makes viewable. Direct grants are
// the exception (M5): they may rely on what the roles give, and level
// arithmetic alone (a conditional grant counts at its level) would accept
// a direct deals_edit at all beside a role's deals_view at all when X,
// leaving every record where X is false editable and not viewable.
//
// memberCondC4 therefore checks every grant set of a member that has
// direct grants against the member's whole access: a grant of p at level
// L under condition c ("" for none) needs each q that p requires at L
// (DependencyOK) from the unconditional levels of all the member's grant
// sets, or, when c is not "", from one conditional grant of q under the
// same condition c. Conditions are compared as written: two conditions that
// happen to be equivalent, or several that together cover c, are not
// recognised. That errs towards refusing, never towards a record editable
// and not viewable.

// memberCondC4 returns the C4-per-record violations of member m's grant
// sets (roles at their revisions, and direct grants), nil when it holds
// no conditional grant.
func (v *view) memberCondC4(m *Member) []policy.Violation {
	if m.Owner || len(m.Grants) == 0 || !hasConditionsWith(v.roleRevision, m) {
		return nil
	}
	type source struct {
		name string
		*condSource
	}
	var srcs []source
	for _, a := range m.Roles {
		r, rv := v.roles[a.RoleID], v.roleRevision(a.RoleID, a.Revision)
		if r == nil || rv == nil {
			continue
		}
		cs := conditionalPerms(rv.Grants, rv.When, func(g policy.Grants) policy.Vector {
			return v.cat.RoleVector(roleWithGrants(r, rv, g))
		})
		srcs = append(srcs, source{fmt.Sprintf("role %s r%d", r.ID, rv.Revision), cs})
	}
	srcs = append(srcs, source{"direct grant", conditionalPerms(m.Grants, m.When, func(g policy.Grants) policy.Vector { return v.cat.Resolve(g, m.Kind) })})

	uncond := make(policy.Vector, v.cat.NumPermissions())
	for _, s := range srcs {
		for i, l := range s.uvec {
			uncond[i] = max(uncond[i], l)
		}
	}
	var out []policy.Violation
	seen := map[string]bool{}
	for _, s := range srcs {
		for _, p := range v.cat.Permissions() {
			lp := s.full[p.ID]
			if lp == policy.LevelNone {
				continue
			}
			c := s.conds[p.ID]
			for _, q := range p.Requires {
				if policy.DependencyOK(p, lp, q, uncond[q.ID]) {
					continue
				}
				same := false // a grant of q under the same condition, wide enough
				for _, t := range srcs {
					if w, ok := t.conds[q.ID]; ok && c != "" && w == c && policy.DependencyOK(p, lp, q, t.full[q.ID]) {
						same = true
					}
				}
				if same {
					continue
				}
				what := "unconditionally"
				if c != "" {
					what = "when " + c
				}
				var has []string
				if uncond[q.ID] > policy.LevelNone {
					has = append(has, uncond[q.ID].String()+" unconditionally")
				}
				for _, t := range srcs {
					if w, ok := t.conds[q.ID]; ok {
						has = append(has, fmt.Sprintf("%s when %s (%s)", t.full[q.ID], w, t.name))
					}
				}
				if len(has) == 0 {
					has = append(has, "none")
				}
				msg := fmt.Sprintf("%s is granted at %s %s (%s) but %s reaches only %s: a record could be reachable by %s and not by %s (C4, G2)",
					p.Key, lp, what, s.name, q.Key, strings.Join(has, ", "), p.Key, q.Key)
				if seen[msg] {
					continue
				}
				seen[msg] = true
				out = append(out, policy.Violation{Code: policy.CodeDependencyViolation, Permission: p.Key, Level: lp.String(),
					Requires: q.Key, RequiredLevel: uncond[q.ID].String(), Message: msg})
			}
		}
	}
	return out
}

// hasConditionsWith is hasConditions over a revision lookup.
func hasConditionsWith(rev func(roleID string, revision int64) *RoleRevision, m *Member) bool {
	if len(m.When) > 0 {
		return true
	}
	for _, a := range m.Roles {
		if rv := rev(a.RoleID, a.Revision); rv != nil && len(rv.When) > 0 {
			return true
		}
	}
	return false
}
