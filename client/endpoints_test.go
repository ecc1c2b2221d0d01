package client_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestEveryRoute calls every endpoint of the API through the client, in an
// order where each step can build on the ones before, and fails when the
// server has a route this test (and so, the client) does not cover.
func TestEveryRoute(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	ws, adm, chk, dep := w.ws, w.admin, w.check, w.deployment
	var (
		roleETag   int64
		keyID      string
		token      string
		exported   []byte
		reviewID   string
		reviewItem int
	)
	steps := []struct {
		route string
		run   func(t *testing.T)
	}{
		{"GET /healthz", func(t *testing.T) {
			h, err := chk.Health(ctx)
			must(t, err)
			if h.Status != "ok" || h.Version != "test" {
				t.Errorf("health %+v", h)
			}
		}},
		{"GET /readyz", func(t *testing.T) {
			r, err := chk.Ready(ctx)
			must(t, err)
			if !r.Ready || r.Checks["database"] != "ok" {
				t.Errorf("readiness %+v", r)
			}
		}},
		{"GET /metrics", func(t *testing.T) {
			m, err := client.New(strings.TrimSuffix(env.MetricsURL, "/metrics"), "").Metrics(ctx)
			must(t, err)
			if !bytes.Contains(m, []byte("# TYPE")) {
				t.Errorf("metrics: %.200s", m)
			}
		}},
		{"GET /openapi.json", func(t *testing.T) {
			doc, err := chk.OpenAPI(ctx)
			must(t, err)
			if !bytes.Contains(doc, []byte(`"openapi"`)) {
				t.Errorf("openapi: %.200s", doc)
			}
		}},
		{"GET /v1/catalog", func(t *testing.T) {
			cat, err := client.New(env.URL, "").Catalog(ctx, "")
			must(t, err)
			if !hasPermission(cat.Modules, "contacts_view") {
				t.Error("the catalog lacks contacts_view")
			}
			found, err := chk.Catalog(ctx, "wallet")
			must(t, err)
			if !hasPermission(found.Modules, "wallet_refill") {
				t.Errorf("search wallet: %+v", found)
			}
		}},
		{"GET /v1/templates", func(t *testing.T) {
			ts, err := chk.Templates(ctx)
			must(t, err)
			if !slices.ContainsFunc(ts, func(x client.Template) bool { return x.ID == "sales" && x.Grants["contacts_view"] == policy.LevelAll }) {
				t.Errorf("templates %+v", ts)
			}
		}},
		{"POST /v1/workspaces", func(t *testing.T) {
			o, rev, err := dep.CreateWorkspace(ctx, client.WorkspaceInput{ID: "other", Name: "Other"})
			must(t, err)
			if o.Plan != client.PlanFree || rev < 1 {
				t.Errorf("created %+v at %d", o, rev)
			}
		}},
		{"GET /v1/workspaces", func(t *testing.T) {
			all, err := dep.Workspaces(ctx)
			must(t, err)
			if len(all) != 2 || all[0].ID != "acme" || all[1].ID != "other" {
				t.Errorf("workspaces %+v", all)
			}
		}},
		{"GET /v1/workspaces/{ws}", func(t *testing.T) {
			got, err := chk.Workspace(ctx, ws)
			must(t, err)
			if got.ID != ws || got.Plan != client.PlanProfessional || got.Revision < 1 {
				t.Errorf("workspace %+v", got)
			}
		}},
		{"PATCH /v1/workspaces/{ws}", func(t *testing.T) {
			got, rev, err := adm.UpdateWorkspace(ctx, ws, client.WorkspaceUpdate{Name: ptr("Acme Inc.")})
			must(t, err)
			if got.Name != "Acme Inc." || rev != got.Revision {
				t.Errorf("updated %+v at %d", got, rev)
			}
		}},
		{"GET /v1/workspaces/{ws}/catalog", func(t *testing.T) {
			cat, err := chk.WorkspaceCatalog(ctx, ws, "")
			must(t, err)
			if !hasPermission(cat.Modules, "tasks_view") {
				t.Error("the workspace catalog lacks tasks_view")
			}
		}},
		{"PUT /v1/workspaces/{ws}/catalog/objects/{id}", func(t *testing.T) {
			o, _, err := adm.PutObject(ctx, ws, client.SmartObject{ID: "vehicles", Name: "Vehicles", Description: "The fleet"})
			must(t, err)
			if o.ID != "vehicles" || o.Name != "Vehicles" {
				t.Errorf("object %+v", o)
			}
			cat, err := chk.WorkspaceCatalog(ctx, ws, "vehicles")
			must(t, err)
			if !hasPermission(cat.Modules, "vehicles_view") {
				t.Errorf("the smart object is not in the catalog: %+v", cat)
			}
		}},
		{"DELETE /v1/workspaces/{ws}/catalog/objects/{id}", func(t *testing.T) {
			_, err := adm.DeleteObject(ctx, ws, "vehicles", true)
			must(t, err)
		}},
		{"POST /v1/workspaces/{ws}/keys", func(t *testing.T) {
			k, _, err := adm.CreateKey(ctx, ws, client.ScopeCheck, "temporary")
			must(t, err)
			if !strings.HasPrefix(k.Secret, "ghk_") || k.Scope != client.ScopeCheck {
				t.Errorf("key %+v", k)
			}
			keyID = k.ID
			if _, err := client.New(env.URL, k.Secret).Workspace(ctx, ws); err != nil {
				t.Errorf("the new key does not work: %v", err)
			}
		}},
		{"GET /v1/workspaces/{ws}/keys", func(t *testing.T) {
			ks, err := adm.Keys(ctx, ws)
			must(t, err)
			if len(ks) != 3 || slices.ContainsFunc(ks, func(k client.Key) bool { return k.Secret != "" }) {
				t.Errorf("keys %+v", ks)
			}
		}},
		{"DELETE /v1/workspaces/{ws}/keys/{id}", func(t *testing.T) {
			_, err := adm.RevokeKey(ctx, ws, keyID)
			must(t, err)
		}},
		{"GET /v1/workspaces/{ws}/roles", func(t *testing.T) {
			rs, err := adm.Roles(ctx, ws, client.RoleQuery{Audience: policy.Client})
			must(t, err)
			if len(rs) != 1 || rs[0].ID != "readonly_client" {
				t.Errorf("client roles %+v", rs)
			}
		}},
		{"POST /v1/workspaces/{ws}/roles", func(t *testing.T) {
			r, _, err := adm.CreateRole(ctx, ws, client.RoleInput{Name: "Sales rep", Template: "sales", Reason: "new team"})
			must(t, err)
			if r.ID != "sales_rep" || r.Grants["contacts_export"] != policy.LevelAll || r.Revision != 1 {
				t.Errorf("role %+v", r)
			}
		}},
		{"GET /v1/workspaces/{ws}/roles/{role}", func(t *testing.T) {
			r, err := adm.Role(ctx, ws, "sales_rep")
			must(t, err)
			roleETag = r.Revision
		}},
		{"PATCH /v1/workspaces/{ws}/roles/{role}", func(t *testing.T) {
			r, _, err := adm.As("joe").UpdateRole(ctx, ws, "sales_rep", client.RoleUpdate{
				Grants:     policy.Grants{"contacts_view": policy.LevelDepartment},
				Apply:      ptr(false),
				IfRevision: roleETag,
			})
			must(t, err)
			if r.Revision != 2 || len(r.Grants) != 1 {
				t.Errorf("updated %+v", r)
			}
		}},
		{"POST /v1/workspaces/{ws}/roles/{role}/duplicate", func(t *testing.T) {
			r, _, err := adm.DuplicateRole(ctx, ws, "sales_rep", "")
			must(t, err)
			if r.Name != "Sales rep (Copy)" {
				t.Errorf("duplicate %+v", r)
			}
		}},
		{"DELETE /v1/workspaces/{ws}/roles/{role}", func(t *testing.T) {
			_, err := adm.DeleteRole(ctx, ws, "sales_rep_copy", "")
			must(t, err)
		}},
		{"POST /v1/workspaces/{ws}/roles/{role}/members", func(t *testing.T) {
			_, err := adm.AddRoleMembers(ctx, ws, "sales_rep", []string{"kim", "fay"})
			must(t, err)
			// T1: an assignment until an instant; kim already holds it
			// without expiry and keeps it so.
			_, err = adm.AddRoleMembersUntil(ctx, ws, "sales_rep", []string{"kim"}, time.Now().Add(time.Hour))
			must(t, err)
		}},
		{"GET /v1/workspaces/{ws}/roles/{role}/members", func(t *testing.T) {
			p, err := adm.RoleMembers(ctx, ws, "sales_rep", client.MemberQuery{Department: "west"})
			must(t, err)
			if len(p.Items) != 1 || p.Items[0].UserID != "fay" {
				t.Errorf("members of sales_rep in west: %+v", p.Items)
			}
		}},
		{"DELETE /v1/workspaces/{ws}/roles/{role}/members/{user}", func(t *testing.T) {
			_, err := adm.RemoveRoleMember(ctx, ws, "sales_rep", "fay")
			must(t, err)
		}},
		{"POST /v1/workspaces/{ws}/roles/{role}/preview", func(t *testing.T) {
			imp, err := adm.PreviewRole(ctx, ws, "sales_rep", policy.Grants{"contacts_view": policy.LevelAll})
			must(t, err)
			if len(imp.Members) != 1 || imp.Members[0].UserID != "kim" {
				t.Errorf("impact %+v", imp)
			}
			// P1, G1: a condition added at the same level is a change.
			role, err := adm.Role(ctx, ws, "sales_rep")
			must(t, err)
			const small = "record.amount < 5"
			g := role.Grants
			if g["contacts_view"] == policy.LevelNone {
				t.Fatalf("sales_rep grants no contacts_view: %+v", g)
			}
			when := policy.Conditions{"contacts_view": small}
			for _, p := range []string{"contacts_edit", "contacts_delete", "contacts_create", "contacts_export"} {
				if g[p] > policy.LevelNone {
					when[p] = small // C4 per record: what needs contacts_view shares its condition
				}
			}
			imp, err = adm.PreviewRoleWhen(ctx, ws, "sales_rep", g, when)
			must(t, err)
			want := client.GrantChange{Permission: "contacts_view", Old: g["contacts_view"], New: g["contacts_view"], NewWhen: small}
			if len(imp.Members) != 1 || !slices.Contains(imp.Members[0].Changes, want) {
				t.Errorf("conditional impact %+v, want a change %+v", imp, want)
			}
		}},
		{"GET /v1/workspaces/{ws}/roles/{role}/revisions", func(t *testing.T) {
			revs, err := adm.RoleRevisions(ctx, ws, "sales_rep")
			must(t, err)
			if len(revs) != 2 || revs[1].Author != "joe" || revs[1].Applied {
				t.Errorf("revisions %+v", revs)
			}
		}},
		{"GET /v1/workspaces/{ws}/roles/{role}/revisions/{n}", func(t *testing.T) {
			d, err := adm.RoleRevision(ctx, ws, "sales_rep", 2)
			must(t, err)
			if d.Revision != 2 || len(d.Changes) == 0 {
				t.Errorf("revision 2: %+v", d)
			}
		}},
		{"POST /v1/workspaces/{ws}/roles/{role}/revisions/{n}/restore", func(t *testing.T) {
			r, _, err := adm.RestoreRevision(ctx, ws, "sales_rep", 1, client.RestoreOptions{Reason: "back to the template", IfRevision: 2})
			must(t, err)
			if r.Revision != 3 || r.Grants["contacts_export"] != policy.LevelAll {
				t.Errorf("restored %+v", r)
			}
		}},
		{"GET /v1/workspaces/{ws}/members", func(t *testing.T) {
			p, err := adm.Members(ctx, ws, client.MemberQuery{Role: "contacts_subdepartments"})
			must(t, err)
			if ids := userIDs(p.Items); !slices.Equal(ids, []string{"cat", "hal"}) {
				t.Errorf("members %v", ids)
			}
		}},
		{"POST /v1/workspaces/{ws}/members/import", func(t *testing.T) {
			n, _, err := adm.ImportMembers(ctx, ws, []client.MemberInput{{UserID: "new1", Name: "New", Email: "n@x.example", Kind: policy.Internal}})
			must(t, err)
			if n != 1 {
				t.Errorf("imported %d", n)
			}
		}},
		{"PUT /v1/workspaces/{ws}/members/{user}", func(t *testing.T) {
			m, _, err := adm.PutMember(ctx, ws, client.MemberInput{UserID: "new/2", Name: "Slash", Email: "s@x.example", Kind: policy.Internal, DepartmentIDs: []string{"west"}})
			must(t, err)
			if m.UserID != "new/2" || len(m.Roles) != 1 || m.Roles[0].RoleID != "employee" {
				t.Errorf("member %+v", m)
			}
		}},
		{"GET /v1/workspaces/{ws}/members/{user}", func(t *testing.T) {
			m, err := adm.Member(ctx, ws, "new/2")
			must(t, err)
			if m.Name != "Slash" || !slices.Equal(m.DepartmentIDs, []string{"west"}) {
				t.Errorf("member %+v", m)
			}
		}},
		{"PUT /v1/workspaces/{ws}/members/{user}/roles", func(t *testing.T) {
			m, _, err := adm.SetMemberRoles(ctx, ws, "new/2", []string{"contacts_own", "employee"})
			must(t, err)
			if len(m.Roles) != 2 {
				t.Errorf("roles %+v", m.Roles)
			}
			at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			m, _, err = adm.SetMemberRolesUntil(ctx, ws, "new/2", []string{"contacts_own", "employee"}, map[string]time.Time{"contacts_own": at})
			must(t, err)
			if i := slices.IndexFunc(m.Roles, func(a client.Assignment) bool { return a.RoleID == "contacts_own" }); i < 0 || m.Roles[i].ExpiresAt == nil || !m.Roles[i].ExpiresAt.Equal(at) {
				t.Errorf("roles until %s: %+v (T1)", at, m.Roles)
			}
		}},
		{"PUT /v1/workspaces/{ws}/members/{user}/grants", func(t *testing.T) {
			m, _, err := adm.SetMemberGrants(ctx, ws, "new/2", policy.Grants{"contacts_view": policy.LevelOwn, "deals_view": policy.LevelAll}, "")
			must(t, err)
			if !slices.Equal(m.Redundant, []string{"contacts_view"}) || m.Grants["deals_view"] != policy.LevelAll {
				t.Errorf("grants %+v redundant %v", m.Grants, m.Redundant)
			}
			at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			m, _, err = adm.SetMemberGrantsUntil(ctx, ws, "new/2", m.Grants, map[string]time.Time{"deals_view": at}, "")
			must(t, err)
			if !m.GrantExpiresAt["deals_view"].Equal(at) {
				t.Errorf("grant expiry %v, want deals_view until %s (T1)", m.GrantExpiresAt, at)
			}
		}},
		{"GET /v1/workspaces/{ws}/members/{user}/permissions", func(t *testing.T) {
			p, err := adm.MemberPermissions(ctx, ws, "new/2")
			must(t, err)
			i := slices.IndexFunc(p.Permissions, func(e client.EffectivePermission) bool { return e.Permission == "deals_view" })
			if i < 0 || p.Permissions[i].Level != policy.LevelAll || !slices.ContainsFunc(p.Permissions[i].Sources, func(s client.Source) bool { return s.Direct }) {
				t.Errorf("permissions %+v", p)
			}
		}},
		{"POST /v1/workspaces/{ws}/console-links", func(t *testing.T) {
			l, rev, err := adm.ConsoleLink(ctx, ws, "new/2", "/w/"+ws+"/roles")
			must(t, err)
			if !strings.HasPrefix(l.URL, env.URL+"/console/link?t=") || l.UserID != "new/2" || rev == 0 ||
				l.ExpiresAt.Before(time.Now().Add(4*time.Minute)) || l.ExpiresAt.After(time.Now().Add(5*time.Minute+time.Second)) {
				t.Errorf("console link %+v rev %d", l, rev)
			}
			if _, _, err := adm.ConsoleLink(ctx, ws, "nobody", ""); client.ErrorCode(err) != policy.CodeNotFound {
				t.Errorf("a link for no member: %v", err)
			}
		}},
		{"DELETE /v1/workspaces/{ws}/members/{user}", func(t *testing.T) {
			_, err := adm.DeleteMember(ctx, ws, "new/2")
			must(t, err)
			if _, err := adm.Member(ctx, ws, "new/2"); client.ErrorCode(err) != policy.CodeNotFound {
				t.Errorf("after delete: %v", err)
			}
		}},
		{"GET /v1/workspaces/{ws}/departments", func(t *testing.T) {
			ds, err := adm.Departments(ctx, ws)
			must(t, err)
			if len(ds) != len(departments) {
				t.Errorf("departments %+v", ds)
			}
		}},
		{"PUT /v1/workspaces/{ws}/departments/{id}", func(t *testing.T) {
			d, _, err := adm.PutDepartment(ctx, ws, client.Department{ID: "north", Name: "Sales North", ParentID: "sales"})
			must(t, err)
			if d.ParentID != "sales" {
				t.Errorf("department %+v", d)
			}
			// M9: the department holds a role until an instant (T1).
			at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			d, _, err = adm.PutDepartmentRoles(ctx, ws, client.Department{ID: "north", Name: "Sales North", ParentID: "sales"},
				client.DepartmentRoles{RoleIDs: []string{"contacts_own"}, IncludeSubdepartments: true, ExpiresAt: map[string]time.Time{"contacts_own": at}})
			must(t, err)
			if len(d.Roles) != 1 || d.Roles[0].RoleID != "contacts_own" || d.Roles[0].ExpiresAt == nil || !d.Roles[0].ExpiresAt.Equal(at) || !d.IncludeSubdepartments {
				t.Errorf("department with roles %+v", d)
			}
		}},
		{"GET /v1/workspaces/{ws}/departments/{id}", func(t *testing.T) {
			d, err := adm.Department(ctx, ws, "north")
			must(t, err)
			if d.Name != "Sales North" {
				t.Errorf("department %+v", d)
			}
		}},
		{"DELETE /v1/workspaces/{ws}/departments/{id}", func(t *testing.T) {
			_, err := adm.DeleteDepartment(ctx, ws, "north")
			must(t, err)
		}},
		{"POST /v1/workspaces/{ws}/check", func(t *testing.T) {
			d, err := chk.Check(ctx, ws, client.CheckRequest{User: "ann", Permission: "contacts_view", Resource: &policy.Resource{OwnerID: "ann"}})
			must(t, err)
			if !d.Allowed || d.Level != policy.LevelOwn || d.Reason != policy.ReasonOwner {
				t.Errorf("decision %+v", d)
			}
		}},
		{"POST /v1/workspaces/{ws}/check/batch", func(t *testing.T) {
			b, err := chk.CheckBatch(ctx, ws, client.Batch{Checks: []client.CheckRequest{
				{User: "dan", Permission: "contacts_view", CorrelationID: "a"},
				{User: "dan", Permission: "contact_view", CorrelationID: "b"},
				{User: "nobody", Permission: "contacts_view"},
			}})
			must(t, err)
			r := b.Results
			if len(r) != 3 || !r[0].Allowed || r[0].Err != nil || r[1].Err == nil || r[1].Err.Code != policy.CodeUnknownPermission ||
				r[1].Reason != policy.Reason(policy.CodeUnknownPermission) ||
				r[2].Allowed || r[2].Reason != policy.ReasonNotAMember ||
				r[0].CorrelationID != "a" || r[1].CorrelationID != "b" || r[2].CorrelationID != "" {
				t.Errorf("batch %+v", b)
			}
		}},
		{"POST /v1/workspaces/{ws}/check/resources", func(t *testing.T) {
			r, err := chk.CheckResources(ctx, ws, client.ResourceChecks{User: "ann", Permissions: []string{"contacts_view", "contacts_edit"},
				Resources: []client.ResourceCheck{{ID: "mine", Resource: &policy.Resource{OwnerID: "ann"}},
					{ID: "theirs", Resource: &policy.Resource{OwnerID: "bob"}, Permissions: []string{"contacts_view"}}}})
			must(t, err)
			if len(r.Results) != 2 || r.Results[0].ID != "mine" || !r.Results[0].Permissions["contacts_view"].Allowed ||
				len(r.Results[1].Permissions) != 1 || r.Revision == 0 {
				t.Errorf("check/resources %+v", r)
			}
			one, err := chk.Check(ctx, ws, client.CheckRequest{User: "ann", Permission: "contacts_view", Resource: &policy.Resource{OwnerID: "bob"}})
			must(t, err)
			if got := r.Results[1].Permissions["contacts_view"]; got.Allowed != one.Allowed || got.Reason != one.Reason {
				t.Errorf("check/resources says %+v on bob's record, check says %+v", got, one)
			}
		}},
		{"POST /v1/workspaces/{ws}/filter", func(t *testing.T) {
			f, err := chk.Filter(ctx, ws, client.FilterRequest{User: "bob", Permission: "contacts_view"})
			must(t, err)
			if f.Kind != policy.PlanConditional || !slices.Equal(f.OwnerIDs, []string{"bob"}) || !slices.Equal(f.DepartmentIDs, []string{"sales"}) {
				t.Errorf("filter %+v", f)
			}
		}},
		{"POST /v1/workspaces/{ws}/explain", func(t *testing.T) {
			e, err := dep.Explain(ctx, ws, client.ExplainRequest{User: "ann", Permission: "contacts_view", Resource: &policy.Resource{OwnerID: "bob"}})
			must(t, err)
			if !e.Member || e.Level != policy.LevelOwn || e.Decision.Allowed || e.Decision.Reason != policy.ReasonOutOfScope || len(e.Roles) == 0 {
				t.Errorf("explanation %+v", e)
			}
		}},
		{"GET /v1/workspaces/{ws}/who-can", func(t *testing.T) {
			p, err := chk.WhoCan(ctx, ws, client.WhoCanQuery{Permission: "contacts_view", Level: policy.LevelAll})
			must(t, err)
			if ids := whoIDs(p.Items); !slices.Equal(ids, []string{"dan", "joe", "kim"}) { // kim: Sales rep, restored
				t.Errorf("who can view all contacts: %v", ids)
			}
		}},
		{"POST /v1/workspaces/{ws}/sessions", func(t *testing.T) {
			s, err := chk.CreateSession(ctx, ws, "ann", 10*time.Minute)
			must(t, err)
			token = s.Token
			if s.User != "ann" || time.Until(s.ExpiresAt) > 11*time.Minute {
				t.Errorf("session %+v", s)
			}
			d, err := chk.Check(ctx, ws, client.CheckRequest{Session: token, Permission: "contacts_view"})
			must(t, err)
			if !d.Allowed {
				t.Errorf("check with the session: %+v", d)
			}
			// A2: a change of ann's permissions ends the session.
			_, _, err = adm.SetMemberRoles(ctx, ws, "ann", []string{"contacts_all"})
			must(t, err)
			_, err = chk.Check(ctx, ws, client.CheckRequest{Session: token, Permission: "contacts_view"})
			if client.ErrorCode(err) != policy.CodeReauthenticationRequired {
				t.Errorf("check with a stale session: %v", err)
			}
		}},
		{"GET /v1/workspaces/{ws}/events", func(t *testing.T) {
			p, err := chk.Events(ctx, ws, 0, time.Second)
			must(t, err)
			if len(p.Items) == 0 || p.Revision != p.Items[len(p.Items)-1].Revision {
				t.Errorf("events %+v", p)
			}
		}},
		{"GET /v1/workspaces/{ws}/audit", func(t *testing.T) {
			p, err := adm.Audit(ctx, ws, client.AuditQuery{Target: "role:sales_rep"})
			must(t, err)
			if len(p.Items) < 3 || p.Items[0].Action != "role.create" {
				t.Errorf("audit of sales_rep: %+v", p.Items)
			}
		}},
		{"GET /v1/workspaces/{ws}/audit/verify", func(t *testing.T) {
			r, err := adm.VerifyAudit(ctx, ws)
			must(t, err)
			if !r.OK || r.Entries == 0 {
				t.Errorf("verify %+v", r)
			}
		}},
		{"GET /v1/workspaces/{ws}/usage", func(t *testing.T) {
			u, err := adm.Usage(ctx, ws, 7)
			must(t, err)
			if u.UnusedDays != 7 {
				t.Errorf("usage %+v", u)
			}
		}},
		{"GET /v1/workspaces/{ws}/policy", func(t *testing.T) {
			var err error
			exported, err = adm.ExportPolicy(ctx, ws)
			must(t, err)
			if !bytes.Contains(exported, []byte("sales_rep")) {
				t.Errorf("export: %s", exported)
			}
		}},
		{"GET /v1/session-keys", func(t *testing.T) {
			ks, err := dep.SessionKeys(ctx)
			must(t, err)
			if len(ks) != 1 || !ks[0].Signing || ks[0].AcceptUntil != nil || ks[0].ID == "" {
				t.Errorf("session keys %+v", ks)
			}
			if _, err := adm.SessionKeys(ctx); client.ErrorCode(err) != policy.CodeForbidden {
				t.Errorf("session keys with a workspace key: %v", err)
			}
		}},
		{"POST /v1/session-keys/rotate", func(t *testing.T) {
			s, err := chk.CreateSession(ctx, ws, "ann", time.Hour)
			must(t, err)
			ks, err := dep.RotateSessionKey(ctx)
			must(t, err)
			if len(ks) != 2 || !ks[0].Signing || ks[0].AcceptUntil == nil || ks[1].Signing || ks[1].AcceptUntil != nil {
				t.Errorf("session keys after a rotation %+v", ks)
			}
			if _, err := chk.Check(ctx, ws, client.CheckRequest{Session: s.Token, Permission: "contacts_view"}); err != nil {
				t.Errorf("a session from before the rotation: %v", err)
			}
			// A ring holds 8 keys; the 8th rotation within a day waits.
			for range 6 {
				_, err = dep.RotateSessionKey(ctx)
				must(t, err)
			}
			_, err = dep.RotateSessionKey(ctx)
			if client.ErrorCode(err) != policy.CodeUnavailable || !strings.Contains(err.Error(), "rotate again once it is dropped") {
				t.Errorf("rotation into a full ring: %v", err)
			}
		}},
		{"PUT /v1/workspaces/{ws}/action-aliases", func(t *testing.T) {
			a, rev, err := adm.SetActionAliases(ctx, ws, map[string]string{"can_read_contact": "contacts_view"})
			must(t, err)
			if a["can_read_contact"] != "contacts_view" || rev == 0 {
				t.Errorf("aliases %v at %d", a, rev)
			}
			_, _, err = adm.SetActionAliases(ctx, ws, map[string]string{"x": "contact_view"})
			if client.ErrorCode(err) != policy.CodeUnknownPermission {
				t.Errorf("alias to an unknown permission: %v", err)
			}
		}},
		{"PUT /v1/workspaces/{ws}/gateway-routes", func(t *testing.T) {
			rs, _, err := adm.SetGatewayRoutes(ctx, ws, []client.GatewayRoute{{Method: "GET", Path: "/contacts/{owner}/{id}",
				Permission: "contacts_view", Owner: "owner"}})
			must(t, err)
			if len(rs) != 1 {
				t.Errorf("routes %+v", rs)
			}
			_, _, err = adm.SetGatewayRoutes(ctx, ws, []client.GatewayRoute{{Method: "GET", Path: "no-slash", Permission: "contacts_view"}})
			if client.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Errorf("a malformed route: %v", err)
			}
		}},
		{"GET /v1/workspaces/{ws}/gateway-routes", func(t *testing.T) {
			rs, err := adm.GatewayRoutes(ctx, ws)
			must(t, err)
			if len(rs) != 1 || rs[0].Owner != "owner" {
				t.Errorf("routes %+v", rs)
			}
		}},
		{"PUT /v1/workspaces/{ws}/sod-rules/{id}", func(t *testing.T) {
			r, rev, err := adm.PutSoDRule(ctx, ws, client.SoDRule{ID: "billing-vs-crm", Name: "Billing vs CRM",
				Conflicts: [][]string{{"billing_view"}, {"contacts_view"}}})
			must(t, err)
			if r.ID != "billing-vs-crm" || len(r.Conflicts) != 2 || rev == 0 || r.CreatedAt.IsZero() {
				t.Errorf("rule %+v at %d", r, rev)
			}
			_, _, err = adm.SetMemberGrants(ctx, ws, "ann", policy.Grants{"invoices_view": policy.LevelAll}, "")
			if client.ErrorCode(err) != policy.CodeSeparationOfDuties {
				t.Errorf("a grant that breaks the rule: %v", err)
			}
			_, _, err = adm.PutSoDRule(ctx, ws, client.SoDRule{ID: "bad", Name: "Bad", Conflicts: [][]string{{"billing_view"}, {"contact_view"}}})
			if client.ErrorCode(err) != policy.CodeUnknownPermission {
				t.Errorf("a rule on an unknown permission: %v", err)
			}
		}},
		{"GET /v1/workspaces/{ws}/sod-rules", func(t *testing.T) {
			var ids []string
			for r, err := range adm.AllSoDRules(ctx, ws) {
				must(t, err)
				ids = append(ids, r.ID)
			}
			if len(ids) != 1 || ids[0] != "billing-vs-crm" {
				t.Errorf("rules %v", ids)
			}
		}},
		{"GET /v1/workspaces/{ws}/sod-rules/{id}", func(t *testing.T) {
			r, err := adm.SoDRule(ctx, ws, "billing-vs-crm")
			must(t, err)
			if r.Name != "Billing vs CRM" {
				t.Errorf("rule %+v", r)
			}
		}},
		{"GET /v1/workspaces/{ws}/sod-rules/{id}/violations", func(t *testing.T) {
			_, _, err := adm.SoDViolations(ctx, ws, "billing-vs-crm", client.PageQuery{Limit: 10})
			must(t, err)
			_, _, err = adm.SoDViolations(ctx, ws, "nope", client.PageQuery{})
			if client.ErrorCode(err) != policy.CodeNotFound {
				t.Errorf("violations of no rule: %v", err)
			}
		}},
		{"DELETE /v1/workspaces/{ws}/sod-rules/{id}", func(t *testing.T) {
			_, err := adm.DeleteSoDRule(ctx, ws, "billing-vs-crm")
			must(t, err)
		}},
		{"POST /v1/workspaces/{ws}/reviews", func(t *testing.T) {
			rv, rev, err := adm.OpenReview(ctx, ws, client.ReviewInput{Name: "Q4", Deadline: time.Now().Add(time.Hour), Default: "keep",
				Scope: &client.ReviewScope{Actions: []string{"view"}}})
			must(t, err)
			if rv.Status != "open" || rv.Items == 0 || rev == 0 {
				t.Errorf("review %+v at %d", rv, rev)
			}
			reviewID = rv.ID
			_, _, err = adm.OpenReview(ctx, ws, client.ReviewInput{Name: "Past", Deadline: time.Now().Add(-time.Hour), Default: "keep"})
			if client.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Errorf("a review due in the past: %v", err)
			}
		}},
		{"GET /v1/workspaces/{ws}/reviews", func(t *testing.T) {
			rs, _, err := adm.Reviews(ctx, ws, client.PageQuery{Limit: 10})
			must(t, err)
			if len(rs) != 1 || rs[0].ID != reviewID {
				t.Errorf("reviews %+v", rs)
			}
		}},
		{"PATCH /v1/workspaces/{ws}/reviews/{id}", func(t *testing.T) {
			name := "Q4 access review"
			rv, _, err := adm.UpdateReview(ctx, ws, reviewID, client.ReviewUpdate{Name: &name})
			must(t, err)
			if rv.Name != name {
				t.Errorf("review %+v", rv)
			}
		}},
		{"GET /v1/workspaces/{ws}/reviews/{id}/items", func(t *testing.T) {
			its, _, err := adm.ReviewItems(ctx, ws, reviewID, client.ReviewItemQuery{Open: true, Limit: 100})
			must(t, err)
			if len(its) == 0 || its[0].Decision != "" || len(its[0].Grants) == 0 {
				t.Fatalf("items %+v", its)
			}
			reviewItem = its[0].ID
			csv, err := adm.ReviewCSV(ctx, ws, reviewID)
			must(t, err)
			if !strings.HasPrefix(string(csv), "review,item,user_id") {
				t.Errorf("CSV %.200s", csv)
			}
		}},
		{"PUT /v1/workspaces/{ws}/reviews/{id}/items/{item}", func(t *testing.T) {
			it, _, err := adm.DecideReviewItem(ctx, ws, reviewID, reviewItem, "keep", "still needed")
			must(t, err)
			if it.Decision != "keep" || it.DecidedBy == "" {
				t.Errorf("item %+v", it)
			}
		}},
		{"GET /v1/workspaces/{ws}/reviews/{id}", func(t *testing.T) {
			rv, err := adm.Review(ctx, ws, reviewID)
			must(t, err)
			if rv.Decided != 1 {
				t.Errorf("review %+v", rv)
			}
		}},
		{"POST /v1/workspaces/{ws}/reviews/{id}/close", func(t *testing.T) {
			rep, _, err := adm.CloseReview(ctx, ws, reviewID)
			must(t, err)
			if rep.Review.Status != "closed" || rep.Review.Decided != rep.Review.Items {
				t.Errorf("close %+v", rep.Review)
			}
		}},
		{"GET /v1/workspaces/{ws}/forward-auth", func(t *testing.T) {
			s, err := chk.CreateSession(ctx, ws, "ann", time.Hour)
			must(t, err)
			d, user, err := chk.ForwardAuth(ctx, ws, s.Token, "GET", "/contacts/ann/1?x=1")
			must(t, err)
			if !d.Allowed || user != "ann" {
				t.Errorf("forward auth %+v %q", d, user)
			}
			_, _, err = chk.ForwardAuth(ctx, ws, s.Token, "DELETE", "/contacts/ann/1")
			if client.ErrorCode(err) != policy.CodeForbidden {
				t.Errorf("a request no route names: %v", err)
			}
		}},
		{"GET /v1/workspaces/{ws}/action-aliases", func(t *testing.T) {
			a, err := adm.ActionAliases(ctx, ws)
			must(t, err)
			if len(a) != 1 {
				t.Errorf("aliases %v", a)
			}
		}},
	}
	for _, root := range []bool{true, false} {
		where, prefix := ws, "/v1/workspaces/{ws}"
		if root {
			where, prefix = "", ""
		}
		subject := &client.AuthZENEntity{Type: "user", ID: "ann"}
		read := &client.AuthZENAction{Name: "can_read_contact"}
		rec := &client.AuthZENEntity{Type: "contacts", ID: "c1", Properties: map[string]any{"owner_id": "ann"}}
		steps = append(steps, []struct {
			route string
			run   func(t *testing.T)
		}{
			{"POST " + prefix + "/access/v1/evaluation", func(t *testing.T) {
				d, err := chk.Evaluate(ctx, where, client.AuthZENEvaluation{Subject: subject, Action: read, Resource: rec})
				must(t, err)
				if d.Context["permission"] != "contacts_view" {
					t.Errorf("evaluation %+v", d)
				}
				_, err = chk.Evaluate(ctx, where, client.AuthZENEvaluation{Subject: subject})
				if client.ErrorCode(err) != policy.CodeInvalidArgument || !strings.Contains(err.Error(), "action") {
					t.Errorf("an evaluation without an action: %v", err)
				}
			}},
			{"POST " + prefix + "/access/v1/evaluations", func(t *testing.T) {
				ds, err := chk.Evaluations(ctx, where, client.AuthZENEvaluations{AuthZENEvaluation: client.AuthZENEvaluation{Subject: subject, Action: read},
					Evaluations: []client.AuthZENEvaluation{{Resource: rec}, {Resource: rec}}, Semantic: client.PermitOnFirstPermit})
				must(t, err)
				if len(ds) == 0 || len(ds) > 2 {
					t.Errorf("evaluations %+v", ds)
				}
			}},
			{"POST " + prefix + "/access/v1/search/subject", func(t *testing.T) {
				p, err := chk.SearchSubjects(ctx, where, client.AuthZENSearch{Subject: &client.AuthZENEntity{Type: "user"}, Action: read, Resource: rec, Limit: 1})
				must(t, err)
				if len(p.Results) != 1 || p.Page.Total < 1 {
					t.Errorf("subject search %+v", p)
				}
			}},
			{"POST " + prefix + "/access/v1/search/action", func(t *testing.T) {
				p, err := chk.SearchActions(ctx, where, client.AuthZENSearch{Subject: subject, Resource: rec})
				must(t, err)
				if p.Page.Total == 0 {
					t.Errorf("action search %+v", p)
				}
			}},
		}...)
	}
	steps = append(steps, []struct {
		route string
		run   func(t *testing.T)
	}{
		{"GET /.well-known/authzen-configuration", func(t *testing.T) {
			m, err := chk.AuthZENConfiguration(ctx, "", false)
			must(t, err)
			if !strings.HasSuffix(m.AccessEvaluationEndpoint, "/access/v1/evaluation") {
				t.Errorf("metadata %+v", m)
			}
		}},
		{"GET /.well-known/authzen-configuration/v1/workspaces/{ws}", func(t *testing.T) {
			m, err := chk.AuthZENConfiguration(ctx, ws, false)
			must(t, err)
			if !strings.HasSuffix(m.PolicyDecisionPoint, "/v1/workspaces/"+ws) {
				t.Errorf("metadata %+v", m)
			}
		}},
		{"GET /v1/workspaces/{ws}/.well-known/authzen-configuration", func(t *testing.T) {
			m, err := chk.AuthZENConfiguration(ctx, ws, true)
			must(t, err)
			if !strings.HasSuffix(m.SearchSubjectEndpoint, "/v1/workspaces/"+ws+"/access/v1/search/subject") {
				t.Errorf("metadata %+v", m)
			}
		}},
		{"PUT /v1/workspaces/{ws}/policy", func(t *testing.T) {
			before := adm.LastRevision(ws)
			rev, err := adm.ImportPolicy(ctx, ws, exported, "")
			must(t, err)
			if rev < before {
				t.Errorf("import of the same policy: revision %d, before %d", rev, before)
			}
			_, err = adm.ImportPolicy(ctx, ws, []byte("version: 2\n"), "")
			if client.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Errorf("import of a bad file: %v", err)
			}
		}},
	}...)
	covered := map[string]bool{}
	for _, s := range steps {
		covered[s.route] = true
		if !t.Run(s.route, s.run) {
			t.FailNow()
		}
	}
	for _, r := range env.API.Routes() {
		if !covered[r] {
			t.Errorf("route %s has no step here: give the client a method for it and test it", r)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func hasPermission(ms []client.Module, perm string) bool {
	for _, m := range ms {
		if slices.ContainsFunc(m.Actions, func(a client.Action) bool { return a.Permission == perm }) || hasPermission(m.Children, perm) {
			return true
		}
	}
	return false
}

func userIDs(ms []client.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.UserID
	}
	return out
}

func whoIDs(items []client.WhoCanItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.UserID
	}
	return out
}
