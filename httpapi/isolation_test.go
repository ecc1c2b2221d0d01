package httpapi_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gatehouse-authz/gatehouse/httpapi"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// The isolation walker (W1, X1, X2, A2) is generated from the route table
// (Server.Routes, which lists routeTable) and classifies each route by
// what the OpenAPI document says of it, so a route added later is walked
// without editing this file; a route the walker cannot classify, or whose
// path parameters it cannot fill with real ids, fails it. Every route is
// asked with every credential that must be refused, on a victim workspace
// whose real ids fill the path, on the same path with ids that exist
// nowhere, and on a workspace that does not exist: the three answers must
// be byte for byte the same (headers but Date included), the same on every
// route, carry nothing of the victim's data, and write nothing.

// walkClass is who may call a route, as the OpenAPI document says.
type walkClass string

const (
	classSystem     walkClass = "system"     // outside /v1, needs no key
	classPublic     walkClass = "public"     // under /v1, needs no key
	classDeployment walkClass = "deployment" // the deployment admin key only (X1)
	classChecker    walkClass = "checker"    // any key of the workspace (X2)
	classManager    walkClass = "manager"    // an admin-scope key of the workspace (X2)
	classKeyed      walkClass = "keyed"      // outside /v1: any workspace key, which names its workspace (AuthZEN, Z1)
)

// walkRoute is one route of the table with what the walker knows of it.
type walkRoute struct {
	method, path string
	class        walkClass
	// session is "single" when the request body takes a session token
	// (A2), "batch" when each of its checks does, "resources" when it
	// takes one for many records (check/resources), "" otherwise.
	session string
}

func (r walkRoute) String() string { return r.method + " " + r.path }

// inWorkspace reports whether the route's path names a workspace.
func (r walkRoute) inWorkspace() bool { return strings.HasPrefix(r.path, "/v1/workspaces/{ws}") }

// classifyRoutes turns the route table into walk routes. The class comes
// from the document: no security requirement is public; a route outside
// a workspace is the deployment key's; a workspace route that documents
// 403 needs an admin key, one that does not takes any key of the
// workspace. A route the document lacks fails the test.
func classifyRoutes(t *testing.T, table []string, ids idTable) []walkRoute {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var out []walkRoute
	for _, rt := range table {
		method, path, _ := strings.Cut(rt, " ")
		var op *openapi3.Operation
		if item := doc.Paths.Value(path); item != nil {
			op = item.GetOperation(method)
		}
		if op == nil {
			t.Errorf("%s: the route table has it, the OpenAPI document does not: the walker cannot classify it", rt)
			continue
		}
		r := walkRoute{method: method, path: path}
		open := op.Security != nil && len(*op.Security) == 0
		switch {
		case !strings.HasPrefix(path, "/v1/") && !open && strings.HasPrefix(path, "/access/v1/"):
			r.class = classKeyed
		case !strings.HasPrefix(path, "/v1/"):
			r.class = classSystem
			if !open {
				t.Errorf("%s: a route outside /v1 that needs a key: the walker has no class for it", rt)
			}
		case open:
			r.class = classPublic
		case !r.inWorkspace():
			r.class = classDeployment
		case op.Extensions["x-gatehouse-key-scope"] == "admin":
			r.class = classManager
		default:
			r.class = classChecker
		}
		if op.RequestBody != nil && op.RequestBody.Value != nil {
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				switch {
				case schemaProp(mt.Schema, "session") != nil && schemaProp(mt.Schema, "resources") != nil:
					r.session = "resources"
				case schemaProp(mt.Schema, "session") != nil:
					r.session = "single"
				case schemaProp(schemaProp(mt.Schema, "checks"), "session") != nil:
					r.session = "batch"
				}
			}
		}
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") && seg != "{ws}" {
				if _, ok := ids.param(path, seg); !ok {
					t.Errorf("%s: path parameter %s: the walker has no real id to fill it with; add one to the fixture", rt, seg)
				}
			}
		}
		out = append(out, r)
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// schemaProp returns the schema of property name of s (or of its array
// items), looking through allOf; nil if it has none.
func schemaProp(s *openapi3.SchemaRef, name string) *openapi3.SchemaRef {
	if s == nil || s.Value == nil {
		return nil
	}
	v := s.Value
	if v.Items != nil {
		return schemaProp(v.Items, name)
	}
	if p, ok := v.Properties[name]; ok {
		return p
	}
	for _, sub := range v.AllOf {
		if p := schemaProp(sub, name); p != nil {
			return p
		}
	}
	return nil
}

// idPair is a real id of the victim workspace (that no other workspace
// has) and an id of the same length that exists nowhere.
type idPair struct{ real, fake string }

// idTable maps a path parameter, by the segment before it ("keys/{id}"),
// to its ids.
type idTable map[string]idPair

func (ids idTable) param(path, seg string) (idPair, bool) {
	before, _, found := strings.Cut(path, "/"+seg)
	if !found {
		return idPair{}, false
	}
	key := before[strings.LastIndex(before, "/")+1:] + "/" + seg
	p, ok := ids[key]
	return p, ok
}

