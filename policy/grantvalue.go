package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// GrantValue is a grant as the API, policy files and storage write it: a
// level string ("department"), or {"level": "department", "when": "…"} for
// a conditional grant (G1). A plain level string stays a valid grant, so
// grants stored before conditions existed read unchanged.
type GrantValue struct {
	Level Level
	When  string
}

type grantObject struct {
	Level Level  `json:"level" yaml:"level"`
	When  string `json:"when,omitempty" yaml:"when,omitempty"`
}

// MarshalJSON writes a level string, or an object when the grant has a
// condition.
func (v GrantValue) MarshalJSON() ([]byte, error) {
	if v.When == "" {
		return json.Marshal(v.Level)
	}
	return json.Marshal(grantObject(v))
}

// UnmarshalJSON reads a level string or a {"level", "when"} object.
func (v *GrantValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var o grantObject
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return Errorf(CodeInvalidArgument, "a grant is a level or {\"level\", \"when\"}: %v", err)
		}
		*v = GrantValue(o)
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		if bytes.Equal(b, []byte("null")) {
			return nil
		}
		what := "number"
		switch {
		case len(b) > 0 && (b[0] == 't' || b[0] == 'f'):
			what = "bool"
		case len(b) > 0 && b[0] == '[':
			what = "array"
		}
		return &json.UnmarshalTypeError{Value: what, Type: reflect.TypeFor[string]()}
	}
	var l Level
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*v = GrantValue{Level: l}
	return nil
}

// MarshalYAML writes a level name, or a mapping with level and when.
func (v GrantValue) MarshalYAML() (any, error) {
	if v.When == "" {
		return v.Level.String(), nil
	}
	return grantObject(v), nil
}

// UnmarshalYAML reads a level name or a mapping with level and when.
func (v *GrantValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var o grantObject
		if err := n.Decode(&o); err != nil {
			return err
		}
		*v = GrantValue(o)
		return nil
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: a grant is a level or {level, when}", n.Line)
	}
	l, err := ParseLevel(s)
	if err != nil {
		return err
	}
	*v = GrantValue{Level: l}
	return nil
}

// GrantValues maps permission keys to grant values: Grants and their
// Conditions in one map, as they travel.
type GrantValues map[string]GrantValue

// JoinGrants returns g with the conditions of when as grant values.
func JoinGrants(g Grants, when Conditions) GrantValues {
	if g == nil {
		return nil
	}
	out := make(GrantValues, len(g))
	for k, l := range g {
		out[k] = GrantValue{Level: l, When: when[k]}
	}
	return out
}

// Split returns v's levels and conditions; the conditions are nil when no
// grant has one. A nil v gives nil grants.
func (v GrantValues) Split() (Grants, Conditions) {
	if v == nil {
		return nil, nil
	}
	g := make(Grants, len(v))
	var when Conditions
	for k, x := range v {
		g[k] = x.Level
		if x.When != "" {
			if when == nil {
				when = Conditions{}
			}
			when[k] = x.When
		}
	}
	return g, when
}
