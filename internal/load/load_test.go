package load

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRun_MixErrorsAndRefusals: operations are drawn by weight, errors
// and refusals are counted apart, and the run ends on time, letting the
// operations in flight finish.
func TestRun_MixErrorsAndRefusals(t *testing.T) {
	t.Parallel()
	op := func(err error) func(context.Context, *Worker) error {
		return func(ctx context.Context, w *Worker) error {
			time.Sleep(time.Duration(w.Rand.IntN(200)) * time.Microsecond)
			return err
		}
	}
	r, err := Run(context.Background(), Config{Workers: 4, Duration: 1200 * time.Millisecond, Seed: 1, Ops: []Op{
		{Name: "ok", Weight: 90, Do: op(nil)},
		{Name: "refused", Weight: 5, Do: op(Refused(errors.New("revision_conflict")))},
		{Name: "failing", Weight: 5, Do: op(errors.New("boom"))},
		{Name: "never", Weight: 0, Do: op(errors.New("drawn with weight 0"))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Elapsed > 2*time.Second {
		t.Errorf("a 1.2 s run took %v", r.Elapsed)
	}
	count, errs, refused := r.Total()
	ok, ref, fail, never := r.Ops[0], r.Ops[1], r.Ops[2], r.Ops[3]
	if count < 1000 || never.Count != 0 || ok.Errors+ok.Refused != 0 {
		t.Fatalf("counts: %d in all, ok %+v, never %+v", count, ok, never)
	}
	if share := float64(ok.Count) / float64(count); math.Abs(share-0.9) > 0.05 {
		t.Errorf("ok is %.2f of the mix, want 0.90", share)
	}
	if ref.Refused != ref.Count || ref.Errors != 0 || refused != ref.Count {
		t.Errorf("refusals: %+v, %d in all", ref, refused)
	}
	if fail.Errors != fail.Count || errs != fail.Count || len(fail.FirstErrors) != maxErrorSamples || fail.FirstErrors[0] != "boom" {
		t.Errorf("errors: %+v, %d in all", fail, errs)
	}
	if ok.Latency.Count() != ok.Count || ok.Latency.Max() > time.Second {
		t.Errorf("latency: %d recorded for %d operations, max %v", ok.Latency.Count(), ok.Count, ok.Latency.Max())
	}
	var perSecond int64
	for _, n := range r.Seconds {
		perSecond += n
	}
	if len(r.Seconds) != 1 || perSecond >= count {
		t.Errorf("seconds %v for %d operations in %v", r.Seconds, count, r.Elapsed)
	}
}

// TestRun_EndsWithItsContext: a cancelled run ends at once, and the
// operations it cut off are not counted as errors.
func TestRun_EndsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := Run(ctx, Config{Workers: 2, Duration: time.Minute, Ops: []Op{{Name: "slow", Weight: 1,
		Do: func(ctx context.Context, w *Worker) error { <-ctx.Done(); return ctx.Err() }}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the cancelled run took %v", d)
	}
	if count, errs, _ := r.Total(); count != 0 || errs != 0 {
		t.Errorf("%d operations, %d errors counted from a cancelled run", count, errs)
	}
}

func TestSampler_ReadsTheGoAndProcessSeries(t *testing.T) {
	t.Parallel()
	const text = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
go_memstats_heap_inuse_bytes 1.2582912e+07
go_memstats_heap_inuse_bytes_other{x="y"} 7
go_memstats_next_gc_bytes 2.097152e+07
process_resident_memory_bytes 4.194304e+07
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(text)) }))
	defer srv.Close()
	s := StartSampler(context.Background(), srv.URL, 20*time.Millisecond)
	time.Sleep(70 * time.Millisecond)
	samples, err := s.Stop()
	if err != nil || len(samples) < 2 {
		t.Fatalf("%d samples, %v", len(samples), err)
	}
	got := samples[0]
	if got.Goroutines != 42 || got.HeapInuse != 12<<20 || got.NextGC != 20<<20 || got.RSS != 40<<20 {
		t.Errorf("sample %+v", got)
	}
	if _, err := ParseSample([]byte("go_goroutines 1\n")); err == nil {
		t.Error("a text without the memory series parsed")
	}
}

func TestTrend(t *testing.T) {
	for _, tc := range []struct {
		name          string
		in            []float64
		earlier, last float64
	}{
		{"empty", nil, 0, 0},
		{"short", []float64{5, 1}, 3, 3},
		{"sawtooth", []float64{1, 5, 9, 1, 5, 9, 1, 5, 9}, 9, 5},
		{"leak", []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}, 60, 80},
	} {
		if e, l := Trend(tc.in); e != tc.earlier || l != tc.last {
			t.Errorf("%s: Trend(%v) = %v, %v; want %v, %v", tc.name, tc.in, e, l, tc.earlier, tc.last)
		}
	}
}