// fill replaces the placeholders of s (a path, query or body template
// of route path) with the real or the fake ids, and {ws} with ws. A
// placeholder that is not a parameter of the path ({role} or {user} in
// a body) takes the fixture's role or member.
func (ids idTable) fill(path, s, ws string, fake bool) string {
	var out strings.Builder
	for {
		i := strings.Index(s, "{")
		j := strings.Index(s[max(i, 0):], "}")
		if i < 0 || j < 0 {
			out.WriteString(s)
			return out.String()
		}
		seg := s[i : i+j+1]
		out.WriteString(s[:i])
		p, ok := ids.param(path, seg)
		if !ok {
			p, ok = ids[map[string]string{"{role}": "roles/{role}", "{user}": "members/{user}"}[seg]]
		}
		switch {
		case seg == "{ws}":
			out.WriteString(ws)
		case ok && fake:
			out.WriteString(p.fake)
		case ok:
			out.WriteString(p.real)
		default:
			out.WriteString(seg)
		}
		s = s[i+j+1:]
	}
}

// realToFake replaces every real id and the victim's workspace id with
// their fake twins, so that an answer about the real ones can be compared
// with one about ids that exist nowhere.
func (ids idTable) realToFake(victim, absent string) *strings.Replacer {
	pairs := []string{victim, absent}
	for _, k := range slices.Sorted(maps.Keys(ids)) {
		if p := ids[k]; p.real != p.fake {
			pairs = append(pairs, p.real, p.fake)
		}
	}
	return strings.NewReplacer(pairs...)
}

// walkRequests gives, by route, the query and body that would do harm if
// the request got through: a refusal must come before any of it is read.
// A route missing here is walked with no query and an empty JSON object.
// azWalkBody is a valid AuthZEN request of every kind (Z1).
const azWalkBody = `{"subject":{"type":"user","id":"{user}"},"action":{"name":"leads_view"},"resource":{"type":"leads","id":"1"}}`

