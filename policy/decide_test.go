package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// fixture is a small workspace on the default catalog:
//
//	sales ── sales_east ── sales_east_nyc
//	support
func fixture(t testing.TB) *policy.Snapshot {
	t.Helper()
	st := policy.State{Workspace: "acme", Revision: 42, Catalog: policy.DefaultCatalog(),
		Departments: []policy.Department{
			{ID: "sales", Name: "Sales"}, {ID: "sales_east", ParentID: "sales"},
			{ID: "sales_east_nyc", ParentID: "sales_east"}, {ID: "support"},
		},
		Roles: []policy.RoleRevision{
			{RoleID: "employee", Revision: 1, Name: "Employee", Audience: policy.Internal, Predefined: true,
				Grants: policy.Grants{"contacts_view": own, "contacts_edit": own}},
			{RoleID: "head", Revision: 1, Name: "Head", Audience: policy.Internal, Predefined: true,
				Grants: policy.Grants{"crm_view": sub, "crm_edit": dept}},
			{RoleID: "manager", Revision: 1, Name: "Manager", Audience: policy.Internal,
				Grants: policy.Grants{"leads_view": dept, "leads_edit": own}},
			{RoleID: "rep", Revision: 1, Name: "Rep", Audience: policy.Internal, Grants: policy.Grants{"deals_view": own}},
			{RoleID: "rep", Revision: 2, Name: "Rep", Audience: policy.Internal, Grants: policy.Grants{"deals_view": all}},
			{RoleID: "fake_head", Revision: 1, Name: "Head (custom)", Audience: policy.Internal, Grants: policy.Grants{}},
			{RoleID: "client_ro", Revision: 1, Name: "Client", Audience: policy.Client,
				Grants: policy.Grants{"contacts_view": own, "crm_view": all, "fax_view": all}},
		},
		Members: []policy.Member{
			{UserID: "rep", Kind: policy.Internal, DepartmentIDs: []string{"sales_east"}, Roles: refs("employee@1"), Epoch: 3},
			{UserID: "head", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, Roles: refs("head@1")},
			{UserID: "mgr", Kind: policy.Internal, DepartmentIDs: []string{"sales_east"}, Roles: refs("employee@1", "manager@1")},
			{UserID: "boss", Kind: policy.Internal, Owner: true, Roles: refs("employee@1")},
			{UserID: "client", Kind: policy.Client, Roles: refs("client_ro@1")},
			{UserID: "direct", Kind: policy.Internal, DepartmentIDs: []string{"support"}, Roles: refs("employee@1"),
				Grants: policy.Grants{"leads_view": all, "contacts_view": own}},
			{UserID: "nyc", Kind: policy.Internal, DepartmentIDs: []string{"sales_east_nyc"}, Roles: refs("employee@1")},
			{UserID: "nodept", Kind: policy.Internal, Roles: refs("employee@1")},
			{UserID: "old_rep", Kind: policy.Internal, Roles: refs("rep@1")},
			{UserID: "new_rep", Kind: policy.Internal, Roles: refs("rep@2")},
			{UserID: "custom_head", Kind: policy.Internal, Roles: refs("fake_head@1")},
			{UserID: "two_depts", Kind: policy.Internal, DepartmentIDs: []string{"support", "sales_east_nyc"}, Roles: refs("employee@1")},
		},
	}
	s, err := policy.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refs parses "role@rev" strings.
func refs(ss ...string) []policy.RoleRef {
	var out []policy.RoleRef
	for _, s := range ss {
		id, rev, _ := strings.Cut(s, "@")
		n := int64(0)
		for _, c := range rev {
			n = n*10 + int64(c-'0')
		}
		out = append(out, policy.RoleRef{RoleID: id, Revision: n})
	}
	return out
}

func check(t *testing.T, s *policy.Snapshot, user, perm string, r *policy.Resource) policy.Decision {
	t.Helper()
	d, err := s.CheckRecord(user, perm, r)
	if err != nil {
		t.Fatalf("check %s %s: %v", user, perm, err)
	}
	return d
}

func TestD1_CheckWithoutRecord(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	cases := []struct {
		user, perm string
		allowed    bool
		level      policy.Level
		reason     policy.Reason
	}{
		{"rep", "contacts_view", true, own, policy.ReasonGranted},
		{"rep", "leads_view", false, none, policy.ReasonNoGrant},
		{"head", "leads_view", true, sub, policy.ReasonGranted},
		{"head", "leads_edit", true, dept, policy.ReasonGranted},
		{"head", "leads_delete", false, none, policy.ReasonNoGrant},
		{"nobody", "leads_view", false, none, policy.ReasonNotAMember},
	}
	for _, tc := range cases {
		d := check(t, s, tc.user, tc.perm, nil)
		if d.Allowed != tc.allowed || d.Level != tc.level || d.Reason != tc.reason || d.Revision != 42 {
			t.Errorf("%s %s: %+v, want allowed=%v level=%s reason=%s revision=42", tc.user, tc.perm, d, tc.allowed, tc.level, tc.reason)
		}
	}
}

func TestD2_RecordScopes(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	rec := func(owner, dept string, responsible ...string) *policy.Resource {
		return &policy.Resource{OwnerID: owner, DepartmentID: dept, Relations: policy.Relations{Responsible: responsible}}
	}
	cases := []struct {
		name, user, perm string
		r                *policy.Resource
		allowed          bool
		reason           policy.Reason
	}{
		{"own: owner", "rep", "contacts_view", rec("rep", "support"), true, policy.ReasonOwner},
		{"own: responsible", "rep", "contacts_view", rec("x", "support", "y", "rep"), true, policy.ReasonResponsible},
		{"own: someone else's", "rep", "contacts_view", rec("mgr", "sales_east"), false, policy.ReasonOutOfScope},
		{"department: same department", "mgr", "leads_view", rec("x", "sales_east"), true, policy.ReasonDepartment},
		{"department: not a subdepartment", "mgr", "leads_view", rec("x", "sales_east_nyc"), false, policy.ReasonOutOfScope},
		{"department: parent department", "mgr", "leads_view", rec("x", "sales"), false, policy.ReasonOutOfScope},
		{"department: owner's departments when none", "mgr", "leads_view", rec("rep", ""), true, policy.ReasonDepartment},
		{"department: owner elsewhere", "mgr", "leads_view", rec("direct", ""), false, policy.ReasonOutOfScope},
		{"department: owner unknown", "mgr", "leads_view", rec("ghost", ""), false, policy.ReasonOutOfScope},
		{"department: unknown department", "mgr", "leads_view", rec("x", "mars"), false, policy.ReasonOutOfScope},
		{"department: record dept decides over owner's", "mgr", "leads_view", rec("rep", "support"), false, policy.ReasonOutOfScope},
		{"department: own still counts", "mgr", "leads_view", rec("mgr", "support"), true, policy.ReasonOwner},
		{"subdepartments: own department", "head", "leads_view", rec("x", "sales"), true, policy.ReasonDepartment},
		{"subdepartments: child", "head", "leads_view", rec("x", "sales_east"), true, policy.ReasonSubdepartment},
		{"subdepartments: grandchild", "head", "deals_view", rec("x", "sales_east_nyc"), true, policy.ReasonSubdepartment},
		{"subdepartments: sibling tree", "head", "leads_view", rec("x", "support"), false, policy.ReasonOutOfScope},
		{"subdepartments: via owner", "head", "leads_view", rec("nyc", ""), true, policy.ReasonSubdepartment},
		{"subdepartments: owner in two departments", "head", "leads_view", rec("two_depts", ""), true, policy.ReasonSubdepartment},
		{"department edit below view", "head", "leads_edit", rec("x", "sales_east"), false, policy.ReasonOutOfScope},
		{"all: any record", "direct", "leads_view", rec("x", "sales"), true, policy.ReasonLevelAll},
		{"none: even own record", "rep", "leads_view", rec("rep", "sales_east"), false, policy.ReasonNoGrant},
		{"not a member", "ghost", "leads_view", rec("ghost", ""), false, policy.ReasonNotAMember},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := check(t, s, tc.user, tc.perm, tc.r)
			if d.Allowed != tc.allowed || d.Reason != tc.reason {
				t.Errorf("%+v, want allowed=%v reason=%s", d, tc.allowed, tc.reason)
			}
		})
	}
}

