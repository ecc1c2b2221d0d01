package engine

import (
	"context"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Run flushes usage counts every FlushEvery until ctx ends, then once
// more. It returns when the last flush is done.
func (e *Engine) Run(ctx context.Context) {
	if e.opts.Usage == nil {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(e.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			e.Flush(ctx)
		}
	}
}

// Flush writes what was counted since the last flush: one write per
// workspace with allowed decisions (U1). Counts of snapshots replaced
// since the last flush are drained too; a failed write is logged and its
// counts are dropped, never retried twice.
func (e *Engine) Flush(ctx context.Context) {
	if e.opts.Usage == nil {
		return
	}
	now := e.opts.Now()
	e.spaces.Load().each(func(ws string, sl *slot) { e.flush(ctx, now, ws, sl) })
}

// flush writes one workspace's counts.
func (e *Engine) flush(ctx context.Context, now time.Time, ws string, sl *slot) {
	sl.mu.Lock()
	sum, retired := sl.pending, sl.retired
	sl.pending, sl.retired = nil, nil
	sl.mu.Unlock()
	if sum == nil {
		sum = map[[2]string]int64{}
	}
	if retired != nil {
		retired.drain(sum)
	}
	if c := sl.counts.Load(); c != nil {
		c.drain(sum)
	}
	if len(sum) == 0 {
		return
	}
	us := make([]policy.Usage, 0, len(sum))
	for k, n := range sum {
		us = append(us, policy.Usage{RoleID: k[0], Permission: k[1], Count: n, LastUsed: now})
	}
	if err := e.opts.Usage.RecordUsage(ctx, ws, us); err != nil {
		e.flushFailed.Add(1)
		e.opts.Logger.Error("flush usage", "workspace", ws, "err", err)
	} else {
		e.flushOK.Add(1)
	}
}

// drain moves the counts into sum, keyed by (role id, permission): the
// revisions of one role count together.
func (c *counters) drain(sum map[[2]string]int64) {
	a := c.n.Load()
	if a == nil {
		return
	}
	perms := c.snap.Catalog().Permissions()
	np := len(perms)
	for i := range *a {
		if n := (*a)[i].Swap(0); n > 0 {
			ref := c.snap.RoleRevisionAt(i / np)
			sum[[2]string{ref.RoleID, perms[i%np].Key}] += n
		}
	}
}