var walkRequests = map[string]struct{ query, body string }{
	"POST /v1/workspaces":                                         {body: `{"id":"pwned","name":"Pwned","plan":"free"}`},
	"PATCH /v1/workspaces/{ws}":                                   {body: `{"name":"Pwned","plan":"free"}`},
	"PUT /v1/workspaces/{ws}/catalog/objects/{id}":                {body: `{"name":"Pwned","description":"pwned"}`},
	"DELETE /v1/workspaces/{ws}/catalog/objects/{id}":             {query: "?force=true"},
	"POST /v1/workspaces/{ws}/keys":                               {body: `{"scope":"admin","name":"pwned"}`},
	"POST /v1/workspaces/{ws}/console-links":                      {body: `{"user_id":"{user}"}`},
	"POST /v1/workspaces/{ws}/roles":                              {body: `{"name":"Pwned","grants":{"leads_view":"all"}}`},
	"PATCH /v1/workspaces/{ws}/roles/{role}":                      {body: `{"name":"Pwned","grants":{"leads_view":"all"},"reason":"pwned"}`},
	"DELETE /v1/workspaces/{ws}/roles/{role}":                     {query: "?reassign_to=employee"},
	"POST /v1/workspaces/{ws}/roles/{role}/duplicate":             {body: `{"name":"Pwned"}`},
	"POST /v1/workspaces/{ws}/roles/{role}/preview":               {body: `{"grants":{"leads_view":"all"}}`},
	"POST /v1/workspaces/{ws}/roles/{role}/revisions/{n}/restore": {body: `{"apply":true,"reason":"pwned"}`},
	"POST /v1/workspaces/{ws}/roles/{role}/members":               {body: `{"user_ids":["{user}"]}`},
	"POST /v1/workspaces/{ws}/members/import":                     {body: `{"members":[{"user_id":"{user}","name":"Pwned","email":"p@pwned.example","kind":"internal"}]}`},
	"PUT /v1/workspaces/{ws}/members/{user}":                      {body: `{"name":"Pwned","email":"p@pwned.example","kind":"internal","role_ids":["{role}"]}`},
	"PUT /v1/workspaces/{ws}/members/{user}/roles":                {body: `{"role_ids":["employee"]}`},
	"PUT /v1/workspaces/{ws}/members/{user}/grants":               {body: `{"grants":{"leads_view":"all"},"reason":"pwned"}`},
	"PUT /v1/workspaces/{ws}/departments/{id}":                    {body: `{"name":"Pwned"}`},
	"POST /v1/workspaces/{ws}/check":                              {body: `{"user":"{user}","permission":"leads_view"}`},
	"PUT /v1/workspaces/{ws}/action-aliases":                      {body: `{"pwned":"leads_view"}`},
	"PUT /v1/workspaces/{ws}/gateway-routes":                      {body: `{"routes":[{"method":"GET","path":"/pwned","permission":"leads_view"}]}`},
	"POST /v1/workspaces/{ws}/reviews":                            {body: `{"name":"Pwned","deadline":"2099-01-01T00:00:00Z","default":"revoke"}`},
	"PATCH /v1/workspaces/{ws}/reviews/{id}":                      {body: `{"name":"Pwned","default":"revoke"}`},
	"PUT /v1/workspaces/{ws}/reviews/{id}/items/{item}":           {body: `{"decision":"revoke","reason":"pwned"}`},
	"GET /v1/workspaces/{ws}/reviews/{id}/items":                  {query: "?format=csv"},
	"PUT /v1/workspaces/{ws}/sod-rules/{id}":                      {body: `{"name":"Pwned","conflicts":[["leads_view"],["deals_view"]],"exceptions":[{"user_id":"{user}","reason":"pwned"}]}`},
	"POST /access/v1/evaluation":                                  {body: azWalkBody},
	"POST /access/v1/evaluations":                                 {body: azWalkBody},
	"POST /access/v1/search/subject":                              {body: azWalkBody},
	"POST /access/v1/search/action":                               {body: azWalkBody},
	"POST /v1/workspaces/{ws}/access/v1/evaluation":               {body: azWalkBody},
	"POST /v1/workspaces/{ws}/access/v1/evaluations":              {body: azWalkBody},
	"POST /v1/workspaces/{ws}/access/v1/search/subject":           {body: azWalkBody},
	"POST /v1/workspaces/{ws}/access/v1/search/action":            {body: azWalkBody},
	"POST /v1/workspaces/{ws}/check/batch":                        {body: `{"checks":[{"user":"{user}","permission":"leads_view"}]}`},
	"POST /v1/workspaces/{ws}/check/resources":                    {body: `{"user":"{user}","permissions":["leads_view"],"resources":[{"id":"r1","resource":{"owner_id":"{user}"}}]}`},
	"POST /v1/workspaces/{ws}/filter":                             {body: `{"user":"{user}","permission":"leads_view"}`},
	"POST /v1/workspaces/{ws}/explain":                            {body: `{"user":"{user}","permission":"leads_view"}`},
	"GET /v1/workspaces/{ws}/who-can":                             {query: "?permission=leads_view"},
	"POST /v1/workspaces/{ws}/sessions":                           {body: `{"user":"{user}"}`},
	"GET /v1/workspaces/{ws}/events":                              {query: "?after=0&wait=0"},
	"PUT /v1/workspaces/{ws}/policy":                              {query: "?reason=pwned", body: "version: 1\nroles:\n  - {id: pwned, name: Pwned, audience: internal, grants: {leads_view: all}}\ndepartments: []\n"},
	"GET /v1/workspaces/{ws}/audit":                               {query: "?actor=boss"},
	"GET /v1/workspaces/{ws}/usage":                               {query: "?unused_days=1"},
	"GET /v1/workspaces/{ws}/roles/{role}/members":                {query: "?q=v"},
	"GET /v1/workspaces/{ws}/members":                             {query: "?role={role}"},
	"GET /v1/workspaces/{ws}/catalog":                             {query: "?q=vault"},
	"GET /v1/workspaces/{ws}/roles":                               {query: "?q=vault"},
	"GET /v1/catalog":                                             {query: "?q=leads"},
}

// isolationFixture is a node with a victim workspace, an intruder
// workspace with the same seed data, and the victim's private data.
type isolationFixture struct {
	env            *apitest.Env
	victim, other  world
	absent         string // a workspace id that exists nowhere, as long as the victim's
	ids            idTable
	revokedKey     string
	wrongSecretKey string // the id of a live victim key with another secret
	unknownKey     string // well formed, unknown
	victimSession  string
	otherSession   string // of user "rep", who is a member of both workspaces
	secrets        []string
	client         *http.Client
}

