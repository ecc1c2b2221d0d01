package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// FuzzAuthZEN: any body either decodes as an AuthZEN request or fails with
// invalid_argument or payload_too_large; a decoded one merges its
// evaluations with the defaults or fails with invalid_argument naming what
// is missing, maps its resource properties to a record or fails the same
// way, and pages within bounds.
// Nothing panics (Z1, Z2, Z3).
func FuzzAuthZEN(f *testing.F) {
	for _, seed := range []string{
		`{"subject":{"type":"user","id":"u"},"action":{"name":"leads_view"},"resource":{"type":"lead","id":"1"}}`,
		`{"subject":{"type":"user","id":"u"},"action":{"name":"view"},"evaluations":[{"resource":{"type":"leads","id":"1","properties":{"ownerID":"a@b.c"}}},{}],"options":{"evaluations_semantic":"deny_on_first_deny"}}`,
		`{"subject":{"type":"user"},"action":{"name":"x"},"resource":{"type":"t","id":"1","properties":{"owner_id":1,"relations":{"creator":["u"]}}},"page":{"limit":2,"token":"e30"}}`,
		`{"context":{"min_revision":-1.5},"unknown":[1,2]}`, `[]`, `{"a":1,"a":2}`, "",
	} {
		f.Add([]byte(seed))
	}
	snap, err := policy.Compile(policy.State{Workspace: "w", Catalog: policy.DefaultCatalog(),
		Members: []policy.Member{{UserID: "u", Kind: policy.Internal, Email: "a@b.c"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in azRequest
		r := &http.Request{Method: "POST", Header: http.Header{}, Body: http.NoBody}
		r.Body = nopCloser{bytes.NewReader(body)}
		if err := decodeAuthZEN(httptest.NewRecorder(), r, &in); err != nil {
			wantCode(t, err, policy.CodeInvalidArgument, policy.CodePayloadTooLarge)
			return
		}
		for i := -1; i < len(in.Evaluations); i++ {
			e := in.azEvaluation
			if i >= 0 {
				e = in.Evaluations[i]
			}
			m, err := in.merged(e, i)
			if err != nil {
				wantCode(t, err, policy.CodeInvalidArgument)
				continue
			}
			if m.Subject == nil || m.Action == nil || m.Resource == nil || m.Subject.ID == "" {
				t.Fatalf("merged without an error but incomplete: %+v", m)
			}
			if _, err := azRecord(snap, m.Resource.Properties); err != nil {
				wantCode(t, err, policy.CodeInvalidArgument)
			}
			if _, err := minRevision(m.Context); err != nil {
				wantCode(t, err, policy.CodeInvalidArgument)
			}
		}
		if limit, _, _, err := in.pageOf("subject"); err != nil {
			wantCode(t, err, policy.CodeInvalidArgument)
		} else if limit < 0 || limit > azMaxLimit {
			t.Fatalf("page limit %d outside 0..%d", limit, azMaxLimit)
		}
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func wantCode(t *testing.T, err error, codes ...policy.Code) {
	t.Helper()
	var pe *policy.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v has no code", err)
	}
	for _, c := range codes {
		if pe.Code == c {
			return
		}
	}
	t.Fatalf("error %v: code %s, want one of %v", err, pe.Code, codes)
}
