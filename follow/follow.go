// Package follow keeps a node's snapshots current with the changes other
// nodes commit to a shared database. Notices (PostgreSQL's LISTEN/NOTIFY)
// bring a change within milliseconds; a poll of every workspace's revision
// makes good whatever a notice missed: a dropped notice, a lost
// connection, a node that was down. The follower also knows how current
// the node is, which /readyz and the metrics report: while the database is
// unreachable the node keeps answering decisions from its snapshots, and
// says since when they may be stale.
package follow

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Replica is the node's state that the follower brings up to date;
// admin.Service implements it.
type Replica interface {
	// Revision returns the revision a workspace is loaded at, false if it
	// is not loaded.
	Revision(ws string) (int64, bool)
	// Follow brings a workspace to revision rev or later.
	Follow(ctx context.Context, ws string, rev int64) error
	// Sync follows every workspace whose stored revision is ahead.
	Sync(ctx context.Context) (int, error)
}

// Listener delivers change notices; store/postgres implements it. Listen
// calls ready once notices flow and returns when the connection fails or
// ctx ends.
type Listener interface {
	Listen(ctx context.Context, ready func(), deliver func(admin.Notice)) error
}

// Options configures a Follower.
type Options struct {
	Replica Replica
	// Listener delivers notices; without one the follower only polls.
	Listener Listener
	// PollEvery is the interval of the revision poll; 1 s if zero.
	PollEvery time.Duration
	// StaleAfter is how long after the last successful poll the node's
	// snapshots count as stale; 3 × PollEvery if zero.
	StaleAfter time.Duration
	// Workers bounds the notices followed at once; 2 if zero.
	Workers int
	Now     func() time.Time
	Logger  *slog.Logger
}

// Follower runs the notice and poll loops of one node.
type Follower struct {
	o Options

	m metrics

	synced    atomic.Int64 // Unix nanoseconds of the start of the last successful poll
	listening atomic.Bool
	lastErr   atomic.Pointer[string]

	mu       sync.Mutex
	pending  map[string]admin.Notice // newest notice per workspace not yet followed
	inflight map[string]bool
	wake     chan struct{} // a notice is pending
	syncNow  chan struct{} // poll at once (after the listener (re)connects)
}

// New returns a Follower for a replica that was loaded just now.
func New(o Options) *Follower {
	if o.PollEvery <= 0 {
		o.PollEvery = time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 3 * o.PollEvery
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Follower{o: o, pending: map[string]admin.Notice{}, inflight: map[string]bool{},
		wake: make(chan struct{}, 1), syncNow: make(chan struct{}, 1)}
	f.synced.Store(o.Now().UnixNano())
	f.m = newMetrics(f)
	return f
}

// Status is how current a node's snapshots are.
type Status struct {
	// Age is the time since the node last confirmed that it holds every
	// committed change (its last successful poll).
	Age time.Duration
	// Stale is Age beyond Options.StaleAfter: the database has not been
	// reachable for a while, and changes made meanwhile (by nodes that
	// could reach it) may be missing here.
	Stale bool
	// Listening reports whether notices flow; without them changes arrive
	// with the poll.
	Listening bool
	// Err is the last poll's failure, "" after a success.
	Err string
}

// Status returns how current the node is now.
func (f *Follower) Status() Status {
	age := f.o.Now().Sub(time.Unix(0, f.synced.Load()))
	st := Status{Age: age, Stale: age > f.o.StaleAfter, Listening: f.listening.Load()}
	if e := f.lastErr.Load(); e != nil {
		st.Err = *e
	}
	return st
}

// Run follows until ctx ends.
func (f *Follower) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if f.o.Listener != nil {
		wg.Go(func() { f.listen(ctx) })
	}
	for range f.o.Workers {
		wg.Go(func() { f.work(ctx) })
	}
	wg.Go(func() { f.poll(ctx) })
	wg.Wait()
}

// listen keeps a notice connection open, reconnecting with backoff.
func (f *Follower) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := f.o.Listener.Listen(ctx, func() {
			f.listening.Store(true)
			backoff = 100 * time.Millisecond
			// Whatever was committed while no one listened arrives with a
			// poll, now rather than at the next tick.
			signal(f.syncNow)
		}, f.deliver)
		f.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		f.o.Logger.Warn("change notices interrupted; polling until they resume", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// deliver queues a notice unless the node already has its revision (its
// own writes, mostly).
func (f *Follower) deliver(n admin.Notice) {
	if rev, ok := f.o.Replica.Revision(n.Workspace); ok && rev >= n.Revision {
		return
	}
	f.mu.Lock()
	if p, ok := f.pending[n.Workspace]; !ok || p.Revision < n.Revision {
		f.pending[n.Workspace] = n
	}
	f.mu.Unlock()
	signal(f.wake)
}

// work follows pending notices, one workspace at a time per worker; the
// notices for a workspace that arrive while it is being followed are
// coalesced into one more follow.
func (f *Follower) work(ctx context.Context) {
	for {
		n, ok := f.next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
				continue
			}
		}
		err := f.o.Replica.Follow(ctx, n.Workspace, n.Revision)
		f.mu.Lock()
		delete(f.inflight, n.Workspace)
		more := len(f.pending) > 0
		f.mu.Unlock()
		if more {
			signal(f.wake)
		}
		switch {
		case err == nil:
			f.m.propagation.Observe(f.o.Now().Sub(n.Time).Seconds())
		case ctx.Err() != nil:
			return
		case policy.ErrorCode(err) == policy.CodeNotFound:
			// Committed and gone cannot happen (workspaces are never
			// deleted); a notice from a foreign writer is ignored.
		default:
			// The poll retries it; no retry loop here while the database
			// is away.
			f.o.Logger.Warn("follow a change", "workspace", n.Workspace, "revision", n.Revision, "err", err)
		}
	}
}

// next takes a pending notice of a workspace no worker is following.
func (f *Follower) next() (admin.Notice, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ws, n := range f.pending {
		if !f.inflight[ws] {
			delete(f.pending, ws)
			f.inflight[ws] = true
			return n, true
		}
	}
	return admin.Notice{}, false
}

// poll syncs every PollEvery, and at once when asked.
func (f *Follower) poll(ctx context.Context) {
	t := time.NewTicker(f.o.PollEvery)
	defer t.Stop()
	for {
		f.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.syncNow:
		}
	}
}

func (f *Follower) sync(ctx context.Context) {
	start := f.o.Now()
	n, err := f.o.Replica.Sync(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		if prev := f.lastErr.Swap(&msg); prev == nil {
			f.o.Logger.Warn("sync with the database failed; serving decisions from the snapshots in memory", "err", err)
		}
		f.m.syncs.WithLabelValues("failed").Inc()
		return
	}
	if prev := f.lastErr.Swap(nil); prev != nil {
		f.o.Logger.Info("sync with the database restored", "stale_for", start.Sub(time.Unix(0, f.synced.Load())))
	}
	f.m.syncs.WithLabelValues("ok").Inc()
	if n > 0 {
		f.m.polled.Add(float64(n))
		f.o.Logger.Debug("followed by poll", "workspaces", n)
	}
	f.synced.Store(start.UnixNano())
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
