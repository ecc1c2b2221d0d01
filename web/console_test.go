package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// visitor is a cookie-keeping HTTP client that does not follow redirects,
// so tests see them.
type visitor struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newVisitor(t *testing.T, base string) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (v *visitor) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, v.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, val := range hdr {
		req.Header.Set(k, val)
	}
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (v *visitor) signIn(key string) *http.Response {
	v.t.Helper()
	resp, _ := v.do("POST", "/signin", url.Values{"key": {key}}, nil)
	return resp
}

// csrf reads the session's CSRF token from a page.
func (v *visitor) csrf() string {
	v.t.Helper()
	_, body := v.do("GET", "/w/acme/settings", nil, nil)
	i := strings.Index(body, `name="csrf" value="`)
	if i < 0 {
		v.t.Fatal("no CSRF field on the settings page")
	}
	rest := body[i+len(`name="csrf" value="`):]
	return rest[:strings.Index(rest, `"`)]
}

func TestConsole_SignIn_Keys(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, checkKey, _, err := w.Admin.CreateKey(ctx, "acme", admin.Write{}, admin.ScopeCheck, "backend")
	if err != nil {
		t.Fatal(err)
	}
	_, adminKey, _, err := w.Admin.CreateKey(ctx, "acme", admin.Write{}, admin.ScopeAdmin, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Admin.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "globex", Name: "Globex", Plan: admin.PlanFree}); err != nil {
		t.Fatal(err)
	}

	t.Run("not signed in goes to sign-in", func(t *testing.T) {
		resp, _ := newVisitor(t, w.URL).do("GET", "/w/acme/roles", nil, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
			t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	for _, tc := range []struct{ name, key, want string }{
		{"bad key", "ghk_nope", "that key is not valid"},
		{"check scope (X2)", checkKey, "scope check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVisitor(t, w.URL)
			resp, body := v.do("POST", "/signin", url.Values{"key": {tc.key}}, nil)
			if !strings.Contains(body, tc.want) || len(resp.Cookies()) != 0 {
				t.Fatalf("sign-in with %s: cookies %v, body lacks %q", tc.name, resp.Cookies(), tc.want)
			}
		})
	}
	t.Run("deployment key sees every workspace (X1)", func(t *testing.T) {
		v := newVisitor(t, w.URL)
		resp := v.signIn(apitest.AdminKey)
		var ck *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "gatehouse_console" {
				ck = c
			}
		}
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Strict", ck)
		}
		if strings.Contains(ck.Value, apitest.AdminKey) {
			t.Fatal("the cookie must not carry the key")
		}
		for _, p := range []string{"/workspaces", "/w/acme/roles", "/w/globex/roles"} {
			if resp, _ := v.do("GET", p, nil, nil); resp.StatusCode != 200 {
				t.Errorf("GET %s = %d", p, resp.StatusCode)
			}
		}
	})
	t.Run("workspace admin key sees its workspace only (W1)", func(t *testing.T) {
		v := newVisitor(t, w.URL)
		if resp := v.signIn(adminKey); resp.Header.Get("Location") != "/" {
			t.Fatalf("sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := v.do("GET", "/", nil, nil); resp.Header.Get("Location") != "/w/acme/roles" {
			t.Fatalf("home goes to %q", resp.Header.Get("Location"))
		}
		_, missing := v.do("GET", "/w/nowhere/roles", nil, nil)
		for _, p := range []string{"/w/globex/roles", "/w/globex/members/ann", "/workspaces"} {
			resp, body := v.do("GET", p, nil, nil)
			if resp.StatusCode != 404 || body != missing {
				t.Errorf("GET %s = %d; another workspace must look exactly like a missing one", p, resp.StatusCode)
			}
		}
		if resp, _ := v.do("GET", "/w/acme/roles", nil, nil); resp.StatusCode != 200 {
			t.Fatalf("own workspace: %d", resp.StatusCode)
		}
	})
	t.Run("revoking the key ends its sessions", func(t *testing.T) {
		_, k2, _, err := w.Admin.CreateKey(ctx, "acme", admin.Write{}, admin.ScopeAdmin, "temp")
		if err != nil {
			t.Fatal(err)
		}
		v := newVisitor(t, w.URL)
		v.signIn(k2)
		k, _ := w.Admin.Authenticate(k2)
		if _, err := w.Admin.RevokeKey(ctx, "acme", admin.Write{}, k.ID); err != nil {
			t.Fatal(err)
		}
		if resp, _ := v.do("GET", "/w/acme/roles", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after revocation: %d, want a redirect to sign-in", resp.StatusCode)
		}
	})
	t.Run("a tampered cookie is refused", func(t *testing.T) {
		v := newVisitor(t, w.URL)
		resp := v.signIn(adminKey)
		u, _ := url.Parse(w.URL)
		for _, c := range resp.Cookies() {
			if c.Name == "gatehouse_console" {
				// Claim the deployment session with the same signature.
				payload, sig, _ := strings.Cut(c.Value, ".")
				_ = payload
				forged := "eyJkIjp0cnVlLCJjIjoieCIsImUiOjQxMDI0NDQ4MDB9." + sig
				v.c.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: forged, Path: "/"}})
			}
		}
		if resp, _ := v.do("GET", "/workspaces", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("forged cookie: %d", resp.StatusCode)
		}
	})
	t.Run("Secure behind TLS", func(t *testing.T) {
		v := newVisitor(t, w.URL)
		resp, _ := v.do("POST", "/signin", url.Values{"key": {apitest.AdminKey}}, map[string]string{"X-Forwarded-Proto": "https"})
		for _, c := range resp.Cookies() {
			if c.Name == "gatehouse_console" && !c.Secure {
				t.Fatal("a session over TLS must be Secure")
			}
		}
	})
	t.Run("sign-out", func(t *testing.T) {
		v := newVisitor(t, w.URL)
		v.signIn(apitest.AdminKey)
		v.do("POST", "/signout", url.Values{"csrf": {v.csrf()}}, nil)
		if resp, _ := v.do("GET", "/w/acme/roles", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after sign-out: %d", resp.StatusCode)
		}
	})
}

