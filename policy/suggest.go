package policy

import (
	"sort"
	"strings"
)

// maxSuggestions is how many alternatives an unknown key offers (C1).
const maxSuggestions = 3

// Suggest returns up to three permission keys close to key: first keys equal
// to it ignoring case, then keys within a small edit distance (about one typo
// per four characters), nearest first. "contact_view" suggests
// "contacts_view" (C1).
func (c *Catalog) Suggest(key string) []string {
	lk := strings.ToLower(key)
	limit := max(2, len(lk)/4)
	type cand struct {
		key  string
		dist int
	}
	var cands []cand
	for _, p := range c.perms {
		lp := strings.ToLower(p.Key)
		if lp == lk {
			cands = append(cands, cand{p.Key, -1})
			continue
		}
		if abs(len(lp)-len(lk)) > limit {
			continue
		}
		if d := editDistance(lk, lp, limit); d <= limit {
			cands = append(cands, cand{p.Key, d})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].dist != cands[j].dist {
			return cands[i].dist < cands[j].dist
		}
		return cands[i].key < cands[j].key
	})
	out := []string{}
	for i := 0; i < len(cands) && i < maxSuggestions; i++ {
		out = append(out, cands[i].key)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b (bytes), or
// limit+1 as soon as it must exceed limit.
func editDistance(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
