package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// cellLevel is the level a matrix cell shows, from its data attribute.
func cellLevel(key string) string {
	return `(document.getElementById("cell-` + key + `") || {dataset: {}}).dataset.level`
}

// setCell clicks a cell's level button and waits for the redrawn matrix.
func (b *browser) setCell(key, level string) {
	b.t.Helper()
	b.click(`td[data-key="` + key + `"] button.pip[data-value="` + level + `"]`)
	b.settle()
	if level != "inherit" {
		b.waitTrue(cellLevel(key) + ` === "` + level + `"`)
	}
}

func (b *browser) openSection(id string) {
	b.t.Helper()
	eval[bool](b, `(document.getElementById("sec-`+id+`").open = true)`)
}

// roleID is the id of the role whose editor is open.
func (b *browser) roleID() string {
	b.t.Helper()
	loc := eval[string](b, "location.pathname")
	i := strings.LastIndex(loc, "/")
	return loc[i+1:]
}

// TestConsole_RoleFromTemplate_MatrixC4_SaveVersusApply is the role
// editor end to end: R9 (template), C4 (options disabled with a reason),
// R8 (deny everything), R6 (save vs save and apply, checked through the
// check API), P1 (impact preview), X4 (reason required, then audited).
func TestConsole_RoleFromTemplate_MatrixC4_SaveVersusApply(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)

	// R9: create a role from the sales template.
	b.open("/w/acme/roles")
	b.fill("#new-name", "Field sales")
	b.fill("#new-template", "sales")
	b.submit(`#new-role button[type=submit]`)
	// The template grants contacts_export: X4 wants a reason, and the form
	// comes back with what was typed.
	b.waitText("#create-error", "raising contacts_export needs a reason")
	if got := eval[string](b, `document.getElementById("new-name").value`); got != "Field sales" {
		t.Fatalf("the form lost its input: name = %q", got)
	}
	b.fill("#new-reason", "Field team works its own contacts")
	b.submit(`#new-role button[type=submit]`)
	b.waitText(".flash.ok", "Role Field sales created")
	id := b.roleID()
	r, err := w.Admin.Role(context.Background(), "acme", id)
	if err != nil || r.Grants["campaigns_view"] != policy.LevelAll {
		t.Fatalf("role from template: %+v, %v", r, err)
	}

	// Ann gets the role from her member page (M7).
	b.open("/w/acme/members/ann")
	b.fill("#assign-role", id)
	b.submit(`form[action$="/members/ann/roles"] button[type=submit]`)
	b.waitText(".flash.ok", "Assigned Field sales")
	if !w.check("ann", "campaigns_view").Allowed {
		t.Fatal("ann should see campaigns through Field sales r1")
	}

	// R8 then C4 in the matrix.
	b.open("/w/acme/roles/" + id)
	b.click(`button[value="deny-all"]`)
	b.settle()
	b.waitText("#draft-status", "unsaved changes to revision 1")
	b.openSection("crm")
	b.setCell("leads_view", "own")
	edit := `td[data-key="leads_edit"] button.pip[data-value=`
	if !eval[bool](b, `document.querySelector('`+edit+`"department"]').disabled`) ||
		!eval[bool](b, `document.querySelector('`+edit+`"all"]').disabled`) ||
		eval[bool](b, `document.querySelector('`+edit+`"own"]').disabled`) {
		t.Fatal("C4: with leads_view at own, leads_edit may be own but not department or all")
	}
	why := eval[string](b, `document.querySelector('`+edit+`"all"]').parentElement.title`)
	if !strings.Contains(why, "needs Leads: View at All") {
		t.Fatalf("C4 reason on hover = %q", why)
	}
	if sr := b.text("#why-leads_edit"); !strings.Contains(sr, "Not available") {
		t.Fatalf("C4 reason for screen readers = %q", sr)
	}
	// A click cycles: inherited None → Own (the next allowed level).
	b.click("#cell-leads_edit")
	b.waitTrue(cellLevel("leads_edit") + ` === "own"`)
	// Lowering the view lowers the edit built on it.
	b.setCell("leads_view", "none")
	b.waitTrue(cellLevel("leads_edit") + ` === "none"`)
	b.waitText("#matrix .adjusted", "Leads: Edit lowered to None")
	b.setCell("leads_view", "own")
	b.shot("matrix-draft")

	// R6: Save without applying. Ann stays on revision 1.
	b.click("#save")
	b.waitText("#modal", "no member's permissions change now")
	b.shot("review-save")
	b.submit("#confirm")
	b.waitText(".flash.ok", "Saved revision 2 of Field sales")
	if !w.check("ann", "campaigns_view").Allowed {
		t.Fatal("R6: a save without apply must leave ann on revision 1")
	}
	b.waitText("#behind", "1 member is still on an older revision")

	// Save and apply, raising an export level: the preview names ann's
	// losses, and a reason is required (X4).
	b.openSection("crm")
	b.setCell("leads_export", "own")
	b.click("#save-apply")
	b.waitText("#impact", "ann")
	if txt := b.text("#impact"); !strings.Contains(txt, "campaigns_view") {
		t.Fatalf("P1 preview should show ann losing campaigns_view: %q", txt)
	}
	b.waitText("#modal label[for=save-reason]", "required")
	b.shot("review-apply")
	b.click("#confirm") // the browser refuses: the reason is required
	if eval[bool](b, `document.getElementById("modal").open`) != true {
		t.Fatal("the dialog must stay open without a reason")
	}
	b.fill("#save-reason", "Field team exports their own leads")
	b.submit("#confirm")
	b.waitText(".flash.ok", "Saved revision 3 of Field sales and applied it")
	if w.check("ann", "campaigns_view").Allowed {
		t.Fatal("R6: save and apply must move ann to revision 3")
	}
	if d := w.check("ann", "leads_export"); !d.Allowed || d.Level != policy.LevelOwn {
		t.Fatalf("ann leads_export after apply = %+v", d)
	}

	// X4: the audit log shows the edit with its reason.
	b.open("/w/acme/audit?target=role:" + id)
	b.waitText("#audit", "Field team exports their own leads")
	b.waitText("#chain-status", "Chain verified")
	b.shot("audit-role")
}

