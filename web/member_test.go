package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/session"
	"github.com/gatehouse-authz/gatehouse/web"
)

// memberWorld is newWorld plus the people of X6: an owner (olga), a member
// who may only read roles and people (vera, "Admin viewer"), an editor of
// roles whose own reach is department-wide on leads (eddie, "Roles
// editor"), and the host platform's admin key.
type memberWorld struct {
	*world
	hostKey string
}

func newMemberWorld(t *testing.T) *memberWorld {
	t.Helper()
	return seedMembers(t, newWorld(t))
}

// seedMembers adds the people of X6 to a seeded world.
func seedMembers(t *testing.T, w *world) *memberWorld {
	t.Helper()
	ctx := context.Background()
	a := w.Admin
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, hostKey, _, err := a.CreateKey(ctx, "acme", admin.Write{}, admin.ScopeAdmin, "crm-backend")
	must(err)
	_, _, err = a.CreateRole(ctx, "acme", admin.Write{}, admin.RoleInput{Name: "Admin viewer", Grants: policy.Grants{
		"settings_roles_view": policy.LevelAll, "leads_view": policy.LevelAll}})
	must(err)
	_, _, err = a.CreateRole(ctx, "acme", admin.Write{}, admin.RoleInput{Name: "Roles editor", Grants: policy.Grants{
		"settings_roles_view": policy.LevelAll, "settings_roles_edit": policy.LevelAll,
		"leads_view": policy.LevelDepartment, "leads_edit": policy.LevelOwn}})
	must(err)
	_, _, err = a.CreateRole(ctx, "acme", admin.Write{}, admin.RoleInput{Name: "Interns"})
	must(err)
	yes := true
	for _, m := range []admin.MemberInput{
		{UserID: "olga", Name: "Olga Owner", Owner: &yes, DepartmentIDs: []string{"sales"}},
		{UserID: "vera", Name: "Vera Viewer", DepartmentIDs: []string{"sales"}, RoleIDs: []string{"admin_viewer"}},
		{UserID: "eddie", Name: "Eddie Editor", DepartmentIDs: []string{"sales"}, RoleIDs: []string{"roles_editor"}},
	} {
		_, _, err := a.UpsertMember(ctx, "acme", admin.Write{}, m)
		must(err)
	}
	return &memberWorld{world: w, hostKey: hostKey}
}

