package engine

import (
	"context"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// UsageSink stores usage counts; admin.Service implements it. The engine
// does not import admin: the read path does not depend on the write path.
type UsageSink interface {
	RecordUsage(ctx context.Context, workspace string, u []policy.Usage) error
}

// Options configures an Engine.
type Options struct {
	// Usage receives counts on every flush; counting is off if nil.
	Usage UsageSink
	// FlushEvery is the flush interval of Run; 5 s if zero.
	FlushEvery time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Logger receives flush failures; discarded if nil.
	Logger *slog.Logger
}

// Engine holds the snapshots of every workspace. It implements
// admin.Publisher (asserted where the two meet: cmd/gatehouse).
type Engine struct {
	opts Options
	// spaces finds a workspace's slot; checks read it without a lock
	// (see index).
	spaces atomic.Pointer[index]
	mu     sync.Mutex // serializes adding to spaces
	// added is closed and replaced when a workspace first appears, for
	// WaitFor on a workspace another node created a moment ago. Guarded by
	// mu.
	added chan struct{}

	flushOK, flushFailed atomic.Int64
}

// Flushes returns how many usage writes succeeded and failed so far.
func (e *Engine) Flushes() (ok, failed int64) { return e.flushOK.Load(), e.flushFailed.Load() }

// slot is one workspace.
type slot struct {
	ws     string
	snap   atomic.Pointer[policy.Snapshot]
	counts atomic.Pointer[counters]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every publish
	// retired holds the counters of the snapshot replaced last, which a
	// check that loaded them just before may still count into; the next
	// publish or flush drains them into pending. Only one generation is
	// kept, so a replaced snapshot is not held for the rest of the flush
	// interval (with hundreds of writes a second, that was gigabytes).
	retired *counters
	pending map[[2]string]int64 // drained counts, keyed by (role id, permission)
}

// counters counts allowed decisions of one snapshot per (role revision,
// permission). The array (roles × permissions × 8 B, ~10 KB for a
// workspace of predefined roles) is made by the first allowed check, so
// the many workspaces of a node that nobody checks cost nothing.
type counters struct {
	snap *policy.Snapshot
	n    atomic.Pointer[[]atomic.Int64]
}

// New returns an empty Engine.
func New(o Options) *Engine {
	if o.FlushEvery <= 0 {
		o.FlushEvery = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: o, added: make(chan struct{})}
	e.spaces.Store(newIndex(map[string]*slot{}, maphash.MakeSeed()))
	return e
}

func (e *Engine) slot(ws string) *slot {
	return e.spaces.Load().get(ws)
}

// Publish installs a workspace's new snapshot, unless the engine already
// has a newer one, and wakes readers waiting for its revision.
func (e *Engine) Publish(s *policy.Snapshot) {
	sl := e.slot(s.Workspace())
	if sl == nil && e.add(s) {
		return
	}
	if sl == nil {
		sl = e.slot(s.Workspace())
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if cur := sl.snap.Load(); cur.Revision() > s.Revision() {
		return
	}
	if old := sl.counts.Swap(e.counters(s)); old != nil {
		sl.retire(old, e.opts.Usage != nil)
	}
	sl.snap.Store(s)
	close(sl.changed)
	sl.changed = make(chan struct{})
}

// retire makes c the retired counters, draining the previous ones into
// pending (or dropping them when nothing records usage). The caller holds
// sl.mu.
func (sl *slot) retire(c *counters, keep bool) {
	if sl.retired != nil && keep {
		if sl.pending == nil {
			sl.pending = map[[2]string]int64{}
		}
		sl.retired.drain(sl.pending)
	}
	sl.retired = c
}

// add installs the first snapshot of a workspace, in a slot that has it
// before anyone can see the slot, and wakes WaitFor calls waiting for the
// workspace to appear. It returns false if another Publish added the
// workspace first. Amortized O(1) (see index).
func (e *Engine) add(s *policy.Snapshot) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.spaces.Load()
	if x.get(s.Workspace()) != nil {
		return false
	}
	sl := &slot{ws: s.Workspace(), changed: make(chan struct{})}
	sl.snap.Store(s)
	sl.counts.Store(e.counters(s))
	if next := x.put(sl); next != x {
		e.spaces.Store(next)
	}
	close(e.added)
	e.added = make(chan struct{})
	return true
}

// counters returns fresh usage counters for s, nil when counting is off.
func (e *Engine) counters(s *policy.Snapshot) *counters {
	if e.opts.Usage == nil {
		return nil
	}
	return &counters{snap: s}
}

// Snapshot returns a workspace's current snapshot. not_found if the engine
// has none.
func (e *Engine) Snapshot(ws string) (*policy.Snapshot, error) {
	if sl := e.slot(ws); sl != nil {
		if s := sl.snap.Load(); s != nil {
			return s, nil
		}
	}
	return nil, noWorkspace(ws)
}

// Check decides one check (D1, D2) on a workspace's current snapshot and
// counts it if allowed (U1). No lock, no allocation.
func (e *Engine) Check(ws, user, permission string, r *policy.Resource) (policy.Decision, error) {
	sl := e.slot(ws)
	if sl == nil {
		return policy.Decision{}, noWorkspace(ws)
	}
	return sl.check(sl.snap.Load(), user, permission, r, nil)
}

// CheckIn decides one check on s, a snapshot of workspace ws that
// Snapshot or WaitFor returned, and counts it if allowed (U1). A batch
// uses it to decide every check at one revision. No lock, no allocation.
func (e *Engine) CheckIn(s *policy.Snapshot, user, permission string, r *policy.Resource) (policy.Decision, error) {
	return e.CheckInContext(s, user, permission, r, nil)
}

// CheckInContext is CheckIn with a request context for grant conditions
// (G1).
func (e *Engine) CheckInContext(s *policy.Snapshot, user, permission string, r *policy.Resource, ctx policy.Context) (policy.Decision, error) {
	sl := e.slot(s.Workspace())
	if sl == nil {
		return s.CheckContext(user, permission, r, ctx)
	}
	return sl.check(s, user, permission, r, ctx)
}

func (sl *slot) check(s *policy.Snapshot, user, permission string, r *policy.Resource, ctx policy.Context) (policy.Decision, error) {
	d, err := s.CheckContext(user, permission, r, ctx)
	if err == nil && d.Allowed {
		if c := sl.counts.Load(); c != nil && c.snap == s {
			c.count(d)
		}
	}
	return d, err
}

// Changed returns a workspace's current revision and a channel that is
// closed when a newer snapshot is published: the event feed (A3) waits on
// it. not_found if the engine has no such workspace.
func (e *Engine) Changed(ws string) (int64, <-chan struct{}, error) {
	sl := e.slot(ws)
	if sl == nil {
		return 0, nil, noWorkspace(ws)
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.snap.Load().Revision(), sl.changed, nil
}

// Workspaces returns the ids of the workspaces the engine holds, unsorted.
func (e *Engine) Workspaces() []string {
	var out []string
	e.spaces.Load().each(func(ws string, _ *slot) { out = append(out, ws) })
	return out
}

// count adds one allowed decision.
func (c *counters) count(d policy.Decision) {
	if i := c.snap.UsageSlot(d); i >= 0 { // else a direct grant, ownership or relation access decided
		n := c.n.Load()
		if n == nil { // the snapshot's first counted check
			a := make([]atomic.Int64, c.snap.NumRoleRevisions()*c.snap.Catalog().NumPermissions())
			c.n.CompareAndSwap(nil, &a)
			n = c.n.Load()
		}
		(*n)[i].Add(1)
	}
}

// maxWait bounds WaitFor (D8).
const maxWait = time.Second

// WaitFor returns a workspace's snapshot once it is at revision min or
// later (D8: read-your-writes across nodes), waiting at most a second or
// until ctx ends; then revision_unavailable. A workspace this node has
// not loaded yet (created on another node a moment ago) is waited for
// too, then not_found.
func (e *Engine) WaitFor(ctx context.Context, ws string, min int64) (*policy.Snapshot, error) {
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		e.mu.Lock()
		sl, added := e.slot(ws), e.added
		e.mu.Unlock()
		if sl == nil {
			select {
			case <-added:
				continue
			case <-timer.C:
			case <-ctx.Done():
			}
			return nil, noWorkspace(ws)
		}
		sl.mu.Lock()
		s, changed := sl.snap.Load(), sl.changed
		sl.mu.Unlock()
		if s.Revision() >= min {
			return s, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, unavailable(ws, min, s.Revision())
		case <-ctx.Done():
			return nil, unavailable(ws, min, s.Revision())
		}
	}
}

func unavailable(ws string, min, have int64) error {
	return &policy.Error{Code: policy.CodeRevisionUnavailable,
		Message: "workspace " + ws + " has not reached the requested revision yet; retry shortly",
		Details: map[string]any{"min_revision": min, "revision": have}}
}

// noWorkspace is the not_found answer for a workspace the engine does not
// hold, worded like the store's and the API's (W1: one answer for every
// route).
func noWorkspace(ws string) error {
	return &policy.Error{Code: policy.CodeNotFound, Message: "no workspace " + strconv.Quote(ws), Details: map[string]any{"workspace": ws}}
}
