package policy

import "fmt"

// ValidateConditions checks the conditions of a grant set (G1, G2): each
// names a grant above none of g and compiles (invalid_condition, with the
// position, naming the permission), and C4 holds per record: a permission
// whose level comes from a conditional grant needs each permission it
// requires to be reached unconditionally or under the same condition, and
// an unconditional one needs its requirements unconditional
// (dependency_violation). Levels themselves are checked by ValidateGrants,
// where a conditional grant counts at its level. It returns nil when when
// is empty.
func (c *Catalog) ValidateConditions(g Grants, when Conditions) error {
	if len(when) == 0 {
		return nil
	}
	for _, key := range sortedKeys(when) {
		l, ok := g[key]
		if !ok || l == LevelNone {
			return &Error{Code: CodeInvalidCondition, Message: fmt.Sprintf("%s: a condition needs a grant above none (G1)", key),
				Details: map[string]any{"permission": key}}
		}
		if _, err := CompileCondition(when[key]); err != nil {
			e := err.(*Error)
			e.Message = key + ": " + e.Message
			e.Details["permission"] = key
			return e
		}
	}
	cond := func(p *Permission) string {
		if o := c.origin(g, p); o != nil {
			return when[o.Key]
		}
		return ""
	}
	var vs []Violation
	for _, p := range c.perms {
		o := c.origin(g, p)
		if o == nil || g[o.Key] == LevelNone {
			continue
		}
		cp := cond(p)
		for _, q := range p.Requires {
			if cq := cond(q); cq != "" && cq != cp {
				what := "unconditionally"
				if cp != "" {
					what = fmt.Sprintf("when %s", cp)
				}
				vs = append(vs, Violation{Code: CodeDependencyViolation, Permission: p.Key, Requires: q.Key,
					Message: fmt.Sprintf("%s is granted %s but %s only when %s: a record could be reachable by %s and not by %s (C4, G2)",
						p.Key, what, q.Key, cq, p.Key, q.Key)})
			}
		}
	}
	return violationsError("conditions", vs)
}