// api calls the API as the host platform's backend does.
func (w *memberWorld) api(method, path, key string, body any, hdr ...string) (int, map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, w.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// mint asks the API for a console link for user, as the host's backend.
func (w *memberWorld) mint(user, returnTo string) string {
	w.t.Helper()
	status, out := w.api("POST", "/v1/workspaces/acme/console-links", w.hostKey, map[string]string{"user_id": user, "return_to": returnTo})
	u, _ := out["url"].(string)
	if status != http.StatusCreated || u == "" {
		w.t.Fatalf("mint a link for %s: %d %v", user, status, out)
	}
	return u
}

// follow opens a link with the visitor and returns the redirect's target.
func (v *visitor) follow(link string) (*http.Response, string) {
	v.t.Helper()
	return v.do("GET", strings.TrimPrefix(link, v.base), nil, nil)
}

// csrfOf reads the CSRF token from a page of the visitor's session.
func (v *visitor) csrfOf(path string) string {
	v.t.Helper()
	_, body := v.do("GET", path, nil, nil)
	i := strings.Index(body, `"X-CSRF-Token": "`)
	if i < 0 {
		v.t.Fatalf("no CSRF token on %s", path)
	}
	rest := body[i+len(`"X-CSRF-Token": "`):]
	return rest[:strings.Index(rest, `"`)]
}

// TestX6_Link_WorksOnceAndSignsInAsTheMember: a link minted by the host
// opens a session acting as the member and goes where return_to says; a
// second use is refused; the minting is audited under the host's key.
func TestX6_Link_WorksOnceAndSignsInAsTheMember(t *testing.T) {
	w := newMemberWorld(t)
	link := w.mint("vera", "/w/acme/roles/sales_manager")
	if !strings.HasPrefix(link, w.URL+"/console/link?t=") {
		t.Fatalf("link %q", link)
	}
	v := newVisitor(t, w.URL)
	resp, _ := v.follow(link)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/w/acme/roles/sales_manager" {
		t.Fatalf("redeem: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := v.do("GET", "/w/acme/roles/sales_manager", nil, nil)
	if !strings.Contains(body, `id="signed-in-as"`) || !strings.Contains(body, "Vera Viewer") {
		t.Fatal("the page does not say who is signed in")
	}
	again := newVisitor(t, w.URL)
	resp, body = again.follow(link)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "already used") || len(resp.Cookies()) != 0 {
		t.Fatalf("second use: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	es, err := w.Admin.Audit(context.Background(), "acme", admin.Actor{}, admin.AuditFilter{Target: "vera"})
	if err != nil {
		t.Fatal(err)
	}
	if last := es[len(es)-1]; last.Action != "console.link" || !strings.HasPrefix(last.Actor, "key:") {
		t.Fatalf("the mint's audit entry: %+v", last)
	}
	// Home goes to the first section the member may see.
	resp, _ = v.do("GET", "/", nil, nil)
	if loc := resp.Header.Get("Location"); loc != "/w/acme/" {
		t.Fatalf("home: %q", loc)
	}
	resp, _ = v.do("GET", "/w/acme/", nil, nil)
	if loc := resp.Header.Get("Location"); loc != "/w/acme/roles" {
		t.Fatalf("workspace home: %q", loc)
	}
}

// TestX6_Link_MintingIsTheOwners: only owners and keys acting for
// themselves mint links (X3); a check key, an acting member who is no
// owner and a member of no workspace are refused, and so is a link for
// someone who is no member or another workspace's member (W1).
func TestX6_Link_MintingIsTheOwners(t *testing.T) {
	w := newMemberWorld(t)
	ctx := context.Background()
	_, checkKey, _, err := w.Admin.CreateKey(ctx, "acme", admin.Write{}, admin.ScopeCheck, "checks")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Admin.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "globex", Name: "Globex", Plan: admin.PlanFree}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Admin.UpsertMember(ctx, "globex", admin.Write{}, admin.MemberInput{UserID: "gus", Name: "Gus"}); err != nil {
		t.Fatal(err)
	}
	const path = "/v1/workspaces/acme/console-links"
	for _, tc := range []struct {
		name   string
		path   string
		key    string
		body   map[string]string
		hdr    []string
		status int
	}{
		{"the host's key", path, w.hostKey, map[string]string{"user_id": "vera"}, nil, 201},
		{"an owner acting", path, w.hostKey, map[string]string{"user_id": "vera"}, []string{"Gatehouse-Actor", "olga"}, 201},
		{"an editor acting (not an owner)", path, w.hostKey, map[string]string{"user_id": "vera"}, []string{"Gatehouse-Actor", "eddie"}, 403},
		{"a member minting its own link", path, w.hostKey, map[string]string{"user_id": "eddie"}, []string{"Gatehouse-Actor", "eddie"}, 403},
		{"a check key", path, checkKey, map[string]string{"user_id": "vera"}, nil, 403},
		{"no member", path, w.hostKey, map[string]string{"user_id": "gus"}, nil, 404},
		{"another workspace's route (W1)", "/v1/workspaces/globex/console-links", w.hostKey, map[string]string{"user_id": "gus"}, nil, 404},
		{"a return_to on another site", path, w.hostKey, map[string]string{"user_id": "vera", "return_to": "//evil.example/"}, nil, 400},
	} {
		if status, out := w.api("POST", tc.path, tc.key, tc.body, tc.hdr...); status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, status, out, tc.status)
		}
	}
}

