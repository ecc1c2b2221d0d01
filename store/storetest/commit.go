package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// The Commit contract, asserted on the store directly rather than through
// admin.Service, so that a failure names Commit and both stores are held
// to it: a Commit writes all of itself or nothing.

// stored is what a workspace holds, as far as a Commit can change it.
type stored struct {
	revision      int64
	name          string
	members       int
	assignments   int64
	links         int64
	audit         int64
	changes       int
	auditHead     admin.AuditHead
	reasons       int64
	roleRevisions int64
}

func (e *env) stored(ws string) stored {
	e.t.Helper()
	d, err := e.store.Load(e.ctx, ws)
	if err != nil {
		e.t.Fatal(err)
	}
	ch, err := e.store.Changes(e.ctx, ws, 0, 1_000_000)
	if err != nil {
		e.t.Fatal(err)
	}
	count := func(table string) int64 {
		return e.h.QueryInt(e.t, e.store, "SELECT count(*) FROM "+table+" WHERE workspace_id = '"+ws+"'")
	}
	return stored{revision: d.Workspace.Revision, name: d.Workspace.Name, members: len(d.Members),
		assignments: count("assignments"), links: count("member_departments"), audit: count("audit"),
		changes: len(ch), auditHead: d.AuditHead, reasons: count("audit_reasons"), roleRevisions: count("role_revisions")}
}

// commitFor builds a Commit of n new members on top of base, each with
// the default role and department dept, with its audit entries and
// changelog row, as admin would.
func commitFor(d *admin.Dataset, base int64, n int, dept string) *admin.Commit {
	var def admin.Role
	for _, r := range d.Roles {
		if r.Default {
			def = r
		}
	}
	c := &admin.Commit{Workspace: d.Workspace.ID, Base: base, Revision: base + 1, Time: d.Workspace.UpdatedAt}
	ws := d.Workspace
	ws.Name += " (renamed)"
	c.Ops = append(c.Ops, admin.PutWorkspace{Workspace: ws})
	head := d.AuditHead
	for i := range n {
		u := fmt.Sprintf("direct-%d", i)
		c.Ops = append(c.Ops,
			admin.PutMember{Member: admin.Member{UserID: u, Name: u, Kind: policy.Internal, Epoch: base + 1, DepartmentIDs: []string{dept}}, Created: true},
			admin.PutAssignment{UserID: u, Assignment: admin.Assignment{RoleID: def.ID, Revision: def.Revision}})
		e := admin.AuditEntry{Seq: head.Seq + 1, Revision: base + 1, Actor: "test", Action: "member.upsert", Target: "member:" + u,
			After: []byte(`{}`), Reason: "direct commit", PrevHash: head.Hash}
		e.Hash = admin.HashAuditEntry(&e)
		head = admin.AuditHead{Seq: e.Seq, Hash: e.Hash}
		c.Audit = append(c.Audit, e)
		c.Change.Targets = append(c.Change.Targets, "member:"+u)
	}
	c.AuditHead = head
	c.Change.Revision, c.Change.Action = base+1, "member.import"
	return c
}

// testCommitContract: a stale Commit, a Commit with Base 0 on a taken id
// and a Commit whose later op fails write nothing at all; the same Commit
// on the right base then writes all of itself.
func testCommitContract(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "sales", Name: "Sales"})
	must(t, err)
	e.member("w", admin.MemberInput{UserID: "existing", Name: "Existing"})
	before := e.stored("w")
	d, err := e.store.Load(e.ctx, "w")
	must(t, err)
	rev := d.Workspace.Revision

	tests := []struct {
		name      string
		commit    func() *admin.Commit
		wantStale bool
	}{
		{"Stale_BaseBehind", func() *admin.Commit { return commitFor(d, rev-1, 3, "sales") }, true},
		{"Stale_BaseAhead", func() *admin.Commit { return commitFor(d, rev+1, 3, "sales") }, true},
		{"Stale_Base0OnTakenID", func() *admin.Commit { return commitFor(d, 0, 3, "sales") }, true},
		{"LaterOpFails_AssignmentToMissingRoleRevision", func() *admin.Commit {
			c := commitFor(d, rev, 500, "sales")
			c.Ops = append(c.Ops, admin.PutAssignment{UserID: "direct-7", Assignment: admin.Assignment{RoleID: "no_such_role", Revision: 1}})
			return c
		}, false},
		{"LaterOpFails_LinkToMissingDepartment", func() *admin.Commit {
			c := commitFor(d, rev, 500, "sales")
			last := c.Ops[len(c.Ops)-2].(admin.PutMember)
			last.Member.DepartmentIDs = []string{"no_such_department"}
			c.Ops[len(c.Ops)-2] = last
			return c
		}, false},
		{"LaterOpFails_AfterTheMemberRun", func() *admin.Commit {
			c := commitFor(d, rev, 500, "sales")
			// A role revision that exists already: its plain INSERT fails
			// after the batched member writes ran.
			c.Ops = append(c.Ops, admin.PutRoleRevision{Revision: d.Revisions[0]})
			return c
		}, false},
		{"LaterOpFails_ApplyToMissingRoleRevision", func() *admin.Commit {
			// An apply moves the role's followers (R6): only to a
			// revision it has, or they would hold nothing a load finds.
			c := commitFor(d, rev, 500, "sales")
			c.Ops = append(c.Ops, admin.ApplyRole{RoleID: d.Roles[0].ID, Revision: 99})
			return c
		}, false},
		{"LaterOpFails_CreatedMemberExists", func() *admin.Commit {
			// Created is a promise (admin.PutMember): a store may insert
			// without looking, and a broken promise fails the Commit.
			c := commitFor(d, rev, 500, "sales")
			c.Ops = append(c.Ops, admin.PutMember{Member: admin.Member{UserID: "existing", Name: "Again", Kind: policy.Internal, Epoch: rev + 1}, Created: true})
			return c
		}, false},
		{"LaterOpFails_DuplicateAuditSeq", func() *admin.Commit {
			c := commitFor(d, rev, 500, "sales")
			c.Audit[len(c.Audit)-1].Seq = c.Audit[0].Seq
			return c
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.store.Commit(e.ctx, tc.commit())
			switch {
			case err == nil:
				t.Fatal("Commit succeeded")
			case tc.wantStale && !errors.Is(err, admin.ErrStale):
				t.Fatalf("got %v, want ErrStale", err)
			case !tc.wantStale && errors.Is(err, admin.ErrStale):
				t.Fatalf("got ErrStale for a failing op: %v", err)
			}
			if got := e.stored("w"); got != before {
				t.Fatalf("a failed Commit wrote something:\n got  %+v\n want %+v", got, before)
			}
		})
	}

	// The same Commit on the right base writes all of it.
	c := commitFor(d, rev, 500, "sales")
	must(t, e.store.Commit(e.ctx, c))
	after := e.stored("w")
	want := before
	want.revision, want.name, want.members = rev+1, d.Workspace.Name+" (renamed)", before.members+500
	want.assignments, want.links, want.audit, want.changes = before.assignments+500, before.links+500, before.audit+500, before.changes+1
	want.auditHead, want.reasons = c.AuditHead, before.reasons+1
	if after != want {
		t.Fatalf("Commit wrote\n got  %+v\n want %+v", after, want)
	}
	if err := e.store.Commit(e.ctx, c); !errors.Is(err, admin.ErrStale) {
		t.Fatalf("the same Commit twice: got %v, want ErrStale", err)
	}
}

