package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
)

// TestX6_ConsoleFrameAncestors_FlagAndLink: gatehouse serve takes the
// origins that may frame the console from the flag or its environment
// variable (the flag wins) and refuses what is no origin; the console then
// allows those frames, and gatehouse console-link prints a link whose
// session cookie works inside them.
func TestX6_ConsoleFrameAncestors_FlagAndLink(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"crm.example.com", "https://crm.example.com/app", "'self'", "https://a.*.example.com", "ftp://crm.example.com"} {
		err := run(context.Background(), []string{"serve", "--console-frame-ancestors", bad}, func(string) string { return "" }, nil, io.Discard, io.Discard)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("--console-frame-ancestors %q: %v, want a usage error", bad, err)
		}
	}
	env := map[string]string{"GATEHOUSE_CONSOLE_FRAME_ANCESTORS": "https://ignored.example"}
	s := startServe(t, []string{"--addr", "127.0.0.1:0", "--database", "sqlite:" + filepath.Join(t.TempDir(), "t.db"), "--admin-key", "k",
		"--console-frame-ancestors", "https://crm.example.com, http://localhost:3000"}, env)
	ctx := context.Background()
	d := client.New(s.url, "k")
	if _, _, err := d.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: client.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.PutMember(ctx, "acme", client.MemberInput{UserID: "ann", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"GATEHOUSE_SERVER": s.url, "GATEHOUSE_KEY": "k", "GATEHOUSE_WORKSPACE": "acme"}
	if err := run(ctx, []string{"console-link", "ann", "--return-to", "/w/acme/roles"}, func(k string) string { return vars[k] }, nil, &stdout, &stderr); err != nil {
		t.Fatalf("console-link: %v %s", err, stderr.String())
	}
	link := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(link, s.url+"/console/link?t=") || !strings.Contains(stderr.String(), "works once, until") {
		t.Fatalf("console-link printed %q / %q", link, stderr.String())
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/w/acme/roles" {
		t.Fatalf("redeem: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://crm.example.com http://localhost:3000;") || resp.Header.Get("X-Frame-Options") != "" {
		t.Errorf("CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "gatehouse_console" {
			ck = c
		}
	}
	if ck == nil || ck.SameSite != http.SameSiteNoneMode || !ck.Secure || !ck.Partitioned || !ck.HttpOnly {
		t.Fatalf("session cookie %+v: want SameSite=None; Secure; Partitioned; HttpOnly", ck)
	}
	// Used once.
	resp, err = hc.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second use: %d", resp.StatusCode)
	}
}
