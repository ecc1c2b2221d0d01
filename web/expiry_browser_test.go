package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
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
	at := time.Now().Add(4 * time.Second).UTC().Truncate(time.Second)
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
