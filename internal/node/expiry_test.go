package node_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// cutter is a TCP proxy to the database that the test can cut: every
// open connection dropped and new ones refused, as a network partition
// between one node and the database would.
type cutter struct {
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	addr   string
}

func newCutter(t *testing.T, target string) *cutter {
	t.Helper()
	c := &cutter{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.serve(ln)
	t.Cleanup(c.cut)
	return c
}

func (c *cutter) serve(ln net.Listener) {
	c.mu.Lock()
	c.ln = ln
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

// cut closes the listener and every proxied connection.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for _, x := range c.conns {
		x.Close()
	}
	c.conns = nil
}

// restore listens again on the same address.
func (c *cutter) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.serve(ln)
}

// TestT1_T2_ExpiryAcrossNodesWhileCutOff runs two nodes on one PostgreSQL
// database; the second reaches it through a proxy that the test cuts. A
// role assigned until 2 s ahead then expires: both nodes stop honouring
// it within 1 s of the instant, the cut-off one from memory alone (T1),
// and the expiry is committed exactly once, by system, however many
// times the cut-off node retries once it is back (T2).
func TestT1_T2_ExpiryAcrossNodesWhileCutOff(t *testing.T) {
	_, dsn := pgtest.Schema(t, pgtest.Shared(t), "exp", t.Cleanup)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutter(t, u.Host)
	u.Host = proxy.addr
	a, b := openNode(t, dsn), openNode(t, u.String())
	ctx := context.Background()
	if _, err := a.Admin.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	r, _, err := a.Admin.CreateRole(ctx, "w", admin.Write{}, admin.RoleInput{Name: "Billing", Grants: policy.Grants{"invoices_view": policy.LevelAll}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Admin.UpsertMember(ctx, "w", admin.Write{}, admin.MemberInput{UserID: "ana"}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(2 * time.Second)
	rev, err := a.Admin.AddRoleMembersUntil(ctx, "w", admin.Write{}, r.ID, []string{"ana"}, at)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := b.Engine.WaitFor(wctx, "w", rev); err != nil {
		t.Fatalf("node b did not reach revision %d: %v", rev, err)
	}
	for name, n := range map[string]interface {
		Check(ws, user, perm string, r *policy.Resource) (policy.Decision, error)
	}{"a": a.Engine, "b": b.Engine} {
		if d, err := n.Check("w", "ana", "invoices_view", nil); err != nil || !d.Allowed {
			t.Fatalf("node %s before the instant: %+v, %v", name, d, err)
		}
	}

	proxy.cut()
	time.Sleep(time.Until(at.Add(time.Second)))
	for name, n := range map[string]interface {
		Check(ws, user, perm string, r *policy.Resource) (policy.Decision, error)
	}{"a": a.Engine, "b (cut off)": b.Engine} {
		if d, err := n.Check("w", "ana", "invoices_view", nil); err != nil || d.Allowed {
			t.Errorf("node %s 1 s after the instant: %+v, %v (T1)", name, d, err)
		}
	}

	expiries := func() []admin.AuditEntry {
		es, err := a.Admin.Audit(ctx, "w", admin.Actor{}, admin.AuditFilter{Actor: "system"})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	var es []admin.AuditEntry
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(es) == 0; time.Sleep(50 * time.Millisecond) {
		es = expiries()
	}
	if len(es) != 1 || es[0].Action != "member.expire" || es[0].Target != "member:ana" || es[0].Revision != rev+1 {
		t.Fatalf("expiry entries %+v, want one member.expire of ana at revision %d", es, rev+1)
	}

	// Back on the network, b follows and its retries find nothing left.
	proxy.restore(t)
	wctx2, cancel2 := context.WithTimeout(ctx, 15*time.Second)
	defer cancel2()
	if _, err := b.Engine.WaitFor(wctx2, "w", rev+1); err != nil {
		t.Fatalf("node b did not follow the expiry after the cut: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // at least one more retry of b's
	if es := expiries(); len(es) != 1 {
		t.Errorf("%d expiry entries after b came back, want 1 (T2: exactly once)", len(es))
	}
	if w, err := a.Admin.Workspace(ctx, "w"); err != nil || w.Revision != rev+1 {
		t.Errorf("workspace at %d, %v; want %d", w.Revision, err, rev+1)
	}
	m, err := a.Admin.Member(ctx, "w", admin.Actor{}, "ana")
	if err != nil || len(m.Roles) != 1 || m.Roles[0].RoleID != admin.RoleEmployee {
		t.Errorf("ana after the expiry: %+v, %v", m.Roles, err)
	}
}
