package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestG1_G5_ConditionsEndToEnd: through the API and the Go client, a role
// with conditional grants is written and read back, decides checks on the
// record's attributes and the request context (G2, G3), explains them
// (G5), filters with a condition tree (G4), diffs its revisions (R6a), a
// bad condition is refused with its position (G1), and the metrics count
// evaluations and errors.
func TestG1_G5_ConditionsEndToEnd(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	const when = "record.amount <= 10000 && request.channel == 'web'"

	_, _, err := w.admin.CreateRole(ctx, w.ws, client.RoleInput{Name: "Bad", Grants: policy.Grants{"deals_view": policy.LevelAll},
		When: policy.Conditions{"deals_view": "record.amount <= "}})
	if client.ErrorCode(err) != policy.CodeInvalidCondition {
		t.Fatalf("bad condition: %v", err)
	}
	r, _, err := w.admin.CreateRole(ctx, w.ws, client.RoleInput{Name: "Capped deals",
		Grants: policy.Grants{"deals_view": policy.LevelDepartment}, When: policy.Conditions{"deals_view": when}})
	if err != nil {
		t.Fatal(err)
	}
	if r.When["deals_view"] != when || r.Grants["deals_view"] != policy.LevelDepartment {
		t.Fatalf("role read back %+v %+v", r.Grants, r.When)
	}
	_, rev, err := w.admin.SetMemberRoles(ctx, w.ws, "fay", []string{r.ID})
	if err != nil {
		t.Fatal(err)
	}
	web := policy.Context{"channel": "web"}
	rec := func(amount float64) *policy.Resource {
		return &policy.Resource{OwnerID: "someone", DepartmentID: "west", Attributes: map[string]any{"amount": amount}}
	}
	for _, tc := range []struct {
		r       *policy.Resource
		ctx     policy.Context
		allowed bool
		reason  policy.Reason
	}{
		{rec(500), web, true, policy.ReasonDepartment},
		{rec(50000), web, false, policy.ReasonConditionFalse},
		{rec(500), policy.Context{"channel": "api"}, false, policy.ReasonConditionFalse},
		{rec(500), nil, false, policy.ReasonConditionError},
		{nil, nil, true, policy.ReasonGranted},
	} {
		d, err := w.check.Check(ctx, w.ws, client.CheckRequest{User: "fay", Permission: "deals_view", Resource: tc.r, Context: tc.ctx, MinRevision: rev})
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != tc.allowed || d.Reason != tc.reason || (d.Allowed && !d.Conditional) {
			t.Errorf("check %+v %v: %+v", tc.r, tc.ctx, d)
		}
	}
	ex, err := w.admin.Explain(ctx, w.ws, client.ExplainRequest{User: "fay", Permission: "deals_view", Resource: rec(500), Context: web})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Conditions) != 1 || !ex.Conditions[0].Decided || ex.Conditions[0].When != when {
		t.Errorf("explain conditions %+v", ex.Conditions)
	}
	f, err := w.check.Filter(ctx, w.ws, client.FilterRequest{User: "fay", Permission: "deals_view", Context: web})
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != policy.PlanConditional || len(f.Conditions) != 1 || !f.Matches(rec(500)) || f.Matches(rec(50000)) {
		t.Errorf("filter %+v", f)
	}
	where, args := f.SQL(client.SQLite, client.Columns{Owner: "owner_id", Department: "department_id", Attributes: map[string]string{"amount": "amount"}})
	if !strings.Contains(where, "(amount <= ?)") || len(args) == 0 {
		t.Errorf("SQL %s %v", where, args)
	}
	_, _, err = w.admin.UpdateRole(ctx, w.ws, r.ID, client.RoleUpdate{Grants: policy.Grants{"deals_view": policy.LevelDepartment},
		When: policy.Conditions{"deals_view": "record.amount <= 20000"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := w.admin.RoleRevision(ctx, w.ws, r.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Changes) != 1 || d.Changes[0].OldWhen != when || d.Changes[0].NewWhen != "record.amount <= 20000" || d.Grants["deals_view"].When == "" {
		t.Errorf("revision diff %+v", d)
	}
	m, err := client.New(strings.TrimSuffix(env.MetricsURL, "/metrics"), "").Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gatehouse_condition_evaluations_total 4", "gatehouse_condition_errors_total 1"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
