package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestT1_Browser_RoleUntilATime: an owner gives a member a role until an
// instant a few seconds ahead on the member page; the page shows the
// expiry; after the instant the check API denies without any write (T1),
// and the audit log shows the expiry committed by system (T2, X5).
func TestT1_Browser_RoleUntilATime(t *testing.T) {
	w := newMemberWorld(t)
	b := newBrowser(t, w.URL)
	b.goTo(w.mint("olga", ""))
	b.waitText("#signed-in-as", "Olga Owner")
	if w.check("ann", "settings_roles_view").Allowed {
		t.Fatal("ann may view roles before HR is given")
	}
	b.open("/w/acme/members/ann")
	// Far enough ahead that a loaded CI machine's browser steps finish
	// before the instant (4 s was not, once); the wait after it is T1's.
	at := time.Now().Add(15 * time.Second).UTC().Truncate(time.Second)
	b.fill("#assign-role", admin.RoleHR)
	b.fill("#assign-until", at.Format("2006-01-02T15:04:05"))
	b.submit(`form[action$="/members/ann/roles"] button[type=submit]`)
	b.waitText(`tr[data-role="hr"] .expires`, at.Format("2006-01-02 15:04:05 UTC"))
	b.shot("member-role-until")
	if !w.check("ann", "settings_roles_view").Allowed {
		t.Fatal("the role is not honoured before its instant")
	}
	// The role's member list shows it too.
	b.open("/w/acme/roles/hr")
	b.waitText(`tr[data-member="ann"] .expires`, at.Format("2006-01-02 15:04:05 UTC"))

	if time.Now().After(at) {
		t.Fatalf("the browser steps outlasted the 15 s window; the checks before the instant proved nothing")
	}
	time.Sleep(time.Until(at.Add(time.Second)))
	if w.check("ann", "settings_roles_view").Allowed {
		t.Fatal("a check 1 s after the instant still honours the expired role (T1)")
	}
	waitFor(t, "the expiry committed by system", func() bool {
		es, err := w.Admin.Audit(context.Background(), "acme", admin.Actor{}, admin.AuditFilter{Actor: "system"})
		return err == nil && len(es) == 1 && es[0].Action == "member.expire" && es[0].Target == "member:ann"
	})
	b.open("/w/acme/audit")
	b.waitText("main tbody tr", "System")
	b.waitText("main tbody tr", "member.expire")
	b.shot("audit-expiry-by-system")
	b.open("/w/acme/members/ann")
	if eval[int](b, `document.querySelectorAll('tr[data-role="hr"]').length`) != 0 {
		t.Error("the member page still lists the expired role")
	}
}

// TestT1_T3_Browser_DirectGrantExpiry: on the member page an owner sets,
// extends and removes the expiry of a single direct grant, the other
// grants keeping theirs; an administrator with partial rights cannot
// remove the expiry of a grant above its own level (T3, X3a).
func TestT1_T3_Browser_DirectGrantExpiry(t *testing.T) {
	w := newMemberWorld(t)
	ctx := context.Background()
	other := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	if _, _, _, err := w.Admin.SetDirectGrantsUntil(ctx, "acme", admin.Write{}, "ann",
		policy.Grants{"leads_view": policy.LevelAll, "reports_view": policy.LevelOwn}, map[string]time.Time{"reports_view": other}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w.URL)
	b.goTo(w.mint("olga", ""))
	b.waitText("#signed-in-as", "Olga Owner")
	b.open("/w/acme/members/ann")
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	grantExpiry := func() map[string]time.Time {
		t.Helper()
		m, err := w.Admin.Member(ctx, "acme", admin.Actor{}, "ann")
		if err != nil {
			t.Fatal(err)
		}
		return m.GrantExpiry
	}
	for _, step := range []struct {
		name  string
		until time.Time
		shown string
	}{
		{"set", at, at.Format("2006-01-02 15:04:05 UTC")},
		{"extend", at.Add(24 * time.Hour), at.Add(24 * time.Hour).Format("2006-01-02 15:04:05 UTC")},
		{"remove", time.Time{}, "—"},
	} {
		value := ""
		if !step.until.IsZero() {
			value = step.until.Format("2006-01-02T15:04:05")
		}
		setField(b, "#grant-until-leads_view", value)
		b.submit(`form[action$="/members/ann/grants/leads_view/expiry"] button[type=submit]`)
		b.waitText(".flash.ok", "leads_view")
		b.waitText(`tr[data-grant="leads_view"] .expires`, step.shown)
		got := grantExpiry()
		if !got["leads_view"].Equal(step.until) || !got["reports_view"].Equal(other) {
			t.Fatalf("%s: grant expiry %v, want leads_view %v and reports_view kept at %v", step.name, got, step.until, other)
		}
		if step.name == "set" {
			b.shot("member-grant-until")
		}
	}

	// Eddie edits roles at all but views leads only at department: he may
	// not keep ann's leads_view: all past an expiry (T3, X3a).
	if _, _, _, err := w.Admin.SetDirectGrantsUntil(ctx, "acme", admin.Write{}, "ann",
		policy.Grants{"leads_view": policy.LevelAll, "reports_view": policy.LevelOwn}, map[string]time.Time{"leads_view": at, "reports_view": other}); err != nil {
		t.Fatal(err)
	}
	e := newBrowser(t, w.URL)
	e.goTo(w.mint("eddie", ""))
	e.waitText("#signed-in-as", "Eddie Editor")
	e.open("/w/acme/members/ann")
	setField(e, "#grant-until-leads_view", "")
	e.submit(`form[action$="/members/ann/grants/leads_view/expiry"] button[type=submit]`)
	e.waitText(".flash.error", "leads_view")
	if got := grantExpiry(); !got["leads_view"].Equal(at) {
		t.Fatalf("a refused extension moved the expiry: %v", got)
	}
}

