package web_test

import (
	"context"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// focused is the id of the element that has the focus.
const focused = `((document.activeElement || {}).id || (document.activeElement || {}).value || "")`

// TestGateway_Browser_AddReorderSaveReload: an editor of roles signed in
// by a link adds two routes, typing into the rows in place, moves the
// second above the first, sees a refusal in place with the route named
// and the draft kept, saves, and finds the routes in their order after a
// reload; admin has them, audited under the member's name. A view-only
// member then finds the same routes without a control.
func TestGateway_Browser_AddReorderSaveReload(t *testing.T) {
	w := newMemberWorld(t)
	w.leadsAtAll()
	b := newBrowser(t, w.URL)
	b.goTo(w.mint("eddie", "/w/acme/gateway"))
	b.waitText("main h1", "Gateway routes")
	b.waitText("#gateway-rules", "first match decides")
	b.waitText("#nginx-snippet", "proxy_pass "+w.URL+"/v1/workspaces/acme/forward-auth;")
	b.waitText("#caddy-snippet", "uri /v1/workspaces/acme/forward-auth")
	b.waitText("#gateway-empty", "refused every request")
	if got := eval[string](b, `document.querySelector('nav.sections a[aria-current="page"]').textContent`); got != "Gateway" {
		t.Fatalf("current section %q", got)
	}

	// Add the first route; the new row's path has the focus.
	b.click("#gateway-add")
	b.waitTrue(`!!document.getElementById("gw-path-0")`)
	b.waitTrue(focused + ` === "gw-path-0"`)
	b.do(chromedp.SendKeys(chromedp.CSS("#gw-path-0"), "/leads/*"))
	b.fill("#gw-perm-0", "leads_view")

	// The second: what was typed in the first travels with the draft.
	b.click("#gateway-add")
	b.waitTrue(`!!document.getElementById("gw-path-1")`)
	if got := eval[string](b, `document.getElementById("gw-path-0").value`); got != "/leads/*" {
		t.Fatalf("adding a row lost the first one's path: %q", got)
	}
	b.fill("#gw-method-1", "DELETE")
	b.fill("#gw-path-1", "/leads/{owner}/{id}")
	b.fill("#gw-perm-1", "leads_delet")
	b.fill("#gw-owner-1", "{owner}")
	b.waitText("#gateway-status", "Unsaved changes")

	// Move the second route up: it is matched first now, and the focus
	// follows it.
	b.click(`button[name=op][value="up:1"]`)
	b.waitTrue(`document.getElementById("gw-path-0").value === "/leads/{owner}/{id}"`)
	b.waitTrue(focused + ` === "down:0"`)
	if got := eval[string](b, `document.getElementById("gw-method-0").value + " " + document.getElementById("gw-path-1").value`); got != "DELETE /leads/*" {
		t.Fatalf("after the move: %q", got)
	}
	b.shot("gateway-draft")

	// Save: admin refuses the misspelt permission; the answer names the
	// route, in its row, and keeps every field as typed.
	b.click("#gateway-save")
	b.waitText("#gw-problem-0", "Route 1: unknown permission")
	b.waitText("#gw-problem-0", "leads_delete")
	b.waitText("#gateway-problem", "Not saved: route 1 was refused")
	if got := eval[string](b, `[0, 1].map(i => ["method", "path", "perm", "owner"].map(f => document.getElementById("gw-" + f + "-" + i).value).join(" ")).join(" | ")`); got != "DELETE /leads/{owner}/{id} leads_delet owner | GET /leads/* leads_view " {
		t.Fatalf("the refused draft: %q", got)
	}
	if len(w.routes()) != 0 {
		t.Fatal("a refused save wrote")
	}
	b.shot("gateway-refused")

	b.fill("#gw-perm-0", "leads_delete")
	b.fill("#gateway-reason", "leads app behind nginx")
	b.submit("#gateway-save")
	b.waitText(".flash.ok", "Saved 2 gateway routes")
	want := []policy.GatewayRoute{
		{Method: "DELETE", Path: "/leads/{owner}/{id}", Permission: "leads_delete", Owner: "owner"},
		{Method: "GET", Path: "/leads/*", Permission: "leads_view"},
	}
	if got := w.routes(); !slices.Equal(got, want) {
		t.Fatalf("saved %+v", got)
	}
	es, err := w.Admin.Audit(context.Background(), "acme", admin.Actor{}, admin.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if last := es[len(es)-1]; last.Action != "gateway.put" || last.Actor != "eddie" || last.Reason != "leads app behind nginx" {
		t.Fatalf("audit %+v", last)
	}

	// A reload shows them back, in order.
	b.open("/w/acme/gateway")
	b.waitText("#gateway-status", "No unsaved changes")
	rows := `[...document.querySelectorAll("#gateway-routes tbody tr[data-route]")].map(tr => [...tr.querySelectorAll("select, input")].map(e => e.value).join(" ")).join(" | ")`
	if got := eval[string](b, rows); got != "DELETE /leads/{owner}/{id} leads_delete owner  | GET /leads/* leads_view  " {
		t.Fatalf("after a reload: %q", got)
	}
	// The copy button copies or, where the browser refuses, selects.
	b.click(`[data-copy="nginx-snippet"]`)
	b.waitTrue(`/Copied|Selected/.test(document.querySelector("#nginx-snippet").parentNode.querySelector(".copy-status").textContent)`)
	b.shot("gateway-saved")

	// A view-only member: the routes, no control but Copy.
	b.goTo(w.mint("vera", "/w/acme/gateway"))
	b.waitText("#read-only", "Read only")
	b.waitText("#gateway-routes", "/leads/{owner}/{id}")
	if n := eval[int](b, `document.querySelectorAll("main form, main input, main select, main [hx-post], main button:not([data-copy])").length`); n != 0 {
		t.Fatalf("%d controls on a view-only member's gateway page", n)
	}
	b.shot("gateway-read-only")
}
