package client_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestG4_MalformedTreesRenderSafely: a filter is data from the network; a
// tree the server would never send (an empty and/or, a not without exactly
// one operand) still renders as SQL that parses and never widens the
// selection, instead of "()" or a panic.
func TestG4_MalformedTreesRenderSafely(t *testing.T) {
	t.Parallel()
	cols := client.Columns{Owner: "owner_id", Department: "department_id", Attributes: map[string]string{"amount": "amount"}}
	for _, tc := range []struct {
		name string
		when *policy.CondExpr
		want string
	}{
		{"empty and is true", &policy.CondExpr{Op: "and"}, "TRUE"},
		{"empty or is false", &policy.CondExpr{Op: "or"}, "FALSE"},
		{"not without an operand selects nothing", &policy.CondExpr{Op: "not"}, "NULL"},
		{"not with two operands selects nothing", &policy.CondExpr{Op: "not", Operands: []*policy.CondExpr{{Op: "true"}, {Op: "false"}}}, "NULL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := client.Filter{Kind: policy.PlanConditional, Level: policy.LevelOwn,
				Conditions: []policy.PlanCondition{{Level: policy.LevelAll, When: tc.when}}}
			where, _ := f.SQL(client.Postgres, cols)
			if strings.Contains(where, "()") || !strings.Contains(where, tc.want) {
				t.Fatalf("where = %q, want it to contain %s and no empty group", where, tc.want)
			}
		})
	}
}
