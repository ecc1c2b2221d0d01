package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/internal/node"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestCrash_SIGKILLDuringWrites kills a server with SIGKILL in the middle
// of a stream of writes, on SQLite and on PostgreSQL, and restarts it:
// every acknowledged write is there, no multi-step change (a role deleted
// with its members moved, R5) is half-applied, every member has a role
// (M2), the audit chain verifies (X4), and the restarted server decides
// exactly as a fresh rebuild from the database does.
func TestCrash_SIGKILLDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	t.Parallel()
	databases := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "crash.db") },
		"postgres": func(t *testing.T) string {
			_, dsn := pgtest.Schema(t, pgtest.Shared(t), "crash", t.Cleanup)
			return dsn
		},
	}
	for name, database := range databases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			crashRun(t, database(t))
		})
	}
}

func crashRun(t *testing.T, database string) {
	ctx := context.Background()
	n := &clusterNode{name: "crash", addr: freeAddr(t), dsn: database, log: filepath.Join(t.TempDir(), "node.log")}
	n.start(t)
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", n.tail())
		}
	}()
	c := n.client()
	if _, _, err := c.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: "professional"}); err != nil {
		t.Fatal(err)
	}
	// The stream: role r<i> and member m<i> holding it; every third step
	// deletes the role before, moving its member to the default role (one
	// change of several rows). want is the acknowledged state.
	want := map[string]string{} // member → role
	roles := map[string]bool{}
	// The delete in flight at the kill, if any: it may or may not have
	// committed, but wholly or not at all.
	var inflightRole, inflightMember string
	done := make(chan struct{})
	perms := []string{"deals_view", "leads_view", "contacts_view"}
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			role := fmt.Sprintf("r%03d", i)
			r, _, err := c.CreateRole(ctx, "acme", client.RoleInput{Name: role, Grants: policy.Grants{perms[i%3]: policy.LevelAll}})
			if err != nil {
				return
			}
			roles[r.ID] = true
			user := fmt.Sprintf("m%03d", i)
			if _, _, err := c.PutMember(ctx, "acme", client.MemberInput{UserID: user, RoleIDs: []string{r.ID}}); err != nil {
				return
			}
			want[user] = r.ID
			if i%3 == 2 {
				prev := fmt.Sprintf("r%03d", i-1)
				if _, err := c.DeleteRole(ctx, "acme", prev, "employee"); err != nil {
					inflightRole, inflightMember = prev, fmt.Sprintf("m%03d", i-1)
					return
				}
				delete(roles, prev)
				want[fmt.Sprintf("m%03d", i-1)] = "employee"
			}
		}
	}()
	time.Sleep(700 * time.Millisecond)
	n.kill(t)
	<-done
	if len(want) < 5 {
		t.Fatalf("only %d members were written before the kill; the stream is too slow to test anything", len(want))
	}

	n.start(t)
	c = n.client()
	if inflightRole != "" {
		if _, err := c.Role(ctx, "acme", inflightRole); err != nil {
			// The delete committed though unacknowledged: all of it.
			delete(roles, inflightRole)
			want[inflightMember] = "employee"
		}
	}
	members := map[string][]string{}
	for m, err := range c.AllMembers(ctx, "acme", client.MemberQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range m.Roles {
			ids = append(ids, a.RoleID)
		}
		members[m.UserID] = ids
		if len(ids) == 0 {
			t.Errorf("M2: member %s has no role after the crash", m.UserID)
		}
	}
	for user, role := range want {
		if got := members[user]; !slices.Equal(got, []string{role}) {
			t.Errorf("acknowledged: %s holds %v, want [%s]", user, got, role)
		}
	}
	for user, held := range members {
		for _, r := range held {
			if _, err := c.Role(ctx, "acme", r); err != nil {
				t.Errorf("member %s holds role %s, which does not exist: a half-applied delete (R5)", user, r)
			}
		}
	}
	for r := range roles {
		if _, err := c.Role(ctx, "acme", r); err != nil {
			t.Errorf("acknowledged role %s is gone: %v", r, err)
		}
	}
	if rep, err := c.VerifyAudit(ctx, "acme"); err != nil || !rep.OK {
		t.Errorf("X4: audit chain after the crash: %+v, %v", rep, err)
	}
	decided := map[string]client.Decision{}
	for user := range members {
		for _, p := range perms {
			d, err := c.Check(ctx, "acme", client.CheckRequest{User: user, Permission: p})
			if err != nil {
				t.Fatal(err)
			}
			decided[user+" "+p] = *d
		}
	}
	n.kill(t)

	// A fresh rebuild from the database, in this process.
	st, err := node.OpenStore(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng := engine.New(engine.Options{})
	if err := admin.New(st, admin.Options{Publisher: eng}).Open(ctx); err != nil {
		t.Fatal(err)
	}
	for key, d := range decided {
		var user, p string
		fmt.Sscan(key, &user, &p)
		got, err := eng.Check("acme", user, p, nil)
		if err != nil || got.Allowed != d.Allowed || got.Level != d.Level || got.Revision != d.Revision {
			t.Errorf("%s: the restarted server said %+v, a fresh rebuild says %+v (%v)", key, d, got, err)
		}
	}
	t.Logf("%d members and %d roles acknowledged before SIGKILL; all present", len(want), len(roles))
}
