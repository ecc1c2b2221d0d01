package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// reviewEnv is newDelegated's workspace plus a member with a direct grant,
// a department head (predefined Head) of east, and its clock's now.
type reviewEnv struct {
	*delegated
	now time.Time
}

func newReviewEnv(t *testing.T, h Harness) *reviewEnv {
	w := newDelegated(t, h)
	e := w.env
	e.member("w", admin.MemberInput{UserID: "dh", Name: "Dept head", DepartmentIDs: []string{"east"}, RoleIDs: []string{admin.RoleHead}})
	_, _, err := e.svc.SetMemberRoles(e.ctx, "w", admin.Write{}, "ed", []string{admin.RoleEmployee, w.big.ID})
	must(t, err)
	_, _, _, err = e.svc.SetDirectGrants(e.ctx, "w", admin.Write{Reason: "test"}, "ed", policy.Grants{"invoices_view": all})
	must(t, err)
	return &reviewEnv{delegated: w, now: e.clock.now()}
}

func (r *reviewEnv) open(t *testing.T, w admin.Write, in admin.ReviewInput) admin.Review {
	t.Helper()
	if in.Deadline.IsZero() {
		in.Deadline = r.now.Add(7 * 24 * time.Hour)
	}
	if in.Default == "" {
		in.Default = admin.DecisionKeep
	}
	rv, _, err := r.env.svc.OpenReview(r.env.ctx, "w", w, in)
	must(t, err)
	return rv
}

func findItem(t *testing.T, rv admin.Review, user, access string) admin.ReviewItem {
	t.Helper()
	for _, it := range rv.Items {
		if it.UserID == user && (it.RoleID == access || it.Permission == access) {
			return it
		}
	}
	t.Fatalf("review %s has no item for %s %s", rv.ID, user, access)
	return admin.ReviewItem{}
}

// testV1ReviewScope: a campaign's items are generated at open, one per
// member × assignment or direct grant in scope, with what each grants;
// opening needs settings_roles_edit at all (X3); bad campaigns write
// nothing.
func testV1ReviewScope(t *testing.T, h Harness) {
	t.Run("M9_T1_DepartmentRolesAndExpiry", func(t *testing.T) { testV1V2ReviewDepartmentRoles(t, h) })
	t.Run("S2_M9_T1_DepartmentRoleAndExpiringGrant", func(t *testing.T) { testS2DepartmentAndExpiringAccess(t, h) })
	r := newReviewEnv(t, h)
	e := r.env
	for _, tc := range []struct {
		name string
		in   admin.ReviewInput
		code policy.Code
	}{
		{"past deadline", admin.ReviewInput{Name: "Q4", Deadline: r.now.Add(-time.Hour), Default: "keep"}, policy.CodeInvalidArgument},
		{"bad default", admin.ReviewInput{Name: "Q4", Deadline: r.now.Add(time.Hour), Default: "maybe"}, policy.CodeInvalidArgument},
		{"bad reviewers", admin.ReviewInput{Name: "Q4", Deadline: r.now.Add(time.Hour), Default: "keep", Reviewers: "anyone"}, policy.CodeInvalidArgument},
		{"unknown permission", admin.ReviewInput{Name: "Q4", Deadline: r.now.Add(time.Hour), Default: "keep", Scope: admin.ReviewScope{Permissions: []string{"deal_view"}}}, policy.CodeUnknownPermission},
		{"unknown role", admin.ReviewInput{Name: "Q4", Deadline: r.now.Add(time.Hour), Default: "keep", Scope: admin.ReviewScope{Roles: []string{"nope"}}}, policy.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := e.revision("w")
			_, _, err := e.svc.OpenReview(e.ctx, "w", admin.Write{}, tc.in)
			wantCode(t, err, tc.code)
			if e.revision("w") != rev {
				t.Error("a refused campaign committed")
			}
		})
	}
	_, _, err := e.svc.OpenReview(e.ctx, "w", as("hana"), admin.ReviewInput{Name: "Mine", Deadline: r.now.Add(time.Hour), Default: "keep"})
	wantCode(t, err, policy.CodeForbidden)

	all := r.open(t, as("ra"), admin.ReviewInput{Name: "Everything"})
	members, err := e.svc.Members(e.ctx, "w", admin.Actor{}, admin.MemberFilter{Limit: 1000})
	must(t, err)
	want := 0
	for _, m := range members {
		want += len(m.Roles) + len(m.Grants)
	}
	if len(all.Items) != want {
		t.Errorf("the whole-workspace campaign has %d items, want %d (every assignment and direct grant)", len(all.Items), want)
	}
	if it := findItem(t, all, "ed", "invoices_view"); it.Grants["invoices_view"] != all_() {
		t.Errorf("direct grant item %+v", it)
	}
	if it := findItem(t, all, "ed", r.big.ID); it.Grants["crm_view"] != policy.LevelAll {
		t.Errorf("role item does not show what it grants: %+v", it)
	}
	byRole := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Big", Scope: admin.ReviewScope{Roles: []string{r.big.ID}}})
	if len(byRole.Items) != 1 || byRole.Items[0].UserID != "ed" {
		t.Errorf("by role: %+v", byRole.Items)
	}
	// Reaching a permission at a level: crm_view: all reaches deals_view.
	byPerm := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Deals", Scope: admin.ReviewScope{Permissions: []string{"deals_view"}, MinLevel: policy.LevelAll}})
	for _, it := range byPerm.Items {
		if it.RoleID != r.big.ID {
			t.Errorf("item %+v does not reach deals_view at all", it)
		}
	}
	if len(byPerm.Items) != 1 {
		t.Errorf("by permission: %+v", byPerm.Items)
	}
	byAction := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Views of billing", Scope: admin.ReviewScope{Permissions: []string{"invoices_view"}}})
	if len(byAction.Items) != 1 || byAction.Items[0].Permission != "invoices_view" {
		t.Errorf("by permission (direct grant): %+v", byAction.Items)
	}
	// Stored: a restart loads the campaigns with their items.
	svc2, _ := e.service()
	must(t, svc2.Open(e.ctx))
	items, err := svc2.ReviewItems(e.ctx, "w", admin.Actor{}, all.ID, admin.ReviewItemFilter{})
	must(t, err)
	if len(items) != len(all.Items) || !slices.EqualFunc(items, all.Items, func(a, b admin.ReviewItem) bool {
		return a.ID == b.ID && a.UserID == b.UserID && a.RoleID == b.RoleID && a.Permission == b.Permission && len(a.Grants) == len(b.Grants)
	}) {
		t.Errorf("after a restart: %d items, want %d", len(items), len(all.Items))
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "review:" + all.ID})
	must(t, err)
	if len(entries) != 1 || entries[0].Action != "review.open" || entries[0].Actor != "ra" {
		t.Errorf("audit of the open: %+v", entries)
	}
}