func TestR10_RelationModules(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	task := &policy.Resource{OwnerID: "x", Relations: policy.Relations{
		Creator: []string{"rep"}, Responsible: []string{"mgr"}, Participant: []string{"nyc"}, Observer: []string{"nodept"}}}
	cases := []struct {
		user    string
		allowed map[string]bool // action → allowed on task
	}{
		{"rep", map[string]bool{"view": true, "edit": true, "delete": true}},            // creator
		{"mgr", map[string]bool{"view": true, "edit": true, "delete": false}},           // responsible
		{"nyc", map[string]bool{"view": true, "edit": true, "delete": false}},           // participant
		{"nodept", map[string]bool{"view": true, "edit": false, "delete": false}},       // observer
		{"direct", map[string]bool{"view": false, "edit": false, "delete": false}},      // unrelated
		{"head", map[string]bool{"view": true, "edit": false, "delete": false}},         // predefined Head sees all
		{"custom_head", map[string]bool{"view": false, "edit": false, "delete": false}}, // a custom role is not Head
	}
	for _, tc := range cases {
		for action, want := range tc.allowed {
			d := check(t, s, tc.user, "tasks_"+action, task)
			if d.Allowed != want {
				t.Errorf("%s tasks_%s: %+v, want allowed=%v", tc.user, action, d, want)
			}
		}
	}
	// Head edits only tasks it is related to, like everyone.
	mine := &policy.Resource{Relations: policy.Relations{Creator: []string{"head"}}}
	if d := check(t, s, "head", "tasks_delete", mine); !d.Allowed {
		t.Errorf("head cannot delete its own task: %+v", d)
	}
	// Without a record every member may open the tasks section (D1).
	if d := check(t, s, "direct", "tasks_view", nil); !d.Allowed {
		t.Errorf("tasks_view without record: %+v", d)
	}
}

