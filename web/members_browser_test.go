package web_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

func roleIDs(m admin.Member) []string {
	var out []string
	for _, a := range m.Roles {
		out = append(out, a.RoleID)
	}
	return out
}

// TestConsole_R5_DeleteWithReassignment: the dialog shows how many members
// the role has and moves them to the chosen role; protected roles offer no
// delete (R2, R3) and Head no duplicate (R4).
func TestConsole_R5_DeleteWithReassignment(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/roles")
	for _, protected := range []string{"employee", "head"} {
		if eval[bool](b, `!!document.querySelector('tr[data-role="`+protected+`"] a[href$="/delete"]')`) {
			t.Errorf("R2/R3: %s must offer no delete", protected)
		}
	}
	if eval[bool](b, `!!document.querySelector('tr[data-role="head"] button')`) {
		t.Error("R4: Head must offer no duplicate")
	}
	// The search filters the list as one types (htmx), and the URL follows.
	b.do(chromedp.SendKeys(chromedp.CSS("#role-q"), "sales"))
	b.waitTrue(`!document.querySelector('tr[data-role="hr"]') && !!document.querySelector('tr[data-role="sales_head"]')`)
	b.waitTrue(`location.search.includes("q=sales")`)
	b.click(`tr[data-role="sales_manager"] a[href$="/delete"]`)
	b.waitText("#modal", "1 member has this role")
	b.shot("delete-dialog")
	b.fill("#reassign", "hr")
	b.submit(`#delete-form button[type=submit]`)
	b.waitText(".flash.ok", "Role Sales manager deleted; its 1 member moved to HR")
	m, err := w.Admin.Member(context.Background(), "acme", admin.Actor{}, "bob")
	if err != nil || !slices.Equal(roleIDs(m), []string{"hr"}) {
		t.Fatalf("bob after R5 = %v, %v", roleIDs(m), err)
	}
	if _, err := w.Admin.Role(context.Background(), "acme", "sales_manager"); err == nil {
		t.Fatal("the role must be gone")
	}
}

// TestConsole_M4_LastRoleFallsBackToDefault: removing a member's last role
// gives the default role, named by its current name; the default role
// cannot be a member's last (M4, R2).
func TestConsole_M4_LastRoleFallsBackToDefault(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)

	// R2: the default role may be renamed; messages use the new name.
	b.open("/w/acme/roles/employee")
	b.fill("#role-name", "Basic access")
	b.submit(`form[action$="/roles/employee/details"] button[type=submit]`)
	b.waitText(".flash.ok", "Saved the name and description of Basic access")

	b.open("/w/acme/members/bob")
	b.submit(`tr[data-role="sales_manager"] button[type=submit]`)
	b.waitText(".flash.ok", "Sales manager was the last role of Bob Kim, so Bob Kim now has the default role, Basic access (M4)")
	b.shot("member-fallback")
	m, _ := w.Admin.Member(context.Background(), "acme", admin.Actor{}, "bob")
	if !slices.Equal(roleIDs(m), []string{"employee"}) {
		t.Fatalf("bob's roles = %v, want the default", roleIDs(m))
	}
	b.submit(`tr[data-role="employee"] button[type=submit]`)
	msg := b.waitText(".flash.error", "Basic access")
	if !strings.Contains(msg, "only role of bob") {
		t.Fatalf("last_role message = %q", msg)
	}
}

// TestConsole_MemberGrantsAndEffective: a direct grant (M5) shows as
// redundant when the roles already give as much, and the effective
// permissions list their sources (M3).
func TestConsole_MemberGrantsAndEffective(t *testing.T) {
	w := newWorld(t)
	b := newBrowser(t, w.URL)
	b.signIn(apitest.AdminKey)
	b.open("/w/acme/members/ann")
	b.fill("#grant-perm", "reports_view")
	b.fill("#grant-level", "all")
	b.submit(`button[name=op][value=set]`)
	b.waitText(".flash.ok", "Direct grants saved")
	if !w.check("ann", "reports_view").Allowed {
		t.Fatal("M5: the direct grant must allow reports_view")
	}
	b.waitText("#effective", "direct grant: All")
	b.fill("#grant-perm", "leads_view")
	b.fill("#grant-level", "own")
	b.submit(`button[name=op][value=set]`)
	b.waitText("#direct-grants", "redundant")
	b.waitText("#effective", "Employee r1")
}