func all_() policy.Level { return policy.LevelAll }

// testV2ReviewDecisionsAndClose: only allowed reviewers decide, never on
// their own access; the close applies revocations as ordinary audited
// writes, one per member, with M4's default role; a revocation a rule
// refuses is reported and writes nothing; open items take the default.
func testV2ReviewDecisionsAndClose(t *testing.T, h Harness) {
	r := newReviewEnv(t, h)
	e := r.env
	rv := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Q4", Default: admin.DecisionKeep})
	decide := func(who admin.Write, user, access, decision string) error {
		it := findItem(t, rv, user, access)
		_, _, err := e.svc.DecideReviewItem(e.ctx, "w", who, rv.ID, it.ID, decision, "why: "+decision)
		return err
	}
	// Who decides (V2, X3, X3a).
	wantCode(t, decide(as("ra"), "ra", r.roleAdmin.ID, admin.DecisionKeep), policy.CodePrivilegeEscalation) // own access
	wantCode(t, decide(as("hana"), "wes", admin.RoleEmployee, admin.DecisionRevoke), policy.CodeForbidden)  // outside her span
	wantCode(t, decide(as("plain"), "ed", r.big.ID, admin.DecisionRevoke), policy.CodeForbidden)            // no authority
	must(t, decide(as("hana"), "ed", r.big.ID, admin.DecisionRevoke))                                       // in her span
	must(t, decide(as("ra"), "ed", "invoices_view", admin.DecisionRevoke))
	must(t, decide(as("ra"), "wes", admin.RoleEmployee, admin.DecisionRevoke)) // wes's only role: M4 refuses
	must(t, decide(admin.Write{}, "hana", r.head.ID, admin.DecisionRevoke))    // the key may decide anything
	must(t, decide(admin.Write{}, "hana", r.head.ID, admin.DecisionKeep))      // and change its mind
	// hana's inbox lists only what she may decide.
	inbox, err := e.svc.ReviewItems(e.ctx, "w", admin.Actor{UserID: "hana"}, rv.ID, admin.ReviewItemFilter{})
	must(t, err)
	for _, it := range inbox {
		if it.UserID == "hana" || it.UserID == "wes" || it.UserID == "ra" {
			t.Errorf("hana's inbox holds %+v", it)
		}
	}
	_, err = e.svc.ReviewCSV(e.ctx, "w", admin.Actor{UserID: "hana"}, rv.ID)
	wantCode(t, err, policy.CodeForbidden) // a report needs settings_roles_view at all

	_, err = e.svc.CloseReview(e.ctx, "w", as("hana"), rv.ID)
	wantCode(t, err, policy.CodeForbidden)
	rep, err := e.svc.CloseReview(e.ctx, "w", as("ra"), rv.ID)
	must(t, err)
	if rep.Review.Status != admin.ReviewClosed || len(rep.Revoked) != 2 || len(rep.Refused) != 1 || rep.Refused[0].UserID != "wes" {
		t.Fatalf("close report: %+v", rep)
	}
	if !strings.Contains(rep.Refused[0].Note, "only role") {
		t.Errorf("the refusal's note: %q", rep.Refused[0].Note)
	}
	ed := e.getMember("w", "ed")
	if len(ed.Grants) != 0 || len(ed.Roles) != 1 || ed.Roles[0].RoleID != admin.RoleEmployee {
		t.Errorf("ed after the close: roles %+v grants %v", ed.Roles, ed.Grants)
	}
	if e.level("w", "ed", "invoices_view") != policy.LevelNone || e.level("w", "ed", "deals_view") != policy.LevelOwn {
		t.Error("the snapshot still grants what was revoked")
	}
	if wes := e.getMember("w", "wes"); len(wes.Roles) != 1 {
		t.Errorf("a refused revocation changed wes: %+v", wes.Roles)
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Target: "member:ed"})
	must(t, err)
	var actions []string
	for _, en := range entries {
		if en.Actor == "ra" {
			actions = append(actions, en.Action)
		}
	}
	if !slices.Contains(actions, "member.roles") || !slices.Contains(actions, "member.grants") {
		t.Errorf("ed's audit after the close: %v", actions)
	}
	// Closing again reports the same; decisions are closed.
	again, err := e.svc.CloseReview(e.ctx, "w", as("ra"), rv.ID)
	must(t, err)
	if len(again.Revoked) != 2 || again.Revision != rep.Revision {
		t.Errorf("a second close did something: %+v", again)
	}
	wantCode(t, decide(as("ra"), "ed", r.big.ID, admin.DecisionKeep), policy.CodeInvalidArgument)

	t.Run("department heads review their departments' members", func(t *testing.T) {
		rv := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Heads", Reviewers: admin.ReviewersHeads, Default: admin.DecisionRevoke})
		items, err := e.svc.ReviewItems(e.ctx, "w", admin.Actor{UserID: "dh"}, rv.ID, admin.ReviewItemFilter{Open: true})
		must(t, err)
		if len(items) == 0 {
			t.Fatal("the head of east has nothing to review")
		}
		for _, it := range items {
			if m := e.getMember("w", it.UserID); !slices.Contains(m.DepartmentIDs, "east") || it.UserID == "dh" {
				t.Errorf("dh may decide %+v", it)
			}
		}
		plain := findItem(t, rv, "plain", admin.RoleEmployee)
		_, _, err = e.svc.DecideReviewItem(e.ctx, "w", as("dh"), rv.ID, plain.ID, admin.DecisionKeep, "")
		must(t, err)
		wesItem := findItem(t, rv, "wes", admin.RoleEmployee)
		_, _, err = e.svc.DecideReviewItem(e.ctx, "w", as("dh"), rv.ID, wesItem.ID, admin.DecisionKeep, "")
		wantCode(t, err, policy.CodeForbidden)
		dhItem := findItem(t, rv, "dh", admin.RoleHead)
		_, _, err = e.svc.DecideReviewItem(e.ctx, "w", as("dh"), rv.ID, dhItem.ID, admin.DecisionKeep, "")
		wantCode(t, err, policy.CodePrivilegeEscalation)
	})
}