// TestConsole_R7_ConflictExplained: a save based on a stale revision is
// refused and explained, with a way to reload.
func TestConsole_R7_ConflictExplained(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/roles/sales_manager")
	b.openSection("marketing")
	b.setCell("campaigns_view", "all")
	// Another admin saves first.
	g := policy.Grants{"reports_view": policy.LevelAll}
	if _, _, err := w.Admin.UpdateRole(context.Background(), "acme", admin.Write{Actor: admin.Actor{}}, "sales_manager", admin.RoleUpdate{Grants: g}); err != nil {
		t.Fatal(err)
	}
	b.click("#save-apply")
	b.waitText("#conflict", "You edited revision 1, but the role is now at revision 2")
	b.shot("conflict")
	b.submit("#reload")
	b.waitText("#rev-title", "Revision 2")
}

// TestConsole_MatrixTreeKeyboardFilter: a group's grant reaches the
// channels and sub-channels below it, shown as inherited (C6); arrow keys
// change a cell; the filter box narrows the matrix.
func TestConsole_MatrixTreeKeyboardFilter(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/roles/sales_manager")
	b.openSection("channels")
	b.setCell("channels_view", "all")
	sub := `document.querySelector('td[data-key="mailbox_support_view"]')`
	if !eval[bool](b, sub+`.classList.contains("inherited")`) || eval[string](b, cellLevel("mailbox_support_view")) != "all" {
		t.Fatal("C6: the sub-channel must show all, inherited")
	}
	if label := eval[string](b, `document.getElementById("cell-mailbox_support_view").getAttribute("aria-label")`); !strings.Contains(label, "inherited from channels_view") {
		t.Fatalf("aria-label = %q", label)
	}
	b.do(chromedp.Focus(chromedp.CSS("#cell-mailbox_support_view")), chromedp.KeyEvent(kb.ArrowDown))
	b.settle()
	b.waitTrue(cellLevel("mailbox_support_view") + ` === "subdepartments"`)
	if !eval[bool](b, sub+`.classList.contains("explicit")`) {
		t.Fatal("a level set with the keyboard is explicit")
	}
	if eval[string](b, `document.activeElement.id`) != "cell-mailbox_support_view" {
		t.Fatal("focus must stay on the cell after the redraw")
	}
	b.do(chromedp.KeyEvent(kb.ArrowUp))
	b.settle()
	b.waitTrue(cellLevel("mailbox_support_view") + ` === "all"`)

	b.do(chromedp.SendKeys(chromedp.CSS("#matrix-filter"), "sales inbox"))
	b.waitTrue(`document.getElementById("sec-crm").hidden`)
	if eval[bool](b, `document.querySelector('tr[data-search*="mailbox_sales"]').hidden`) ||
		!eval[bool](b, `document.querySelector('tr[data-search*="mailbox_support"]').hidden`) {
		t.Fatal("the filter must show the Sales inbox row only")
	}
	b.shot("matrix-filtered")
}

// TestConsole_R6_ApplyLaterThroughReview: after a save without apply, the
// role page offers to apply, through the same impact preview (P1).
func TestConsole_R6_ApplyLaterThroughReview(t *testing.T) {
	w := newWorld(t)
	apply := false
	g := policy.Grants{"reports_view": policy.LevelAll}
	if _, _, err := w.Admin.UpdateRole(context.Background(), "acme", admin.Write{}, "sales_manager", admin.RoleUpdate{Grants: g, Apply: &apply}); err != nil {
		t.Fatal(err)
	}
	if w.check("bob", "reports_view").Allowed {
		t.Fatal("bob is still on revision 1")
	}
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/roles/sales_manager")
	b.click("#apply-all")
	b.waitText("#impact", "bob")
	b.submit("#confirm")
	b.waitText(".flash.ok", "every member of Sales manager is now on revision 2")
	if !w.check("bob", "reports_view").Allowed {
		t.Fatal("R6: the later apply must move bob to revision 2")
	}
}
