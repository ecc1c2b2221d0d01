package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/internal/node"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// hostApp is a host platform's own web page that embeds the console in an
// iframe: GET /?src=<console link>. Its origin names it by "localhost",
// the console's by 127.0.0.1, so the frame is cross-site, as in
// production.
func hostApp(t *testing.T) (origin string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Acme CRM</title><link rel="icon" href="data:,"></head>
<body><h1>Acme CRM settings</h1><iframe id="console" title="Permissions" src="%s" width="1320" height="860"></iframe></body></html>`,
			html.EscapeString(r.URL.Query().Get("src")))
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// newFramedWorld is newMemberWorld on a node whose console the given
// origins may frame (--console-frame-ancestors).
func newFramedWorld(t *testing.T, ancestors ...string) *memberWorld {
	t.Helper()
	n, err := node.Open(context.Background(), node.Config{Database: "sqlite:" + filepath.Join(t.TempDir(), "g.db"),
		AdminKey: apitest.AdminKey, FlushEvery: time.Hour, Version: "test", ConsoleFrameAncestors: ancestors})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.API)
	t.Cleanup(func() {
		srv.Close()
		n.Close()
	})
	return seedMembers(t, seedWorld(t, &apitest.Env{Node: n, URL: srv.URL, Server: srv}))
}

// goto opens an absolute URL and waits for its body.
func (b *browser) goTo(u string) {
	b.t.Helper()
	b.do(chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body")))
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited 10s for %s", what)
}

// TestX6_Browser_ViewOnlyMemberChangesNothing: the host mints a link, a
// member who may only read signs in with it and finds no control to
// change anything; a post it crafts in the page with its own CSRF token is
// refused, and nothing is written.
func TestX6_Browser_ViewOnlyMemberChangesNothing(t *testing.T) {
	w := newMemberWorld(t)
	link := w.mint("vera", "")
	b := newBrowser(t, w.URL)
	b.goTo(link)
	b.waitText("main h1", "Roles")
	b.waitText("#signed-in-as", "Vera Viewer")
	b.waitText(".who .badge", "view only")
	if got := eval[string](b, `[...document.querySelectorAll("nav.sections a")].map(a => a.textContent).join(",")`); got != "Roles,Members,Departments,Explain,Audit,Usage,Separation of duties,Reviews,Gateway" {
		t.Fatalf("sections %q: a member without ownership has no Settings", got)
	}
	b.shot("member-view-only-roles")
	for _, page := range []string{"/w/acme/sod", "/w/acme/reviews"} { // S1, V1: reading is not changing
		b.open(page)
		if n := eval[int](b, `document.querySelectorAll("main button, main form[method=post], main [hx-post]").length`); n != 0 {
			t.Fatalf("%d controls on a view-only member's %s", n, page)
		}
	}
	b.open("/w/acme/roles/sales_manager")
	b.waitText("#read-only", "Read only")
	b.openSection("crm")
	if n := eval[int](b, `document.querySelectorAll("main button, main form[method=post], main [hx-post]").length`); n != 0 {
		t.Fatalf("%d controls on a view-only member's role page", n)
	}
	if lvl := eval[string](b, cellLevel("leads_view")); lvl == "" {
		t.Fatal("the matrix must still show the levels")
	}
	b.shot("member-view-only-role")
	for _, p := range []string{"/w/acme/members/bob", "/w/acme/departments"} {
		b.open(p)
		if n := eval[int](b, `document.querySelectorAll("main button, main form[method=post]").length`); n != 0 {
			t.Fatalf("%s: %d controls", p, n)
		}
	}
	before, _ := w.Admin.Role(context.Background(), "acme", "sales_manager")
	status, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`(async () => {
		const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
		const r = await fetch("/w/acme/roles/sales_manager/save", {method: "POST", redirect: "manual",
			headers: {"X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"},
			body: "base=`+fmt.Sprint(before.Revision)+`&apply=1&g=leads_view%3Dall&g=deals_view%3Dall&reason=crafted"});
		return r.type === "opaqueredirect" ? 303 : r.status;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("a crafted save: %d %v, want the refusal's redirect", status, err)
	}
	after, _ := w.Admin.Role(context.Background(), "acme", "sales_manager")
	if after.Revision != before.Revision || after.Grants["leads_view"] != before.Grants["leads_view"] {
		t.Fatalf("a view-only member's crafted save wrote revision %d", after.Revision)
	}
	b.open("/w/acme/roles")
	b.waitText(".flash.error", "settings_roles_edit at all")
}

// TestX6_Browser_EditorCappedAtItsOwnLevel: an editor of roles cannot
// raise a cell above its own level and sees why, sets what it may, saves
// as itself, and the audit page names it first.
func TestX6_Browser_EditorCappedAtItsOwnLevel(t *testing.T) {
	w := newMemberWorld(t)
	b := newBrowser(t, w.URL)
	b.goTo(w.mint("eddie", "/w/acme/roles/interns"))
	b.waitText("main h1", "Interns")
	b.waitText("#limited-note", "Levels above your own are disabled")
	b.openSection("crm")
	// eddie's own leads_view is department: subdepartments and all are
	// out of reach, with the reason on the button and for screen readers.
	for _, lvl := range []string{"subdepartments", "all"} {
		sel := `td[data-key="leads_view"] button.pip[data-value="` + lvl + `"]`
		if !eval[bool](b, `document.querySelector('`+sel+`').disabled`) {
			t.Fatalf("leads_view %s must be disabled for eddie", lvl)
		}
		if why := eval[string](b, `document.querySelector('`+sel+`').parentElement.title`); !strings.Contains(why, "above your own level (Department)") {
			t.Fatalf("leads_view %s: reason %q", lvl, why)
		}
	}
	if why := b.text("#why-leads_view"); !strings.Contains(why, "above your own level (Department)") {
		t.Fatalf("screen reader reason %q", why)
	}
	// The group's view would give every CRM module all: disabled too.
	if !eval[bool](b, `document.querySelector('td[data-key="crm_view"] button.pip[data-value="all"]').disabled`) {
		t.Fatal("crm_view all would give leads_view all: it must be disabled")
	}
	if !eval[bool](b, `document.querySelector('button[value="allow-all"]').disabled`) {
		t.Fatal("Allow everything must be disabled for a limited editor")
	}
	b.shot("member-editor-capped")
	b.setCell("leads_view", "department")
	b.click("#save-apply")
	b.waitText("#modal", "Impact on members")
	b.submit("#confirm")
	b.waitText(".flash.ok", "Saved revision 2 of Interns")
	if r, _ := w.Admin.Role(context.Background(), "acme", "interns"); r.Grants["leads_view"] != policy.LevelDepartment {
		t.Fatalf("interns: %v", r.Grants)
	}
	b.open("/w/acme/audit")
	first := b.text("#audit tbody tr:first-child")
	if !strings.Contains(first, "Eddie Editor") || !strings.Contains(first, "role.update") {
		t.Fatalf("the newest audit entry: %q", first)
	}
	b.shot("member-audit")
}

// TestX6_Browser_ConsoleInAnIframe: a host platform embeds the console in
// an iframe of an origin the deployment allows; the member's session and
// its writes (CSRF token, cross-origin protection) work inside the frame.
// In a frame of another origin the browser refuses to show it.
func TestX6_Browser_ConsoleInAnIframe(t *testing.T) {
	allowed, other := hostApp(t), hostApp(t)
	w := newFramedWorld(t, allowed)
	b := newBrowser(t, w.URL)
	b.goTo(allowed + "/?src=" + url.QueryEscape(w.mint("eddie", "/w/acme/roles/interns")))
	b.waitText("h1", "Acme CRM settings")
	f := b.inFrame(w.URL + "/")
	f.waitText("#signed-in-as", "Eddie Editor")
	f.waitText("main h1", "Interns")
	f.openSection("crm")
	f.setCell("leads_view", "own")
	f.click("#save-apply")
	f.waitText("#modal", "Impact on members")
	f.click("#confirm")
	waitFor(t, "the framed save", func() bool {
		r, _ := w.Admin.Role(context.Background(), "acme", "interns")
		return r.Grants["leads_view"] == policy.LevelOwn
	})
	es, _ := w.Admin.Audit(context.Background(), "acme", admin.Actor{}, admin.AuditFilter{Target: "role:interns"})
	if last := es[len(es)-1]; last.Actor != "eddie" || last.ActorName != "Eddie Editor" {
		t.Fatalf("the framed save is audited as %q (%q)", last.Actor, last.ActorName)
	}
	f.waitText(".flash.ok", "Saved revision 2 of Interns")
	b.shot("member-in-iframe")

	// Another origin: the browser refuses to render the console in it.
	b.expect(`violates the following Content Security Policy directive: "frame-ancestors`)
	b.goTo(other + "/?src=" + url.QueryEscape(w.mint("eddie", "")))
	b.waitText("h1", "Acme CRM settings")
	waitFor(t, "the browser's refusal of the frame", func() bool {
		return b.saw(`Framing '` + w.URL + `/`)
	})
	// The frame holds the browser's error page, not the console.
	g := b.inFrame(w.URL + "/w/")
	if loc := eval[string](g, "location.href"); !strings.HasPrefix(loc, "chrome-error:") || eval[bool](g, `!!document.getElementById("signed-in-as")`) {
		t.Fatalf("the console rendered in a frame of %s: %s", other, loc)
	}
	b.shot("member-iframe-refused")
}