// TestConsole_CSRF: every state-changing request needs the session's
// token, and cross-site posts are refused outright; nothing is written.
func TestConsole_CSRF(t *testing.T) {
	w := newWorld(t)
	v := newVisitor(t, w.URL)
	v.signIn(apitest.AdminKey)
	token := v.csrf()
	form := func(tok string) url.Values {
		f := url.Values{"name": {"Acme Renamed"}}
		if tok != "" {
			f.Set("csrf", tok)
		}
		return f
	}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", form(""), nil},
		{"wrong token", form("AAAA" + token[4:]), nil},
		{"cross-site with the token", form(token), map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
	} {
		resp, _ := v.do("POST", "/w/acme/settings", tc.form, tc.hdr)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if ws, _ := w.Admin.Workspace(context.Background(), "acme"); ws.Name != "Acme Corp" {
		t.Fatalf("a refused post wrote: name = %q", ws.Name)
	}
	// The htmx header works like the field.
	resp, _ := v.do("POST", "/w/acme/settings", url.Values{"name": {"Acme Renamed"}}, map[string]string{"X-CSRF-Token": token})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("valid header: %d", resp.StatusCode)
	}
	if ws, _ := w.Admin.Workspace(context.Background(), "acme"); ws.Name != "Acme Renamed" {
		t.Fatalf("name = %q", ws.Name)
	}
}

