package policy

import "sync"

// internTable holds values that snapshots of many workspaces share,
// node-wide, by key: role-level arrays, compiled role tables, org trees.
// What it holds is never written once shared; each user says why. It keeps
// at most max entries and never evicts, so a node's sharing is bounded: past
// max, a snapshot keeps its own.
type internTable[K comparable, V any] struct {
	mu  sync.Mutex
	m   map[K]V
	max int
}

func newInternTable[K comparable, V any](max int) *internTable[K, V] {
	return &internTable[K, V]{m: map[K]V{}, max: max}
}

// lookup returns the value shared under k.
func (t *internTable[K, V]) lookup(k K) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[k]
	return v, ok
}

// share returns the value shared under k, sharing v when there is none
// and the table has room.
func (t *internTable[K, V]) share(k K, v V) V {
	t.mu.Lock()
	defer t.mu.Unlock()
	if got, ok := t.m[k]; ok {
		return got
	}
	if len(t.m) < t.max {
		t.m[k] = v
	}
	return v
}