func TestM3_EffectiveLevelIsTheMaximumOverRoles(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	for perm, want := range map[string]policy.Level{"contacts_view": own, "leads_view": dept, "leads_edit": own, "deals_view": none} {
		if d := check(t, s, "mgr", perm, nil); d.Level != want {
			t.Errorf("mgr %s = %s, want %s", perm, d.Level, want)
		}
	}
}

func TestR6_MembersKeepTheRevisionTheyHold(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	if d := check(t, s, "old_rep", "deals_view", nil); d.Level != own {
		t.Errorf("old_rep on rep@1: %s", d.Level)
	}
	if d := check(t, s, "new_rep", "deals_view", nil); d.Level != all {
		t.Errorf("new_rep on rep@2: %s", d.Level)
	}
}

func TestM5_DirectGrantsOnlyAdd(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	if d := check(t, s, "direct", "leads_view", nil); d.Level != all {
		t.Errorf("direct grant not applied: %+v", d)
	}
	if d := check(t, s, "direct", "contacts_edit", nil); d.Level != own {
		t.Errorf("role grant lost: %+v", d)
	}
	if got := s.Redundant("direct"); !slices.Equal(got, []string{"contacts_view"}) {
		t.Errorf("redundant %v, want [contacts_view]", got)
	}
	c := s.Catalog()
	emp, _ := s.RoleVector(policy.RoleRef{RoleID: "employee", Revision: 1})
	red, err := c.ValidateDirectGrants(policy.Grants{"contacts_view": own, "contacts_export": own}, policy.Internal, []policy.Vector{emp})
	if err != nil || !slices.Equal(red, []string{"contacts_view"}) {
		t.Errorf("redundant %v, err %v", red, err)
	}
	// The effective levels must still satisfy C4: export all over view own.
	_, err = c.ValidateDirectGrants(policy.Grants{"contacts_export": all}, policy.Internal, []policy.Vector{emp})
	if policy.ErrorCode(err) != policy.CodeDependencyViolation {
		t.Errorf("export above view: %v", err)
	}
	// A direct grant can satisfy a dependency the roles leave open.
	if _, err := c.ValidateDirectGrants(policy.Grants{"contacts_view": all, "contacts_export": all}, policy.Internal, []policy.Vector{emp}); err != nil {
		t.Error(err)
	}
	_, err = c.ValidateDirectGrants(policy.Grants{"wallet_view": all}, policy.Client, nil)
	if policy.ErrorCode(err) != policy.CodeAudienceMismatch {
		t.Errorf("client direct grant on billing: %v", err)
	}
	_, err = c.ValidateDirectGrants(policy.Grants{"tasks_view": all}, policy.Internal, nil)
	if policy.ErrorCode(err) != policy.CodeInvalidArgument {
		t.Errorf("direct grant on a relation module: %v", err)
	}
}

func TestM6_ClientMembersNeverReachInternalModules(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	// client_ro grants crm_view all, which reaches leads; billing stays out.
	if d := check(t, s, "client", "leads_view", nil); !d.Allowed {
		t.Errorf("client leads_view: %+v", d)
	}
	for _, p := range []string{"billing_view", "invoices_view", "settings_roles_view"} {
		if d := check(t, s, "client", p, nil); d.Allowed {
			t.Errorf("client %s allowed", p)
		}
	}
}

