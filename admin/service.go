package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Publisher receives a workspace's new snapshot after every committed
// change, in revision order. engine.Engine implements it.
type Publisher interface {
	Publish(s *policy.Snapshot)
}

// Options configures a Service. The zero value of each field has a default.
type Options struct {
	// Catalog is the deployment catalog; policy.DefaultCatalog() if nil.
	Catalog *policy.Catalog
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Logger receives operational messages; discarded if nil.
	Logger *slog.Logger
	// Publisher receives snapshots; none if nil.
	Publisher Publisher
	// AuditKeys key the audit chain (X4): the last signs new entries,
	// every one verifies. Without keys, entries are written unkeyed (a
	// plain SHA-256 chain that whoever can write the database can
	// recompute) and verify says so.
	AuditKeys []AuditKey
	// ExpiryTimers makes the service watch the expiry of assignments and
	// direct grants (T1, T2): at each instant it republishes the
	// workspace's snapshot without what expired and commits the expiry.
	// Without it, expired access is still never honoured by what the
	// service compiles after the instant, and ExpireDue commits it.
	ExpiryTimers bool
	// FollowMin is the fewest members of a workspace, and holders of an
	// applied role, for which an apply moves the role's followers without
	// reading them (see follows); 0 is FollowMin. Tests lower it so that
	// small workspaces take that way.
	FollowMin int
}

// Service performs admin operations on the workspaces of one Store.
type Service struct {
	store     Store
	catalog   *policy.Catalog
	now       func() time.Time
	log       *slog.Logger
	pub       Publisher
	audit     auditKeyring
	timers    bool
	followMin int // Options.FollowMin
	// reviewWake receives (at most one pending value) after each
	// committed write that changed a campaign; see ReviewWake.
	reviewWake chan struct{}

	mu     sync.Mutex
	spaces map[string]*space

	// keys indexes every loaded workspace's API keys by key id; it is
	// replaced, never changed, so Authenticate reads it without a lock.
	keys  atomic.Pointer[map[string]*APIKey]
	keyMu sync.Mutex

	// follows counts Follow's deltas and reloads (FollowCounts).
	follows struct{ deltas, reloads atomic.Int64 }
}

// space is one workspace served by this process.
type space struct {
	write sync.Mutex // serializes writes, and use of the model's vector cache
	// mu guards m against the merge of a committed write. pubMu orders
	// publications (a write's, a follow's, an expiry's: see mask); whoever
	// takes both takes pubMu first.
	mu    sync.RWMutex
	m     *model
	pubMu sync.Mutex

	// The expiry timer (T1): see arm. Guarded by timerMu.
	timerMu sync.Mutex
	timer   *time.Timer
	timerAt time.Time
	closed  bool
}