// testV2ReviewDeadlineOnce: at the deadline, open items take the default
// exactly once, however many nodes close due campaigns at the same time,
// as the system (X5).
func testV2ReviewDeadlineOnce(t *testing.T, h Harness) {
	r := newReviewEnv(t, h)
	e := r.env
	rv := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Big holders", Default: admin.DecisionRevoke, Deadline: r.now.Add(time.Hour),
		Scope: admin.ReviewScope{Roles: []string{r.big.ID}}})
	if n, err := e.svc.CloseDueReviews(e.ctx); err != nil || n != 0 {
		t.Fatalf("before the deadline: closed %d, %v", n, err)
	}
	e.clock.mu.Lock()
	e.clock.t = r.now.Add(2 * time.Hour)
	e.clock.mu.Unlock()
	// Past the deadline, before any close has run: a decision, or a change
	// of default or deadline, is refused; the default applies (V2).
	keep, later := admin.DecisionKeep, r.now.Add(48*time.Hour)
	_, _, err := e.svc.DecideReviewItem(e.ctx, "w", admin.Write{}, rv.ID, rv.Items[0].ID, admin.DecisionKeep, "too late")
	if pe, ok := err.(*policy.Error); !ok || pe.Code != policy.CodeInvalidArgument || pe.Details["reason"] != "deadline_passed" {
		t.Fatalf("a decision after the deadline: %v, want invalid_argument deadline_passed", err)
	}
	for _, u := range []admin.ReviewUpdate{{Default: &keep}, {Deadline: &later}} {
		if _, _, err := e.svc.UpdateReview(e.ctx, "w", admin.Write{}, rv.ID, u); policy.ErrorCode(err) != policy.CodeInvalidArgument {
			t.Fatalf("a change after the deadline: %v, want invalid_argument", err)
		}
	}
	svcs := e.racers(4)
	errs := race(svcs, func(_ int, s *admin.Service) error { _, err := s.CloseDueReviews(e.ctx); return err })
	for _, err := range errs {
		if err != nil && policy.ErrorCode(err) != policy.CodeUnavailable {
			t.Errorf("a racing close: %v", err)
		}
	}
	_, err = e.svc.CloseDueReviews(e.ctx) // whatever a node gave up on
	must(t, err)
	items, err := e.svc.ReviewItems(e.ctx, "w", admin.Actor{}, rv.ID, admin.ReviewItemFilter{})
	must(t, err)
	if len(items) != 1 || items[0].Decision != admin.DecisionRevoke || items[0].DecidedBy != "default" || items[0].Outcome != admin.OutcomeRevoked {
		t.Fatalf("after the deadline: %+v", items)
	}
	if ed := e.getMember("w", "ed"); slices.ContainsFunc(ed.Roles, func(a admin.Assignment) bool { return a.RoleID == r.big.ID }) {
		t.Error("ed still holds the role the default revoked")
	}
	entries, err := e.svc.Audit(e.ctx, "w", admin.Actor{}, admin.AuditFilter{Actor: "system"})
	must(t, err)
	count := map[string]int{}
	for _, en := range entries {
		count[en.Action]++
	}
	if count["review.close"] != 1 || count["review.closed"] != 1 || count["member.roles"] != 1 {
		t.Errorf("system audit entries: %v (each once)", count)
	}
}

