package policy_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// condFixture: "capped" edits deals in its department when the amount is at
// most 10,000 and the stage is not closed; "reader" views deals everywhere
// unconditionally; "both" holds both roles; "vip" views contacts only
// when the record is vip (and has a direct conditional grant).
func condFixture(t testing.TB) *policy.Snapshot {
	t.Helper()
	const capped = "record.amount <= 10000 && record.stage != 'closed'"
	st := policy.State{Workspace: "acme", Revision: 7, Catalog: policy.DefaultCatalog(),
		Departments: []policy.Department{{ID: "sales"}, {ID: "support"}},
		Roles: []policy.RoleRevision{
			{RoleID: "capped", Revision: 1, Name: "Capped", Audience: policy.Internal,
				Grants: policy.Grants{"deals_view": dept, "deals_edit": dept},
				When:   policy.Conditions{"deals_view": capped, "deals_edit": capped}},
			{RoleID: "reader", Revision: 1, Name: "Reader", Audience: policy.Internal,
				Grants: policy.Grants{"deals_view": all}},
			{RoleID: "low", Revision: 1, Name: "Low", Audience: policy.Internal,
				Grants: policy.Grants{"deals_view": own}},
			{RoleID: "timed", Revision: 1, Name: "Timed", Audience: policy.Internal,
				Grants: policy.Grants{"leads_view": all},
				When:   policy.Conditions{"leads_view": "timestamp(request.time) < timestamp('2027-01-01T00:00:00Z') && record.region in ['eu', 'us']"}},
		},
		Members: []policy.Member{
			{UserID: "capped", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, Roles: refs("capped@1")},
			{UserID: "both", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, Roles: refs("capped@1", "reader@1")},
			{UserID: "low", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, Roles: refs("capped@1", "low@1")},
			{UserID: "timed", Kind: policy.Internal, Roles: refs("timed@1")},
			{UserID: "vip", Kind: policy.Internal, Roles: refs("low@1"),
				Grants: policy.Grants{"contacts_view": all}, When: policy.Conditions{"contacts_view": "record.vip == true"}},
			{UserID: "plain", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, Roles: refs("reader@1")},
		},
	}
	s, err := policy.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestG1_ConditionsCompileOrAreRefusedWithAPosition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src         string
		ok          bool
		unsupported string
	}{
		{src: "record.amount <= 10000 && record.stage != 'closed'", ok: true},
		{src: "record.stage in ['new', 'won'] || !(record.owner_id == request.user)", ok: true},
		{src: "record.name.startsWith('A') && record.name.contains('x')", ok: true},
		{src: "has(record.region) && record['region'] == 'eu'", ok: true},
		{src: "timestamp(record.closed_at) > timestamp(request.time)", ok: true},
		{src: "record.vip == true && (record.flag || request.admin == true)", ok: true},
		{src: "record.vip", ok: false},                                           // dyn, not boolean
		{src: "record.amount <= ", ok: false},                                    // syntax
		{src: "record.amount + 1", ok: false},                                    // not boolean
		{src: "record.amount + 1 > 5", ok: false, unsupported: "the function +"}, // arithmetic
		{src: "record.a < record.b", ok: false, unsupported: "a comparison of two record attributes"},
		{src: "record.tags.exists(t, t == 'x')", ok: false},
		{src: "size(record.name) > 3", ok: false, unsupported: "the function size"},
		{src: "unknown_var == 1", ok: false},
		{src: "", ok: false},
	} {
		_, err := policy.CompileCondition(tc.src)
		if tc.ok {
			if err != nil {
				t.Errorf("%q: %v", tc.src, err)
			}
			continue
		}
		var pe *policy.Error
		if !errors.As(err, &pe) || pe.Code != policy.CodeInvalidCondition {
			t.Errorf("%q: want invalid_condition, got %v", tc.src, err)
			continue
		}
		if pe.Details["line"] == nil || pe.Details["column"] == nil {
			t.Errorf("%q: no position in %v", tc.src, pe.Details)
		}
		if tc.unsupported != "" && pe.Details["unsupported"] != tc.unsupported {
			t.Errorf("%q: unsupported = %v, want %q", tc.src, pe.Details["unsupported"], tc.unsupported)
		}
	}
}

