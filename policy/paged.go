package policy

import "slices"

// A snapshot's per-member arrays (hot and cold records, their ids) are
// split into pages of pageSize elements, and the snapshots Update derives
// share every page they do not change. A write of one member to a
// workspace of 100,000 then copies a page of each array and the page
// tables, tens of kilobytes, where copying whole arrays cost megabytes per
// write on the writer and on every node that follows it.
//
// On the check path a page table adds one load to each array access past
// the first page, from a table small enough to stay in cache. The user
// index is not paged (see userIndex).
const (
	pageShift = 10
	pageSize  = 1 << pageShift
	pageMask  = pageSize - 1
)

// paged is an array stored in pages: every page holds pageSize elements
// but the last, which holds the rest. A published snapshot's pages are
// never written; a pagedWriter copies a page before it writes it.
//
// head is pages[0] again: a check of one of the first pageSize members, all
// of a small workspace's, then reads no page table, which on a node of many
// workspaces would be one more cache miss.
type paged[T any] struct {
	head  []T
	pages [][]T
}

// at returns element i.
func (a *paged[T]) at(i int) *T {
	if i < pageSize {
		return &a.head[i]
	}
	return &a.pages[i>>pageShift][i&pageMask]
}

// sync points head at the first page after a writer changed the pages.
func (a *paged[T]) sync() {
	if len(a.pages) > 0 {
		a.head = a.pages[0]
	}
}

// len returns the number of elements.
func (a *paged[T]) len() int {
	if len(a.pages) == 0 {
		return 0
	}
	return (len(a.pages)-1)<<pageShift + len(a.pages[len(a.pages)-1])
}

// pagedWriter changes a paged array in the making: one Compile builds, or
// one Update derives from a published snapshot's. It copies the page table
// on its first write and each shared page on the page's first write, so
// the array it derives from is never changed.
type pagedWriter[T any] struct {
	a     *paged[T]
	all   bool   // every page is the writer's: a new array
	owned []bool // by page, when not all; nil until the first write
	size  int    // when all, the length the array is built to
	// tail allows appends to the shared last page in place, past the
	// length the array it derives from reads (see Snapshot.tail).
	tail bool
}

// build makes *a a new, empty array to be pushed n elements, and returns
// its writer. Pages are allocated at their final size: a node of many
// small workspaces would keep any slack in each.
func build[T any](a *paged[T], n int) pagedWriter[T] {
	a.pages = make([][]T, 0, (n+pageMask)>>pageShift)
	return pagedWriter[T]{a: a, all: true, size: n}
}

// derive returns a writer of *a, an array whose pages are shared with a
// published snapshot; with tail, it may append to the last page in place.
func derive[T any](a *paged[T], tail bool) pagedWriter[T] {
	return pagedWriter[T]{a: a, tail: tail}
}

// own makes page p the writer's, copying it, and the table first, if
// shared.
func (w *pagedWriter[T]) own(p int) {
	if w.all {
		return
	}
	w.ownTable()
	if !w.owned[p] {
		w.a.pages[p] = slices.Clone(w.a.pages[p])
		w.owned[p] = true
	}
}

func (w *pagedWriter[T]) ownTable() {
	if !w.all && w.owned == nil {
		w.a.pages = slices.Clone(w.a.pages)
		w.owned = make([]bool, len(w.a.pages))
	}
}

// set returns element i for writing.
func (w *pagedWriter[T]) set(i int) *T {
	w.own(i >> pageShift)
	w.a.sync()
	return w.a.at(i)
}

// push appends v.
func (w *pagedWriter[T]) push(v T) {
	n := w.a.len()
	p := n >> pageShift
	if p < len(w.a.pages) {
		page := w.a.pages[p]
		switch {
		case w.all || w.owned != nil && w.owned[p]:
		case w.tail && len(page) < cap(page):
			// In place, without owning the page: its elements before v
			// are still shared, and a set copies them first.
			w.ownTable()
		default:
			// A copy with room to grow, which later appends fill in place.
			w.ownTable()
			page = slices.Clip(page)
			w.owned[p] = true
		}
		w.a.pages[p] = append(page, v)
		w.a.sync()
		return
	}
	w.ownTable()
	var page []T
	if w.all && n < w.size {
		page = make([]T, 0, min(pageSize, w.size-n))
	}
	w.a.pages = append(w.a.pages, append(page, v))
	w.a.sync()
	if !w.all {
		w.owned = append(w.owned, true)
	}
}