// testV3ReviewRecurrenceAndCSV: a recurring campaign opens the next at
// close, due every N days after; decisions export as CSV.
func testV3ReviewRecurrenceAndCSV(t *testing.T, h Harness) {
	r := newReviewEnv(t, h)
	e := r.env
	deadline := r.now.Add(24 * time.Hour)
	rv := r.open(t, admin.Write{}, admin.ReviewInput{Name: "Monthly", Deadline: deadline, EveryDays: 30,
		Scope: admin.ReviewScope{Actions: []string{"view"}, MinLevel: policy.LevelAll}})
	it := findItem(t, rv, "ed", r.big.ID)
	_, _, err := e.svc.DecideReviewItem(e.ctx, "w", as("ra"), rv.ID, it.ID, admin.DecisionKeep, `still sells, "big" deals`)
	must(t, err)
	rep, err := e.svc.CloseReview(e.ctx, "w", admin.Write{}, rv.ID)
	must(t, err)
	if rep.Next == "" {
		t.Fatal("a recurring campaign opened no next one")
	}
	next, _, _, err := e.svc.GetReview(e.ctx, "w", admin.Actor{}, rep.Next)
	must(t, err)
	if !next.Deadline.Equal(deadline.AddDate(0, 0, 30).UTC().Truncate(time.Microsecond)) || next.EveryDays != 30 || next.Status != admin.ReviewOpen {
		t.Errorf("next campaign: %+v", next)
	}
	list, err := e.svc.Reviews(e.ctx, "w", admin.Actor{})
	must(t, err)
	if len(list) != 2 || list[0].ID != rep.Next {
		t.Errorf("campaigns, newest first: %+v", list)
	}
	rows, err := e.svc.ReviewCSV(e.ctx, "w", admin.Actor{}, rv.ID)
	must(t, err)
	if len(rows) != len(rv.Items)+1 || rows[0][0] != "review" {
		t.Fatalf("CSV: %d rows", len(rows))
	}
	found := false
	for _, row := range rows[1:] {
		if row[2] == "ed" && row[4] == "role:"+r.big.ID {
			found = row[8] == "keep" && row[9] == `still sells, "big" deals` && row[10] == "ra" && row[12] == admin.OutcomeKept
		}
	}
	if !found {
		t.Errorf("the CSV lacks ed's decision: %v", rows)
	}
}
