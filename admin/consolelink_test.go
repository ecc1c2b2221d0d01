package admin_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
)

// linkWorld is a workspace with an owner, an admin who is no owner and a
// plain member, on a fresh SQLite file.
func linkWorld(t *testing.T) (*admin.Service, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := admin.New(st, admin.Options{})
	if _, err := s.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "acme", Name: "Acme", Plan: admin.PlanProfessional}); err != nil {
		t.Fatal(err)
	}
	yes := true
	for _, m := range []admin.MemberInput{
		{UserID: "olga", Name: "Olga Owner", Owner: &yes},
		{UserID: "hank", Name: "Hank Head", RoleIDs: []string{admin.RoleHead}},
		{UserID: "ann", Name: "Ann Lee"},
	} {
		if _, _, err := s.UpsertMember(ctx, "acme", admin.Write{}, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.UpdateRole(ctx, "acme", admin.Write{Reason: "test"}, admin.RoleHead, admin.RoleUpdate{
		Grants: policy.Grants{"settings_roles_view": policy.LevelAll, "settings_roles_edit": policy.LevelAll}}); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// TestX6_ConsoleLink_OwnersOnlyAndAudited: minting a link is the owners'
// (X3: keys acting for themselves and owners), audited with who let whom
// in (X5); anyone else is forbidden and nothing is written.
func TestX6_ConsoleLink_OwnersOnlyAndAudited(t *testing.T) {
	t.Parallel()
	s, _ := linkWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		actor  admin.Actor
		user   string
		code   policy.Code
		logged string
	}{
		{"a key acting for itself", admin.Actor{KeyID: "k1"}, "ann", "", "key:k1"},
		{"an owner", admin.Actor{UserID: "olga", KeyID: "k1"}, "ann", "", "olga"},
		{"an admin who is no owner", admin.Actor{UserID: "hank", KeyID: "k1"}, "ann", policy.CodeForbidden, ""},
		{"no member at all as actor", admin.Actor{UserID: "zed", KeyID: "k1"}, "ann", policy.CodeForbidden, ""},
		{"a user who is no member", admin.Actor{KeyID: "k1"}, "nobody", policy.CodeNotFound, ""},
	} {
		before, _ := s.Workspace(ctx, "acme")
		m, rev, err := s.ConsoleLink(ctx, "acme", admin.Write{Actor: tc.actor}, tc.user)
		after, _ := s.Workspace(ctx, "acme")
		if tc.code != "" {
			if policy.ErrorCode(err) != tc.code || after.Revision != before.Revision {
				t.Errorf("%s: err %v, revision %d → %d; want %s and nothing written", tc.name, err, before.Revision, after.Revision, tc.code)
			}
			continue
		}
		if err != nil || m.UserID != tc.user || rev != before.Revision+1 {
			t.Fatalf("%s: %+v rev %d err %v", tc.name, m, rev, err)
		}
		es, err := s.Audit(ctx, "acme", admin.Actor{}, admin.AuditFilter{Target: "member:" + tc.user, After: before.Revision})
		if err != nil {
			t.Fatal(err)
		}
		last := es[len(es)-1]
		if last.Action != "console.link" || last.Actor != tc.logged || last.Revision != rev {
			t.Errorf("%s: audit entry %+v", tc.name, last)
		}
	}
	rep, err := s.VerifyAudit(ctx, "acme")
	if err != nil || !rep.OK {
		t.Fatalf("audit chain after links: %+v %v", rep, err)
	}
}

// TestX6_ClaimConsoleLink_OnceAcrossNodes: a link is used once, whichever
// node redeems it, even when two nodes redeem it at the same instant.
func TestX6_ClaimConsoleLink_OnceAcrossNodes(t *testing.T) {
	t.Parallel()
	s1, path := linkWorld(t)
	ctx := context.Background()
	st2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s2 := admin.New(st2, admin.Options{})
	exp := time.Now().Add(admin.ConsoleLinkTTL)
	for round := range 20 {
		nonce := "n" + string(rune('a'+round))
		var wins, used atomic.Int32
		var wg sync.WaitGroup
		for i := range 4 {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			wg.Go(func() {
				switch err := s.ClaimConsoleLink(ctx, nonce, exp); {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, admin.ErrLinkUsed):
					used.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || used.Load() != 3 {
			t.Fatalf("round %d: %d claims won, %d refused; want exactly one", round, wins.Load(), used.Load())
		}
	}
	if err := s2.ClaimConsoleLink(ctx, "", exp); !errors.Is(err, admin.ErrLinkUsed) {
		t.Fatalf("an empty nonce: %v", err)
	}
}

// TestX6_ClaimConsoleLink_ExpiredClaimsAreDropped: the set of claims only
// keeps links that could still be redeemed, and a dropped claim's link has
// expired (the console refuses it before claiming).
func TestX6_ClaimConsoleLink_ExpiredClaimsAreDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := admin.New(st, admin.Options{Now: func() time.Time { return now }})
	for i := range 50 {
		if err := s.ClaimConsoleLink(ctx, string(rune('A'+i)), now.Add(admin.ConsoleLinkTTL)); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(admin.ConsoleLinkTTL + 2*time.Second)
	if err := s.ClaimConsoleLink(ctx, "late", now.Add(admin.ConsoleLinkTTL)); err != nil {
		t.Fatal(err)
	}
	b, err := st.Secret(ctx, "console_links_claimed", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"late":`+strconv.FormatInt(now.Add(admin.ConsoleLinkTTL).Unix()+1, 10)+`}` {
		t.Fatalf("claims kept: %s", b)
	}
	if err := s.ClaimConsoleLink(ctx, "late", now.Add(admin.ConsoleLinkTTL)); !errors.Is(err, admin.ErrLinkUsed) {
		t.Fatalf("second claim: %v", err)
	}
}
