package follow_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/follow"
)

// replica is a fake node state: loaded revisions, the database's heads,
// and what was followed in which order.
type replica struct {
	mu       sync.Mutex
	loaded   map[string]int64
	heads    map[string]int64
	down     bool
	followed []admin.Notice
	syncs    int
}

func newReplica() *replica {
	return &replica{loaded: map[string]int64{}, heads: map[string]int64{}}
}

func (r *replica) Revision(ws string) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rev, ok := r.loaded[ws]
	return rev, ok
}

func (r *replica) Follow(_ context.Context, ws string, rev int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errors.New("database down")
	}
	if r.loaded[ws] < rev {
		// Like admin.Service: a reload reads whatever is committed now.
		r.loaded[ws] = max(rev, r.heads[ws])
		r.followed = append(r.followed, admin.Notice{Workspace: ws, Revision: r.loaded[ws]})
	}
	return nil
}

func (r *replica) Sync(ctx context.Context) (int, error) {
	r.mu.Lock()
	r.syncs++
	if r.down {
		r.mu.Unlock()
		return 0, errors.New("database down")
	}
	var behind []admin.Notice
	for ws, rev := range r.heads {
		if r.loaded[ws] < rev {
			behind = append(behind, admin.Notice{Workspace: ws, Revision: rev})
		}
	}
	r.mu.Unlock()
	for _, n := range behind {
		r.Follow(ctx, n.Workspace, n.Revision)
	}
	return len(behind), nil
}

func (r *replica) commit(ws string) admin.Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.heads[ws]++
	return admin.Notice{Workspace: ws, Revision: r.heads[ws], Time: time.Now()}
}

func (r *replica) at(ws string) int64 {
	rev, _ := r.Revision(ws)
	return rev
}

func (r *replica) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// listener hands the test's notices to the follower.
type listener struct {
	notices chan admin.Notice
	drop    chan struct{} // a send cuts the connection
	ready   chan struct{}
}

func newListener() *listener {
	return &listener{notices: make(chan admin.Notice), drop: make(chan struct{}), ready: make(chan struct{}, 8)}
}

func (l *listener) Listen(ctx context.Context, ready func(), deliver func(admin.Notice)) error {
	ready()
	l.ready <- struct{}{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.drop:
			return errors.New("connection lost")
		case n := <-l.notices:
			deliver(n)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func run(t *testing.T, o follow.Options) *follow.Follower {
	f := follow.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// Notices bring changes long before the poll would (the poll interval is
// an hour here), each workspace only ever moving forward.
func TestNoticesBringChanges(t *testing.T) {
	t.Parallel()
	r := newReplica()
	l := newListener()
	run(t, follow.Options{Replica: r, Listener: l, PollEvery: time.Hour})
	<-l.ready
	for range 50 {
		l.notices <- r.commit("a")
		l.notices <- r.commit("b")
	}
	waitUntil(t, "both workspaces at 50", func() bool { return r.at("a") == 50 && r.at("b") == 50 })
	r.mu.Lock()
	defer r.mu.Unlock()
	last := map[string]int64{}
	for _, n := range r.followed {
		if n.Revision <= last[n.Workspace] {
			t.Fatalf("%s followed to %d after %d", n.Workspace, n.Revision, last[n.Workspace])
		}
		last[n.Workspace] = n.Revision
	}
}

// A lost notice, or changes made while the listener was reconnecting, are
// brought by the poll; a reconnect polls at once.
func TestPollMakesGoodLostNotices(t *testing.T) {
	t.Parallel()
	r := newReplica()
	l := newListener()
	run(t, follow.Options{Replica: r, Listener: l, PollEvery: time.Hour})
	<-l.ready
	// One poll on start, one because the listener connected; then none for an hour.
	waitUntil(t, "the first polls", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.syncs == 2 })
	r.commit("a") // its notice is lost
	r.commit("a")
	l.drop <- struct{}{} // the connection drops; the listener comes back
	<-l.ready
	waitUntil(t, "the poll after reconnecting", func() bool { return r.at("a") == 2 })

	r2 := newReplica()
	run(t, follow.Options{Replica: r2, PollEvery: 5 * time.Millisecond}) // no listener at all
	r2.commit("x")
	waitUntil(t, "a poll-only follower", func() bool { return r2.at("x") == 1 })
}

// While the database is away the follower reports growing staleness, and
// it recovers by itself.
func TestStaleWhileDatabaseDown(t *testing.T) {
	t.Parallel()
	r := newReplica()
	f := run(t, follow.Options{Replica: r, PollEvery: 5 * time.Millisecond, StaleAfter: 30 * time.Millisecond})
	waitUntil(t, "a first poll", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.syncs > 0 })
	if st := f.Status(); st.Stale || st.Err != "" {
		t.Fatalf("fresh follower: %+v", st)
	}
	r.setDown(true)
	waitUntil(t, "stale", func() bool { return f.Status().Stale })
	if st := f.Status(); st.Err == "" || st.Age < 30*time.Millisecond {
		t.Errorf("stale status: %+v", st)
	}
	r.commit("a") // committed elsewhere while this node cannot see it
	r.setDown(false)
	waitUntil(t, "recovery", func() bool { return !f.Status().Stale && r.at("a") == 1 })
	if st := f.Status(); st.Err != "" {
		t.Errorf("after recovery: %+v", st)
	}
}
