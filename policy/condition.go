package policy

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
)

// Conditions maps permission keys to the CEL condition ("when") of their
// grant (G1). A key here must also be in the Grants it goes with, whose
// level the condition limits: a conditional grant counts at its level for
// every rule that compares levels (C4, M5, X3a, D7) and reaches a record
// only where its condition holds (G2).
type Conditions map[string]string

// Clone returns a copy of c, nil for an empty c.
func (c Conditions) Clone() Conditions {
	if len(c) == 0 {
		return nil
	}
	out := make(Conditions, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// maxConditionLen bounds a condition's source: conditions are short
// business rules, and a bound keeps compile cost and error messages small.
const maxConditionLen = 2000

// Condition is a compiled grant condition: type-checked once, when written
// or when a role revision is compiled (G6), then evaluated per record.
type Condition struct {
	Source string
	prg    cel.Program
	ast    *celast.AST
	err    error // set when a stored condition failed to compile
}

// conditionEnv is the CEL environment every condition compiles in: `record`
// (the record's attributes plus owner_id and department_id) and `request`
// (the per-request context). It is built once; it is immutable afterwards.
var conditionEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("record", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)),
		cel.CrossTypeNumericComparisons(true),
	)
})

// CompileCondition type-checks and compiles a condition (G1). It returns
// invalid_condition when the source does not compile, is not boolean, or
// uses anything outside the subset Filter renders as SQL (G4); the error's
// details give the 1-based line and column and what is unsupported.
//
// The subset: comparisons (== != < <= > >=) of a record attribute with a
// literal or a request value; `in` a list of literals; && || !;
// startsWith and contains with a string literal; has(record.x); timestamp()
// of an attribute, a literal or a request value on both sides of a
// comparison; boolean attributes on their own; and any boolean expression
// of request values and literals only.
func CompileCondition(src string) (*Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, conditionError(src, 1, 1, "the condition is empty", "")
	}
	if len(src) > maxConditionLen {
		return nil, conditionError(src[:64]+"…", 1, maxConditionLen+1, fmt.Sprintf("the condition is longer than %d characters", maxConditionLen), "")
	}
	env, err := conditionEnv()
	if err != nil {
		return nil, fmt.Errorf("condition environment: %w", err)
	}
	checked, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		e := iss.Errors()[0]
		return nil, conditionError(src, e.Location.Line(), e.Location.Column()+1, e.Message, "")
	}
	if !checked.OutputType().IsExactType(types.BoolType) {
		return nil, conditionError(src, 1, 1, fmt.Sprintf("the condition must be boolean, not %s (compare the value, e.g. record.vip == true)", checked.OutputType()), "")
	}
	a := checked.NativeRep()
	t := &treeBuilder{ast: a, validate: true}
	if _, err := t.boolean(a.Expr()); err != nil {
		return nil, err
	}
	prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, conditionError(src, 1, 1, err.Error(), "")
	}
	return &Condition{Source: src, prg: prg, ast: a}, nil
}

// conditionError is the invalid_condition error for src at line:column.
func conditionError(src string, line, column int, msg, unsupported string) *Error {
	details := map[string]any{"condition": src, "line": line, "column": column}
	if unsupported != "" {
		details["unsupported"] = unsupported
	}
	return &Error{Code: CodeInvalidCondition,
		Message: fmt.Sprintf("invalid condition at %d:%d: %s (G1)", line, column, msg), Details: details}
}

// Context is a request's context object (G1): what a condition reads as
// `request`, e.g. {"time": "2026-12-03T10:00:00Z", "ip": "10.0.0.1"}.
type Context map[string]any

// Eval evaluates the condition on a record and a request context (G2). A
// condition that fails to evaluate (a missing attribute, a wrong type)
// returns an error; callers deny on it (G3).
func (c *Condition) Eval(r *Resource, ctx Context) (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	act := &condActivation{rec: recordVal{rec: r}, ctx: ctx}
	out, _, err := c.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %v, not a boolean", out.Value())
	}
	return b, nil
}

// condActivation binds `record` and `request` for one evaluation, in one
// allocation: the record's attributes are read in place, never copied.
type condActivation struct {
	rec recordVal
	ctx Context
}

var emptyContext = types.DefaultTypeAdapter.NativeToValue(map[string]any{})

func (a *condActivation) ResolveName(name string) (any, bool) {
	switch name {
	case "record":
		return &a.rec, true
	case "request":
		if len(a.ctx) == 0 {
			return emptyContext, true
		}
		return types.DefaultTypeAdapter.NativeToValue(map[string]any(a.ctx)), true
	}
	return nil, false
}

func (a *condActivation) Parent() interpreter.Activation { return nil }

// recordVal is the CEL value of `record` (a map): the record's
// attributes, with owner_id and department_id taken from the record itself
// (G1). Lookups read the attributes map directly.
type recordVal struct {
	rec *Resource
}

var recordType = types.NewMapType(types.StringType, types.DynType)

func (r *recordVal) lookup(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	v, ok := attribute(r.rec, string(k))
	if !ok {
		return nil, false
	}
	return types.DefaultTypeAdapter.NativeToValue(v), true
}

// native is the record as a plain CEL map, for the operations conditions
// rarely use (size, iteration, conversion).
func (r *recordVal) native() traits.Mapper {
	m := map[string]any{}
	if r.rec != nil {
		for k, v := range r.rec.Attributes {
			if v != nil {
				m[k] = v
			}
		}
		if r.rec.OwnerID != "" {
			m["owner_id"] = r.rec.OwnerID
		}
		if r.rec.DepartmentID != "" {
			m["department_id"] = r.rec.DepartmentID
		}
	}
	return types.DefaultTypeAdapter.NativeToValue(m).(traits.Mapper)
}

func (r *recordVal) Find(key ref.Val) (ref.Val, bool) { return r.lookup(key) }

func (r *recordVal) Get(key ref.Val) ref.Val {
	if v, ok := r.lookup(key); ok {
		return v
	}
	return types.NewErrWithNodeID(0, "no such key: %v", key)
}

func (r *recordVal) Contains(key ref.Val) ref.Val {
	_, ok := r.lookup(key)
	return types.Bool(ok)
}

func (r *recordVal) ConvertToNative(t reflect.Type) (any, error) {
	return r.native().ConvertToNative(t)
}
func (r *recordVal) ConvertToType(t ref.Type) ref.Val { return r.native().ConvertToType(t) }
func (r *recordVal) Equal(o ref.Val) ref.Val          { return r.native().Equal(o) }
func (r *recordVal) Type() ref.Type                   { return recordType }
func (r *recordVal) Value() any                       { return r.native().Value() }
func (r *recordVal) Iterator() traits.Iterator        { return r.native().Iterator() }
func (r *recordVal) Size() ref.Val                    { return r.native().Size() }

// normalizeTime renders a timestamp the way the SQL renderer compares
// them: RFC 3339 in UTC.
func normalizeTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
