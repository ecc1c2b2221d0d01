package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
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

// TestW1_OneBodyReadOneWay: a key twice in one object, or a field name
// spelled in another case, is refused for every body a route decodes,
// so a proxy and Gatehouse can never read one body two ways.
func TestW1_OneBodyReadOneWay(t *testing.T) {
	dec := func(body string, dst any) error {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		return decode(httptest.NewRecorder(), r, dst)
	}
	var in checkRequest
	for _, body := range []string{
		`{"session": "T", "session": "", "user": "boss", "permission": "leads_view"}`,
		`{"user": "rep", "User": "boss", "permission": "leads_view"}`,
		`{"USER": "boss", "permission": "leads_view"}`,
		`{"user": "boss", "permiſsion": "leads_view"}`, // U+017F folds to s
		`{"user": "boss", "permission": "leads_view", "resource": {"owner_id": "a", "owner_id": "b"}}`,
		`{"user": "boss", "permission": "leads_view", "resource": {"Owner_ID": "a"}}`,
		`{"user": "boss", "permission": "leads_view", "resource": {"relations": {"creator": ["a"], "creator": ["b"]}}}`,
		`{"user": "boss", "\u0075ser": "rep", "permission": "leads_view"}`,
	} {
		err := dec(body, &in)
		if policy.ErrorCode(err) != policy.CodeInvalidArgument {
			t.Errorf("%s: %v, want invalid_argument", body, err)
		}
	}
	var g memberGrantsRequest
	if err := dec(`{"grants": {"leads_view": "all", "leads_view": "none"}}`, &g); policy.ErrorCode(err) != policy.CodeInvalidArgument {
		t.Errorf("a grant twice: %v", err)
	}
	var imp importRequest
	if err := dec(`{"members": [{"user_id": "a"}, {"user_id": "b", "name": "B", "name": "C"}]}`, &imp); policy.ErrorCode(err) != policy.CodeInvalidArgument {
		t.Errorf("a member's key twice: %v", err)
	}
	// What is sent once, spelled right, still decodes; equal keys in
	// different objects are no duplicates.
	if err := dec(`{"user": "rep", "permission": "leads_view", "resource": {"owner_id": "a", "relations": {"creator": ["owner_id"], "observer": ["x"]}}}`, &in); err != nil {
		t.Errorf("a good body: %v", err)
	}
	// Every route's body type: its first field twice, and in upper case.
	for _, e := range bodyEndpoints {
		if reflect.TypeOf(e.new()).Elem().Kind() != reflect.Struct {
			if err := dec(`{"a": "leads_view", "a": "deals_view"}`, e.new()); policy.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Errorf("%s: a key twice: %v", e.route, err)
			}
			continue
		}
		f := fieldsOf(reflect.TypeOf(e.new()).Elem())
		name := f.names[0]
		val, _ := json.Marshal(reflect.Zero(f.byName[name]).Interface())
		for _, body := range []string{
			fmt.Sprintf(`{%q: %s, %q: %s}`, name, val, name, val),
			fmt.Sprintf(`{%q: %s}`, strings.ToUpper(name), val),
		} {
			if err := dec(body, e.new()); policy.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Errorf("%s: %s: %v, want invalid_argument", e.route, body, err)
			}
		}
		if err := dec(fmt.Sprintf(`{%q: %s}`, name, val), e.new()); err != nil {
			t.Errorf("%s: {%q: %s}: %v", e.route, name, val, err)
		}
	}
}

// TestStrictKeys_NoAllocationForACheck: the key check costs a check
// request no allocation.
func TestStrictKeys_NoAllocationForACheck(t *testing.T) {
	body := []byte(`{"user": "u1", "permission": "leads_view", "resource": {"owner_id": "o", "department_id": "d"}}`)
	typ := reflect.TypeFor[*checkRequest]()
	if err := strictKeys(body, typ); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { strictKeys(body, typ) }); n != 0 {
		t.Errorf("%v allocations per check body", n)
	}
}
