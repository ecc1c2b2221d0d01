package engine_test

import (
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// snapshot compiles a small workspace at a revision: "rep" holds role rep,
// whose deals_view level is lvl.
func snapshot(t testing.TB, ws string, rev int64, lvl policy.Level) *policy.Snapshot {
	t.Helper()
	s, err := policy.Compile(policy.State{Workspace: ws, Revision: rev, Catalog: policy.DefaultCatalog(),
		Roles: []policy.RoleRevision{{RoleID: "rep", Revision: 1, Audience: policy.Internal, Grants: policy.Grants{"deals_view": lvl}}},
		Members: []policy.Member{
			{UserID: "rep", Kind: policy.Internal, Roles: []policy.RoleRef{{RoleID: "rep", Revision: 1}}},
			{UserID: "boss", Kind: policy.Internal, Owner: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPublishAndCheck(t *testing.T) {
	t.Parallel()
	e := engine.New(engine.Options{})
	if _, err := e.Check("w", "rep", "deals_view", nil); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Fatalf("unknown workspace: %v", err)
	}
	e.Publish(snapshot(t, "w", 2, policy.LevelAll))
	e.Publish(snapshot(t, "other", 1, policy.LevelNone))
	d, err := e.Check("w", "rep", "deals_view", nil)
	if err != nil || !d.Allowed || d.Revision != 2 {
		t.Fatalf("check: %+v %v", d, err)
	}
	e.Publish(snapshot(t, "w", 1, policy.LevelNone)) // older: ignored
	if d, _ := e.Check("w", "rep", "deals_view", nil); !d.Allowed || d.Revision != 2 {
		t.Errorf("an older snapshot replaced a newer one: %+v", d)
	}
	if d, _ := e.Check("other", "rep", "deals_view", nil); d.Allowed {
		t.Error("workspaces share snapshots (W1)")
	}
	if _, err := e.Check("w", "rep", "deal_view", nil); policy.ErrorCode(err) != policy.CodeUnknownPermission {
		t.Errorf("unknown permission: %v", err)
	}
}

// TestD8_WaitForRevision: a reader asking for a revision waits for it, up
// to a second, then gets revision_unavailable.
func TestD8_WaitForRevision(t *testing.T) {
	t.Parallel()
	e := engine.New(engine.Options{})
	e.Publish(snapshot(t, "w", 1, policy.LevelOwn))
	go func() {
		time.Sleep(20 * time.Millisecond)
		e.Publish(snapshot(t, "w", 3, policy.LevelAll))
	}()
	s, err := e.WaitFor(context.Background(), "w", 3)
	if err != nil || s.Revision() != 3 {
		t.Fatalf("wait for 3: %v %v", s, err)
	}
	_, err = e.WaitFor(context.Background(), "w", 9)
	var pe *policy.Error
	if !errors.As(err, &pe) || pe.Code != policy.CodeRevisionUnavailable {
		t.Fatalf("wait for 9: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.WaitFor(ctx, "w", 9); policy.ErrorCode(err) != policy.CodeRevisionUnavailable {
		t.Errorf("cancelled wait: %v", err)
	}
}

// A workspace created on another node a moment ago is waited for, like a
// revision: read-your-writes holds for a workspace's creation too.
func TestD8_WaitForWorkspaceNotLoadedYet(t *testing.T) {
	t.Parallel()
	e := engine.New(engine.Options{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		e.Publish(snapshot(t, "other", 1, policy.LevelOwn))
		time.Sleep(20 * time.Millisecond)
		e.Publish(snapshot(t, "new", 1, policy.LevelAll))
	}()
	s, err := e.WaitFor(context.Background(), "new", 1)
	if err != nil || s.Revision() != 1 || s.Workspace() != "new" {
		t.Fatalf("wait for new workspace: %v %v", s, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := e.WaitFor(ctx, "never", 1); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Errorf("wait for a workspace that never comes: %v, want not_found", err)
	}
}

type sink struct {
	mu  sync.Mutex
	got map[string]int64
}

func (s *sink) RecordUsage(_ context.Context, ws string, us []policy.Usage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range us {
		s.got[fmt.Sprintf("%s/%s/%s", ws, u.RoleID, u.Permission)] += u.Count
	}
	return nil
}

// TestU1_CountsAllowedDecisions: allowed decisions are counted per
// (permission, role), across snapshot swaps; denials, owners and unknown
// users are not.
func TestU1_CountsAllowedDecisions(t *testing.T) {
	t.Parallel()
	sk := &sink{got: map[string]int64{}}
	e := engine.New(engine.Options{Usage: sk})
	e.Publish(snapshot(t, "w", 1, policy.LevelAll))
	for range 3 {
		e.Check("w", "rep", "deals_view", nil)
	}
	e.Publish(snapshot(t, "w", 2, policy.LevelAll)) // counts of revision 1 are kept
	e.Check("w", "rep", "deals_view", nil)
	e.Check("w", "rep", "leads_view", nil)  // denied
	e.Check("w", "boss", "deals_view", nil) // owner: no role to credit
	e.Check("w", "ghost", "deals_view", nil)
	e.Flush(context.Background())
	if len(sk.got) != 1 || sk.got["w/rep/deals_view"] != 4 {
		t.Fatalf("usage %v, want w/rep/deals_view = 4", sk.got)
	}
	e.Flush(context.Background())
	if sk.got["w/rep/deals_view"] != 4 {
		t.Errorf("a second flush counted again: %v", sk.got)
	}
}

// U1 across many publishes between two flushes: every generation's counts
// arrive, and a replaced snapshot is not kept until the flush (under a
// stream of writes that held gigabytes).
func TestU1_ReplacedSnapshotsAreReleasedBeforeTheFlush(t *testing.T) {
	t.Parallel()
	sk := &sink{got: map[string]int64{}}
	e := engine.New(engine.Options{Usage: sk})
	first := snapshot(t, "w", 1, policy.LevelAll)
	gone := weak.Make(first)
	e.Publish(first)
	first = nil
	const revisions = 50
	for rev := int64(1); rev <= revisions; rev++ {
		if rev > 1 {
			e.Publish(snapshot(t, "w", rev, policy.LevelAll))
		}
		e.Check("w", "rep", "deals_view", nil)
		e.Check("w", "rep", "deals_view", nil)
	}
	runtime.GC()
	runtime.GC()
	if gone.Value() != nil {
		t.Errorf("the snapshot of revision 1 is still held after %d publishes without a flush", revisions-1)
	}
	e.Flush(context.Background())
	if got := sk.got["w/rep/deals_view"]; got != 2*revisions {
		t.Fatalf("usage %v, want w/rep/deals_view = %d", sk.got, 2*revisions)
	}
}

func TestCheck_DoesNotAllocate(t *testing.T) {
	e := engine.New(engine.Options{Usage: &sink{got: map[string]int64{}}})
	e.Publish(snapshot(t, "w", 1, policy.LevelAll))
	if n := testing.AllocsPerRun(1000, func() { e.Check("w", "rep", "deals_view", nil) }); n != 0 {
		t.Errorf("check allocates %v times", n)
	}
}

// TestConcurrentPublishAndCheck runs under -race: checks never see a torn
// state while snapshots are swapped.
func TestConcurrentPublishAndCheck(t *testing.T) {
	t.Parallel()
	e := engine.New(engine.Options{Usage: &sink{got: map[string]int64{}}})
	e.Publish(snapshot(t, "w", 1, policy.LevelAll))
	snaps := []*policy.Snapshot{}
	for rev := int64(2); rev < 50; rev++ {
		snaps = append(snaps, snapshot(t, "w", rev, policy.LevelAll))
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, s := range snaps {
			e.Publish(s)
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				if d, err := e.Check("w", "rep", "deals_view", nil); err != nil || !d.Allowed {
					t.Errorf("check during swaps: %+v %v", d, err)
					return
				}
			}
		})
	}
	wg.Go(func() { e.Flush(context.Background()) })
	wg.Wait()
}

// TestW1_ManyWorkspacesAddedWhileChecking adds workspaces one by one (the
// index merges its recent table into its base map as it fills) while
// readers check the ones already published: every published workspace is
// found at every moment, with its own snapshot, and Workspaces lists each
// once. Run under -race.
func TestW1_ManyWorkspacesAddedWhileChecking(t *testing.T) {
	const n = 700
	snaps := make([]*policy.Snapshot, n)
	for i := range snaps {
		lvl := policy.LevelAll
		if i%2 == 1 {
			lvl = policy.LevelNone
		}
		snaps[i] = snapshot(t, fmt.Sprintf("w%04d", i), 1, lvl)
	}
	e := engine.New(engine.Options{Usage: &sink{got: map[string]int64{}}})
	var published atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, s := range snaps {
			e.Publish(s)
			published.Store(int64(i + 1))
		}
	})
	for r := range 2 {
		wg.Go(func() {
			for k := 0; published.Load() < n; k++ {
				i := (k*7 + r) % int(max(published.Load(), 1))
				if published.Load() == 0 {
					continue
				}
				d, err := e.Check(fmt.Sprintf("w%04d", i), "rep", "deals_view", nil)
				if err != nil || d.Allowed != (i%2 == 0) {
					t.Errorf("w%04d while adding: %+v %v", i, d, err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ws := range e.Workspaces() {
		if seen[ws] {
			t.Errorf("Workspaces lists %s twice", ws)
		}
		seen[ws] = true
	}
	if len(seen) != n {
		t.Fatalf("Workspaces lists %d, want %d", len(seen), n)
	}
	for i := range n {
		ws := fmt.Sprintf("w%04d", i)
		if d, err := e.Check(ws, "rep", "deals_view", nil); err != nil || d.Allowed != (i%2 == 0) {
			t.Errorf("%s: %+v %v", ws, d, err)
		}
	}
	if _, err := e.Check("w9999", "rep", "deals_view", nil); policy.ErrorCode(err) != policy.CodeNotFound {
		t.Errorf("unknown workspace among many: %v", err)
	}
	// A workspace in the base map and one added since the last merge
	// are both checked without allocating.
	e.Publish(snapshot(t, "late", 1, policy.LevelAll))
	for _, ws := range []string{"w0000", "late"} {
		if a := testing.AllocsPerRun(200, func() { e.Check(ws, "rep", "deals_view", nil) }); a != 0 {
			t.Errorf("check in %s allocates %v times", ws, a)
		}
	}
}

// TestEngineDoesNotImportAdmin: the read path does not depend on the
// write path (issue 17): engine imports policy, not admin.
func TestEngineDoesNotImportAdmin(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			if strings.HasSuffix(strings.Trim(im.Path.Value, `"`), "/admin") {
				t.Errorf("%s imports %s", f, im.Path.Value)
			}
		}
	}
}