func TestG2_ConditionalGrantsReachRecordsWhereTheConditionHolds(t *testing.T) {
	t.Parallel()
	s := condFixture(t)
	rec := func(amount float64, stage, dept string) *policy.Resource {
		return &policy.Resource{OwnerID: "someone", DepartmentID: dept, Attributes: map[string]any{"amount": amount, "stage": stage}}
	}
	for _, tc := range []struct {
		name, user, perm string
		r                *policy.Resource
		allowed          bool
		reason           policy.Reason
		conditional      bool
	}{
		{"level and condition", "capped", "deals_edit", rec(5000, "new", "sales"), true, policy.ReasonDepartment, true},
		{"condition false", "capped", "deals_edit", rec(50000, "new", "sales"), false, policy.ReasonConditionFalse, false},
		{"second clause false", "capped", "deals_edit", rec(50, "closed", "sales"), false, policy.ReasonConditionFalse, false},
		{"level does not reach", "capped", "deals_edit", rec(5000, "new", "support"), false, policy.ReasonOutOfScope, false},
		{"union: unconditional all", "both", "deals_view", rec(50000, "closed", "support"), true, policy.ReasonLevelAll, false},
		{"union: conditional above own", "low", "deals_view", rec(5000, "new", "sales"), true, policy.ReasonDepartment, true},
		{"union: own without condition", "low", "deals_view", &policy.Resource{OwnerID: "low", Attributes: map[string]any{"amount": 1e9}}, true, policy.ReasonOwner, false},
		{"direct conditional grant", "vip", "contacts_view", &policy.Resource{OwnerID: "x", Attributes: map[string]any{"vip": true}}, true, policy.ReasonLevelAll, true},
		{"direct conditional grant false", "vip", "contacts_view", &policy.Resource{OwnerID: "x", Attributes: map[string]any{"vip": false}}, false, policy.ReasonConditionFalse, false},
		{"owner_id is a record field", "capped", "deals_edit", &policy.Resource{OwnerID: "capped", Attributes: map[string]any{"amount": 1, "stage": "new"}}, true, policy.ReasonOwner, true},
		{"unconditional member unchanged", "plain", "deals_view", rec(1, "new", "support"), true, policy.ReasonLevelAll, false},
	} {
		d, err := s.CheckRecord(tc.user, tc.perm, tc.r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != tc.allowed || d.Reason != tc.reason || d.Conditional != tc.conditional {
			t.Errorf("%s: got allowed=%v reason=%s conditional=%v, want %v %s %v", tc.name, d.Allowed, d.Reason, d.Conditional, tc.allowed, tc.reason, tc.conditional)
		}
	}
}

func TestG2_ConditionsReadTheRequestContext(t *testing.T) {
	t.Parallel()
	s := condFixture(t)
	r := &policy.Resource{OwnerID: "x", Attributes: map[string]any{"region": "eu"}}
	for _, tc := range []struct {
		ctx     policy.Context
		allowed bool
		reason  policy.Reason
	}{
		{policy.Context{"time": "2026-12-03T10:00:00Z"}, true, policy.ReasonLevelAll},
		{policy.Context{"time": "2027-06-01T10:00:00Z"}, false, policy.ReasonConditionFalse},
		{nil, false, policy.ReasonConditionError},
		{policy.Context{"time": "not a time"}, false, policy.ReasonConditionError},
	} {
		d, err := s.CheckContext("timed", "leads_view", r, tc.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != tc.allowed || d.Reason != tc.reason {
			t.Errorf("%v: got %v %s, want %v %s", tc.ctx, d.Allowed, d.Reason, tc.allowed, tc.reason)
		}
	}
}

func TestG3_CheckWithoutRecordSaysConditional(t *testing.T) {
	t.Parallel()
	s := condFixture(t)
	for _, tc := range []struct {
		user, perm           string
		allowed, conditional bool
	}{
		{"capped", "deals_edit", true, true},
		{"both", "deals_view", true, false},
		{"low", "deals_view", true, false},
		{"plain", "deals_edit", false, false},
		{"timed", "leads_view", true, true},
	} {
		d, err := s.Check(tc.user, tc.perm)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != tc.allowed || d.Conditional != tc.conditional {
			t.Errorf("%s %s: got %v conditional=%v", tc.user, tc.perm, d.Allowed, d.Conditional)
		}
	}
}

func TestG3_EvaluationErrorsDenyNeverAllow(t *testing.T) {
	t.Parallel()
	s := condFixture(t)
	for _, attrs := range []map[string]any{
		nil,                                // missing attributes
		{"amount": "lots", "stage": "new"}, // wrong type
		{"amount": 5, "stage": 3},          // wrong type on the other side: != is false, not an error, amount ok
		{"amount": map[string]any{}, "stage": "new"},
	} {
		d, err := s.CheckRecord("capped", "deals_edit", &policy.Resource{OwnerID: "x", DepartmentID: "sales", Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed && attrs != nil && attrs["stage"] != 3 {
			t.Errorf("%v: allowed", attrs)
		}
		if attrs == nil && d.Reason != policy.ReasonConditionError {
			t.Errorf("missing attributes: reason %s", d.Reason)
		}
		if n, failed := d.ConditionEvaluations(); n == 0 || (attrs == nil && failed == 0) {
			t.Errorf("%v: evaluations %d, %d", attrs, n, failed)
		}
	}
}

func TestG2_ConditionsKeepC4PerRecord(t *testing.T) {
	t.Parallel()
	c := policy.DefaultCatalog()
	for _, tc := range []struct {
		name string
		g    policy.Grants
		when policy.Conditions
		code policy.Code
	}{
		{"same condition", policy.Grants{"deals_view": dept, "deals_edit": dept}, policy.Conditions{"deals_view": "record.a == 1", "deals_edit": "record.a == 1"}, ""},
		{"view unconditional", policy.Grants{"deals_view": all, "deals_edit": dept}, policy.Conditions{"deals_edit": "record.a == 1"}, ""},
		{"view narrower", policy.Grants{"deals_view": all, "deals_edit": dept}, policy.Conditions{"deals_view": "record.a == 1"}, policy.CodeDependencyViolation},
		{"other condition", policy.Grants{"deals_view": all, "deals_edit": dept}, policy.Conditions{"deals_view": "record.a == 1", "deals_edit": "record.a == 2"}, policy.CodeDependencyViolation},
		{"condition without grant", policy.Grants{"deals_view": all}, policy.Conditions{"deals_edit": "record.a == 1"}, policy.CodeInvalidCondition},
		{"bad condition", policy.Grants{"deals_view": all}, policy.Conditions{"deals_view": "record.a +"}, policy.CodeInvalidCondition},
	} {
		err := c.ValidateConditions(tc.g, tc.when)
		if got := policy.ErrorCode(err); got != tc.code {
			t.Errorf("%s: got %q (%v), want %q", tc.name, got, err, tc.code)
		}
	}
}

func TestG5_ExplainShowsEveryConditionAndWhichDecided(t *testing.T) {
	t.Parallel()
	s := condFixture(t)
	r := &policy.Resource{OwnerID: "x", DepartmentID: "sales", Attributes: map[string]any{"amount": 5000.0, "stage": "new"}}
	e, err := s.Explain("low", "deals_view", r)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Conditions) != 1 {
		t.Fatalf("conditions %+v", e.Conditions)
	}
	c := e.Conditions[0]
	if c.Source != "role capped@1" || c.From != "deals_view" || c.Level != dept || !c.Reaches || c.Value == nil || !*c.Value || !c.Decided {
		t.Errorf("trace %+v", c)
	}
	if !e.Decision.Allowed || !e.Decision.Conditional || e.DecidedBy != "conditional grant deals_view of role capped@1" {
		t.Errorf("decision %+v decided by %q", e.Decision, e.DecidedBy)
	}
	// A failing condition shows its error; a redundant one is not evaluated.
	e, _ = s.Explain("capped", "deals_view", &policy.Resource{OwnerID: "x", DepartmentID: "sales"})
	if len(e.Conditions) != 1 || e.Conditions[0].Error == "" || e.Conditions[0].Value != nil || e.Decision.Reason != policy.ReasonConditionError {
		t.Errorf("error trace %+v, decision %+v", e.Conditions, e.Decision)
	}
	e, _ = s.Explain("both", "deals_view", r)
	if len(e.Conditions) != 1 || !e.Conditions[0].Redundant || e.Conditions[0].Value != nil || e.Conditions[0].Decided {
		t.Errorf("redundant trace %+v", e.Conditions)
	}
}

func TestG2_WhoCanWithAndWithoutRecord(t *testing.T) {
	t.Parallel()
	s := condFixture(t)
	// Without a record a conditional grant counts at its level (D7).
	got, err := s.WhoCan("deals_edit", dept)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"both", "capped", "low"}; !slices.Equal(got, want) {
		t.Errorf("who-can without a record: %v, want %v", got, want)
	}
	got, err = s.WhoCanRecord("deals_edit", &policy.Resource{OwnerID: "x", DepartmentID: "sales",
		Attributes: map[string]any{"amount": 50000, "stage": "new"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("who-can on a record no condition allows: %v", got)
	}
	got, _ = s.WhoCanRecord("deals_edit", &policy.Resource{OwnerID: "x", DepartmentID: "sales",
		Attributes: map[string]any{"amount": 50, "stage": "new"}}, nil)
	if want := []string{"both", "capped", "low"}; !slices.Equal(got, want) {
		t.Errorf("who-can on a record the condition allows: %v, want %v", got, want)
	}
}

// TestG6_ChecksWithoutConditionsDoNotAllocate: in a snapshot with
// conditional grants, checks of members without one on the permission,
// and checks of other permissions, allocate nothing; a check without a
// record never evaluates a condition.
func TestG6_ChecksWithoutConditionsDoNotAllocate(t *testing.T) {
	s := condFixture(t)
	r := &policy.Resource{OwnerID: "x", DepartmentID: "sales", Attributes: map[string]any{"amount": 1.0}}
	for _, tc := range []struct {
		user, perm string
		r          *policy.Resource
	}{
		{"plain", "deals_view", r},     // a conditional permission, no conditional grant
		{"capped", "contacts_view", r}, // a member with conditions, another permission
		{"capped", "deals_edit", nil},  // no record: no evaluation
		{"both", "deals_view", r},      // the unconditional grant decides first
	} {
		var d policy.Decision
		if n := testing.AllocsPerRun(100, func() { d, _ = s.CheckRecord(tc.user, tc.perm, tc.r) }); n != 0 {
			t.Errorf("%s %s: %v allocs", tc.user, tc.perm, n)
		}
		if n, _ := d.ConditionEvaluations(); n != 0 {
			t.Errorf("%s %s: %d conditions evaluated", tc.user, tc.perm, n)
		}
	}
}

// TestG3_StoredConditionThatNoLongerCompilesNeverAllows: a condition that
// got into storage but does not compile (written by another version)
// denies every record, in check and in filter, and never panics.
func TestG3_StoredConditionThatNoLongerCompilesNeverAllows(t *testing.T) {
	t.Parallel()
	s, err := policy.Compile(policy.State{Workspace: "w", Revision: 1, Catalog: policy.DefaultCatalog(),
		Roles: []policy.RoleRevision{{RoleID: "r", Revision: 1, Audience: policy.Internal,
			Grants: policy.Grants{"deals_view": all}, When: policy.Conditions{"deals_view": "size(record.x) > 1"}}},
		Members: []policy.Member{{UserID: "u", Kind: policy.Internal, Roles: refs("r@1")}}})
	if err != nil {
		t.Fatal(err)
	}
	r := &policy.Resource{OwnerID: "x", Attributes: map[string]any{"x": "abc"}}
	if d, _ := s.CheckRecord("u", "deals_view", r); d.Allowed || d.Reason != policy.ReasonConditionError {
		t.Errorf("check %+v", d)
	}
	p, err := s.Filter("u", "deals_view")
	if err != nil || p.Matches(r) {
		t.Errorf("filter %+v, %v", p, err)
	}
}
