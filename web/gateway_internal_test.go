package web

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// directives are a configuration's lines without comments and blank
// lines, trimmed.
func directives(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// TestGatewaySnippets_MatchDeploy holds the console's snippets to the
// configurations in deploy/ (tested there with the real nginx and Caddy):
// filled in with the Gatehouse and workspace those name, their
// directives are the same.
func TestGatewaySnippets_MatchDeploy(t *testing.T) {
	url, nginx, caddy := gatewaySnippets("http://127.0.0.1:8470", "acme")
	if url != "http://127.0.0.1:8470/v1/workspaces/acme/forward-auth" {
		t.Fatalf("forward-auth URL %q", url)
	}
	for _, tc := range []struct{ file, got string }{
		{"../deploy/nginx/gatehouse.conf", nginx},
		{"../deploy/caddy/Caddyfile", caddy},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if want, got := directives(string(b)), directives(tc.got); !slices.Equal(want, got) {
			t.Errorf("%s: the console's snippet differs:\n%s\nwant:\n%s", tc.file, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	// Over HTTPS: SNI for nginx, the upstream's Host for Caddy.
	url, nginx, caddy = gatewaySnippets("https://gatehouse.example.com", "a b")
	for _, want := range []string{"proxy_ssl_server_name on;", "proxy_pass https://gatehouse.example.com/v1/workspaces/a%20b/forward-auth;"} {
		if !strings.Contains(nginx, want) {
			t.Errorf("nginx over https lacks %q", want)
		}
	}
	for _, want := range []string{"forward_auth https://gatehouse.example.com {", "header_up Host {upstream_hostport}", "uri /v1/workspaces/a%20b/forward-auth"} {
		if !strings.Contains(caddy, want) {
			t.Errorf("caddy over https lacks %q", want)
		}
	}
	if url != "https://gatehouse.example.com/v1/workspaces/a%20b/forward-auth" {
		t.Errorf("url %q", url)
	}
}

func TestGatewayOp(t *testing.T) {
	r := func(p string) gatewayRow {
		return gatewayRow{GatewayRoute: policy.GatewayRoute{Method: "GET", Path: p, Permission: "x"}}
	}
	paths := func(rows []gatewayRow) string {
		var ps []string
		for _, r := range rows {
			ps = append(ps, r.Path)
		}
		return strings.Join(ps, ",")
	}
	saved := []policy.GatewayRoute{{Method: "GET", Path: "/s", Permission: "x"}}
	for _, tc := range []struct {
		op, want, err string
	}{
		{"add", "/a,/b,/c,", ""},
		{"up:1", "/b,/a,/c", ""},
		{"up:0", "", "already the first"},
		{"down:1", "/a,/c,/b", ""},
		{"down:2", "", "already the last"},
		{"delete:1", "/a,/c", ""},
		{"delete:3", "", "no route 3"},
		{"delete:-1", "", "no route -1"},
		{"up:x", "", "no route x"},
		{"discard", "/s", ""},
		{"evil", "", "unknown editor action"},
	} {
		got, err := gatewayOp(tc.op, []gatewayRow{r("/a"), r("/b"), r("/c")}, saved)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.op, err, tc.err)
			}
			continue
		}
		if err != nil || paths(got) != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.op, paths(got), err, tc.want)
		}
	}
	full := make([]gatewayRow, policy.MaxGatewayRoutes)
	if _, err := gatewayOp("add", full, nil); err == nil {
		t.Error("add beyond the limit")
	}
	if fingerprint(nil) != fingerprint([]policy.GatewayRoute{}) || fingerprint(saved) == fingerprint(nil) {
		t.Error("fingerprint")
	}
}
