package engine

import (
	"hash/maphash"
	"sync/atomic"
)

// index maps workspace ids to slots, read without a lock by every check.
// It has two parts: base, an immutable map, and recent, an open-addressed
// table that new slots are stored into in place (one atomic store each)
// until it is half full; then base and recent are merged into a new base
// and a new, empty recent table at least half base's size is made. A merge
// copies n slots after at least n/2 additions, so adding a workspace costs
// amortized O(1), where copying the whole map per workspace (as before)
// made loading n workspaces O(n²). A lookup is one map lookup and, for a
// workspace added since the last merge, a hash and a short probe: no lock,
// no allocation.
type index struct {
	base   map[string]*slot
	recent []atomic.Pointer[slot] // length a power of two
	seed   maphash.Seed
	n      int // slots in recent; changed only under Engine.mu
}

// minRecent is the smallest recent table.
const minRecent = 64

func newIndex(base map[string]*slot, seed maphash.Seed) *index {
	size := minRecent
	for size < len(base) { // room for len(base)/2 additions at half load
		size *= 2
	}
	return &index{base: base, recent: make([]atomic.Pointer[slot], size), seed: seed}
}

// get returns the slot of ws, nil if there is none.
func (x *index) get(ws string) *slot {
	if sl := x.base[ws]; sl != nil {
		return sl
	}
	mask := uint64(len(x.recent) - 1)
	for i := maphash.String(x.seed, ws) & mask; ; i = (i + 1) & mask {
		sl := x.recent[i].Load()
		if sl == nil || sl.ws == ws {
			return sl
		}
	}
}

// put adds sl, which get does not find yet, and returns the index to use
// from now on: x itself, or a merged one when x's recent table was half
// full. The caller holds Engine.mu and stores the returned index.
func (x *index) put(sl *slot) *index {
	if 2*(x.n+1) > len(x.recent) {
		base := make(map[string]*slot, len(x.base)+x.n+1)
		for ws, s := range x.base {
			base[ws] = s
		}
		for i := range x.recent {
			if s := x.recent[i].Load(); s != nil {
				base[s.ws] = s
			}
		}
		base[sl.ws] = sl
		return newIndex(base, x.seed)
	}
	mask := uint64(len(x.recent) - 1)
	i := maphash.String(x.seed, sl.ws) & mask
	for x.recent[i].Load() != nil {
		i = (i + 1) & mask
	}
	x.recent[i].Store(sl)
	x.n++
	return x
}

// each calls fn for every slot.
func (x *index) each(fn func(ws string, sl *slot)) {
	for ws, sl := range x.base {
		fn(ws, sl)
	}
	for i := range x.recent {
		if sl := x.recent[i].Load(); sl != nil {
			fn(sl.ws, sl)
		}
	}
}
