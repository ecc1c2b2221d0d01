package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testX4KeyedChain: entries written without a key verify as legacy up to
// the first keyed one; keys rotate; and whoever changes the database
// without the key cannot make a chain that verifies: rewriting an entry
// and recomputing the plain SHA-256 chain after it, keyed or unkeyed,
// fails, as does the right key id with the wrong secret. The one rewrite
// the database alone cannot reveal, every entry turned legacy, shows in
// the report as a log with no keyed entry.
func testX4KeyedChain(t *testing.T, h Harness) {
	if h.Exec == nil {
		t.Skip("the harness cannot tamper with the database")
	}
	k1 := admin.AuditKey{ID: "k1", Secret: []byte(strings.Repeat("1", 32))}
	k2 := admin.AuditKey{ID: "k2", Secret: []byte(strings.Repeat("2", 32))}
	// setup writes 4 revisions unkeyed (as before keys existed), then 3
	// with k1, then 3 with k2 after a rotation, and returns the env with
	// both keys.
	setup := func() *env {
		e := newEnv(t, h)
		e.keys = nil
		e.svc, e.snaps = e.service()
		e.workspace("w", admin.PlanProfessional)
		for i := range 3 {
			e.role("w", fmt.Sprintf("Legacy %d", i), policy.Internal, nil)
		}
		e.keys = []admin.AuditKey{k1}
		e.svc, e.snaps = e.service()
		for i := range 3 {
			e.role("w", fmt.Sprintf("Keyed %d", i), policy.Internal, nil)
		}
		e.keys = []admin.AuditKey{k1, k2}
		e.svc, e.snaps = e.service()
		for i := range 3 {
			e.member("w", admin.MemberInput{UserID: fmt.Sprintf("u%d", i), Name: "U"})
		}
		return e
	}
	verify := func(e *env, keys ...admin.AuditKey) admin.AuditReport {
		t.Helper()
		e.keys = keys
		svc, _ := e.service()
		rep, err := svc.VerifyAudit(e.ctx, "w")
		must(t, err)
		return rep
	}
	entries := func(e *env) []admin.AuditEntry {
		es, err := e.store.Audit(e.ctx, "w", admin.AuditFilter{Limit: 1000})
		must(t, err)
		return es
	}

	e := setup()
	all := entries(e)
	legacy := slices.IndexFunc(all, func(x admin.AuditEntry) bool { return x.KeyID != "" })
	if legacy <= 0 || all[len(all)-1].KeyID != "k2" {
		t.Fatalf("legacy entries %d, last entry signed by %q", legacy, all[len(all)-1].KeyID)
	}
	rep := verify(e, k1, k2)
	if !rep.OK || rep.Legacy != int64(legacy) || !slices.Equal(rep.KeyIDs, []string{"k1", "k2"}) || rep.Head.Seq != all[len(all)-1].Seq {
		t.Fatalf("intact keyed chain: %+v", rep)
	}
	if rep := verify(e, k2); rep.OK || !strings.Contains(rep.Problem, `"k1"`) {
		t.Errorf("verified without k1, which signed entries: %+v", rep)
	}
	wrong := admin.AuditKey{ID: "k1", Secret: []byte(strings.Repeat("x", 32))}
	if rep := verify(e, wrong, k2); rep.OK {
		t.Errorf("verified with a wrong k1: %+v", rep)
	}
	if rep := verify(e); rep.OK {
		t.Errorf("verified keyed entries with no key: %+v", rep)
	}

	// rewrite changes entry at (an index into the chain) and recomputes
	// the plain SHA-256 chain from it on, as someone with the database
	// but not the key would, keeping key ids or dropping them.
	rewrite := func(e *env, at int, dropKeys bool) {
		t.Helper()
		es := entries(e)
		prev := es[at].PrevHash
		for i := at; i < len(es); i++ {
			x := es[i]
			if i == at {
				x.Reason = "nothing to see"
			}
			if dropKeys {
				x.KeyID = ""
			}
			x.PrevHash = prev
			x.Hash = admin.HashAuditEntry(&x)
			prev = x.Hash
			h.Exec(t, e.store, fmt.Sprintf(`UPDATE audit SET reason = '%s', key_id = '%s', prev_hash = '%s', hash = '%s' WHERE workspace_id = 'w' AND seq = %d`,
				strings.ReplaceAll(x.Reason, "'", "''"), x.KeyID, x.PrevHash, x.Hash, x.Seq))
		}
		h.Exec(t, e.store, fmt.Sprintf(`UPDATE workspaces SET audit_hash = '%s' WHERE id = 'w'`, prev))
	}
	for _, tc := range []struct {
		name     string
		at       int
		dropKeys bool
	}{
		{"a keyed entry rewritten, the plain chain recomputed", legacy + 1, false},
		{"a keyed entry rewritten, the chain recomputed unkeyed from it on", legacy + 1, true},
		{"the newest entry rewritten unkeyed", len(all) - 1, true},
		{"a legacy entry rewritten, the chain recomputed keeping key ids", 1, false},
	} {
		e := setup()
		rewrite(e, tc.at, tc.dropKeys)
		if rep := verify(e, k1, k2); rep.OK {
			t.Errorf("%s: verified: %+v", tc.name, rep)
		}
	}
	e = setup()
	rewrite(e, 0, true)
	if rep := verify(e, k1, k2); rep.OK && (rep.Legacy != rep.Entries || len(rep.KeyIDs) != 0) {
		t.Errorf("every entry rewritten unkeyed: the report hides it: %+v", rep)
	}
}
