package web

import (
	"net/url"
	"strings"
)

// The gateway page shows deploy/nginx/gatehouse.conf and
// deploy/caddy/Caddyfile, shortened and filled in with the workspace and
// the Gatehouse the console was reached at. The console never reads the
// repository at run time: the two are kept here, and
// TestGatewaySnippets_MatchDeploy holds their directives to the files in
// deploy/.

const nginxSnippet = `# Inside the server block in front of your application. Users send their
# Gatehouse session token as "Authorization: Bearer <token>" or in the
# gatehouse_session cookie. Full file with comments:
# deploy/nginx/gatehouse.conf.

location / {
    auth_request /_gatehouse;
    auth_request_set $gatehouse_user $upstream_http_x_gatehouse_user;
    auth_request_set $gatehouse_level $upstream_http_x_gatehouse_level;
    auth_request_set $gatehouse_revision $upstream_http_x_gatehouse_revision;
    auth_request_set $gatehouse_error $upstream_http_gatehouse_error_code;
    add_header Gatehouse-Error-Code $gatehouse_error always;
    proxy_set_header X-Gatehouse-User $gatehouse_user;
    proxy_set_header X-Gatehouse-Level $gatehouse_level;
    proxy_set_header X-Gatehouse-Revision $gatehouse_revision;
    proxy_pass http://127.0.0.1:9000;  # EDIT: your application
}

location = /_gatehouse {
    internal;
    proxy_method GET;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header X-Original-Method $request_method;
    proxy_set_header X-Original-URI $request_uri;
{{TLS}}    proxy_pass {{URL}};
}
`

const caddySnippet = `# Users send their Gatehouse session token as "Authorization: Bearer
# <token>" or in the gatehouse_session cookie. Full file with comments:
# deploy/caddy/Caddyfile.

:8080 {  # EDIT: where Caddy listens
	forward_auth {{UPSTREAM}} {
		uri {{PATH}}
{{TLS}}		copy_headers X-Gatehouse-User X-Gatehouse-Level X-Gatehouse-Revision
	}
	reverse_proxy 127.0.0.1:9000  # EDIT: your application
}
`

// gatewaySnippets returns the forward-authorization URL of workspace ws
// on the Gatehouse at origin ("https://gatehouse.example.com"), and the
// nginx and Caddy configurations that call it.
func gatewaySnippets(origin, ws string) (forwardAuth, nginx, caddy string) {
	path := "/v1/workspaces/" + url.PathEscape(ws) + "/forward-auth"
	forwardAuth = origin + path
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		u = &url.URL{Scheme: "http", Host: "127.0.0.1:8470"}
	}
	nginxTLS, caddyTLS, upstream := "", "", u.Host
	if u.Scheme == "https" {
		// nginx sends no SNI to an HTTPS upstream unless told; Caddy passes
		// the client's Host on unless told.
		nginxTLS = "    proxy_ssl_server_name on;\n"
		caddyTLS = "\t\theader_up Host {upstream_hostport}\n"
		upstream = "https://" + u.Host
	}
	nginx = strings.NewReplacer("{{TLS}}", nginxTLS, "{{URL}}", forwardAuth).Replace(nginxSnippet)
	caddy = strings.NewReplacer("{{TLS}}", caddyTLS, "{{UPSTREAM}}", upstream, "{{PATH}}", path).Replace(caddySnippet)
	return forwardAuth, nginx, caddy
}
