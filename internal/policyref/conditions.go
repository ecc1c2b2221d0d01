package policyref

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
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
