package stress

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// report collects invariant failures from every goroutine. Each invariant
// keeps a count and its first examples, so that one broken rule does not
// bury the others under thousands of lines.
type report struct {
	mu    sync.Mutex
	fails map[string]*failure
	order []string
}

type failure struct {
	n        int
	examples []string
}

const maxExamples = 4

// fail records one violation of invariant inv (a rule id and a few words).
func (r *report) fail(inv, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails == nil {
		r.fails = map[string]*failure{}
	}
	f := r.fails[inv]
	if f == nil {
		f = &failure{}
		r.fails[inv] = f
		r.order = append(r.order, inv)
	}
	f.n++
	if len(f.examples) < maxExamples {
		f.examples = append(f.examples, fmt.Sprintf(format, args...))
	}
}

// flush fails t once per broken invariant.
func (r *report) flush(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inv := range r.order {
		f := r.fails[inv]
		t.Errorf("%s: %d violations; first ones:\n\t%s", inv, f.n, strings.Join(f.examples, "\n\t"))
	}
}

// counts is a set of named counters safe for concurrent use: writes by
// operation and outcome, decisions compared and skipped.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(key string, n int) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key] += n
	c.mu.Unlock()
}

func (c *counts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// sum adds the counters whose key starts with prefix.
func (c *counts) sum(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.n {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// table renders the counters whose key starts with prefix, one per line.
func (c *counts) table(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c.n)) {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			fmt.Fprintf(&b, "\n\t%-44s %7d", rest, c.n[k])
		}
	}
	return b.String()
}

// codes is a set of error codes.
type codes []policy.Code

func (cs codes) has(c policy.Code) bool { return slices.Contains(cs, c) }
