package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// mintLink asks the API, as the host's backend, for a console sign-in
// link of user (X6).
func (w *world) mintLink(user, returnTo string) string {
	w.t.Helper()
	ctx := context.Background()
	_, key, _, err := w.Admin.CreateKey(ctx, "acme", admin.Write{}, admin.ScopeAdmin, "host")
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"user_id": user, "return_to": returnTo})
	req, _ := http.NewRequest("POST", w.URL+"/v1/workspaces/acme/console-links", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		URL string `json:"url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.URL == "" {
		w.t.Fatalf("mint a link for %s: %d %v", user, resp.StatusCode, err)
	}
	return out.URL
}

// TestConsole_S1_S2_SoDRuleRefusesAConflictingRole: an admin adds a rule
// on the separation-of-duties page; assigning a role that would make Ann
// hold both sides is refused, and the refusal names the rule, the member
// and the permissions; nothing changes. The rule lists Bob, who already
// broke it when it was added (S3), and an exception is recorded for him.
func TestConsole_S1_S2_SoDRuleRefusesAConflictingRole(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	billing, _, err := w.Admin.CreateRole(ctx, "acme", admin.Write{}, admin.RoleInput{Name: "Billing", Grants: policy.Grants{"billing_view": policy.LevelAll}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Admin.SetMemberRoles(ctx, "acme", admin.Write{}, "bob", []string{admin.RoleSalesManager, billing.ID}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/sod")
	b.fill("#sod-id", "billing-vs-sales")
	b.fill("#sod-name", "Billing vs sales")
	b.fill("#sod-set1", "billing_view")
	b.fill("#sod-set2", "deals_edit, leads_edit")
	b.submit(`#sod-form button[type=submit]`)
	b.waitText(".flash.ok", "Rule Billing vs sales saved. 1 member already breaks it")
	b.waitText(`section[data-rule="billing-vs-sales"] tr[data-user="bob"]`, "billing_view and deals_edit, leads_edit")
	b.shot("sod-rule")

	b.open("/w/acme/members/ann")
	b.fill("#assign-role", billing.ID)
	b.submit(`form[action$="/members/ann/roles"] button[type=submit]`)
	msg := b.waitText(".flash.error", "separation of duties")
	for _, want := range []string{"ann", "billing_view", "deals_edit", `"Billing vs sales"`, "nothing was written"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal %q does not name %s", msg, want)
		}
	}
	b.shot("sod-refused")
	m, err := w.Admin.Member(ctx, "acme", admin.Actor{}, "ann")
	if err != nil || slices.Contains(roleIDs(m), billing.ID) {
		t.Fatalf("ann's roles after the refusal: %v, %v", roleIDs(m), err)
	}

	// S3: an exception for Bob, with a reason, is recorded and audited.
	b.open("/w/acme/sod")
	eval[bool](b, `document.querySelector('section[data-rule="billing-vs-sales"] details').open = true`)
	b.fill("#ex-user-billing-vs-sales", "bob")
	b.fill("#ex-reason-billing-vs-sales", "covers invoicing in December")
	b.submit(`form[action$="/sod/billing-vs-sales/exceptions"] button[type=submit]`)
	b.waitText(".flash.ok", "Exception for bob recorded")
	b.waitText(`section[data-rule="billing-vs-sales"] tr[data-user="bob"]`, "covers invoicing in December")
	entries, err := w.Admin.Audit(ctx, "acme", admin.Actor{}, admin.AuditFilter{Target: "member:bob"})
	if err != nil || entries[len(entries)-1].Action != "sod.exception" {
		t.Errorf("bob's last audit entry: %+v, %v", entries[len(entries)-1], err)
	}
}

