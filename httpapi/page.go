package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// paginate answers one page of a list the server holds whole (roles,
// departments, keys, workspaces, revisions, templates): every list of the
// API pages the same way, with `limit` (1 to 1000, default 100) and the
// opaque `cursor` of the previous page's `next_cursor`, absent on the last
// page.
//
// key gives each item its place in the list: the list is in ascending
// key order and keys are unique. A cursor holds the last key it
// answered, not an offset, so that an item added or removed between two
// calls neither repeats nor hides another. kind tags the cursor so that
// one list's cursor is refused by another.
//
// A list of a new route adopts it with one call:
//
//	out, err := paginate(r, "sod-rules", rules, func(x sodRuleJSON) string { return x.ID })
func paginate[T any](r *http.Request, kind string, items []T, key func(T) string) (page[T], error) {
	after, err := decodeCursor(r, kind)
	if err != nil {
		return page[T]{}, err
	}
	limit, err := limitParam(r)
	if err != nil {
		return page[T]{}, err
	}
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(sorted, after, func(x T, k string) int {
			if key(x) <= k {
				return -1
			}
			return 1
		})
	}
	rest := sorted[start:]
	out := page[T]{Items: rest[:min(limit, len(rest))]}
	if len(rest) > limit {
		out.NextCursor = encodeCursor(kind, key(rest[limit-1]))
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	return out, nil
}

// pageIDs is paginate for a list of ids, each its own key.
func pageIDs(r *http.Request, kind string, ids []string) (page[string], error) {
	return paginate(r, kind, ids, func(id string) string { return id })
}
