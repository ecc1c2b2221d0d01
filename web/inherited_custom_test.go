package web_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestConsole_G1_C6_InheritedCellRenderedCustom: on the role page, a cell
// inheriting from a conditional group grant is drawn custom with the
// group's condition, read-only; the group's own cell keeps its editable
// condition.
func TestConsole_G1_C6_InheritedCellRenderedCustom(t *testing.T) {
	w := newWorld(t)
	const when = "record.amount &lt; 5" // as HTML escapes it
	r, _, err := w.Admin.CreateRole(context.Background(), "acme", admin.Write{}, admin.RoleInput{Name: "Small deals",
		Grants: policy.Grants{"crm_view": policy.LevelAll}, When: policy.Conditions{"crm_view": "record.amount < 5"}})
	if err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, w.URL)
	v.signIn(apitest.AdminKey)
	resp, body := v.do("GET", "/w/acme/roles/"+r.ID, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET role: %d", resp.StatusCode)
	}
	leads := regexp.MustCompile(`(?s)<td class="cell inherited lvl-all custom" data-key="leads_view" data-custom="inherited">.*?</td>`).FindString(body)
	if leads == "" {
		t.Fatalf("no custom inherited leads_view cell:\n%.600s", body[max(0, len(body)/2-300):])
	}
	if !regexp.MustCompile(`from <code>crm_view</code> when <code class="when">`+regexp.QuoteMeta(when)+`</code>`).MatchString(leads) ||
		regexp.MustCompile(`id="cond-leads_view"`).MatchString(leads) {
		t.Errorf("leads_view cell: want the group's condition, read-only:\n%s", leads)
	}
	if !regexp.MustCompile(`id="cond-crm_view" value="` + regexp.QuoteMeta(when) + `"`).MatchString(body) {
		t.Error("crm_view's own cell lost its editable condition")
	}
}