func newIsolationFixture(t *testing.T) *isolationFixture {
	t.Helper()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	fx := &isolationFixture{env: env, absent: "absent", client: &http.Client{Timeout: 30 * time.Second}}
	fx.victim = newWorld(t, env, "victim")
	fx.other = newWorld(t, env, "intruder")
	fx.other.admin.ok(200, "PUT", fx.other.path("/members/intruder-only"), map[string]any{"name": "Ivo", "kind": "internal",
		"department_ids": []string{"sales"}})
	v := fx.victim
	role := v.admin.ok(201, "POST", v.path("/roles"), map[string]any{"name": "Vault keeper", "description": "Vault secret role",
		"grants": map[string]any{"leads_view": "all"}}).str("id")
	v.admin.ok(200, "PUT", v.path("/departments/vault_dept"), map[string]any{"name": "Vault department"})
	v.admin.ok(200, "PUT", v.path("/members/vault-user-7"), map[string]any{"name": "Vera Vault", "email": "vera@vault.example",
		"kind": "internal", "department_ids": []string{"vault_dept"}, "role_ids": []string{role}})
	v.admin.ok(200, "PUT", v.path("/catalog/objects/vault_obj"), map[string]any{"name": "Vault object", "description": "Vault secret object"})
	v.admin.ok(200, "PUT", v.path("/sod-rules/vault_sod"), map[string]any{"name": "Vault SoD rule", "description": "Vault secret SoD",
		"conflicts": [][]string{{"billing_view"}, {"leads_view"}}})
	vaultReview := v.admin.ok(201, "POST", v.path("/reviews"), map[string]any{"name": "Vault review", "deadline": "2099-01-01T00:00:00Z",
		"default": "keep"}).str("id")
	keyID := keyIDOf(t, v.adminKey)
	fx.ids = idTable{
		"roles/{role}":     {role, "ghost_keeper"},
		"members/{user}":   {"vault-user-7", "ghost-user-7"},
		"departments/{id}": {"vault_dept", "ghost_dept"},
		"objects/{id}":     {"vault_obj", "ghost_obj"},
		"sod-rules/{id}":   {"vault_sod", "ghost_sod"},
		"reviews/{id}":     {vaultReview, strings.Repeat("z", len(vaultReview))},
		"items/{item}":     {"1", "1"},
		"keys/{id}":        {keyID, strings.Repeat("0", len(keyID))},
		"revisions/{n}":    {"1", "1"},
		"workspaces/{ws}":  {v.ws, fx.absent},
	}
	for k, p := range fx.ids {
		if len(p.real) != len(p.fake) {
			t.Fatalf("ids %s: %q and %q differ in length: answers about them could not be compared byte for byte", k, p.real, p.fake)
		}
	}
	revoked := v.deployment.ok(201, "POST", v.path("/keys"), map[string]any{"scope": "admin", "name": "to revoke"})
	v.deployment.ok(200, "DELETE", v.path("/keys/"+revoked.str("id")), nil)
	fx.revokedKey = revoked.str("key")
	fx.wrongSecretKey = "ghk_" + keyID + "_" + randomSecret()
	fx.unknownKey = "ghk_" + hex.EncodeToString([]byte("8bytesid")) + "_" + randomSecret()
	fx.victimSession = v.check.ok(201, "POST", v.path("/sessions"), map[string]any{"user": "vault-user-7"}).str("token")
	fx.otherSession = fx.other.check.ok(201, "POST", fx.other.path("/sessions"), map[string]any{"user": "rep"}).str("token")
	fx.secrets = []string{"Vault keeper", "Vault secret role", "Vault department", "Vera Vault", "vera@vault.example",
		"Vault object", "Vault secret object", "Vault SoD rule", "Vault secret SoD", "Vault review", "Workspace victim", keyID}
	return fx
}

func keyIDOf(t *testing.T, key string) string {
	rest, ok := strings.CutPrefix(key, "ghk_")
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		t.Fatalf("API key %q: not ghk_<id>_<secret>", key)
	}
	return id
}

func randomSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// probe is one request of the walk.
type probe struct {
	method, target, body string
	auth                 string // the Authorization header, sent unless noAuth
	noAuth               bool
	raw                  bool // over a raw connection: the header has bytes net/http's client refuses
	hdr                  []string
}

func (fx *isolationFixture) send(t *testing.T, p probe) reply {
	t.Helper()
	if p.raw {
		return fx.sendRaw(t, p)
	}
	var body io.Reader
	if p.body != "" {
		body = strings.NewReader(p.body)
	}
	req, err := http.NewRequest(p.method, fx.env.URL+p.target, body)
	if err != nil {
		t.Fatal(err)
	}
	if !p.noAuth {
		req.Header.Set("Authorization", p.auth)
	}
	if p.body != "" {
		req.Header.Set("Content-Type", contentType(p.body))
	}
	for i := 0; i+1 < len(p.hdr); i += 2 {
		req.Header.Set(p.hdr[i], p.hdr[i+1])
	}
	resp, err := fx.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", p.method, p.target, err)
	}
	return readReply(t, resp)
}

func contentType(body string) string {
	if strings.HasPrefix(body, "{") {
		return "application/json"
	}
	return "application/yaml"
}

func (fx *isolationFixture) sendRaw(t *testing.T, p probe) reply {
	t.Helper()
	conn, err := net.Dial("tcp", fx.env.Server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: gatehouse.test\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		p.method, p.target, p.auth, contentType(p.body), len(p.body), p.body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", p.method, p.target, err)
	}
	return readReply(t, resp)
}

func readReply(t *testing.T, resp *http.Response) reply {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &r.body)
	}
	return r
}

// canon renders an answer for comparison: the status, every header but
// Date, and the body, with repl applied.
func canon(r reply, repl *strings.Replacer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", r.status)
	for _, k := range slices.Sorted(maps.Keys(r.header)) {
		if k != "Date" {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.header[k], ", "))
		}
	}
	b.WriteString("\n")
	b.Write(r.raw)
	return repl.Replace(b.String())
}

// credential is one way of presenting, or not, a key.
type credential struct {
	name   string
	auth   string
	noAuth bool
	raw    bool
	hdr    []string
}

