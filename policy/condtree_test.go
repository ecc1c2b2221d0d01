package policy_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestG4_TreeSelectsWhatTheConditionAllows: for random conditions of the
// renderable subset, random records (attributes missing included) and
// random request contexts, the filter's tree (SQL's three-valued logic)
// selects a record exactly when the condition evaluates to true.
func TestG4_TreeSelectsWhatTheConditionAllows(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(18, 4))
	for range 300 {
		src := policyref.RandomCondition(rng, 3)
		c, err := policy.CompileCondition(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for range 20 {
			ctx := policy.Context(policyref.RandomContext(rng))
			tree := c.Tree(ctx)
			r := &policy.Resource{OwnerID: []string{"u1", "u2"}[rng.IntN(2)], Attributes: policyref.RandomAttributes(rng)}
			ok, err := c.Eval(r, ctx)
			want := err == nil && ok
			if got := tree.Matches(r); got != want {
				js, _ := json.Marshal(tree)
				t.Fatalf("%s on %v with %v: tree %v, eval %v (%v)\ntree %s", src, r.Attributes, ctx, got, ok, err, js)
			}
		}
	}
}

// FuzzCondition: compiling never panics and refuses with
// invalid_condition only; an accepted condition evaluates on any decoded
// record and context without panicking, and its tree agrees with it (G4).
func FuzzCondition(f *testing.F) {
	f.Add("record.amount <= 10000 && record.stage != 'closed'", `{"amount": 5000, "stage": "new"}`, `{}`)
	f.Add("timestamp(record.closed_at) < timestamp(request.time)", `{"closed_at": "2026-01-01T00:00:00Z"}`, `{"time": "2026-06-01T00:00:00Z"}`)
	f.Add("record.stage in ['a', 'b'] || !has(record.vip)", `{"stage": "a", "vip": null}`, `{"x": [1, 2]}`)
	f.Add("record.name.startsWith('A') && request.ip == '10.0.0.1'", `{"name": 3}`, `{"ip": "10.0.0.1"}`)
	f.Add("record.a +", `[]`, `nope`)
	f.Fuzz(func(t *testing.T, src, attrs, ctx string) {
		c, err := policy.CompileCondition(src)
		if err != nil {
			if policy.ErrorCode(err) != policy.CodeInvalidCondition {
				t.Fatalf("%q: code %s: %v", src, policy.ErrorCode(err), err)
			}
			return
		}
		var a map[string]any
		var x policy.Context
		if json.Unmarshal([]byte(attrs), &a) != nil || json.Unmarshal([]byte(ctx), &x) != nil {
			return
		}
		r := &policy.Resource{OwnerID: "u", Attributes: a}
		ok, err := c.Eval(r, x)
		want := err == nil && ok
		if got := c.Tree(x).Matches(r); got != want {
			t.Fatalf("%q on %s with %s: tree %v, eval %v (%v)", src, attrs, ctx, got, ok, err)
		}
	})
}