// New returns a Service over store.
func New(store Store, o Options) *Service {
	s := &Service{store: store, catalog: o.Catalog, now: o.Now, log: o.Logger, pub: o.Publisher, spaces: map[string]*space{}, reviewWake: make(chan struct{}, 1),
		audit: newAuditKeyring(o.AuditKeys), timers: o.ExpiryTimers, followMin: o.FollowMin}
	if s.catalog == nil {
		s.catalog = policy.DefaultCatalog()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.keys.Store(&map[string]*APIKey{})
	return s
}

// Catalog returns the deployment catalog.
func (s *Service) Catalog() *policy.Catalog { return s.catalog }

// Open loads every stored workspace and publishes its snapshot: what a
// restart does. It fails if any workspace fails to load.
func (s *Service) Open(ctx context.Context) error {
	_, err := s.Sync(ctx)
	return err
}

// space returns the served workspace id, loading it on first use.
func (s *Service) space(ctx context.Context, id string) (*space, error) {
	s.mu.Lock()
	sp, ok := s.spaces[id]
	if !ok {
		sp = &space{}
		s.spaces[id] = sp
	}
	s.mu.Unlock()
	sp.write.Lock()
	defer sp.write.Unlock()
	if sp.m != nil {
		return sp, nil
	}
	if err := s.reload(ctx, sp, id); err != nil {
		s.mu.Lock()
		if s.spaces[id] == sp && sp.m == nil {
			delete(s.spaces, id)
		}
		s.mu.Unlock()
		return nil, err
	}
	return sp, nil
}

// reload rebuilds a space's model from the store and publishes it. The
// caller holds sp.write.
func (s *Service) reload(ctx context.Context, sp *space, id string) error {
	d, err := s.store.Load(ctx, id)
	if err != nil {
		return fmt.Errorf("load workspace %s: %w", id, err)
	}
	return s.install(sp, id, d)
}

// install builds a space's model from a loaded dataset and publishes it.
// The caller holds sp.write.
func (s *Service) install(sp *space, id string, d *Dataset) error {
	m, err := newModel(s.catalog, d, s.now, s.followMin)
	if err != nil {
		return fmt.Errorf("load workspace %s: %w", id, err)
	}
	sp.pubMu.Lock()
	defer sp.pubMu.Unlock()
	sp.mu.Lock()
	sp.m = m
	sp.mu.Unlock()
	s.indexKeys(id, m.keys)
	s.publish(sp)
	return nil
}

// publish hands the model's snapshot to the publisher and arms the
// workspace's expiry timer. The caller holds sp.pubMu.
func (s *Service) publish(sp *space) {
	s.arm(sp)
	if s.pub != nil {
		s.pub.Publish(sp.m.snap)
	}
}

// read runs fn with the workspace's model, read-only.
func (s *Service) read(ctx context.Context, ws string, fn func(m *model) error) error {
	sp, err := s.space(ctx, ws)
	if err != nil {
		return err
	}
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return fn(sp.m)
}

// maxAttempts bounds how often a write that lost a race to another process
// is recomputed.
const maxAttempts = 5

// update runs one write: fn changes a view, then the change is checked
// (X3, X4, C4 on members, A1), committed, merged and published. fn may run
// more than once (see maxAttempts), so it must not have side effects
// outside the view. A write that changes nothing commits nothing: no
// revision, no audit entry.
func (s *Service) update(ctx context.Context, ws string, w Write, action string, fn func(v *view) error, then ...func(v *view)) (*view, error) {
	if err := checkReason(w.Reason); err != nil {
		return nil, err
	}
	sp, err := s.space(ctx, ws)
	if err != nil {
		return nil, err
	}
	sp.write.Lock()
	defer sp.write.Unlock()
	if l, ok := s.store.(WorkspaceLocker); ok {
		unlock, err := l.LockWorkspace(ctx, ws)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	for attempt := 1; ; attempt++ {
		v := newView(sp.m, s.now().UTC(), w.Actor)
		v.reason, v.action, v.auditKey = w.Reason, action, s.audit.signer
		if v.auth, err = sp.m.authority(w.Actor); err != nil {
			return nil, err
		}
		if err := v.auth.Can(areaOf(action)); err != nil {
			return nil, err
		}
		if err := fn(v); err != nil {
			return nil, err
		}
		if v.empty() {
			// Nothing to commit, but a no-op is answered only within
			// the actor's authority, like the write it would have been.
			if err := v.checkEscalation(); err != nil {
				return nil, err
			}
			for _, f := range then {
				f(v)
			}
			return v, nil
		}
		c, err := v.finish()
		if err != nil {
			return nil, err
		}
		next := sp.m.nextSnapshot(v, s.log)
		err = s.store.Commit(ctx, c)
		snap := next()
		if errors.Is(err, ErrStale) && attempt < maxAttempts {
			s.log.Info("workspace changed by another writer; reloading", "workspace", ws, "attempt", attempt)
			if err := s.reload(ctx, sp, ws); err != nil {
				return nil, err
			}
			continue
		}
		if errors.Is(err, ErrStale) {
			return nil, policy.Errorf(policy.CodeUnavailable, "workspace %s is changing too fast; try again", ws)
		}
		if err != nil {
			return nil, fmt.Errorf("commit %s to workspace %s: %w", action, ws, err)
		}
		sp.pubMu.Lock()
		sp.mu.Lock()
		v.merge()
		err = sp.m.advanceTo(snap, v.members, v.followerEpochs)
		sp.mu.Unlock()
		if len(v.keysPut) > 0 || len(v.keysDeleted) > 0 {
			s.indexKeys(ws, sp.m.keys)
		}
		if err == nil {
			s.publish(sp)
		}
		sp.pubMu.Unlock()
		if err != nil {
			// The change is committed; a snapshot that cannot be compiled
			// is a bug. Reloading surfaces it again, or recovers.
			s.log.Error("compile snapshot; reloading", "workspace", ws, "err", err)
			if err := s.reload(ctx, sp, ws); err != nil {
				s.log.Error("reload after a failed compile", "workspace", ws, "err", err)
			}
		}
		for _, f := range then {
			f(v)
		}
		return v, nil
	}
}

// Write carries what every write operation takes besides its own
// arguments: who acts (X3) and why (X4).
type Write struct {
	Actor Actor
	// Reason is at most MaxReason characters; it is stored once per
	// write, however many audit entries the write makes.
	Reason string
}

// MaxReason is the most characters a write's reason may have (X4).
const MaxReason = 1000

// checkReason refuses a reason longer than MaxReason (X4): it is copied
// into the audit log, and before this bound one request could fill the
// log with megabytes of it.
func checkReason(reason string) error {
	if len(reason) <= MaxReason { // bytes ≥ characters
		return nil
	}
	if n := utf8.RuneCountInString(reason); n > MaxReason {
		return &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("a reason is at most %d characters, got %d", MaxReason, n),
			Details: map[string]any{"field": "reason", "limit": MaxReason, "got": n}}
	}
	return nil
}