func TestW4_OwnersMayDoEverything(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	for _, p := range s.Catalog().Permissions() {
		d := check(t, s, "boss", p.Key, &policy.Resource{OwnerID: "someone", DepartmentID: "support"})
		if !d.Allowed || d.Level != all {
			t.Errorf("owner %s: %+v", p.Key, d)
		}
	}
}

func TestD3_UnknownUserAndUnknownPermission(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	d, err := s.Check("ghost", "leads_view")
	if err != nil || d.Allowed || d.Reason != policy.ReasonNotAMember {
		t.Errorf("unknown user: %+v %v", d, err)
	}
	for _, fn := range []func() error{
		func() error { _, err := s.Check("rep", "contact_view"); return err },
		func() error { _, err := s.Check("ghost", "contact_view"); return err },
		func() error { _, err := s.Filter("rep", "contact_view"); return err },
		func() error { _, err := s.Explain("rep", "contact_view", nil); return err },
		func() error { _, err := s.WhoCan("contact_view", own); return err },
	} {
		err := fn()
		if policy.ErrorCode(err) != policy.CodeUnknownPermission || !strings.Contains(err.Error(), "contacts_view") {
			t.Errorf("unknown permission: %v", err)
		}
	}
}

func TestD5_FilterPlans(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	cases := []struct {
		user, perm string
		kind       policy.PlanKind
		depts      []string
	}{
		{"rep", "leads_view", policy.PlanNone, nil},
		{"ghost", "leads_view", policy.PlanNone, nil},
		{"direct", "leads_view", policy.PlanAll, nil},
		{"rep", "contacts_view", policy.PlanConditional, nil},
		{"mgr", "leads_view", policy.PlanConditional, []string{"sales_east"}},
		{"head", "leads_view", policy.PlanConditional, []string{"sales", "sales_east", "sales_east_nyc"}},
	}
	for _, tc := range cases {
		p, err := s.Filter(tc.user, tc.perm)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != tc.kind || !slices.Equal(p.DepartmentIDs, tc.depts) || p.Revision != 42 {
			t.Errorf("%s %s: %+v", tc.user, tc.perm, p)
		}
	}
	p, _ := s.Filter("mgr", "leads_view")
	if !slices.Equal(p.OwnerIDs, []string{"mgr"}) || !slices.Equal(p.DepartmentOwnerIDs, []string{"mgr", "rep"}) {
		t.Errorf("mgr plan %+v", p)
	}
	p, _ = s.Filter("rep", "tasks_edit")
	if !slices.Equal(p.Relations, []string{"creator", "responsible", "participant"}) || p.RelationUser != "rep" {
		t.Errorf("tasks plan %+v", p)
	}
}

func TestD6_ExplainTracesTheDecision(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	rec := &policy.Resource{OwnerID: "x", DepartmentID: "sales_east"}
	e, err := s.Explain("head", "leads_view", rec)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.CheckRecord("head", "leads_view", rec)
	if e.Decision != want {
		t.Errorf("explain decision %+v, check %+v", e.Decision, want)
	}
	if len(e.Roles) != 1 || e.Roles[0].Source != "inherited" || e.Roles[0].From != "crm_view" || e.Roles[0].Level != sub {
		t.Errorf("roles %+v", e.Roles)
	}
	if !strings.Contains(e.DecidedBy, "Head") || e.Scope == nil || len(e.Scope.Steps) == 0 {
		t.Errorf("explanation %+v", e)
	}
	e, _ = s.Explain("mgr", "leads_edit", nil)
	if len(e.Roles) != 2 || e.Roles[1].Source != "explicit" || e.Requires[0].Permission != "leads_view" || !e.Requires[0].Satisfied {
		t.Errorf("mgr explanation %+v", e)
	}
	e, _ = s.Explain("direct", "leads_view", nil)
	if e.Direct == nil || e.Direct.Level != all || e.Direct.Redundant || !strings.Contains(e.DecidedBy, "direct grant") ||
		!slices.Equal(e.Redundant, []string{"contacts_view"}) {
		t.Errorf("direct explanation %+v %+v", e, e.Direct)
	}
	e, _ = s.Explain("rep", "leads_view", nil)
	if e.Decision.Allowed || len(e.Hints) == 0 {
		t.Errorf("denied explanation has no hints: %+v", e)
	}
	e, _ = s.Explain("client", "crm_view", nil)
	if len(e.Roles[0].Orphaned) != 1 || e.Roles[0].Orphaned[0] != "fax_view" {
		t.Errorf("orphaned grants not reported: %+v", e.Roles)
	}
	e, _ = s.Explain("ghost", "leads_view", nil)
	if e.Member || e.Decision.Reason != policy.ReasonNotAMember || len(e.Hints) == 0 {
		t.Errorf("non-member explanation %+v", e)
	}
	e, _ = s.Explain("rep", "tasks_edit", &policy.Resource{Relations: policy.Relations{Observer: []string{"rep"}}})
	if e.Decision.Allowed || e.Roles[0].Source != "relation" || len(e.Scope.Steps) != 3 {
		t.Errorf("relation explanation %+v", e)
	}
}

