package admin

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestT1_SnapshotComputedDuringCommitIsDroppedOnceAnExpiryFallsDue: the
// next snapshot is computed while the store commits (nextSnapshot). If a
// member's access expires between the two, the snapshot computed before
// would still honour it for members the write did not touch: advanceTo
// must compile instead; before the expiry it keeps the computed one.
func TestT1_SnapshotComputedDuringCommitIsDroppedOnceAnExpiryFallsDue(t *testing.T) {
	t.Parallel()
	expiry := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		now     time.Time
		kept    bool
		wantLvl policy.Level
	}{
		{"before the expiry", expiry.Add(-time.Second), true, policy.LevelAll},
		{"after the expiry", expiry.Add(time.Second), false, policy.LevelNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &Dataset{Workspace: Workspace{ID: "w", Name: "W", Plan: PlanFree, Revision: 5},
				Roles: []Role{
					{ID: "manager", Name: "Manager", Audience: policy.Internal, Revision: 1},
					{ID: "viewer", Name: "Viewer", Audience: policy.Internal, Revision: 1},
				},
				Revisions: []RoleRevision{
					{RoleID: "manager", Revision: 1, Grants: policy.Grants{"deals_view": policy.LevelAll}},
					{RoleID: "viewer", Revision: 1, Grants: policy.Grants{}},
				},
				Members: []Member{{UserID: "u", Kind: policy.Internal, Epoch: 1, Roles: []Assignment{
					{RoleID: "viewer", Revision: 1},
					{RoleID: "manager", Revision: 1, ExpiresAt: expiry},
				}}}}
			m, err := newModel(policy.DefaultCatalog(), d, func() time.Time { return expiry.Add(-time.Minute) }, 0)
			if err != nil {
				t.Fatal(err)
			}
			computed := m.snap // as computed while the commit ran, before the expiry
			if l := level(t, computed, "u", "deals_view"); l != policy.LevelAll {
				t.Fatalf("computed snapshot: deals_view %v, want all", l)
			}
			m.now = func() time.Time { return tc.now }
			if err := m.advanceTo(computed, nil, nil); err != nil {
				t.Fatal(err)
			}
			if (m.snap == computed) != tc.kept {
				t.Errorf("computed snapshot kept = %v, want %v", m.snap == computed, tc.kept)
			}
			if l := level(t, m.snap, "u", "deals_view"); l != tc.wantLvl {
				t.Errorf("deals_view %v after advance, want %v", l, tc.wantLvl)
			}
		})
	}
}

func level(t *testing.T, s *policy.Snapshot, user, perm string) policy.Level {
	t.Helper()
	dec, err := s.Check(user, perm)
	if err != nil {
		t.Fatal(err)
	}
	return dec.Level
}

// TestNextSnapshot_APanicComputingItCompilesInstead: the next snapshot is
// computed on a goroutine of its own, where a panic (a bug in the delta
// or the update) would end the process instead of failing one request.
// It is recovered: no snapshot, so that advanceTo compiles.
func TestNextSnapshot_APanicComputingItCompilesInstead(t *testing.T) {
	t.Parallel()
	d := &Dataset{Workspace: Workspace{ID: "w", Name: "W", Plan: PlanFree, Revision: 1}}
	m, err := newModel(policy.DefaultCatalog(), d, time.Now, 0)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	if snap := m.nextSnapshot(&view{}, log)(); snap != nil { // a view without a base: delta panics
		t.Fatalf("got a snapshot from a panicking update")
	}
	if !strings.Contains(logged.String(), "snapshot update panicked") {
		t.Errorf("the panic was not logged: %q", logged.String())
	}
	before := m.snap
	if err := m.advanceTo(nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if m.snap == before || m.snap.Revision() != 1 {
		t.Errorf("advanceTo did not compile a fresh snapshot at revision 1")
	}
}