func TestConsole_HeadersAndAPIBoundary(t *testing.T) {
	w := newWorld(t)
	v := newVisitor(t, w.URL)
	resp, _ := v.do("GET", "/signin", nil, nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	resp, body := v.do("GET", "/v1/no-such-endpoint", nil, nil)
	if resp.StatusCode != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("an unknown API path must answer the API's JSON error: %d %s", resp.StatusCode, body)
	}
	resp, _ = v.do("DELETE", "/v1/workspaces/acme/check", nil, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("a wrong method on an API path: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, _ = v.do("GET", "/static/console.css?v=x", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("versioned asset: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

// TestVendoredHTMX pins the vendored htmx to the file published on npm.
func TestVendoredHTMX(t *testing.T) {
	b, err := os.ReadFile("static/htmx-2.0.11.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717" {
		t.Fatalf("htmx-2.0.11.min.js changed: sha256 %s", got)
	}
}

// TestConsole_DraftErrorKeepsTheEditor: a refused matrix action is shown
// above the matrix, which htmx swaps in whole, draft kept.
func TestConsole_DraftErrorKeepsTheEditor(t *testing.T) {
	w := newWorld(t)
	v := newVisitor(t, w.URL)
	v.signIn(apitest.AdminKey)
	form := url.Values{"csrf": {v.csrf()}, "base": {"1"}, "g": {"leads_view=all"}, "op": {"set:leads_create=own"}}
	resp, body := v.do("POST", "/w/acme/roles/sales_manager/draft", form, map[string]string{"HX-Request": "true", "HX-Target": "matrix"})
	if resp.StatusCode != 200 || !strings.Contains(body, `id="draft-problem"`) || !strings.Contains(body, "(C5)") ||
		!strings.Contains(body, `name="g" value="leads_view=all"`) {
		t.Fatalf("status %d; want the matrix with the C5 problem and the draft kept:\n%.400s", resp.StatusCode, body)
	}
}

// TestConsole_AuditOpensOnLatestPage: the log opens where the latest
// writes are, with a way back.
func TestConsole_AuditOpensOnLatestPage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for i := range 60 {
		d := admin.Department{ID: fmt.Sprintf("d%02d", i), Name: fmt.Sprintf("Team %02d", i)}
		if _, _, err := w.Admin.PutDepartment(ctx, "acme", admin.Write{}, d); err != nil {
			t.Fatal(err)
		}
	}
	v := newVisitor(t, w.URL)
	v.signIn(apitest.AdminKey)
	_, body := v.do("GET", "/w/acme/audit", nil, nil)
	if !strings.Contains(body, "department:d59") || strings.Contains(body, "department:emea<") || !strings.Contains(body, "Earlier entries") {
		t.Fatalf("the audit page must open on the latest entries with a link to earlier ones")
	}
}

// TestW1_ForgedFlashShowsNothing: the flash cookie is signed like the
// session's. A cookie set by anyone else — the unsigned format of before,
// a signature that does not match, a session cookie's value — shows
// nothing, on the sign-in page or any other; the console's own flash
// shows once.
func TestW1_ForgedFlashShowsNothing(t *testing.T) {
	w := newWorld(t)
	v := newVisitor(t, w.URL)
	const bait = "Your account is locked; call +1 555 0100"
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"k":"error","m":"` + bait + `"}`))
	badSig := unsigned + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for _, forged := range []string{unsigned, badSig, badSig + "x", ""} {
		_, body := v.do("GET", "/signin", nil, map[string]string{"Cookie": "gatehouse_flash=" + forged})
		if strings.Contains(body, "account is locked") {
			t.Errorf("a forged flash cookie %.40q… shows on the sign-in page", forged)
		}
	}
	if resp := v.signIn(apitest.AdminKey); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	u, _ := url.Parse(w.URL)
	var session string
	for _, ck := range v.c.Jar.Cookies(u) {
		if ck.Name == "gatehouse_console" {
			session = ck.Value
		}
	}
	_, body := v.do("GET", "/w/acme/settings", nil, map[string]string{"Cookie": "gatehouse_console=" + session + "; gatehouse_flash=" + session})
	if strings.Contains(body, `class="flash`) {
		t.Error("a session cookie's value shows as a flash")
	}
	resp, _ := v.do("POST", "/w/acme/settings", url.Values{"csrf": {v.csrf()}}, nil)
	var genuine string
	for _, ck := range resp.Cookies() {
		if ck.Name == "gatehouse_flash" {
			genuine = ck.Value
		}
	}
	if genuine == "" {
		t.Fatal("no flash cookie set")
	}
	_, body = v.do("GET", "/w/acme/settings", nil, nil)
	if !strings.Contains(body, "Nothing to save") {
		t.Error("the console's own flash does not show")
	}
	// The genuine cookie with its message changed is a forgery too.
	p, sig, _ := strings.Cut(genuine, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(p)
	changed := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "Nothing to save", bait[:15], 1))) + "." + sig
	_, body = v.do("GET", "/w/acme/settings", nil, map[string]string{"Cookie": "gatehouse_console=" + session + "; gatehouse_flash=" + changed})
	if strings.Contains(body, bait[:15]) {
		t.Error("a flash cookie with its message changed shows")
	}
}
