package node

import (
	"context"
	"log/slog"
	"time"
)

// ReviewEvery is the longest a node's review loop sleeps: it re-reads the
// next deadline at least this often, which is how it learns of campaigns
// opened or changed on other nodes (those nodes arm their own timers at
// once). The loop otherwise wakes at the next deadline (V2).
const ReviewEvery = 30 * time.Second

// reviewRetry is the wait after a close failed (the database away).
const reviewRetry = time.Second

// reviewCloser is what the loop needs of admin.Service.
type reviewCloser interface {
	CloseDueReviews(ctx context.Context) (int, error)
	NextReviewDeadline() time.Time
	ReviewWake() <-chan struct{}
	Now() time.Time
}

// closeDueReviews closes due access reviews until ctx ends (V2: items
// still open at the deadline take the default). Every node runs it; each
// close happens once, the store's compare-and-set deciding which node
// makes it (admin.Service.CloseDueReviews).
func (n *Node) closeDueReviews(ctx context.Context, every time.Duration, log *slog.Logger) {
	runReviewDeadlines(ctx, n.Admin, every, log, time.After)
}

// runReviewDeadlines is the loop: close what is due, then sleep until the
// earliest deadline of a campaign not closed (at most every), or until a
// write of this node changes a campaign. after is the timer (time.After;
// tests inject theirs, with the service's clock injected too).
func runReviewDeadlines(ctx context.Context, s reviewCloser, every time.Duration, log *slog.Logger, after func(time.Duration) <-chan time.Time) {
	wake := s.ReviewWake()
	for {
		wait := every
		if k, err := s.CloseDueReviews(ctx); err != nil && ctx.Err() == nil {
			log.Warn("closing due access reviews", "err", err, "closed", k)
			wait = min(every, reviewRetry)
		} else {
			if k > 0 {
				log.Info("closed due access reviews", "closed", k)
			}
			if next := s.NextReviewDeadline(); !next.IsZero() {
				wait = min(every, max(next.Sub(s.Now()), 0))
			}
			if wait == 0 && k == 0 { // due, yet nothing closed (a workspace gone): no busy loop
				wait = min(every, reviewRetry)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-after(wait):
		case <-wake:
		}
	}
}
