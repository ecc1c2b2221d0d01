package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func testPolicyFile(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("src", admin.PlanProfessional)
	e.workspace("dst", admin.PlanProfessional)
	_, _, err := e.svc.PutObject(e.ctx, "src", admin.Write{}, admin.SmartObject{ID: "vehicles", Name: "Vehicles", Description: "The fleet"})
	must(t, err)
	e.role("src", "Fleet", policy.Internal, policy.Grants{"vehicles_view": all, "leads_view": own})
	e.role("src", "Portal", policy.Client, policy.Grants{"contacts_view": own})
	_, _, err = e.svc.UpdateRole(e.ctx, "src", admin.Write{}, "head", admin.RoleUpdate{Grants: policy.Grants{"crm_view": all}})
	must(t, err)
	for _, d := range []admin.Department{{ID: "hq", Name: "HQ"}, {ID: "east", Name: "East", ParentID: "hq"}} {
		_, _, err := e.svc.PutDepartment(e.ctx, "src", admin.Write{}, d)
		must(t, err)
	}
	doc, err := e.svc.ExportPolicy(e.ctx, "src")
	must(t, err)
	if !bytes.Contains(doc, []byte("vehicles_view: all")) || !bytes.Contains(doc, []byte("parent: hq")) {
		t.Fatalf("export lacks grants or departments:\n%s", doc)
	}
	_, err = e.svc.ImportPolicy(e.ctx, "dst", admin.Write{Reason: "sync"}, doc)
	must(t, err)
	got, err := e.svc.ExportPolicy(e.ctx, "dst")
	must(t, err)
	if strings.ReplaceAll(string(got), "dst", "src") != string(doc) {
		t.Errorf("import then export differs:\n%s\nwant\n%s", got, doc)
	}
	rev := e.revision("dst")
	audit, _ := e.svc.Audit(e.ctx, "dst", admin.Actor{}, admin.AuditFilter{Limit: 1000})
	_, err = e.svc.ImportPolicy(e.ctx, "dst", admin.Write{Reason: "sync"}, doc)
	must(t, err)
	audit2, _ := e.svc.Audit(e.ctx, "dst", admin.Actor{}, admin.AuditFilter{Limit: 1000})
	if e.revision("dst") != rev || len(audit2) != len(audit) {
		t.Errorf("second import of the same file: revision %d→%d, audit %d→%d entries", rev, e.revision("dst"), len(audit), len(audit2))
	}
	// A file that drops a role and a department removes them.
	trimmed := strings.Replace(string(doc), "  - id: east\n    name: East\n    parent: hq\n", "", 1)
	i := strings.Index(trimmed, "  - id: fleet\n")
	j := strings.Index(trimmed[i+1:], "  - id: ")
	trimmed = trimmed[:i] + trimmed[i+1+j:]
	_, err = e.svc.ImportPolicy(e.ctx, "dst", admin.Write{Reason: "sync"}, []byte(trimmed))
	must(t, err)
	roles, _ := e.svc.Roles(e.ctx, "dst", "", "")
	ds, _ := e.svc.Departments(e.ctx, "dst")
	if hasRole(roles, "fleet") || len(ds) != 1 {
		t.Errorf("trimmed import kept roles %v / departments %v", roles, ds)
	}
	bad := []string{
		"version: 2\nroles: []\n",
		"version: 1\nroles: []\nsurprise: 1\n",
		"version: 1\nroles:\n  - {id: x, name: X, audience: internal, grants: {leads_edit: all}}\n",
		"version: 1\nroles:\n  - {id: employee, name: Employee, audience: client, predefined: true, grants: {}}\n",
		"version: 1\nroles: []\ndepartments:\n  - {id: a, name: A, parent: b}\n  - {id: b, name: B, parent: a}\n",
		"version: 1\nroles:\n  - {id: x, name: Same, audience: internal, grants: {}}\n  - {id: y, name: same, audience: internal, grants: {}}\n",
	}
	before, _ := e.svc.ExportPolicy(e.ctx, "dst")
	for _, b := range bad {
		if _, err := e.svc.ImportPolicy(e.ctx, "dst", admin.Write{}, []byte(b)); err == nil {
			t.Errorf("import accepted:\n%s", b)
		}
		after, _ := e.svc.ExportPolicy(e.ctx, "dst")
		if !bytes.Equal(before, after) {
			t.Errorf("failed import changed the workspace:\n%s", b)
		}
	}
}

func testChangelog(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"leads_view": own})
	e.member("w", admin.MemberInput{UserID: "a", RoleIDs: []string{r.ID}})
	e.member("w", admin.MemberInput{UserID: "b"})
	_, _, err := e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"leads_view": all}})
	must(t, err)
	ch, err := e.svc.Changes(e.ctx, "w", 0, 0)
	must(t, err)
	if len(ch) != 5 {
		t.Fatalf("%d changes, want 5", len(ch))
	}
	for i, c := range ch {
		if c.Revision != int64(i+1) {
			t.Errorf("change %d has revision %d", i, c.Revision)
		}
	}
	last := ch[4]
	if last.Action != "role.update" || !slices.Equal(last.Epochs, []string{"a"}) || !slices.Contains(last.Targets, "role:"+r.ID) {
		t.Errorf("last change %+v", last)
	}
	if later, _ := e.svc.Changes(e.ctx, "w", 4, 0); len(later) != 1 {
		t.Errorf("changes after 4: %d", len(later))
	}
	if e.snaps.get("w").Revision() != 5 {
		t.Errorf("snapshot at revision %d, want 5", e.snaps.get("w").Revision())
	}
}