// TestX6_Link_RefusedWhenTamperedOrForAnotherWorkspace: a link whose
// payload was changed, whose signature was cut, or that was signed by
// another deployment opens nothing; a member's session of acme sees
// nothing of globex (W1).
func TestX6_Link_RefusedWhenTamperedOrForAnotherWorkspace(t *testing.T) {
	w := newMemberWorld(t)
	if _, err := w.Admin.CreateWorkspace(context.Background(), admin.WorkspaceInput{ID: "globex", Name: "Globex", Plan: admin.PlanFree}); err != nil {
		t.Fatal(err)
	}
	link := w.mint("vera", "")
	u, _ := url.Parse(link)
	token := u.Query().Get("t")
	payload, sig, _ := strings.Cut(token, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	var claims map[string]any
	json.Unmarshal(raw, &claims)
	forge := func(change func(map[string]any)) string {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		change(c)
		b, _ := json.Marshal(c)
		return base64.RawURLEncoding.EncodeToString(b) + "." + sig
	}
	other, err := session.NewKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := web.New(web.Config{Admin: w.Admin, Engine: w.Engine, Keys: other})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, _ := elsewhere.Mint("acme", "olga", "", time.Now())
	for name, tok := range map[string]string{
		"another member":         forge(func(c map[string]any) { c["u"] = "olga" }),
		"another workspace":      forge(func(c map[string]any) { c["w"] = "globex" }),
		"a later expiry":         forge(func(c map[string]any) { c["e"] = c["e"].(float64) + 3600 }),
		"a cut signature":        payload + "." + sig[:10],
		"no signature":           payload,
		"another deployment's":   strings.TrimPrefix(foreign, "/console/link?t="),
		"garbage":                "%%%",
		"an empty token":         "",
		"another key id":         forge(func(c map[string]any) { c["s"] = "0000000000000000" }),
		"a signature of nothing": "." + sig,
	} {
		v := newVisitor(t, w.URL)
		resp, body := v.do("GET", "/console/link?t="+url.QueryEscape(tok), nil, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not valid") || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %d, cookies %v", name, resp.StatusCode, resp.Cookies())
		}
	}
	// The real link still works once: refusals claimed nothing.
	v := newVisitor(t, w.URL)
	if resp, _ := v.follow(link); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the untampered link: %d", resp.StatusCode)
	}
	_, missing := v.do("GET", "/w/nowhere/roles", nil, nil)
	for _, p := range []string{"/w/globex/roles", "/w/globex/members", "/workspaces"} {
		if resp, body := v.do("GET", p, nil, nil); resp.StatusCode != 404 || body != missing {
			t.Errorf("GET %s as acme's member: %d; another workspace must look like a missing one", p, resp.StatusCode)
		}
	}
}