// badKeys are the credentials that authenticate no one: every route
// but the public ones answers them 401 unauthenticated.
func (fx *isolationFixture) badKeys() []credential {
	v := fx.victim
	return []credential{
		{name: "no-key", noAuth: true},
		{name: "empty-header", auth: ""},
		{name: "bearer-without-key", auth: "Bearer"},
		{name: "bearer-blank", auth: "Bearer    "},
		{name: "basic-scheme", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("victim:"+v.adminKey))},
		{name: "other-scheme-valid-key", auth: "Token " + v.adminKey},
		{name: "bearer-twice", auth: "Bearer Bearer " + v.adminKey},
		{name: "garbage-key", auth: "Bearer not-a-key"},
		{name: "very-long-key", auth: "Bearer ghk_" + strings.Repeat("A", 64<<10)},
		{name: "non-ascii-key", auth: "Bearer ghk_ключ_🔑"},
		{name: "invalid-utf8-key", auth: "Bearer ghk_\xff\xfe\xfd"},
		{name: "tab-in-key", auth: "Bearer ghk_0123\t4567"},
		{name: "control-chars-in-key", auth: "Bearer ghk_\x01\x02\x7f", raw: true},
		{name: "well-formed-unknown-key", auth: "Bearer " + fx.unknownKey},
		{name: "known-key-id-wrong-secret", auth: "Bearer " + fx.wrongSecretKey},
		{name: "revoked-key", auth: "Bearer " + fx.revokedKey},
		{name: "valid-key-with-suffix", auth: "Bearer " + v.adminKey + "x"},
		{name: "deployment-key-with-suffix", auth: "Bearer " + apitest.AdminKey + "x"},
		{name: "session-token-as-key", auth: "Bearer " + fx.victimSession},
		{name: "other-workspace-session-as-key", auth: "Bearer " + fx.otherSession},
	}
}

// foreignKeys are keys of another workspace: a workspace route answers
// them what it answers for a workspace that does not exist (W1); a
// deployment route refuses them as it refuses any workspace key.
func (fx *isolationFixture) foreignKeys() []credential {
	o := fx.other
	return []credential{
		{name: "other-workspace-admin-key", auth: "Bearer " + o.adminKey},
		{name: "other-workspace-check-key", auth: "Bearer " + o.checkKey},
		{name: "other-workspace-admin-key-acting-as-victim-owner", auth: "Bearer " + o.adminKey,
			hdr: []string{"Gatehouse-Actor", "boss", "Gatehouse-Reason", "pwned"}},
	}
}

// checkScopeKeys are the victim's own keys of scope check (X2): refused on
// administration and deployment routes.
func (fx *isolationFixture) checkScopeKeys() []credential {
	v := fx.victim
	return []credential{
		{name: "check-scope-key", auth: "Bearer " + v.checkKey},
		{name: "check-scope-key-acting-as-owner", auth: "Bearer " + v.checkKey,
			hdr: []string{"Gatehouse-Actor", "boss", "Gatehouse-Reason", "pwned"}},
	}
}

// walkCase is a credential and the refusal a route owes it.
type walkCase struct {
	credential
	status int
	code   string
	// own marks a key of the victim workspace: asked of the victim only,
	// since for any other workspace it is a foreign key.
	own bool
	// absentOnly asks only the workspace that does not exist (the
	// deployment key may see the victim).
	absentOnly bool
	// perArea expects one answer per authority area rather than one on
	// every route (X3: the refusal names what the area needs).
	perArea bool
}

// cases lists what a route must refuse, and how.
func (fx *isolationFixture) cases(rt walkRoute) []walkCase {
	var out []walkCase
	add := func(creds []credential, own bool, status int, code string) {
		for _, c := range creds {
			out = append(out, walkCase{credential: c, status: status, code: code, own: own})
		}
	}
	add(fx.badKeys(), false, 401, "unauthenticated")
	switch rt.class {
	case classKeyed:
		// Any workspace key answers for its own workspace: only the
		// deployment key, which names none, is refused.
		add([]credential{{name: "deployment-key", auth: "Bearer " + apitest.AdminKey}}, false, 403, "forbidden")
	case classDeployment:
		add(fx.foreignKeys(), false, 403, "forbidden")
		add(fx.checkScopeKeys(), true, 403, "forbidden")
		add([]credential{{name: "admin-scope-key", auth: "Bearer " + fx.victim.adminKey}}, true, 403, "forbidden")
	case classManager, classChecker:
		add(fx.foreignKeys(), false, 404, "not_found")
		if rt.class == classManager {
			add(fx.checkScopeKeys(), true, 403, "forbidden")
		}
		// X3: the victim's own admin key naming an actor who is no
		// member, a member of another workspace only, or a member with no
		// authority is refused on every route that reads the actor.
		if area := fx.env.API.Authorities()[rt.String()]; area != "decision" && area != "workspace" {
			admin := "Bearer " + fx.victim.adminKey
			add([]credential{
				{name: "admin-key-acting-as-no-member", auth: admin, hdr: []string{"Gatehouse-Actor", "nobody-here", "Gatehouse-Reason", "pwned"}},
				{name: "admin-key-acting-as-other-workspace-member", auth: admin, hdr: []string{"Gatehouse-Actor", "intruder-only", "Gatehouse-Reason", "pwned"}},
			}, true, 403, "forbidden")
			out = append(out, walkCase{credential: credential{name: "admin-key-acting-as-member-without-authority", auth: admin,
				hdr: []string{"Gatehouse-Actor", "vault-user-7", "Gatehouse-Reason", "pwned"}}, status: 403, code: "forbidden", own: true, perArea: true})
		}
		out = append(out, walkCase{credential: credential{name: "deployment-key", auth: "Bearer " + apitest.AdminKey},
			status: 404, code: "not_found", absentOnly: true})
	}
	return out
}

