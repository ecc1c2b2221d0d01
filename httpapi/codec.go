package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// MaxBody is the largest request body accepted; larger ones get 413.
const MaxBody = 1 << 20

// decode reads a JSON request body into dst strictly: one object, no
// unknown fields, no key twice in an object, field names spelled exactly
// (see strictKeys), at most MaxBody bytes. Its errors say what is wrong and
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
	body := buf.Bytes()
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
	if err := strictKeys(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	return loneSurrogate(body)
}

// loneSurrogate refuses a \u escape of half a UTF-16 surrogate pair
// (\ud800 alone): it is no character, and encoding/json would store
// U+FFFD in its place, as it would for invalid UTF-8. body is valid JSON,
// so a backslash is always an escape within a string.
func loneSurrogate(body []byte) error {
	for i := 0; ; {
		j := bytes.IndexByte(body[i:], '\\')
		if j < 0 {
			return nil
		}
		i += j
		if i+6 > len(body) || body[i+1] != 'u' {
			i += 2 // \" \\ \n and the like
			if i >= len(body) {
				return nil
			}
			continue
		}
		r := hex4(body[i+2 : i+6])
		switch {
		case r < 0xd800 || r > 0xdfff:
			i += 6
			continue
		case r < 0xdc00 && len(body) >= i+12 && body[i+6] == '\\' && body[i+7] == 'u':
			if lo := hex4(body[i+8 : i+12]); lo >= 0xdc00 && lo <= 0xdfff {
				i += 12
				continue
			}
		}
		return &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("the request body has a lone UTF-16 surrogate %s at byte %d; escape characters whole", body[i:i+6], i),
			Details: map[string]any{"offset": i}}
	}
}

// hex4 is the value of four hex digits, which a valid \u escape has.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
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
		field, value := excerpt(typ.Field), excerpt(typ.Value) // a value is "number 123…", as long as the client made it
		if field == "" {
			return invalid("", "the request body must be a JSON object, not %s", value)
		}
		if k := typ.Type.Kind(); k >= reflect.Int && k <= reflect.Int64 && strings.HasPrefix(typ.Value, "number") {
			// A fraction, or an integer out of range.
			bits := typ.Type.Bits()
			return invalid(field, "field %q must be an integer from %d to %d, not %s", field,
				int64(-1)<<(bits-1), int64(uint64(1)<<(bits-1)-1), value)
		}
		return invalid(field, "field %q must be %s, not %s", field, jsonType(typ.Type), value)
	case errors.As(err, &perr):
		// A decoder of our own (a level's) quotes what it refused whole.
		if len(perr.Message) > maxMessage {
			return &policy.Error{Code: perr.Code, Message: shorten(perr.Message), Details: perr.Details}
		}
		return perr
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		name, _ = strconv.Unquote(name)
		name = excerpt(name)
		return invalid(name, "unknown field %q", name)
	}
	return invalid("", "invalid JSON: %s", shorten(strings.TrimPrefix(err.Error(), "json: ")))
}

// Error messages quote what the client sent, but a bounded excerpt of it:
// a megabyte of field name must not come back as four megabytes of error
// (%q escapes) nor fill the logs.
const (
	maxExcerpt = 64  // bytes of one quoted input
	maxMessage = 512 // bytes of a whole message
)

// excerpt returns s, or its first maxExcerpt bytes and "…" when longer.
func excerpt(s string) string {
	if len(s) <= maxExcerpt {
		return s
	}
	cut := maxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// shorten cuts the middle out of a message longer than maxMessage,
// keeping its start (what failed) and its end (often the hint).
func shorten(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	head, tail := maxMessage*2/3, len(msg)-maxMessage/3
	for head > 0 && !utf8.RuneStart(msg[head]) {
		head--
	}
	for tail < len(msg) && !utf8.RuneStart(msg[tail]) {
		tail++
	}
	return msg[:head] + "…" + msg[tail:]
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonType names what a Go type takes in JSON.
func jsonType(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string" // a level, by its name
	}
	kind := t.Kind().String()
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
