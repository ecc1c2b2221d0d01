package policy

// checkConditional decides for a member some of whose grants of pid are
// conditional (G2, G3). d carries the member's effective level, in which
// conditional grants count at their level.
//
//   - Without a record (D1, G3): allowed when some grant is above none;
//     Conditional when only conditional grants are.
//   - With a record (G2): the unconditional grants are tried first, as in
//     CheckRecord; then each conditional grant, strongest first, whose
//     level reaches the record: the first whose condition is true allows.
//     A conditional grant at or below the unconditional level adds nothing
//     (redundant) and is not evaluated. A condition that fails to evaluate
//     never allows; when nothing allows, the reason is condition_error if
//     one failed, condition_false if a grant reached the record but its
//     condition was false, and out_of_scope otherwise.
func (s *Snapshot) checkConditional(user string, mi int32, pid PermID, a *access, r *Resource, ctx Context, d Decision) Decision {
	var buf [4]condGrant
	ul, gs := s.conditionalGrants(a, pid, buf[:0])
	if r == nil {
		d.Allowed = d.Level > LevelNone
		d.Reason = ReasonNoGrant
		if d.Allowed {
			d.Reason, d.Conditional = ReasonGranted, ul == LevelNone
		}
		return d
	}
	if ul > LevelNone {
		if why := s.reach(user, mi, pid, ul, r); allows(why) {
			d.Allowed, d.Reason = true, why
			return d
		}
	}
	d.Reason = ReasonOutOfScope
	if ul == LevelNone {
		d.Reason = ReasonNoGrant
	}
	var failed, reached bool
	for _, g := range gs {
		if g.level <= ul {
			continue // redundant (G2)
		}
		why := s.reach(user, mi, pid, g.level, r)
		if !allows(why) {
			d.Reason = ReasonOutOfScope
			continue
		}
		reached = true
		ok, err := g.cond.Eval(r, ctx)
		d.evals++
		if err != nil {
			d.evalErrors++
			failed = true
			continue
		}
		if ok {
			d.Allowed, d.Reason, d.Conditional = true, why, true
			d.src = g.role + 1
			if g.role < 0 {
				d.src = 0
			}
			return d
		}
	}
	switch {
	case failed:
		d.Reason = ReasonConditionError
	case reached:
		d.Reason = ReasonConditionFalse
	}
	return d
}

// allows reports whether a reason of reach lets the record through.
func allows(why Reason) bool {
	return why != ReasonOutOfScope && why != ReasonNoRelation && why != ReasonNoGrant
}

// reach applies level l of permission pid to a record, as CheckRecord does.
func (s *Snapshot) reach(user string, mi int32, pid PermID, l Level, r *Resource) Reason {
	switch {
	case l == LevelNone:
		return ReasonNoGrant
	case l == LevelAll:
		return ReasonLevelAll
	case s.cat.perms[pid].relations != 0:
		if related(user, s.cat.perms[pid].relations, &r.Relations) {
			return ReasonRelation
		}
		return ReasonNoRelation
	}
	return s.scope(user, mi, l, r)
}

// ConditionEvaluations returns how many grant conditions the decision
// evaluated and how many of them failed to evaluate, for metrics.
func (d Decision) ConditionEvaluations() (evaluated, failed int) {
	return int(d.evals), int(d.evalErrors)
}
