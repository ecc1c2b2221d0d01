package admin

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Several nodes may serve one database. A node learns of the changes the
// others commit in two ways: notices (Follow), delivered within
// milliseconds when the store can deliver them, and Sync, which compares
// every workspace's stored revision with the loaded one and is what makes
// a lost notice, a dropped connection or a node's downtime harmless.
//
// A workspace that is behind takes the changelog's delta when it can (see
// followdelta.go for the rule) and is otherwise reloaded whole; either
// way in one consistent read of the store, and published: its snapshot
// moves from one committed revision to a later one, never backwards and
// never to a state no revision had.

// Follow brings a workspace to revision rev or later: it loads a workspace
// this node has not seen, and applies the changes since its loaded
// revision to one that is older, or reloads it (followDelta).
func (s *Service) Follow(ctx context.Context, ws string, rev int64) error {
	s.mu.Lock()
	sp, ok := s.spaces[ws]
	s.mu.Unlock()
	if !ok {
		_, err := s.space(ctx, ws)
		return err
	}
	sp.write.Lock()
	defer sp.write.Unlock()
	if sp.m != nil && sp.m.ws.Revision >= rev {
		return nil // this node's own write, or already followed
	}
	done, err := s.followDelta(ctx, sp, ws)
	if done {
		s.follows.deltas.Add(1)
		if err != nil {
			return fmt.Errorf("follow %s to revision %d: %w", ws, rev, err)
		}
		return nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("follow %s to revision %d: %w", ws, rev, err)
		}
		s.log.Warn("follow: the delta read failed; reloading", "workspace", ws, "err", err)
	}
	s.follows.reloads.Add(1)
	if err := s.reload(ctx, sp, ws); err != nil {
		return fmt.Errorf("follow %s to revision %d: %w", ws, rev, err)
	}
	return nil
}

// FollowCounts returns how many times Follow brought a loaded workspace
// forward by a delta and by a reload, since the service started.
func (s *Service) FollowCounts() (deltas, reloads int64) {
	return s.follows.deltas.Load(), s.follows.reloads.Load()
}

// Revision returns the revision of a workspace this node has loaded, and
// false if it has not loaded it.
func (s *Service) Revision(ws string) (int64, bool) {
	s.mu.Lock()
	sp, ok := s.spaces[ws]
	s.mu.Unlock()
	if !ok {
		return 0, false
	}
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	if sp.m == nil {
		return 0, false
	}
	return sp.m.ws.Revision, true
}

// Sync follows every workspace whose stored revision is ahead of this
// node's, loading the ones it has never seen, with up to GOMAXPROCS loads
// at a time. It returns how many it followed; the error joins every
// workspace's that failed, and the others are followed regardless.
func (s *Service) Sync(ctx context.Context) (int, error) {
	heads, err := s.store.Heads(ctx)
	if err != nil {
		return 0, fmt.Errorf("read workspace revisions: %w", err)
	}
	var behind []Head
	for _, h := range heads {
		if rev, ok := s.Revision(h.Workspace); !ok || rev < h.Revision {
			behind = append(behind, h)
		}
	}
	return len(behind), s.followAll(ctx, behind)
}

// followAll follows the heads with a few workers: loads are mostly waits
// on the database and compiles are CPU, so one per core overlaps both.
func (s *Service) followAll(ctx context.Context, heads []Head) error {
	work := make(chan Head)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(heads)) {
		wg.Go(func() {
			for h := range work {
				if err := s.Follow(ctx, h.Workspace, h.Revision); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, h := range heads {
		if ctx.Err() != nil {
			break
		}
		work <- h
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