func TestD7_WhoCan(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	cases := []struct {
		perm string
		min  policy.Level
		want []string
	}{
		{"leads_view", dept, []string{"boss", "client", "direct", "head", "mgr"}},
		{"leads_view", sub, []string{"boss", "client", "direct", "head"}},
		{"leads_view", all, []string{"boss", "client", "direct"}},
		{"deals_view", all, []string{"boss", "client", "new_rep"}},
		{"wallet_refill", own, []string{"boss"}},
	}
	for _, tc := range cases {
		got, err := s.WhoCan(tc.perm, tc.min)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("who can %s at %s: %v %v, want %v", tc.perm, tc.min, got, err, tc.want)
		}
	}
}

func TestCompile_RejectsInconsistentState(t *testing.T) {
	t.Parallel()
	cat := policy.DefaultCatalog()
	role := policy.RoleRevision{RoleID: "r", Revision: 1, Audience: policy.Internal}
	cases := map[string]policy.State{
		"unknown role revision": {Catalog: cat, Roles: []policy.RoleRevision{role},
			Members: []policy.Member{{UserID: "u", Roles: refs("r@2")}}},
		"unknown department": {Catalog: cat, Members: []policy.Member{{UserID: "u", DepartmentIDs: []string{"d"}}}},
		"duplicate member":   {Catalog: cat, Members: []policy.Member{{UserID: "u"}, {UserID: "u"}}},
		"department cycle":   {Catalog: cat, Departments: []policy.Department{{ID: "a", ParentID: "b"}, {ID: "b", ParentID: "a"}}},
		"unknown parent":     {Catalog: cat, Departments: []policy.Department{{ID: "a", ParentID: "zz"}}},
		"no catalog":         {},
	}
	for name, st := range cases {
		if _, err := policy.Compile(st); policy.ErrorCode(err) != policy.CodeInvalidArgument {
			t.Errorf("%s: got %v, want invalid_argument", name, err)
		}
	}
}

func TestCheck_DoesNotAllocate(t *testing.T) {
	s := fixture(t)
	rec := &policy.Resource{OwnerID: "nyc", Relations: policy.Relations{Responsible: []string{"q"}}}
	task := &policy.Resource{Relations: policy.Relations{Observer: []string{"rep"}}}
	cases := map[string]func(){
		"check":            func() { _, _ = s.Check("mgr", "leads_view") },
		"check non-member": func() { _, _ = s.Check("ghost", "leads_view") },
		"record":           func() { _, _ = s.CheckRecord("head", "leads_view", rec) },
		"relation":         func() { _, _ = s.CheckRecord("rep", "tasks_view", task) },
		"epoch":            func() { _, _ = s.Epoch("rep") },
	}
	for name, fn := range cases {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s allocates %.1f times", name, n)
		}
	}
}

// TestU1_DecidingRole names the role revision that gave a decision its
// level, which usage counting attributes the decision to.
func TestU1_DecidingRole(t *testing.T) {
	t.Parallel()
	s := fixture(t)
	cases := []struct {
		user, perm string
		want       string // role@revision, or "" for none
	}{
		{"mgr", "leads_view", "manager@1"},
		{"mgr", "contacts_view", "employee@1"},
		{"new_rep", "deals_view", "rep@2"},
		{"direct", "leads_view", ""}, // a direct grant
		{"boss", "leads_view", ""},   // an owner
		{"rep", "leads_view", ""},    // denied
	}
	for _, c := range cases {
		d := check(t, s, c.user, c.perm, nil)
		ref, ok := s.DecidingRole(d)
		got := ""
		if ok {
			got = ref.String()
			if i := s.RoleIndex(d); s.RoleRevisionAt(i) != ref {
				t.Errorf("%s %s: RoleIndex and DecidingRole disagree", c.user, c.perm)
			}
		}
		if got != c.want {
			t.Errorf("%s %s: deciding role %q, want %q", c.user, c.perm, got, c.want)
		}
	}
}
