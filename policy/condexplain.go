package policy

import "strconv"

// ConditionTrace is one conditional grant considered by a decision (G5).
type ConditionTrace struct {
	// Source is "role <id>@<revision>" or "direct grant".
	Source string `json:"source"`
	From   string `json:"from"` // the granted key (C6: maybe an ancestor's)
	Level  Level  `json:"level"`
	When   string `json:"when"`
	// Redundant is set when an unconditional grant reaches at least as
	// far: the condition is not evaluated (G2).
	Redundant bool `json:"redundant,omitempty"`
	// Reaches says whether the grant's level reaches the record (D2).
	Reaches bool `json:"reaches"`
	// Value is the condition's value on the record: true, false, or nil
	// when it was not evaluated or failed (then Error says why, G3).
	Value   *bool  `json:"value"`
	Error   string `json:"error,omitempty"`
	Decided bool   `json:"decided"`
}

// conditionTraces evaluates every conditional grant of pid for explain,
// in the order checkConditional tries them; the one that allowed d is
// marked Decided.
func (s *Snapshot) conditionTraces(user string, mi int32, pid PermID, a *access, r *Resource, ctx Context, d Decision) []ConditionTrace {
	ul, gs := s.conditionalGrants(a, pid, nil)
	decided := false
	var out []ConditionTrace
	for _, g := range gs {
		t := ConditionTrace{Source: "direct grant", From: g.from, Level: g.level, When: g.cond.Source, Redundant: g.level <= ul}
		if g.role >= 0 {
			t.Source = "role " + s.roles[g.role].RoleRevision.RoleID + "@" + strconv.FormatInt(s.roles[g.role].Revision, 10)
		}
		if r != nil && !t.Redundant {
			t.Reaches = allows(s.reach(user, mi, pid, g.level, r))
			ok, err := g.cond.Eval(r, ctx)
			if err != nil {
				t.Error = err.Error()
			} else {
				t.Value = &ok
				if ok && t.Reaches && d.Allowed && d.Conditional && !decided {
					t.Decided, decided = true, true
				}
			}
		}
		out = append(out, t)
	}
	return out
}
