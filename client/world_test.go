package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// world is a workspace built through the client, with a key of each
// scope.
type world struct {
	env        *apitest.Env
	ws         string
	deployment *client.Client // the deployment admin key
	admin      *client.Client // an admin key of ws
	check      *client.Client // a check key of ws
	adminKey   string
	checkKey   string
}

// The org tree of newWorld:
//
//	hq
//	├── sales
//	│   ├── east
//	│   └── west
//	└── support
var departments = []client.Department{
	{ID: "hq", Name: "Headquarters"},
	{ID: "sales", Name: "Sales", ParentID: "hq"},
	{ID: "east", Name: "Sales East", ParentID: "sales"},
	{ID: "west", Name: "Sales West", ParentID: "sales"},
	{ID: "support", Name: "Support", ParentID: "hq"},
}

// roleLevels are custom roles granting contacts at one level each.
var roleLevels = []struct {
	id, name string
	level    policy.Level
}{
	{"contacts_own", "Contacts own", policy.LevelOwn},
	{"contacts_department", "Contacts department", policy.LevelDepartment},
	{"contacts_subdepartments", "Contacts subdepartments", policy.LevelSubdepartments},
	{"contacts_all", "Contacts all", policy.LevelAll},
}

// members of newWorld: every level, several departments, none, a client,
// an owner and the predefined Head.
var members = []client.MemberInput{
	{UserID: "ann", Name: "Ann", Email: "ann@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"east"}, RoleIDs: []string{"contacts_own"}},
	{UserID: "bob", Name: "Bob", Email: "bob@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, RoleIDs: []string{"contacts_department"}},
	{UserID: "cat", Name: "Cat", Email: "cat@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, RoleIDs: []string{"contacts_subdepartments"}},
	{UserID: "dan", Name: "Dan", Email: "dan@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"support"}, RoleIDs: []string{"contacts_all"}},
	{UserID: "eve", Name: "Eve", Email: "eve@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"east", "support"}, RoleIDs: []string{"contacts_department", "contacts_own"}},
	{UserID: "fay", Name: "Fay", Email: "fay@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"west"}},
	{UserID: "gus", Name: "Gus", Email: "gus@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"hq"}, RoleIDs: []string{"head"}},
	{UserID: "hal", Name: "Hal", Email: "hal@acme.example", Kind: policy.Internal, DepartmentIDs: []string{"sales"}, RoleIDs: []string{"contacts_subdepartments"}},
	{UserID: "ivy", Name: "Ivy", Email: "ivy@client.example", Kind: policy.Client, RoleIDs: []string{"readonly_client"}},
	{UserID: "joe", Name: "Joe", Email: "joe@acme.example", Kind: policy.Internal, Owner: ptr(true)},
	{UserID: "kim", Name: "Kim", Email: "kim@acme.example", Kind: policy.Internal},
}

func ptr[T any](v T) *T { return &v }

// newWorld creates workspace ws on the professional plan with
// departments, roles and members, all through the client.
func newWorld(t *testing.T, env *apitest.Env, ws string) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{env: env, ws: ws, deployment: client.New(env.URL, apitest.AdminKey)}
	if _, _, err := w.deployment.CreateWorkspace(ctx, client.WorkspaceInput{ID: ws, Name: "Workspace " + ws, Plan: client.PlanProfessional}); err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	ak, _, err := w.deployment.CreateKey(ctx, ws, client.ScopeAdmin, "console")
	if err != nil {
		t.Fatalf("create admin key: %v", err)
	}
	ck, _, err := w.deployment.CreateKey(ctx, ws, client.ScopeCheck, "backend")
	if err != nil {
		t.Fatalf("create check key: %v", err)
	}
	w.adminKey, w.checkKey = ak.Secret, ck.Secret
	w.admin, w.check = client.New(env.URL, ak.Secret), client.New(env.URL, ck.Secret)
	for _, d := range departments {
		if _, _, err := w.admin.PutDepartment(ctx, ws, d); err != nil {
			t.Fatalf("department %s: %v", d.ID, err)
		}
	}
	for _, r := range roleLevels {
		_, _, err := w.admin.CreateRole(ctx, ws, client.RoleInput{Name: r.name, Grants: policy.Grants{
			"contacts_view": r.level, "contacts_edit": r.level}})
		if err != nil {
			t.Fatalf("role %s: %v", r.id, err)
		}
	}
	if _, _, err := w.admin.CreateRole(ctx, ws, client.RoleInput{Name: "Readonly client", Audience: policy.Client, Template: "readonly_client"}); err != nil {
		t.Fatalf("client role: %v", err)
	}
	if _, _, err := w.admin.ImportMembers(ctx, ws, members); err != nil {
		t.Fatalf("import members: %v", err)
	}
	return w
}

// readBody reads a request's body and puts it back for the handler.
func readBody(t *testing.T, r *http.Request) []byte {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// minRevisionOf returns the min_revision of a JSON request, "" if absent.
func minRevisionOf(body []byte) string {
	var v struct {
		MinRevision json.Number `json:"min_revision"`
	}
	json.Unmarshal(body, &v)
	return v.MinRevision.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
