package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid(name, "query parameter %s must be true or false, not %q", name, excerpt(v))
	}
	return b, nil
}

// intParam reads an optional non-negative integer query parameter.
func intParam(r *http.Request, name string, def, max int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, invalid(name, "query parameter %s must be an integer from 0 to %d, not %q", name, max, excerpt(v))
	}
	return n, nil
}

// The page size of list endpoints: limit, 1 to maxLimit, default 100.
const maxLimit = 1000

func limitParam(r *http.Request) (int, error) {
	n, err := intParam(r, "limit", 100, maxLimit)
	if err != nil || n == 0 {
		return 0, invalid("limit", "query parameter limit must be an integer from 1 to %d, not %q", maxLimit, excerpt(r.URL.Query().Get("limit")))
	}
	return int(n), nil
}

// Cursors are opaque to clients: a kind tag and a position, base64url.
// The tag keeps a cursor of one list from being replayed on another.
func encodeCursor(kind, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
}

func decodeCursor(r *http.Request, kind string) (string, error) {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	pos, ok := strings.CutPrefix(string(raw), kind+":")
	if err != nil || !ok {
		return "", invalid("cursor", "the cursor is not one this list returned")
	}
	return pos, nil
}

// revisionHeader reads an If-Match revision (R7): "3" or the ETag "\"3\"".
func revisionHeader(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, invalid("If-Match", "If-Match must be a role revision such as \"3\", not %q", excerpt(r.Header.Get("If-Match")))
	}
	return n, nil
}
