package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// MaxBody is the largest request body accepted; larger ones get 413.
const MaxBody = 1 << 20

// decode reads a JSON request body into dst strictly: one object, no
// unknown fields, at most MaxBody bytes. Its errors say what is wrong and
// where, in the API's codes.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	return decodeLimit(w, r, dst, MaxBody)
}

// bodies recycles request body buffers: decisions arrive at high rates.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeLimit is decode with a body limit of its own. The body is read
// whole first: encoding/json would silently turn invalid UTF-8 into
// U+FFFD, and ids or names that are not what the client sent must be
// refused, not stored.
func decodeLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 { // keep small buffers only; an import's 16 MiB goes
			bodies.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return invalid("", "reading the request body: %v", err)
	}
	if !utf8.Valid(buf.Bytes()) {
		at := 0
		for b := buf.Bytes(); at < len(b); {
			r, n := utf8.DecodeRune(b[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		return &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("the request body is not valid UTF-8 (byte %d)", at), Details: map[string]any{"offset": at}}
	}
	dec := json.NewDecoder(buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return invalid("", "the request body must hold one JSON value and nothing after it")
	}
	return nil
}

// decodeError turns an encoding/json error into an API error.
func decodeError(err error) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		mbe  *http.MaxBytesError
		perr *policy.Error
	)
	switch {
	case errors.As(err, &mbe):
		return &policy.Error{Code: policy.CodePayloadTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit), Details: map[string]any{"limit": mbe.Limit}}
	case errors.Is(err, io.EOF):
		return invalid("", "the request body is empty; a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the request body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()), Details: map[string]any{"offset": syn.Offset}}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return invalid("", "the request body must be a JSON object, not %s", typ.Value)
		}
		return invalid(field, "field %q must be %s, not %s", field, jsonType(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &perr):
		return perr
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		name, _ = strconv.Unquote(name)
		return invalid(name, "unknown field %q", name)
	}
	return invalid("", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "int32", "uint8", "float64":
		return "a number"
	}
	return kind
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":{"code":"internal","message":"cannot encode the response"}}`+"\n")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func quote(s string) string { return strconv.Quote(s) }

// writeWritten answers a write: the object written (or {} for a delete),
// plus the workspace revision after it as "workspace_revision" and, for
// objects that have no revision of their own, as "revision" (DESIGN §3).
// A role's "revision" is the role's (R7), so read-your-writes clients
// take "workspace_revision", which every write carries, also in the
// Gatehouse-Revision header.
func writeWritten(w http.ResponseWriter, status int, obj any, wsRevision int64) {
	fields := map[string]json.RawMessage{}
	if obj != nil {
		b, err := json.Marshal(obj)
		if err != nil || json.Unmarshal(b, &fields) != nil {
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorJSON{Code: policy.CodeInternal, Message: "cannot encode the response"}})
			return
		}
	}
	rev := json.RawMessage(strconv.FormatInt(wsRevision, 10))
	if _, ok := fields["revision"]; !ok {
		fields["revision"] = rev
	}
	fields["workspace_revision"] = rev
	w.Header().Set("Gatehouse-Revision", string(rev))
	writeJSON(w, status, fields)
}
