package client

import (
	"iter"
	"net/url"
)

// page is a list answer: {"items", "next_cursor"}.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// setNonEmpty sets a query parameter unless value is empty: an absent
// parameter asks for the server's default.
func setNonEmpty(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// pages iterates over a cursor-paged list from cursor start ("" for the
// first page). fetch returns one page and the cursor of the next, "" after
// the last. An error is yielded once and ends the sequence.
func pages[T any](start string, fetch func(cursor string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		cursor := start
		for {
			items, next, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" || next == cursor {
				return
			}
			cursor = next
		}
	}
}