// refusals collects every refusal's canonical answer by case, so that
// after the walk each case is seen to get one answer on every route.
type refusals struct {
	mu  sync.Mutex
	got map[string]map[string][]string // case → answer → routes
}

func (rs *refusals) add(key, answer, route string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.got == nil {
		rs.got = map[string]map[string][]string{}
	}
	if rs.got[key] == nil {
		rs.got[key] = map[string][]string{}
	}
	rs.got[key][answer] = append(rs.got[key][answer], route)
}

// state is what the walk must leave unchanged: every readable part of
// both workspaces, and the list of workspaces.
func (fx *isolationFixture) state(t *testing.T) map[string]string {
	t.Helper()
	d := fx.victim.deployment
	out := map[string]string{"/v1/workspaces": string(d.ok(200, "GET", "/v1/workspaces", nil).raw)}
	for _, ws := range []string{fx.victim.ws, fx.other.ws} {
		for _, p := range []string{"", "/audit?limit=1000", "/audit/verify", "/roles", "/members", "/keys", "/departments",
			"/catalog", "/policy", "/roles/employee/revisions"} {
			path := "/v1/workspaces/" + ws + p
			out[path] = string(d.ok(200, "GET", path, nil).raw)
		}
	}
	d.fails(404, "not_found", "GET", "/v1/workspaces/"+fx.absent, nil)
	return out
}

func (fx *isolationFixture) sameState(t *testing.T, before map[string]string) {
	t.Helper()
	after := fx.state(t)
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if before[k] != after[k] {
			t.Errorf("GET %s changed during the walk:\nbefore %s\nafter  %s", k, before[k], after[k])
		}
	}
}

// TestIsolation walks every route of the table with every credential that
// must be refused (W1, X1, X2), asks the decision routes with sessions of
// another workspace (A2), and asks another workspace with the victim's ids.
func TestIsolation(t *testing.T) {
	t.Parallel()
	fx := newIsolationFixture(t)
	routes := classifyRoutes(t, fx.env.API.Routes(), fx.ids)
	count := map[walkClass]int{}
	for _, rt := range routes {
		count[rt.class]++
	}
	if count[classManager] < 30 || count[classChecker] < 8 || count[classDeployment] < 2 || count[classPublic] < 2 {
		t.Fatalf("route classes %v: the route table or the document looks short", count)
	}
	before := fx.state(t)
	var seen refusals
	var probes sync.Map // route → number of requests
	t.Run("W1", func(t *testing.T) {
		for _, rt := range routes {
			t.Run(rt.String(), func(t *testing.T) {
				t.Parallel()
				n := fx.walk(t, rt, &seen)
				probes.Store(rt.String(), n)
			})
		}
	})
	total, walked := 0, 0
	probes.Range(func(_, n any) bool { total += n.(int); walked++; return true })
	t.Logf("walked %d routes (%v) with %d requests", walked, count, total)
	for _, key := range slices.Sorted(maps.Keys(seen.got)) {
		if answers := seen.got[key]; len(answers) > 1 {
			var b strings.Builder
			for a, rts := range answers {
				fmt.Fprintf(&b, "\n--- on %d routes, e.g. %s:\n%.600s", len(rts), rts[0], a)
			}
			t.Errorf("%s: the refusal differs between routes, so it tells routes (or resources) apart:%s", key, b.String())
		}
	}
	fx.sameState(t, before)

	t.Run("A2", func(t *testing.T) {
		n := 0
		for _, rt := range routes {
			if rt.session != "" {
				n++
				t.Run(rt.String(), func(t *testing.T) { fx.sessions(t, rt) })
			}
		}
		if n < 4 {
			t.Errorf("%d routes take a session; the document should list check, batch, filter and explain", n)
		}
	})
	t.Run("W1-ids", func(t *testing.T) {
		for _, rt := range routes {
			if fx.idsMatter(rt) {
				t.Run(rt.String(), func(t *testing.T) { fx.foreignIDs(t, rt) })
			}
		}
	})
	fx.sameState(t, before)
}

