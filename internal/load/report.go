package load

import (
	"fmt"
	"strings"
	"time"
)

// PerSecondRange is the fewest and most operations completed in one
// whole second of the run: how steadily its throughput was held.
func (r *Result) PerSecondRange() (lo, hi int64) {
	for i, n := range r.Seconds {
		if i == 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	return lo, hi
}

// Markdown is a table of the run's operations: share of the mix, rate,
// latency quantiles, errors and refusals.
func (r *Result) Markdown() string {
	var b strings.Builder
	count, _, _ := r.Total()
	b.WriteString("| operation | share | ops/s | p50 | p99 | max | errors | refused |\n|---|---|---|---|---|---|---|---|\n")
	for _, o := range r.Ops {
		fmt.Fprintf(&b, "| %s | %.1f%% | %.0f | %v | %v | %v | %d | %d |\n", o.Name, 100*float64(o.Count)/float64(max(count, 1)),
			o.PerSecond(r.Elapsed), round(o.Latency.Quantile(0.5)), round(o.Latency.Quantile(0.99)), round(o.Latency.Max()),
			o.Errors, o.Refused)
	}
	return b.String()
}

// round keeps two or three significant digits of a latency.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
