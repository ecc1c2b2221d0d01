package admin

import (
	"maps"
	"slices"
	"time"
)

// This file lets a node close access reviews at their deadline (V2)
// rather than on a poll: NextReviewDeadline is the earliest instant a
// loaded campaign is due, and ReviewWake signals every committed write
// of this service that opened, changed or closed a campaign, so the
// node's timer is re-armed at once. Changes made by other nodes arrive
// through the follower; the node's loop re-reads NextReviewDeadline at
// least every ReviewEvery, and the node that made the change arms its own
// timer at once.

// ReviewWake returns a channel that receives (at most one pending value)
// after each committed write of s that changed a campaign.
func (s *Service) ReviewWake() <-chan struct{} { return s.reviewWake }

// wakeReviews is an update's then: the write is committed and merged.
func (s *Service) wakeReviews(*view) {
	select {
	case s.reviewWake <- struct{}{}:
	default:
	}
}

// Now is the service's clock (Options.Now).
func (s *Service) Now() time.Time { return s.now() }

// NextReviewDeadline returns the earliest deadline of a campaign, among
// the workspaces this service has loaded, that is not closed yet; a
// campaign whose close was interrupted (closing) is due now. Zero when
// none.
func (s *Service) NextReviewDeadline() time.Time {
	s.mu.Lock()
	spaces := slices.Collect(maps.Values(s.spaces))
	s.mu.Unlock()
	var next time.Time
	for _, sp := range spaces {
		sp.mu.RLock()
		if sp.m != nil {
			for _, r := range sp.m.reviews {
				at := r.Deadline
				if r.Status == ReviewClosing {
					at = s.now()
				}
				if r.Status != ReviewClosed && (next.IsZero() || at.Before(next)) {
					next = at
				}
			}
		}
		sp.mu.RUnlock()
	}
	return next
}
