package client

import (
	"context"
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

// all reads every page of the list at path p (query q, then the server's
// largest page and each next_cursor) into one slice: the methods that
// answered a whole list before the server paged every list keep doing so.
func all[T any](ctx context.Context, c *Client, ws, p string, q url.Values) ([]T, error) {
	out := []T{}
	for it, err := range pages("", func(cursor string) ([]T, string, error) {
		v := url.Values{}
		for k, xs := range q {
			v[k] = xs
		}
		v.Set("limit", "1000")
		setNonEmpty(v, "cursor", cursor)
		var pg page[T]
		err := c.get(ctx, ws, p, v, &pg)
		return pg.Items, pg.NextCursor, err
	}) {
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
