package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogram_BucketsCoverEveryDuration(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 31, 32, 33, 63, 64, 65, 1000, time.Microsecond, time.Millisecond,
		time.Second, time.Hour, 1<<62 + 12345, 1<<63 - 1} {
		i := bucket(d)
		if d > upper(i) || (i > 0 && d <= upper(i-1)) {
			t.Errorf("%d ns went to bucket %d, which holds (%d, %d]", d, i, upper(i-1), upper(i))
		}
	}
}

// TestHistogram_QuantilesWithin3Percent compares the histogram's
// quantiles with the exact ones of the same random durations.
func TestHistogram_QuantilesWithin3Percent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h, a, b Histogram
	var all []time.Duration
	for i := range 100_000 {
		// Log-uniform from 1 µs to ~1 s, like request latencies.
		d := time.Duration(float64(time.Microsecond) * float64(uint64(1)<<r.IntN(20)) * (1 + r.Float64()))
		all = append(all, d)
		h.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	slices.Sort(all)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := all[int(q*float64(len(all)-1))]
		got := h.Quantile(q)
		if got < exact-exact/32 || got > exact+exact/32 {
			t.Errorf("quantile %v = %v, exact %v: more than 3%% off", q, got, exact)
		}
		if m := a.Quantile(q); m != got {
			t.Errorf("quantile %v of two merged halves = %v, of the whole %v", q, m, got)
		}
	}
	if h.Count() != int64(len(all)) || h.Max() != all[len(all)-1] {
		t.Errorf("count %d, max %v; want %d, %v", h.Count(), h.Max(), len(all), all[len(all)-1])
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("an empty histogram's median is not 0")
	}
}
