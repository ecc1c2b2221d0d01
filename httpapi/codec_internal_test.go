package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestStatus_EveryCodeOfDesign holds status() to DESIGN.md §3's table.
func TestStatus_EveryCodeOfDesign(t *testing.T) {
	want := map[policy.Code]int{
		"invalid_argument": 400, "unauthenticated": 401, "reauthentication_required": 401, "forbidden": 403,
		"privilege_escalation": 403, "not_found": 404, "role_in_use": 409, "name_taken": 409, "last_role": 409,
		"role_protected": 409, "plan_limit_reached": 409, "audience_mismatch": 409, "revision_conflict": 412,
		"payload_too_large": 413, "unknown_permission": 422, "dependency_violation": 422, "reason_required": 422,
		"revision_unavailable": 503, "unavailable": 503, "rate_limited": 429, "internal": 500,
	}
	for code, st := range want {
		if got := status(code); got != st {
			t.Errorf("%s → %d, want %d", code, got, st)
		}
	}
}

// FuzzDecodeCheck: any body decodes into a check request or fails with
// invalid_argument or payload_too_large, never anything else.
func FuzzDecodeCheck(f *testing.F) {
	for _, s := range []string{`{"user":"u","permission":"leads_view"}`, `{"user":"u","permission":"p","resource":{"owner_id":"o","relations":{"creator":["a"]}}}`,
		`{`, `[]`, `{"user":1}`, `{"x":1}`, `{} {}`, `"s"`, `{"min_revision":1e400}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		var in checkRequest
		err := decode(httptest.NewRecorder(), r, &in)
		if c := policy.ErrorCode(err); err != nil && c != policy.CodeInvalidArgument && c != policy.CodePayloadTooLarge {
			t.Fatalf("body %q: error code %s: %v", body, c, err)
		}
	})
}

// FuzzCursor: a cursor of one list is refused by another; garbage is
// invalid_argument; what encodes decodes.
func FuzzCursor(f *testing.F) {
	f.Add("members", "u1", "")
	f.Add("audit", "42", "bWVtYmVyczp1MQ")
	f.Fuzz(func(t *testing.T, kind, pos, raw string) {
		if kind == "" || strings.Contains(kind, ":") {
			return
		}
		get := func(c string) (string, error) {
			r := &http.Request{URL: &url.URL{RawQuery: url.Values{"cursor": {c}}.Encode()}}
			return decodeCursor(r, kind)
		}
		if got, err := get(encodeCursor(kind, pos)); err != nil || got != pos {
			t.Fatalf("round trip of %q/%q: %q, %v", kind, pos, got, err)
		}
		if _, err := get(encodeCursor(kind+"x", pos)); err == nil {
			t.Fatalf("a cursor of list %sx decoded for %s", kind, kind)
		}
		if _, err := get(raw); err != nil && policy.ErrorCode(err) != policy.CodeInvalidArgument {
			t.Fatalf("cursor %q: %v", raw, err)
		}
	})
}
