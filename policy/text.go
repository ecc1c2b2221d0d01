package policy

import (
	"strconv"
	"strings"
)

func quote(s string) string { return strconv.Quote(s) }

// joinQuoted renders ["a","b","c"] as `"a", "b" or "c"`.
func joinQuoted(xs []string) string {
	var b strings.Builder
	for i, x := range xs {
		switch {
		case i == 0:
		case i == len(xs)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(x))
	}
	return b.String()
}
