package node

import (
	"context"
	"log/slog"
	"time"
)

// ReviewEvery is how often a node closes the access review campaigns
// whose deadline has passed (V2).
const ReviewEvery = 30 * time.Second

// closeDueReviews closes due access reviews until ctx ends (V2: items
// still open at the deadline take the default). Every node runs it; each
// close happens once, the store's compare-and-set deciding which node
// makes it (admin.Service.CloseDueReviews).
func (n *Node) closeDueReviews(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if k, err := n.Admin.CloseDueReviews(ctx); err != nil && ctx.Err() == nil {
				log.Warn("closing due access reviews", "err", err, "closed", k)
			} else if k > 0 {
				log.Info("closed due access reviews", "closed", k)
			}
		}
	}
}
