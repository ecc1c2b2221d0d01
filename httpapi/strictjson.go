package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// encoding/json reads an object with a key twice as the last one, and
// matches keys to struct fields ignoring case: {"session": T, "session":
// "", "user": "boss"} decodes as a check of boss without a session, and
// {"User": "boss"} as {"user": "boss"}. A proxy or a WAF in front of
// Gatehouse that reads the first key, or keys case-sensitively, would see
// another request than Gatehouse does. strictKeys refuses both, for every
// body, after encoding/json has accepted it: it walks the JSON beside the
// Go type it was decoded into.

// strictKeys checks a body that decoded into a value of type t: no object
// has a key twice, and every key that names a struct field names it with
// the field's own spelling. body is valid JSON.
func strictKeys(body []byte, t reflect.Type) error {
	s := keyScanner{b: body}
	return s.value(t)
}

// keyScanner walks one valid JSON document.
type keyScanner struct {
	b []byte
	i int
	// ignoreUnknown passes keys that name no field in any case.
	ignoreUnknown bool
}

func (s *keyScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// value scans the value at s.i, which decoded into type t (nil: anything,
// where only duplicate keys are looked for).
func (s *keyScanner) value(t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshaler)) {
		t = nil
	}
	s.space()
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '{':
		return s.object(t)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		s.i++
		for {
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ']' {
				s.i++
				return nil
			}
			if err := s.value(elem); err != nil {
				return err
			}
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
			}
		}
	case '"':
		s.str()
		return nil
	}
	for s.i < len(s.b) { // a number, true, false or null
		switch s.b[s.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return nil
		}
		s.i++
	}
	return nil
}

// str scans a string at s.i and returns its contents as they appear
// (escapes included) and whether it has escapes.
func (s *keyScanner) str() (raw []byte, escaped bool) {
	start := s.i + 1
	for s.i = start; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i++
		case '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped
		}
	}
	return s.b[start:], escaped
}

// object scans an object that decoded into t: a struct, a map or
// anything (nil).
func (s *keyScanner) object(t reflect.Type) error {
	var fields *structFields
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	// Keys seen so far; small objects (every request's own) compare in
	// place, without allocating.
	var small [16][]byte
	seen := small[:0]
	var many map[string]bool
	s.i++
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] == '}' {
			s.i++
			return nil
		}
		at := s.i
		key, escaped := s.str()
		if escaped {
			var k string
			if err := json.Unmarshal(s.b[at:s.i], &k); err == nil {
				key = []byte(k)
			}
		}
		dup := false
		switch {
		case many != nil:
			dup = many[string(key)]
			many[string(key)] = true
		default:
			for _, k := range seen {
				if bytes.Equal(k, key) {
					dup = true
					break
				}
			}
			if dup {
				break
			}
			if len(seen) < len(small) {
				seen = append(seen, key)
				break
			}
			many = make(map[string]bool, 4*len(seen))
			for _, k := range seen {
				many[string(k)] = true
			}
			many[string(key)] = true
		}
		if dup {
			k := excerpt(string(key))
			return &policy.Error{Code: policy.CodeInvalidArgument,
				Message: fmt.Sprintf("key %q appears twice in one object (byte %d); send each key once", k, at),
				Details: map[string]any{"field": k, "offset": at}}
		}
		vt := elem
		if fields != nil {
			ft, ok := fields.byName[string(key)]
			switch {
			case ok:
				vt = ft
			case s.ignoreUnknown && !fields.foldsTo(string(key)):
				vt = nil // an unknown field, ignored (AuthZEN §12.1.1)
			default:
				return caseError(string(key), fields, at)
			}
		}
		s.space()
		s.i++ // the colon
		if err := s.value(vt); err != nil {
			return err
		}
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
		}
	}
}

// foldsTo reports whether key names one of the fields in another case.
func (f *structFields) foldsTo(key string) bool {
	for _, name := range f.names {
		if strings.EqualFold(name, key) {
			return true
		}
	}
	return false
}

// strictKeysIgnoringUnknown is strictKeys for bodies whose unknown fields
// are ignored (the AuthZEN endpoints): a key twice, or a known field in
// another case, is still refused.
func strictKeysIgnoringUnknown(body []byte, t reflect.Type) error {
	s := keyScanner{b: body, ignoreUnknown: true}
	return s.value(t)
}

// caseError refuses a key that encoding/json matched to a struct field
// ignoring case.
func caseError(key string, f *structFields, at int) error {
	k := excerpt(key)
	for _, name := range f.names {
		if strings.EqualFold(name, key) {
			return &policy.Error{Code: policy.CodeInvalidArgument,
				Message: fmt.Sprintf("unknown field %q (byte %d): field names are case-sensitive; did you mean %q?", k, at, name),
				Details: map[string]any{"field": k, "offset": at}}
		}
	}
	return &policy.Error{Code: policy.CodeInvalidArgument,
		Message: fmt.Sprintf("unknown field %q (byte %d): field names are case-sensitive", k, at),
		Details: map[string]any{"field": k, "offset": at}}
}

// structFields are the JSON names of a struct's fields, as encoding/json
// spells them, with their types.
type structFields struct {
	byName map[string]reflect.Type
	names  []string
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{byName: map[string]reflect.Type{}}
	addFields(f, t, 0)
	fieldCache.Store(t, f)
	return f
}

// addFields adds t's fields to f, promoting those of untagged embedded
// structs as encoding/json does (outer fields win).
func addFields(f *structFields, t reflect.Type, depth int) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, taken := f.byName[name]; !taken {
			f.byName[name] = ft
			f.names = append(f.names, name)
		}
	}
	if depth < 8 {
		for _, et := range embedded {
			addFields(f, et, depth+1)
		}
	}
}