// TestX6_Link_ExpiresAfterFiveMinutes, with the console's clock injected:
// a link works until 5 minutes after it was made and not from then on.
func TestX6_Link_ExpiresAfterFiveMinutes(t *testing.T) {
	w := newMemberWorld(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	set := func(t time.Time) {
		mu.Lock()
		now = t
		mu.Unlock()
	}
	keys, err := session.NewKeys(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c, err := web.New(web.Config{Admin: w.Admin, Engine: w.Engine, Keys: keys, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	start := clock()
	early, exp, err := c.Mint("acme", "vera", "", start)
	if err != nil || exp.Sub(start) > admin.ConsoleLinkTTL || exp.Sub(start) < admin.ConsoleLinkTTL-time.Second {
		t.Fatalf("mint: expires %v after, %v", exp.Sub(start), err)
	}
	late, _, _ := c.Mint("acme", "vera", "", start)
	set(start.Add(admin.ConsoleLinkTTL - 2*time.Second))
	if resp, _ := newVisitor(t, srv.URL).do("GET", early, nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("just before 5 minutes: %d", resp.StatusCode)
	}
	set(start.Add(admin.ConsoleLinkTTL))
	resp, body := newVisitor(t, srv.URL).do("GET", late, nil, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Fatalf("at 5 minutes: %d", resp.StatusCode)
	}
}

// TestX6_ViewOnlyMember_NoControlsAndCraftedPostsRefused: a member with
// settings_roles_view only sees roles, members and departments without a
// single edit control; every write it crafts by hand is refused and
// nothing is written; the owners' pages are not its.
func TestX6_ViewOnlyMember_NoControlsAndCraftedPostsRefused(t *testing.T) {
	w := newMemberWorld(t)
	ctx := context.Background()
	v := newVisitor(t, w.URL)
	v.follow(w.mint("vera", ""))
	for _, p := range []string{"/w/acme/roles", "/w/acme/roles/sales_manager", "/w/acme/members", "/w/acme/members/bob", "/w/acme/departments"} {
		resp, body := v.do("GET", p, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		main := body[strings.Index(body, `<main`):]
		for _, control := range []string{`method="post"`, `hx-post`, `<button type="submit" name="op"`, `id="new-role"`, `Add a member`, `Duplicate`, `>Save<`} {
			if strings.Contains(main, control) {
				t.Errorf("GET %s shows %s to a view-only member", p, control)
			}
		}
		if strings.Contains(body, `href="/w/acme/settings"`) {
			t.Errorf("GET %s links to the owners' settings", p)
		}
	}
	_, body := v.do("GET", "/w/acme/roles/sales_manager", nil, nil)
	if !strings.Contains(body, `id="read-only"`) || !strings.Contains(body, `id="cell-leads_view"`) {
		t.Fatal("the role page must show the matrix read-only and say so")
	}
	for _, p := range []string{"/w/acme/settings", "/w/acme/usage"} {
		// vera's view is at all: usage (reports) is hers, settings not.
		resp, _ := v.do("GET", p, nil, nil)
		want := map[string]int{"/w/acme/settings": 403, "/w/acme/usage": 200}[p]
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", p, resp.StatusCode, want)
		}
	}
	token := v.csrfOf("/w/acme/roles")
	before, _ := w.Admin.Workspace(ctx, "acme")
	for _, post := range []struct {
		path string
		form url.Values
	}{
		{"/w/acme/roles/sales_manager/save", url.Values{"base": {"1"}, "apply": {"1"}, "g": {"leads_view=all", "deals_view=all"}, "reason": {"x"}}},
		{"/w/acme/roles/sales_manager/details", url.Values{"name": {"Pwned"}}},
		{"/w/acme/roles/sales_manager/duplicate", nil},
		{"/w/acme/roles/interns/delete", nil},
		{"/w/acme/roles", url.Values{"name": {"Pwned"}}},
		{"/w/acme/members", url.Values{"user_id": {"mallory"}, "name": {"Mallory"}}},
		{"/w/acme/members/vera/roles", url.Values{"role": {"roles_editor"}}},
		{"/w/acme/members/vera/grants", url.Values{"op": {"set"}, "permission": {"settings_roles_edit"}, "level": {"all"}}},
		{"/w/acme/members/bob/roles/sales_manager/remove", nil},
		// The condition validators are the editors' (G5), though they write nothing.
		{"/w/acme/members/bob/condition", url.Values{"field": {"when"}, "when": {"record.amount < 5"}}},
		{"/w/acme/roles/sales_manager/condition", url.Values{"field": {"custom-when"}, "custom-when": {"record.amount < 5"}}},
		{"/w/acme/departments", url.Values{"id": {"pwned"}, "name": {"Pwned"}}},
		{"/w/acme/departments/emea/delete", nil},
		{"/w/acme/settings", url.Values{"name": {"Pwned"}}},
		{"/w/acme/keys", url.Values{"scope": {"admin"}}},
	} {
		form := url.Values{"csrf": {token}}
		for k, vs := range post.form {
			form[k] = vs
		}
		resp, _ := v.do("POST", post.path, form, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "" {
			t.Errorf("POST %s: %d; want the refusal sent back as a flash", post.path, resp.StatusCode)
		}
	}
	after, _ := w.Admin.Workspace(ctx, "acme")
	if after.Revision != before.Revision {
		t.Fatalf("crafted posts wrote: revision %d → %d", before.Revision, after.Revision)
	}
	// admin refuses them too, whatever the console does (X3).
	as := admin.Write{Actor: admin.Actor{UserID: "vera"}}
	if _, _, err := w.Admin.UpdateRole(ctx, "acme", as, "sales_manager", admin.RoleUpdate{Grants: policy.Grants{"leads_view": policy.LevelAll}}); policy.ErrorCode(err) != policy.CodeForbidden {
		t.Fatalf("admin let a view-only member edit a role: %v", err)
	}
}

// TestX6_MemberSession_FollowsAuthorityAndEndsWithTheMember: the session
// shows what the member may do now, not when it signed in; removing the
// member ends it, and adding the member again does not revive it.
func TestX6_MemberSession_FollowsAuthorityAndEndsWithTheMember(t *testing.T) {
	w := newMemberWorld(t)
	ctx := context.Background()
	v := newVisitor(t, w.URL)
	v.follow(w.mint("vera", ""))
	if _, body := v.do("GET", "/w/acme/roles", nil, nil); strings.Contains(body, `id="new-role"`) {
		t.Fatal("vera cannot create roles yet")
	}
	if _, _, err := w.Admin.SetMemberRoles(ctx, "acme", admin.Write{}, "vera", []string{"roles_editor", "admin_viewer"}); err != nil {
		t.Fatal(err)
	}
	if _, body := v.do("GET", "/w/acme/roles", nil, nil); !strings.Contains(body, `id="new-role"`) {
		t.Fatal("a raised authority must show at the next request")
	}
	if _, _, err := w.Admin.SetMemberRoles(ctx, "acme", admin.Write{}, "vera", []string{"employee"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := v.do("GET", "/w/acme/roles", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without settings_roles_view: %d", resp.StatusCode)
	}
	if _, body := v.do("GET", "/w/acme/", nil, nil); !strings.Contains(body, "Nothing to administer") {
		t.Fatal("the home of a member without authority must say so")
	}
	if _, err := w.Admin.RemoveMember(ctx, "acme", admin.Write{}, "vera"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := v.do("GET", "/w/acme/", nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("after removal: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, _, err := w.Admin.UpsertMember(ctx, "acme", admin.Write{}, admin.MemberInput{UserID: "vera", Name: "Vera Again", RoleIDs: []string{"admin_viewer"}}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := v.do("GET", "/w/acme/roles", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a member added again must not revive an old session: %d", resp.StatusCode)
	}
}

// TestX6_EditorWritesAsItselfWithinItsLevels: an editor's writes are
// audited under its id and name (X5); a crafted draft op above its own
// level is refused with the reason; the audit page names it, newest first.
func TestX6_EditorWritesAsItselfWithinItsLevels(t *testing.T) {
	w := newMemberWorld(t)
	v := newVisitor(t, w.URL)
	v.follow(w.mint("eddie", ""))
	token := v.csrfOf("/w/acme/roles/interns")
	_, body := v.do("POST", "/w/acme/roles/interns/draft", url.Values{"csrf": {token}, "base": {"1"}, "op": {"set:leads_view=all"}},
		map[string]string{"HX-Request": "true", "HX-Target": "matrix"})
	if !strings.Contains(body, `id="draft-problem"`) || !strings.Contains(body, "above your own level (Department)") {
		t.Fatalf("a draft above the editor's own level: %.600s", body[strings.Index(body, "draft-bar"):])
	}
	resp, _ := v.do("POST", "/w/acme/roles/interns/save", url.Values{"csrf": {token}, "base": {"1"}, "apply": {"1"}, "g": {"leads_view=department"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save within its levels: %d", resp.StatusCode)
	}
	r, _ := w.Admin.Role(context.Background(), "acme", "interns")
	if r.Grants["leads_view"] != policy.LevelDepartment {
		t.Fatalf("interns = %v", r.Grants)
	}
	resp, body = v.do("POST", "/w/acme/roles/interns/save", url.Values{"csrf": {token}, "base": {"2"}, "apply": {"1"}, "g": {"leads_view=all"}},
		map[string]string{"HX-Request": "true", "HX-Target": "modal"})
	if !strings.Contains(body, "you cannot grant more than you have") {
		t.Fatalf("a save above its own level: %d %.300s", resp.StatusCode, body)
	}
	_, body = v.do("GET", "/w/acme/audit", nil, nil)
	rows := body[strings.Index(body, `<tbody>`):]
	first := rows[:strings.Index(rows, `</tr>`)]
	if !strings.Contains(first, "Eddie Editor") || !strings.Contains(first, "role.update") {
		t.Fatalf("the newest audit entry must name Eddie Editor: %s", first)
	}
	if strings.Index(rows, "role.update") > strings.Index(rows, "console.link") {
		t.Fatal("the audit page must list the newest entries first")
	}
	if !strings.Contains(rows, "API key ") || strings.Contains(rows, "API key crm-backend") {
		t.Fatal("the mint is named by its key's id: key names are the owners' to see")
	}
	o := newVisitor(t, w.URL)
	o.follow(w.mint("olga", ""))
	if _, body := o.do("GET", "/w/acme/audit", nil, nil); !strings.Contains(body, "API key crm-backend") {
		t.Fatal("an owner sees the key's name")
	}
}

// TestX6_KeySessionOffersNoPlan: the plan is billing (W2): a workspace
// key's session shows it but offers no change, and a crafted change is
// refused; the deployment admin still changes it.
func TestX6_KeySessionOffersNoPlan(t *testing.T) {
	w := newMemberWorld(t)
	v := newVisitor(t, w.URL)
	v.signIn(w.hostKey)
	_, body := v.do("GET", "/w/acme/settings", nil, nil)
	if strings.Contains(body, `name="plan"`) || !strings.Contains(body, `id="plan-readonly"`) {
		t.Fatal("a workspace key's settings must not offer the plan")
	}
	v.do("POST", "/w/acme/settings", url.Values{"csrf": {v.csrf()}, "plan": {"free"}}, nil)
	if ws, _ := w.Admin.Workspace(context.Background(), "acme"); ws.Plan != admin.PlanProfessional {
		t.Fatalf("a key changed the plan to %s", ws.Plan)
	}
	d := newVisitor(t, w.URL)
	d.signIn(apitest.AdminKey)
	if _, body := d.do("GET", "/w/acme/settings", nil, nil); !strings.Contains(body, `name="plan"`) {
		t.Fatal("the deployment admin must be offered the plan")
	}
}

// TestX6_FrameAncestors: a console that hosts may frame says which in its
// CSP, sends no X-Frame-Options and sends cookies that work in a
// cross-site frame; CSRF still holds, and cross-site posts are refused.
func TestX6_FrameAncestors(t *testing.T) {
	w := newMemberWorld(t)
	keys, err := session.NewKeys(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := web.New(web.Config{Admin: w.Admin, Engine: w.Engine, Keys: keys, FrameAncestors: []string{"https://crm.example.com/x"}}); err == nil {
		t.Fatal("a frame ancestor with a path must be refused")
	}
	c, err := web.New(web.Config{Admin: w.Admin, Engine: w.Engine, Keys: keys, FrameAncestors: []string{"https://crm.example.com", "https://*.crm.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	link, _, _ := c.Mint("acme", "olga", "", time.Now())
	v := newVisitor(t, srv.URL)
	resp, _ := v.do("GET", link, nil, nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://crm.example.com https://*.crm.example.com;") ||
		resp.Header.Get("X-Frame-Options") != "" {
		t.Fatalf("CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "gatehouse_console" && (ck.SameSite != http.SameSiteNoneMode || !ck.Secure || !ck.Partitioned) {
			t.Fatalf("cookie %+v: want SameSite=None; Secure; Partitioned", ck)
		}
	}
	// httptest serves plain HTTP on 127.0.0.1: the cookie jar, like a
	// browser, sends Secure cookies to loopback hosts.
	token := v.csrfOf("/w/acme/settings")
	for name, hdr := range map[string]map[string]string{
		"no token":   nil,
		"cross-site": {"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site", "Origin": "https://crm.example.com"},
	} {
		if resp, _ := v.do("POST", "/w/acme/settings", url.Values{"name": {"Framed"}}, hdr); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	resp, _ = v.do("POST", "/w/acme/settings", url.Values{"name": {"Framed"}}, map[string]string{"X-CSRF-Token": token, "Sec-Fetch-Site": "same-origin"})
	if ws, _ := w.Admin.Workspace(context.Background(), "acme"); resp.StatusCode != http.StatusSeeOther || ws.Name != "Framed" {
		t.Fatalf("a same-origin post from inside the frame: %d, name %q", resp.StatusCode, ws.Name)
	}
}

// TestX6_DepartmentHead_SeesAndManagesItsSpan: a member holding Head
// (settings_roles_view and _edit at subdepartments) administers the
// people of its departments and below, and nothing else: the member list,
// member pages and their controls, the department tree, and the history of
// one member at a time in the audit page.
func TestX6_DepartmentHead_SeesAndManagesItsSpan(t *testing.T) {
	w := newMemberWorld(t)
	if _, _, err := w.Admin.UpsertMember(context.Background(), "acme", admin.Write{}, admin.MemberInput{UserID: "hank", Name: "Hank Head",
		DepartmentIDs: []string{"sales"}, RoleIDs: []string{admin.RoleHead}}); err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, w.URL)
	v.follow(w.mint("hank", ""))
	_, body := v.do("GET", "/w/acme/members", nil, nil)
	for user, want := range map[string]bool{"ann": true, "bob": true, "vera": true, "cy": false, "olga": true} {
		if got := strings.Contains(body, `href="/w/acme/members/`+user+`"`); got != want {
			t.Errorf("members list shows %s: %v, want %v", user, got, want)
		}
	}
	if !strings.Contains(body, "Sales EMEA") || strings.Contains(body, ">emea<") {
		t.Error("member lists name departments")
	}
	if resp, _ := v.do("GET", "/w/acme/members/cy", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a member outside the span: %d", resp.StatusCode)
	}
	if _, body := v.do("GET", "/w/acme/members/bob", nil, nil); !strings.Contains(body, `action="/w/acme/members/bob/grants"`) {
		t.Error("a member in the span has controls")
	}
	_, body = v.do("GET", "/w/acme/departments", nil, nil)
	if !strings.Contains(body, `id="rn-emea"`) || !strings.Contains(body, `id="rn-sales"`) {
		t.Error("departments in the span can be edited")
	}
	if _, body := v.do("GET", "/w/acme/audit", nil, nil); !strings.Contains(body, `id="audit-limited"`) || strings.Contains(body, `id="chain-status"`) {
		t.Error("below reports the audit page asks for one member and verifies no chain")
	}
	if _, body := v.do("GET", "/w/acme/audit?target=bob", nil, nil); !strings.Contains(body, "member:bob") || strings.Contains(body, "role:") {
		t.Error("the history of bob, by a bare id, and nothing else")
	}
	for _, p := range []string{"/w/acme/audit?target=member:cy", "/w/acme/usage", "/w/acme/settings"} {
		if resp, _ := v.do("GET", p, nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	_, body = v.do("GET", "/w/acme/roles", nil, nil)
	if strings.Contains(body, `href="/w/acme/audit"`) || strings.Contains(body, `href="/w/acme/usage"`) || strings.Contains(body, `id="new-role"`) {
		t.Error("a department head has no whole-workspace reports and no role editing")
	}
}
