package httpapi

import (
	"mime"
	"strconv"
	"strings"
)

// negotiate picks the media type of offers that the request's Accept
// header prefers (RFC 9110 §12.5.1): the highest q-value wins, a specific
// type before a wildcard at the same q, and at a tie the order of offers.
// Without Accept, or when nothing offered is acceptable, it returns the
// first offer: the answer a client that does not negotiate has always
// had, rather than a 406 it would not expect.
func negotiate(accept string, offers ...string) string {
	best, bestQ, bestSpec := offers[0], -1.0, -1
	if strings.TrimSpace(accept) == "" {
		return best
	}
	for _, o := range offers {
		q, spec := acceptQ(accept, o)
		if q > 0 && (q > bestQ || q == bestQ && spec > bestSpec) {
			best, bestQ, bestSpec = o, q, spec
		}
	}
	return best
}

// acceptQ returns the q-value accept gives to the media type offer, and
// how specific the range that matched it was (2 exact, 1 type/*, 0 */*);
// q is 0 when no range matches.
func acceptQ(accept, offer string) (q float64, spec int) {
	typ, _, _ := strings.Cut(offer, "/")
	spec = -1
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		s := -1
		switch {
		case mt == offer:
			s = 2
		case mt == typ+"/*":
			s = 1
		case mt == "*/*":
			s = 0
		}
		if s < spec || s < 0 {
			continue
		}
		v := 1.0
		if qs, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil && f >= 0 && f <= 1 {
				v = f
			}
		}
		q, spec = v, s
	}
	return q, spec
}
