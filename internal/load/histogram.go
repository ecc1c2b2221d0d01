package load

import (
	"math/bits"
	"time"
)

// subBuckets is how many buckets split each power of two: a recorded
// duration is off by at most 1/32 (3%) of itself, whatever its size.
const subBuckets = 32

// Histogram counts durations in logarithmic buckets, so that a run of
// any length takes the same memory (15 KiB) and quantiles stay within 3%.
// The zero value is empty and ready; it is not safe for concurrent use:
// give each goroutine its own and Merge them.
type Histogram struct {
	counts [(64 - 5) * subBuckets]int64
	n      int64
	max    time.Duration
}

// bucket is the index of d's bucket: values below subBuckets exactly,
// then subBuckets buckets per power of two.
func bucket(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - 6 // v>>shift is in [32, 64)
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// upper is the largest duration bucket i holds.
func upper(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i)
	}
	shift := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return time.Duration((m+1)<<shift - 1)
}

// Record counts one duration.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucket(d)]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of durations recorded.
func (h *Histogram) Count() int64 { return h.n }

// Max is the longest duration recorded.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the duration at or below which a fraction q of the
// recorded ones lie (q = 0.99: the p99), rounded up to its bucket's upper
// bound and never above Max; 0 if nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