// testRestart builds a workspace through many kinds of change, then checks
// that a new service over the same store decides exactly as the old one.
func testRestart(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	must2 := func(_ any, _ int64, err error) { t.Helper(); must(t, err) }
	must2(e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "a", Name: "A"}))
	must2(e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "b", Name: "B", ParentID: "a"}))
	must2(e.svc.PutObject(e.ctx, "w", admin.Write{}, admin.SmartObject{ID: "vehicles", Name: "Vehicles", Description: "The fleet"}))
	r := e.role("w", "Rep", policy.Internal, policy.Grants{"deals_view": own, "vehicles_view": dept})
	c := e.role("w", "Client", policy.Client, policy.Grants{"contacts_view": own})
	for i := range 30 {
		in := admin.MemberInput{UserID: fmt.Sprintf("u%02d", i), Name: fmt.Sprintf("User %d", i), DepartmentIDs: []string{[]string{"a", "b"}[i%2]}}
		switch i % 3 {
		case 1:
			in.RoleIDs = []string{r.ID}
		case 2:
			in.Kind, in.RoleIDs = policy.Client, []string{c.ID}
		}
		e.member("w", in)
	}
	must2(e.svc.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": all}, Apply: ptr(false)}))
	e.member("w", admin.MemberInput{UserID: "late", RoleIDs: []string{r.ID, "employee"}, Owner: ptr(false)})
	_, _, _, err := e.svc.SetDirectGrants(e.ctx, "w", admin.Write{}, "u00", policy.Grants{"leads_view": all})
	must(t, err)
	_, err = e.svc.RemoveMember(e.ctx, "w", admin.Write{}, "u03")
	must(t, err)

	svc2, snaps2 := e.service()
	must(t, svc2.Open(e.ctx))
	a, b := e.snaps.get("w"), snaps2.get("w")
	if a.Revision() != b.Revision() || a.NumMembers() != b.NumMembers() {
		t.Fatalf("restart: revision %d/%d, members %d/%d", a.Revision(), b.Revision(), a.NumMembers(), b.NumMembers())
	}
	for i := range 31 {
		u := fmt.Sprintf("u%02d", i)
		if i == 30 {
			u = "late"
		}
		va, _ := a.Effective(u)
		vb, _ := b.Effective(u)
		ea, _ := a.Epoch(u)
		eb, _ := b.Epoch(u)
		if !slices.Equal(va, vb) || ea != eb {
			t.Errorf("restart: member %s differs", u)
		}
		ma, _ := e.svc.Member(e.ctx, "w", admin.Actor{}, u)
		mb, _ := svc2.Member(e.ctx, "w", admin.Actor{}, u)
		if fmt.Sprint(ma) != fmt.Sprint(mb) {
			t.Errorf("restart: member %s\n%+v\n%+v", u, ma, mb)
		}
	}
	pa, _ := e.svc.ExportPolicy(e.ctx, "w")
	pb, _ := svc2.ExportPolicy(e.ctx, "w")
	if !bytes.Equal(pa, pb) {
		t.Error("restart: policy differs")
	}
}

func testImportAllOrNothing(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	var in []admin.MemberInput
	for i := range 500 {
		in = append(in, admin.MemberInput{UserID: fmt.Sprintf("u%03d", i), Name: "N"})
	}
	in[250].RoleIDs = []string{"no_such_role"}
	rev := e.revision("w")
	_, err := e.svc.ImportMembers(e.ctx, "w", admin.Write{}, in)
	pe := wantCode(t, err, policy.CodeNotFound)
	if !strings.Contains(pe.Message, "members[250]") {
		t.Errorf("message %q does not say which member failed", pe.Message)
	}
	if ms, _ := e.svc.Members(e.ctx, "w", admin.Actor{}, admin.MemberFilter{}); len(ms) != 0 || e.revision("w") != rev {
		t.Fatalf("failed import left %d members", len(ms))
	}
	in[250].RoleIDs = nil
	_, err = e.svc.ImportMembers(e.ctx, "w", admin.Write{}, in)
	must(t, err)
	if ms, _ := e.svc.Members(e.ctx, "w", admin.Actor{}, admin.MemberFilter{Limit: 1000}); len(ms) != 500 {
		t.Errorf("import stored %d members", len(ms))
	}
	if e.revision("w") != rev+1 {
		t.Errorf("one import took %d revisions", e.revision("w")-rev)
	}
	big := make([]admin.MemberInput, admin.MaxImport+1)
	_, err = e.svc.ImportMembers(e.ctx, "w", admin.Write{}, big)
	wantCode(t, err, policy.CodePayloadTooLarge)
}
