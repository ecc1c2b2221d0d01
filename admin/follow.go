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

// BulkLoader is a Store that can also load workspaces many at a time,
// in id order, each exactly as Load would (one consistent read per
// range): Open and Sync use it to load the workspaces a node has not
// seen with a dozen queries per range instead of a dozen per workspace.
type BulkLoader interface {
	// LoadRange returns the workspaces whose ids follow after, at most
	// limit, in id order; none when there are no more.
	LoadRange(ctx context.Context, after string, limit int) ([]*Dataset, error)
}

// bulkMin is how many unloaded workspaces make Sync load them in ranges;
// bulkRange is how many workspaces one range read holds.
const (
	bulkMin   = 32
	bulkRange = 128
)

// Sync follows every workspace whose stored revision is ahead of this
// node's, loading the ones it has never seen, with up to GOMAXPROCS loads
// at a time; when many are unloaded (at Open) and the store is a
// BulkLoader, they are loaded in ranges, reads overlapping compiles. It
// returns how many it followed; the error joins every workspace's that
// failed, and the others are followed regardless.
func (s *Service) Sync(ctx context.Context) (int, error) {
	heads, err := s.store.Heads(ctx)
	if err != nil {
		return 0, fmt.Errorf("read workspace revisions: %w", err)
	}
	behind := s.behind(heads)
	n := len(behind)
	var errs []error
	if bl, ok := s.store.(BulkLoader); ok && s.unloaded(behind) >= bulkMin {
		if err := s.loadRanges(ctx, bl, behind); err != nil {
			errs = append(errs, err)
		}
		behind = s.behind(behind) // what the ranges missed: created or changed meanwhile
	}
	if err := s.followAll(ctx, behind); err != nil {
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// behind returns the heads whose workspace this node has not loaded or
// has loaded at an older revision.
func (s *Service) behind(heads []Head) []Head {
	var out []Head
	for _, h := range heads {
		if rev, ok := s.Revision(h.Workspace); !ok || rev < h.Revision {
			out = append(out, h)
		}
	}
	return out
}

func (s *Service) unloaded(heads []Head) int {
	n := 0
	for _, h := range heads {
		if _, ok := s.Revision(h.Workspace); !ok {
			n++
		}
	}
	return n
}

// loadRanges loads the workspaces of heads (sorted by id, as Heads
// returns them) in ranges of bulkRange: the range after heads[i-1] holds
// heads[i:i+bulkRange] unless workspaces were created meanwhile, which
// Sync then follows one by one. A few workers each read a range and
// install its workspaces, so one worker's read overlaps another's
// compiles; a range's datasets are dropped once installed, so the heap
// holds a few ranges, never the whole database.
func (s *Service) loadRanges(ctx context.Context, bl BulkLoader, heads []Head) error {
	type span struct {
		after string
		want  map[string]bool
	}
	var spans []span
	for i := 0; i < len(heads); i += bulkRange {
		sp := span{want: map[string]bool{}}
		if i > 0 {
			sp.after = heads[i-1].Workspace
		}
		for _, h := range heads[i:min(i+bulkRange, len(heads))] {
			sp.want[h.Workspace] = true
		}
		spans = append(spans, sp)
	}
	work := make(chan span)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for range min(runtime.GOMAXPROCS(0)+1, len(spans)) {
		wg.Go(func() {
			for sp := range work {
				ds, err := bl.LoadRange(ctx, sp.after, bulkRange)
				if err != nil {
					fail(err)
					continue
				}
				for _, d := range ds {
					if sp.want[d.Workspace.ID] {
						if err := s.installLoaded(d); err != nil {
							fail(err)
						}
					}
				}
			}
		})
	}
	for _, sp := range spans {
		if ctx.Err() != nil {
			break
		}
		work <- sp
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// installLoaded installs a workspace read by a range load, unless this
// node has meanwhile loaded it at the same or a later revision.
func (s *Service) installLoaded(d *Dataset) error {
	id := d.Workspace.ID
	s.mu.Lock()
	sp, ok := s.spaces[id]
	if !ok {
		sp = &space{}
		s.spaces[id] = sp
	}
	s.mu.Unlock()
	sp.write.Lock()
	defer sp.write.Unlock()
	if sp.m != nil && sp.m.ws.Revision >= d.Workspace.Revision {
		return nil
	}
	if err := s.install(sp, id, d); err != nil {
		s.mu.Lock()
		if s.spaces[id] == sp && sp.m == nil {
			delete(s.spaces, id)
		}
		s.mu.Unlock()
		return err
	}
	return nil
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
