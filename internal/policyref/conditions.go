package policyref

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// The attributes random conditions and records use, with their types:
// amount a number, stage a string, vip a boolean, closed_at an RFC 3339
// time, region a string. A random record leaves any of them out, so
// conditions meet missing attributes (G3) too.
var (
	stages  = []string{"new", "won", "lost", "closed"}
	regions = []string{"eu", "us", "apac"}
)

// RandomAttributes returns a record's attributes: each present two times
// in three.
func RandomAttributes(rng *rand.Rand) map[string]any {
	a := map[string]any{}
	if rng.IntN(3) > 0 {
		a["amount"] = float64(rng.IntN(5) * 5000)
	}
	if rng.IntN(3) > 0 {
		a["stage"] = stages[rng.IntN(len(stages))]
	}
	if rng.IntN(3) > 0 {
		a["vip"] = rng.IntN(2) == 0
	}
	if rng.IntN(3) > 0 {
		a["closed_at"] = time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	if rng.IntN(3) > 0 {
		a["region"] = regions[rng.IntN(len(regions))]
	}
	return a
}

// RandomCondition returns a random condition within the SQL-renderable
// subset (G4), of depth at most depth, over the attributes of
// RandomAttributes, owner_id, and request.region and request.time.
func RandomCondition(rng *rand.Rand, depth int) string {
	if depth > 0 && rng.IntN(3) > 0 {
		switch rng.IntN(3) {
		case 0:
			return "(" + RandomCondition(rng, depth-1) + " && " + RandomCondition(rng, depth-1) + ")"
		case 1:
			return "(" + RandomCondition(rng, depth-1) + " || " + RandomCondition(rng, depth-1) + ")"
		default:
			return "!(" + RandomCondition(rng, depth-1) + ")"
		}
	}
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	op := ops[rng.IntN(len(ops))]
	switch rng.IntN(10) {
	case 0:
		return fmt.Sprintf("record.amount %s %d", op, rng.IntN(5)*5000)
	case 1:
		return fmt.Sprintf("%d %s record.amount", rng.IntN(5)*5000, op)
	case 2:
		return fmt.Sprintf("record.stage %s '%s'", ops[rng.IntN(2)], stages[rng.IntN(len(stages))])
	case 3:
		n := 1 + rng.IntN(3)
		var vs []string
		for range n {
			vs = append(vs, "'"+stages[rng.IntN(len(stages))]+"'")
		}
		return "record.stage in [" + strings.Join(vs, ", ") + "]"
	case 4:
		return fmt.Sprintf("record.vip == %v", rng.IntN(2) == 0)
	case 5:
		return fmt.Sprintf("timestamp(record.closed_at) %s timestamp('2026-%02d-15T00:00:00Z')", op, 1+rng.IntN(12))
	case 6:
		return "record.region == request.region"
	case 7:
		return []string{"record.stage.startsWith('c')", "record.stage.contains('o')", "record.region.startsWith('a')"}[rng.IntN(3)]
	case 8:
		return []string{"has(record.amount)", "has(record.vip)", "record.owner_id == 'u1'"}[rng.IntN(3)]
	}
	return fmt.Sprintf("timestamp(record.closed_at) %s timestamp(request.time)", op)
}

// RandomContext returns a request context for RandomCondition: region and
// time each present two times in three.
func RandomContext(rng *rand.Rand) map[string]any {
	c := map[string]any{}
	if rng.IntN(3) > 0 {
		c["region"] = regions[rng.IntN(len(regions))]
	}
	if rng.IntN(3) > 0 {
		c["time"] = time.Date(2026, time.Month(1+rng.IntN(12)), 10, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	return c
}

// source is one grant that reaches a permission: its level and its
// condition ("" for none).
type source struct {
	level policy.Level
	when  string
}

// resolveWhen is resolve with the condition of the grant that decides
// (C6: the nearest explicit grant carries its condition down).
func (r *Model) resolveWhen(g policy.Grants, when policy.Conditions, m *module, action string, aud policy.Audience) source {
	if m.relation || (aud == policy.Client && m.internal) {
		return source{}
	}
	for cur := m; cur != nil; cur = r.modules[cur.parent] {
		if _, ok := cur.actions[action]; !ok {
			continue
		}
		if l, ok := g[cur.id+"_"+action]; ok {
			return source{level: l, when: when[cur.id+"_"+action]}
		}
	}
	return source{}
}

// sources lists every grant of user reaching perm, conditional or not:
// relation access, each role, the direct grants; an owner's everything.
func (r *Model) sources(user, perm string) []source {
	mem, ok := r.members[user]
	k, known := r.keys[perm]
	if !ok || !known {
		return nil
	}
	m, action := k.m, k.action
	if mem.Owner {
		if mem.Kind == policy.Client && m.internal {
			return nil
		}
		return []source{{level: policy.LevelAll}}
	}
	var out []source
	if m.relation {
		for _, acts := range m.relations {
			if slices.Contains(acts, action) {
				out = append(out, source{level: policy.LevelOwn})
			}
		}
	}
	for _, ref := range mem.Roles {
		ro := r.roles[ref]
		out = append(out, r.resolveWhen(ro.Grants, ro.When, m, action, ro.Audience))
		if ro.Predefined && m.relation {
			if l, ok := m.predefined[ro.RoleID][action]; ok {
				out = append(out, source{level: l})
			}
		}
	}
	return append(out, r.resolveWhen(mem.Grants, mem.When, m, action, mem.Kind))
}

// AllowedContext decides a check with grant conditions (G2, G3), naively:
// allowed iff some grant of the member reaches the record at its level
// and its condition, if any, evaluates to true on the record and ctx.
// Without a record, any grant above none allows. A condition that does
// not compile or fails to evaluate allows nothing.
func (r *Model) AllowedContext(user, perm string, rec *policy.Resource, ctx policy.Context) bool {
	for _, s := range r.sources(user, perm) {
		if s.level == policy.LevelNone {
			continue
		}
		if rec == nil {
			return true
		}
		if !r.reaches(user, perm, s.level, rec) {
			continue
		}
		if s.when == "" {
			return true
		}
		c, err := policy.CompileCondition(s.when)
		if err != nil {
			continue
		}
		if ok, err := c.Eval(rec, ctx); err == nil && ok {
			return true
		}
	}
	return false
}
