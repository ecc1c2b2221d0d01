// Package load generates bounded, closed-loop load: a fixed number of
// workers, each with one request in flight at a time, draw operations
// from a weighted mix for a fixed duration. It measures throughput and
// latency per operation and counts errors; a Sampler reads a server's
// memory and goroutines from its Prometheus metrics meanwhile.
//
// Nothing queues: the offered load is what the workers can complete, so a
// slow server lowers throughput rather than building a backlog in the
// generator, and memory on both sides stays bounded however long the run.
//
// load imports only the standard library; what an operation does (which
// API it calls, what answer it expects) belongs to the caller.
package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one kind of operation in the mix.
type Op struct {
	Name string
	// Weight is the operation's share of the mix, relative to the sum of
	// all weights.
	Weight int
	// Do performs the operation once. It returns nil on success, an
	// error wrapped by Refused for an expected, documented refusal, and
	// any other error for a failure. An error returned after ctx ended
	// (the run is over) is neither: the operation is not counted.
	Do func(ctx context.Context, w *Worker) error
}

// Worker is what an operation knows of the worker running it.
type Worker struct {
	// ID numbers the workers from 0; callers keep per-worker state (a
	// client, the last revision seen) in slices indexed by it.
	ID int
	// Rand is the worker's own random source, seeded from the run's seed
	// and ID, so a run's sequence of operations is reproducible.
	Rand *rand.Rand
}

// refusal marks an expected refusal.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// Refused wraps err, an answer the operation expects in normal operation
// (e.g. a revision_conflict when two admins edit one role), so that Run
// counts it apart from the errors.
func Refused(err error) error { return refusal{err} }

// Config is one run.
type Config struct {
	Workers  int
	Duration time.Duration
	Ops      []Op
	// Seed seeds the workers' random sources.
	Seed uint64
}

// maxErrorSamples bounds the error messages kept per operation.
const maxErrorSamples = 5

// OpResult is what one operation did during a run.
type OpResult struct {
	Name string
	// Count is the operations completed, successful or not.
	Count   int64
	Errors  int64
	Refused int64
	// FirstErrors are the first few errors' messages.
	FirstErrors []string
	// Latency counts every completed operation, refusals and errors too.
	Latency Histogram
}

// PerSecond is the operation's rate over the run.
func (o *OpResult) PerSecond(elapsed time.Duration) float64 {
	return float64(o.Count) / elapsed.Seconds()
}

// Result is a run's measurements.
type Result struct {
	Workers int
	Elapsed time.Duration
	// Ops are in the order of Config.Ops.
	Ops []*OpResult
	// Seconds counts the operations completed in each second of the run;
	// the last, partial second is left out.
	Seconds []int64
}

// Total is the operations of every kind completed.
func (r *Result) Total() (count, errs, refused int64) {
	for _, o := range r.Ops {
		count, errs, refused = count+o.Count, errs+o.Errors, refused+o.Refused
	}
	return count, errs, refused
}

// Run runs cfg.Workers workers until cfg.Duration has passed or ctx
// ends, and returns what they measured. At the end of the duration the
// workers start nothing new but let the operations in flight finish, and
// count them: a server never sees the load generator hang up on it. When
// ctx ends, operations are cancelled and not counted.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	total := 0
	for _, op := range cfg.Ops {
		if op.Weight < 0 || op.Do == nil {
			return nil, fmt.Errorf("load: operation %q needs a Do and a weight ≥ 0", op.Name)
		}
		total += op.Weight
	}
	if cfg.Workers < 1 || cfg.Duration <= 0 || total == 0 {
		return nil, errors.New("load: a run needs workers, a duration and an operation of positive weight")
	}
	seconds := make([]atomic.Int64, int(cfg.Duration/time.Second)+1)
	perWorker := make([][]*OpResult, cfg.Workers)
	start := time.Now()
	end := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for id := range cfg.Workers {
		results := make([]*OpResult, len(cfg.Ops))
		for i, op := range cfg.Ops {
			results[i] = &OpResult{Name: op.Name}
		}
		perWorker[id] = results
		w := &Worker{ID: id, Rand: rand.New(rand.NewPCG(cfg.Seed, uint64(id)))}
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				i := pick(cfg.Ops, w.Rand.IntN(total))
				t0 := time.Now()
				err := cfg.Ops[i].Do(ctx, w)
				done := time.Now()
				if err != nil && ctx.Err() != nil {
					return // the caller gave up on the run
				}
				res := results[i]
				res.Count++
				res.Latency.Record(done.Sub(t0))
				var ref refusal
				switch {
				case errors.As(err, &ref):
					res.Refused++
				case err != nil:
					res.Errors++
					if len(res.FirstErrors) < maxErrorSamples {
						res.FirstErrors = append(res.FirstErrors, err.Error())
					}
				}
				if s := int(done.Sub(start) / time.Second); s < len(seconds) {
					seconds[s].Add(1)
				}
			}
		})
	}
	wg.Wait()
	r := &Result{Workers: cfg.Workers, Elapsed: time.Since(start)}
	for i, op := range cfg.Ops {
		sum := &OpResult{Name: op.Name}
		for _, results := range perWorker {
			o := results[i]
			sum.Count += o.Count
			sum.Errors += o.Errors
			sum.Refused += o.Refused
			sum.Latency.Merge(&o.Latency)
			for _, e := range o.FirstErrors {
				if len(sum.FirstErrors) < maxErrorSamples {
					sum.FirstErrors = append(sum.FirstErrors, e)
				}
			}
		}
		r.Ops = append(r.Ops, sum)
	}
	for s := range min(int(r.Elapsed/time.Second), len(seconds)) {
		r.Seconds = append(r.Seconds, seconds[s].Load())
	}
	return r, nil
}

// pick returns the index of the operation that n, in [0, total weight),
// falls on.
func pick(ops []Op, n int) int {
	for i, op := range ops {
		if n < op.Weight {
			return i
		}
		n -= op.Weight
	}
	return len(ops) - 1
}