// walk asks route rt with every case it must refuse and returns how many
// requests it made.
func (fx *isolationFixture) walk(t *testing.T, rt walkRoute, seen *refusals) int {
	req := walkRequests[rt.String()]
	if req.body == "" && (rt.method == "POST" || rt.method == "PUT" || rt.method == "PATCH") {
		req.body = "{}"
	}
	target := func(ws string, fake bool) probe {
		return probe{method: rt.method, target: fx.ids.fill(rt.path, rt.path+req.query, ws, fake),
			body: fx.ids.fill(rt.path, req.body, ws, fake)}
	}
	repl := fx.ids.realToFake(fx.victim.ws, fx.absent)
	n := 0
	ask := func(t *testing.T, p probe, c credential) reply {
		p.auth, p.noAuth, p.raw, p.hdr = c.auth, c.noAuth, c.raw, c.hdr
		n++
		return fx.send(t, p)
	}
	if rt.class == classSystem || rt.class == classPublic {
		anon := ask(t, target(fx.victim.ws, false), credential{noAuth: true})
		for _, c := range append(append(fx.badKeys(), fx.foreignKeys()...), fx.checkScopeKeys()...) {
			t.Run(c.name, func(t *testing.T) {
				got := ask(t, target(fx.victim.ws, false), c)
				switch {
				case c.raw:
					fx.refusedByNetHTTP(t, got)
				case rt.class == classSystem:
					// /metrics and /readyz change from one request to
					// the next: only the status must not depend on a key.
					if got.status != anon.status {
						t.Errorf("status %d, without a key %d", got.status, anon.status)
					}
				case canon(got, repl) != canon(anon, repl):
					t.Errorf("a public route answers a key differently from no key:\n%s\n%s", got.raw, anon.raw)
				}
				fx.revealsNothing(t, got, "")
			})
		}
		return n
	}
	if rt.inWorkspace() && rt.method == "GET" {
		// The control: the ids are real, so a route that loaded them
		// before asking who calls would show it.
		t.Run("victim-admin-key-control", func(t *testing.T) {
			if r := ask(t, target(fx.victim.ws, false), credential{auth: "Bearer " + fx.victim.adminKey}); r.status != 200 {
				t.Errorf("the victim's own admin key: %d, want 200: %.300s", r.status, r.raw)
			}
		})
	}
	for _, c := range fx.cases(rt) {
		t.Run(c.name, func(t *testing.T) {
			var answers []reply
			switch {
			case !rt.inWorkspace():
				answers = append(answers, ask(t, target(fx.victim.ws, false), c.credential))
			case c.absentOnly:
				answers = append(answers, ask(t, target(fx.absent, false), c.credential), ask(t, target(fx.absent, true), c.credential))
			case c.own:
				answers = append(answers, ask(t, target(fx.victim.ws, false), c.credential), ask(t, target(fx.victim.ws, true), c.credential))
			default:
				answers = append(answers, ask(t, target(fx.victim.ws, false), c.credential),
					ask(t, target(fx.victim.ws, true), c.credential), ask(t, target(fx.absent, false), c.credential))
			}
			first := answers[0]
			if c.raw {
				fx.refusedByNetHTTP(t, first)
			} else if first.status != c.status || first.code() != c.code {
				t.Errorf("got %d %q, want %d %s: %.300s", first.status, first.code(), c.status, c.code, first.raw)
			}
			want := canon(first, repl)
			for i, a := range answers[1:] {
				if got := canon(a, repl); got != want {
					t.Errorf("answer %d differs from the first (real ids in the victim workspace vs %s), so they can be told apart:\n%s\n---\n%s",
						i+2, []string{"ids that exist nowhere", "a workspace that does not exist"}[i], want, got)
				}
			}
			for _, a := range answers {
				fx.revealsNothing(t, a, "")
			}
			scope := "workspace"
			switch {
			case rt.class == classDeployment:
				scope = "deployment"
			case rt.class == classKeyed:
				scope = "AuthZEN root" // errors as its specification writes them
			case strings.Contains(rt.path, "/access/v1/"):
				scope = "AuthZEN workspace"
			}
			// One answer per case on every route: the deployment key's
			// not_found for a missing workspace too (the engine and the
			// server word it alike).
			key := c.name + " on " + scope + " routes"
			if c.perArea {
				key += " of area " + fx.env.API.Authorities()[rt.String()]
			}
			seen.add(key, want, rt.String())
		})
	}
	return n
}

// refusedByNetHTTP checks the answer to a header net/http refuses to
// parse: its 400, before any handler runs.
func (fx *isolationFixture) refusedByNetHTTP(t *testing.T, r reply) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Errorf("a control character in the key: %d, want net/http's 400: %.300s", r.status, r.raw)
	}
}

// revealsNothing checks that an answer carries none of the victim's data
// but what the request itself named (asked), and a refusal no revision.
func (fx *isolationFixture) revealsNothing(t *testing.T, r reply, asked string) {
	t.Helper()
	text := canon(r, strings.NewReplacer())
	for _, s := range fx.secrets {
		if strings.Contains(text, s) && !strings.Contains(asked, s) {
			t.Errorf("an answer reveals the victim's %q: %.600s", s, text)
		}
	}
	if r.status < 400 {
		return
	}
	if strings.Contains(string(r.raw), `"revision"`) {
		t.Errorf("a refusal carries a revision: %.600s", r.raw)
	}
	for _, h := range []string{"Gatehouse-Revision", "Etag", "Set-Cookie"} {
		if v := r.header.Get(h); v != "" {
			t.Errorf("a refusal carries %s: %s", h, v)
		}
	}
}

