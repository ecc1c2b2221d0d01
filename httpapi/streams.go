package httpapi

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// DefaultMaxStreams is how many long polls and SSE streams of the event
// feed one API key may hold open at once when Config.MaxStreams is zero.
const DefaultMaxStreams = 16

// streams counts each key's open long polls and SSE streams (A3): each
// holds a goroutine or two and a connection for up to a minute, or for
// as long as a stream lasts, so one key could hold thousands (400
// streams of one key held 800 goroutines). Over the cap a key gets 429
// rate_limited; other keys are not affected.
type streams struct {
	max  int
	mu   sync.Mutex
	open map[string]int // key id ("deployment" for the admin key) → open
}

func newStreams(max int) *streams {
	if max <= 0 {
		max = DefaultMaxStreams
	}
	return &streams{max: max, open: map[string]int{}}
}

// acquire counts one more stream of key, or returns rate_limited when
// the key holds the most it may. The caller releases what it acquired.
func (s *streams) acquire(w http.ResponseWriter, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key] >= s.max {
		w.Header().Set("Retry-After", "5")
		return &policy.Error{Code: policy.CodeRateLimited,
			Message: fmt.Sprintf("this API key already holds %d open event long polls or streams, the most it may; close one, or retry later", s.max),
			Details: map[string]any{"max_streams": s.max}}
	}
	s.open[key]++
	return nil
}

func (s *streams) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key]--; s.open[key] <= 0 {
		delete(s.open, key)
	}
}