// testCommitOpsInOrder: a Commit's ops act as if applied one by one, in
// order, however the store batches them: the last write of a member or an
// assignment wins, a deletion after a put removes, a put after a deletion
// restores, and a member's department links are replaced (M9). It holds
// whether the new members' puts say they are new (PutMember.Created, the
// stores' plain inserts) or not (their upserts).
func testCommitOpsInOrder(t *testing.T, h Harness) {
	for _, created := range []bool{false, true} {
		t.Run(fmt.Sprintf("Created=%v", created), func(t *testing.T) { commitOpsInOrder(t, h, created) })
	}
}

func commitOpsInOrder(t *testing.T, h Harness, created bool) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	for _, id := range []string{"sales", "ops"} {
		_, _, err := e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: id, Name: id})
		must(t, err)
	}
	e.member("w", admin.MemberInput{UserID: "kept", Name: "Kept", DepartmentIDs: []string{"sales", "ops"}})
	d, err := e.store.Load(e.ctx, "w")
	must(t, err)
	var def admin.Role
	for _, r := range d.Roles {
		if r.Default {
			def = r
		}
	}
	other := e.role("w", "Other", policy.Internal, policy.Grants{})
	d, err = e.store.Load(e.ctx, "w")
	must(t, err)
	rev := d.Workspace.Revision
	m := func(u, name string, depts ...string) admin.Op {
		return admin.PutMember{Member: admin.Member{UserID: u, Name: name, Kind: policy.Internal, Epoch: rev + 1, DepartmentIDs: depts}, Created: created && u != "kept"}
	}
	put := func(u, role string, r int64) admin.Op {
		return admin.PutAssignment{UserID: u, Assignment: admin.Assignment{RoleID: role, Revision: r, AssignedBy: "test"}}
	}
	del := func(u, role string) admin.Op { return admin.DeleteAssignment{UserID: u, RoleID: role} }
	c := commitFor(d, rev, 0, "")
	c.Ops = append(c.Ops,
		m("a", "first", "sales"), put("a", def.ID, def.Revision), m("a", "second", "ops"),
		put("a", other.ID, other.Revision), del("a", other.ID),
		m("b", "b"), put("b", def.ID, def.Revision), del("b", def.ID), put("b", def.ID, def.Revision),
		put("kept", other.ID, other.Revision), del("kept", def.ID),
		m("kept", "Kept", "ops"),
	)
	c.Audit = []admin.AuditEntry{{Seq: d.AuditHead.Seq + 1, Revision: rev + 1, Actor: "test", Action: "member.import", Target: "member:a", PrevHash: d.AuditHead.Hash}}
	c.Audit[0].Hash = admin.HashAuditEntry(&c.Audit[0])
	c.AuditHead = admin.AuditHead{Seq: c.Audit[0].Seq, Hash: c.Audit[0].Hash}
	must(t, e.store.Commit(e.ctx, c))
	d, err = e.store.Load(e.ctx, "w")
	must(t, err)
	got := map[string]string{}
	for _, mb := range d.Members {
		s := mb.Name + " depts"
		for _, dp := range mb.DepartmentIDs {
			s += " " + dp
		}
		s += " roles"
		for _, a := range mb.Roles {
			s += " " + a.RoleID
		}
		got[mb.UserID] = s
	}
	want := map[string]string{
		"a":    "second depts ops roles " + def.ID,
		"b":    "b depts roles " + def.ID,
		"kept": "Kept depts ops roles " + other.ID,
	}
	for u, w := range want {
		if got[u] != w {
			t.Errorf("member %s: got %q, want %q", u, got[u], w)
		}
	}
}