// sessions asks a decision route, with the victim's own check key, with a
// session of another workspace (of a user who is a member of both), a
// forged one and garbage: each is refused the same way (A2, W1). The
// victim's own session is the control that the route takes sessions.
func (fx *isolationFixture) sessions(t *testing.T, rt walkRoute) {
	path := fx.ids.fill(rt.path, rt.path, fx.victim.ws, false)
	body := func(token string) string {
		one := fmt.Sprintf(`{"session":%q,"permission":"leads_view"}`, token)
		switch rt.session {
		case "batch":
			return `{"checks":[` + one + `]}`
		case "resources":
			return fmt.Sprintf(`{"session":%q,"permissions":["leads_view"],"resources":[{"id":"r1"}]}`, token)
		}
		return one
	}
	ask := func(token string) reply {
		return fx.send(t, probe{method: rt.method, target: path, body: body(token), auth: "Bearer " + fx.victim.checkKey})
	}
	if own := ask(fx.victimSession); own.status != 200 || strings.Contains(string(own.raw), `"error"`) {
		t.Fatalf("the victim's own session is refused, so the route is not asked what it should be: %d %s", own.status, own.raw)
	}
	forged := fx.victimSession[:len(fx.victimSession)-2] + "AA"
	if forged == fx.victimSession {
		forged = fx.victimSession[:len(fx.victimSession)-2] + "BA"
	}
	cases := []struct{ name, token string }{
		{"other-workspace-session", fx.otherSession},
		{"forged-session", forged},
		{"garbage-session", "gh1.e30.AAAA"},
		{"non-ascii-session", "gh1.ключ.🔑"},
	}
	var want string
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ask(c.token)
			if rt.session == "batch" {
				var b struct {
					Results []struct {
						Error *struct{ Code string } `json:"error"`
					} `json:"results"`
				}
				if json.Unmarshal(got.raw, &b) != nil || got.status != 200 || len(b.Results) != 1 || b.Results[0].Error == nil ||
					b.Results[0].Error.Code != "unauthenticated" {
					t.Errorf("got %d %s, want 200 with the check's error unauthenticated", got.status, got.raw)
				}
			} else if got.status != 401 || got.code() != "unauthenticated" {
				t.Errorf("got %d %q, want 401 unauthenticated: %s", got.status, got.code(), got.raw)
			}
			fx.revealsNothing(t, got, "")
			if a := canon(got, strings.NewReplacer()); i == 0 {
				want = a
			} else if a != want {
				t.Errorf("a session of another workspace is refused differently from %s:\n%s\n---\n%s", c.name, want, a)
			}
		})
	}
}

// idsMatter reports whether route rt names ids of the workspace that the
// W1-ids pass can ask another workspace about without writing there: a
// path with ids (but not a PUT that creates what its last segment names)
// or a decision about a user.
func (fx *isolationFixture) idsMatter(rt walkRoute) bool {
	if !rt.inWorkspace() || rt.class == classPublic || rt.class == classSystem {
		return false
	}
	segs := strings.Split(rt.path, "/")
	last := segs[len(segs)-1]
	hasIDs := strings.Count(rt.path, "{") > 1
	if rt.method == "PUT" && strings.HasPrefix(last, "{") {
		return false
	}
	return hasIDs || rt.class == classChecker && strings.Contains(walkRequests[rt.String()].body, "{user}")
}

// foreignIDs asks the intruder workspace, with its own admin key, about
// the victim's ids and about ids that exist nowhere: the answers must be
// the same (W1: ids of one workspace are meaningless in another).
func (fx *isolationFixture) foreignIDs(t *testing.T, rt walkRoute) {
	req := walkRequests[rt.String()]
	if req.body == "" && (rt.method == "POST" || rt.method == "PUT" || rt.method == "PATCH") {
		req.body = "{}"
	}
	ask := func(fake bool) reply {
		return fx.send(t, probe{method: rt.method, target: fx.ids.fill(rt.path, rt.path+req.query, fx.other.ws, fake),
			body: fx.ids.fill(rt.path, req.body, fx.other.ws, fake), auth: "Bearer " + fx.other.adminKey})
	}
	fake := ask(true)
	real := ask(false)
	if rt.class == classManager && fake.status != 404 {
		t.Errorf("ids that exist nowhere: %d, want 404: %.300s", fake.status, fake.raw)
	}
	repl := fx.ids.realToFake(fx.victim.ws, fx.absent)
	if got, want := canon(real, repl), canon(fake, repl); got != want {
		t.Errorf("another workspace answers about the victim's ids differently from ids that exist nowhere:\n%s\n---\n%s", got, want)
	}
	// The ids the request names may come back in its answer; nothing
	// else of the victim's may.
	fx.revealsNothing(t, real, fx.ids.fill(rt.path, rt.path+req.query+req.body, fx.other.ws, false))
}