// TestM9_T1_Browser_DepartmentRoleExpiryPerRole: the department form sets
// an expiry per role, not one for all; an empty field means none, and a
// role's expiry left as shown is kept.
func TestM9_T1_Browser_DepartmentRoleExpiryPerRole(t *testing.T) {
	w := newMemberWorld(t)
	ctx := context.Background()
	b := newBrowser(t, w.URL)
	b.goTo(w.mint("olga", ""))
	b.waitText("#signed-in-as", "Olga Owner")
	b.open("/w/acme/departments")
	eval[bool](b, `(document.querySelectorAll('details.tree-edit').forEach(d => d.open = true), true)`)
	form := `form.dept-roles-form:has(input[name=id][value="sales"])`
	at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	b.click(form + ` input[name=role][value="` + admin.RoleHR + `"]`)
	b.click(form + ` input[name=role][value="` + admin.RoleSalesManager + `"]`)
	b.fill("#du-sales-"+admin.RoleHR, at.Format("2006-01-02T15:04:05"))
	b.submit(form + ` button[type=submit]`)
	b.waitText(".flash.ok", "roles of Sales")
	b.waitText(`.dept-role[data-role="`+admin.RoleHR+`"]`, "until "+at.Format("2006-01-02 15:04:05 UTC"))
	b.shot("department-role-until")
	roles := func() map[string]time.Time {
		t.Helper()
		ds, err := w.Admin.Departments(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, d := range ds {
			if d.ID == "sales" {
				for _, a := range d.Roles {
					out[a.RoleID] = a.ExpiresAt
				}
			}
		}
		return out
	}
	if got := roles(); len(got) != 2 || !got[admin.RoleHR].Equal(at) || !got[admin.RoleSalesManager].IsZero() {
		t.Fatalf("sales gives %v, want hr until %v and sales_manager without expiry", got, at)
	}
	// A second save: sales_manager gets its own instant, hr keeps its own.
	later := at.Add(24 * time.Hour)
	b.open("/w/acme/departments")
	eval[bool](b, `(document.querySelectorAll('details.tree-edit').forEach(d => d.open = true), true)`)
	b.fill("#du-sales-"+admin.RoleSalesManager, later.Format("2006-01-02T15:04:05"))
	b.submit(form + ` button[type=submit]`)
	b.waitText(`.dept-role[data-role="`+admin.RoleSalesManager+`"]`, "until "+later.Format("2006-01-02 15:04:05 UTC"))
	if got := roles(); !got[admin.RoleHR].Equal(at) || !got[admin.RoleSalesManager].Equal(later) {
		t.Fatalf("sales gives %v, want hr until %v and sales_manager until %v", got, at, later)
	}
	// Clearing hr's field removes its expiry only.
	b.open("/w/acme/departments")
	eval[bool](b, `(document.querySelectorAll('details.tree-edit').forEach(d => d.open = true), true)`)
	setField(b, "#du-sales-"+admin.RoleHR, "")
	b.submit(form + ` button[type=submit]`)
	b.waitText(".flash.ok", "roles of Sales")
	if got := roles(); !got[admin.RoleHR].IsZero() || !got[admin.RoleSalesManager].Equal(later) {
		t.Fatalf("sales gives %v, want hr without expiry and sales_manager until %v", got, later)
	}
}

// setField sets an input's value, the empty one included (chromedp's
// SetValue writes "undefined" for it).
func setField(b *browser, sel, value string) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(document.querySelector(%q).value = %q, true)`, sel, value))
}
