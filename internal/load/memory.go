package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one reading of a Go server's /metrics (the Prometheus Go and
// process collectors' series).
type Sample struct {
	// At is the time since the sampler started.
	At time.Duration
	// HeapInuse is go_memstats_heap_inuse_bytes: the heap's spans in
	// use, live objects and garbage not yet collected.
	HeapInuse float64
	// NextGC is go_memstats_next_gc_bytes, the heap size at which the
	// next collection starts: the live heap the last one found, plus
	// GOGC's headroom. It moves only at collections, so it shows the
	// live heap's trend without the sawtooth of HeapInuse.
	NextGC float64
	// RSS is process_resident_memory_bytes, the whole process.
	RSS        float64
	Goroutines float64
}

// sampleSeries are the series a Sample reads.
var sampleSeries = map[string]func(*Sample) *float64{
	"go_memstats_heap_inuse_bytes":  func(s *Sample) *float64 { return &s.HeapInuse },
	"go_memstats_next_gc_bytes":     func(s *Sample) *float64 { return &s.NextGC },
	"process_resident_memory_bytes": func(s *Sample) *float64 { return &s.RSS },
	"go_goroutines":                 func(s *Sample) *float64 { return &s.Goroutines },
}

// ParseSample reads the sample's series from a Prometheus text
// exposition (with Prometheus's own parser). A missing series is an error.
func ParseSample(text []byte) (Sample, error) {
	var s Sample
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return s, fmt.Errorf("load: /metrics: %w", err)
	}
	for name, field := range sampleSeries {
		f := families[name]
		if f == nil || len(f.GetMetric()) != 1 {
			return s, fmt.Errorf("load: /metrics lacks some of the series %v", slices.Sorted(maps.Keys(sampleSeries)))
		}
		m := f.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			*field(&s) = m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			*field(&s) = m.GetCounter().GetValue()
		default:
			*field(&s) = m.GetUntyped().GetValue()
		}
	}
	return s, nil
}

// Sampler reads a server's metrics at a fixed interval until Stop.
type Sampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
	err     error
}

// StartSampler reads url (a /metrics address) every interval, the first
// time at once, with a client of its own: a sample is never queued behind
// the load's requests.
func StartSampler(ctx context.Context, url string, every time.Duration) *Sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{cancel: cancel, done: make(chan struct{})}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	start := time.Now()
	go func() {
		defer close(s.done)
		defer hc.CloseIdleConnections()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			sample, err := scrape(ctx, hc, url)
			sample.At = time.Since(start)
			s.mu.Lock()
			switch {
			case ctx.Err() != nil:
			case err != nil:
				s.err = err
			default:
				s.samples = append(s.samples, sample)
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Read takes one sample of url (a /metrics address) now.
func Read(ctx context.Context, url string) (Sample, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	return scrape(ctx, hc, url)
}

func scrape(ctx context.Context, hc *http.Client, url string) (Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Sample{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Sample{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return Sample{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("load: GET %s: %s", url, resp.Status)
	}
	return ParseSample(body)
}

// Stop ends the sampling and returns the samples, and the last error a
// reading met, if any.
func (s *Sampler) Stop() ([]Sample, error) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.err
}

// Trend summarizes a series sampled during a run, to tell a leak from a
// sawtooth: earlier is the highest value of its first two thirds, last
// the median of its last third. A value that only rises and falls (the
// GC's sawtooth, anything released every few seconds) ends below its
// earlier peak, provided the first two thirds span one of its periods;
// a leak lifts the last third above it. With fewer than three values
// both are the median of all.
func Trend(values []float64) (earlier, last float64) {
	if len(values) < 3 {
		return median(values), median(values)
	}
	cut := len(values) - len(values)/3
	return slices.Max(values[:cut]), median(values[cut:])
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Sorted(slices.Values(values))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