// TestConsole_V1_V2_DepartmentHeadRevokes: a review decided by
// department heads; the head of Sales, signed in through a console link,
// sees only the Sales members' items, revokes Ann's HR role; an admin
// closes the review; Ann's access is gone, and the audit log has the
// decision and the revocation.
func TestConsole_V1_V2_DepartmentHeadRevokes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := w.Admin.UpsertMember(ctx, "acme", admin.Write{}, admin.MemberInput{UserID: "cy", Name: "Cy Dorn", DepartmentIDs: []string{"sales"}})
	must(err)
	_, _, err = w.Admin.SetMemberRoles(ctx, "acme", admin.Write{}, "ann", []string{admin.RoleEmployee, admin.RoleHR})
	must(err)
	if d := w.check("ann", "settings_general_view"); !d.Allowed {
		t.Fatalf("ann's HR role grants settings_general_view: %+v", d)
	}
	rv, _, err := w.Admin.OpenReview(ctx, "acme", admin.Write{}, admin.ReviewInput{Name: "Sales review", Deadline: time.Now().Add(72 * time.Hour),
		Default: admin.DecisionKeep, Reviewers: admin.ReviewersHeads})
	must(err)

	head := newBrowser(t, w.URL)
	head.open(strings.TrimPrefix(w.mintLink("cy", "/w/acme/reviews"), w.URL))
	head.waitText(`#reviews tr[data-review="`+rv.ID+`"]`, "Sales review")
	head.open("/w/acme/reviews/" + rv.ID)
	users := eval[[]string](head, `[...document.querySelectorAll('#items tr[data-user]')].map(r => r.dataset.user)`)
	for _, u := range users {
		if u != "ann" {
			t.Errorf("the head of Sales sees an item of %s", u)
		}
	}
	head.fill("#f-role", admin.RoleHR)
	head.submit(`form.toolbar button[type=submit]`)
	head.click(`#items tr[data-user="ann"] input[type=checkbox]`)
	head.fill("#decide-reason", "left the HR project")
	head.submit(`#decide-form button[value=revoke]`)
	head.waitText(".flash.ok", "Revoke: 1 item")
	head.waitText("#review-progress", "1 of 2 decided")
	head.shot("review-head")
	if eval[bool](head, `!!document.querySelector('#close-review')`) {
		t.Error("a department head may not close the review (settings_roles_edit at all)")
	}

	adm := newBrowser(t, w.URL)
	adm.signIn(apitest.AdminKey)
	adm.open("/w/acme/reviews/" + rv.ID)
	eval[bool](adm, `(window.confirm = () => true, true)`)
	adm.submit("#close-review")
	adm.waitText(".flash.ok", "Review closed: 1 item revoked")
	adm.waitText("#review-status", "closed")
	adm.shot("review-closed")
	if d := w.check("ann", "settings_general_view"); d.Allowed {
		t.Errorf("ann still may view general settings after the revocation: %+v", d)
	}
	m, err := w.Admin.Member(ctx, "acme", admin.Actor{}, "ann")
	must(err)
	if !slices.Equal(roleIDs(m), []string{admin.RoleEmployee}) {
		t.Errorf("ann's roles after the close: %v", roleIDs(m))
	}
	entries, err := w.Admin.Audit(ctx, "acme", admin.Actor{}, admin.AuditFilter{Target: "member:ann"})
	must(err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Actor+" "+e.Action)
	}
	if !slices.Contains(actions, "cy review.decide") || !slices.ContainsFunc(actions, func(s string) bool { return strings.HasSuffix(s, " member.roles") }) {
		t.Errorf("ann's audit entries: %v", actions)
	}
	adm.open("/w/acme/audit")
	adm.waitText("main", "review.decide")
}

// TestConsole_P1_S2_ReviewStepListsSoDViolations: the role editor's
// review step, before an applied save, names the members the edit would
// make break a rule (S2 through the P1 preview).
func TestConsole_P1_S2_ReviewStepListsSoDViolations(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, _, err := w.Admin.PutSoDRule(ctx, "acme", admin.Write{}, admin.SoDRule{ID: "billing-vs-sales", Name: "Billing vs sales",
		Permissions: [][]string{{"billing_view"}, {"deals_edit"}}}); err != nil {
		t.Fatal(err)
	}
	r, err := w.Admin.Role(ctx, "acme", admin.RoleSalesManager)
	if err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, w.URL)
	v.signIn(apitest.AdminKey)
	form := url.Values{"csrf": {v.csrf()}, "base": {strconv.FormatInt(r.Revision, 10)}, "apply": {"1"},
		"g": {"deals_view=all", "deals_edit=own", "billing_view=all"}}
	resp, body := v.do("POST", "/w/acme/roles/sales_manager/review", form, map[string]string{"HX-Request": "true", "HX-Target": "review"})
	if resp.StatusCode != 200 || !strings.Contains(body, `id="sod-impact"`) || !strings.Contains(body, "<strong>bob</strong> would break “Billing vs sales”: billing_view and deals_edit") {
		t.Fatalf("status %d; want the review step to name bob and the rule:\n%.3000s", resp.StatusCode, body)
	}
	form.Set("g", "deals_view=all")
	form.Add("g", "deals_edit=own")
	if _, body := v.do("POST", "/w/acme/roles/sales_manager/review", form, map[string]string{"HX-Request": "true", "HX-Target": "review"}); strings.Contains(body, `id="sod-impact"`) {
		t.Error("an edit that breaks no rule shows a separation-of-duties warning")
	}
}
