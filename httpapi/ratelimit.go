package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// limiters holds one token bucket per API key (Config.RateLimit): a key
// that sends faster than its rate, beyond its burst, gets 429
// rate_limited with Retry-After, and other keys are not slowed by it.
// Buckets are per key, never global: a check takes only its own key's
// bucket lock.
type limiters struct {
	rate  rate.Limit
	burst int
	m     sync.Map // key id ("deployment" for the admin key) → *rate.Limiter
}

func newLimiters(perSecond float64, burst int) *limiters {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limiters{rate: rate.Limit(perSecond), burst: burst}
}

// allow takes a token from the key's bucket, or returns the rate_limited
// error with the wait before the next token.
func (l *limiters) allow(w http.ResponseWriter, key string) error {
	if l == nil {
		return nil
	}
	v, ok := l.m.Load(key)
	if !ok {
		v, _ = l.m.LoadOrStore(key, rate.NewLimiter(l.rate, l.burst))
	}
	lim := v.(*rate.Limiter)
	if lim.Allow() {
		return nil
	}
	wait := time.Duration((1 - lim.Tokens()) / float64(l.rate) * float64(time.Second))
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return &policy.Error{Code: policy.CodeRateLimited,
		Message: "too many requests for this API key; retry after " + strconv.Itoa(secs) + " s",
		Details: map[string]any{"limit_per_second": float64(l.rate), "burst": l.burst}}
}
