package policy

import (
	"fmt"
	"time"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// CondExpr is a grant condition as a tree a host renders as SQL (G4), with
// the request's values already put in: only record attributes and
// constants remain. Ops:
//
//	and, or, not        Operands
//	eq ne lt le gt ge   Attribute op Value (Timestamp: compare as times)
//	in                  Attribute in Value (a list)
//	starts_with, contains  Attribute, Value (a string)
//	has                 Attribute is present (not null)
//	true, false         constants
//	unknown             a value the request did not give: SQL NULL
//
// Its truth follows SQL's three-valued logic, which is how CEL treats an
// error under && and || too: a missing attribute makes a comparison
// unknown, and an unknown condition never selects a record (G3).
type CondExpr struct {
	Op        string      `json:"op"`
	Attribute string      `json:"attribute,omitempty"`
	Value     any         `json:"value,omitzero"`
	Timestamp bool        `json:"timestamp,omitempty"`
	Operands  []*CondExpr `json:"operands,omitempty"`
}

// Tree returns the condition as an expression tree with the request
// context's values put in (G4).
func (c *Condition) Tree(ctx Context) *CondExpr {
	if c.err != nil {
		return unknownExpr // a stored condition that no longer compiles selects nothing (G3)
	}
	t := &treeBuilder{ast: c.ast, ctx: ctx}
	e, err := t.boolean(c.ast.Expr())
	if err != nil { // compiled conditions passed validation
		return &CondExpr{Op: "unknown"}
	}
	return e
}

// treeBuilder turns a checked CEL AST into a CondExpr. With validate set it
// only checks the shape: request values are unknown and never folded.
type treeBuilder struct {
	ast      *celast.AST
	ctx      Context
	validate bool
}

// operand is a value side of a comparison.
type operand struct {
	attr  string // a record attribute, or ""
	val   any    // a constant (when attr == "" and known)
	known bool
	ts    bool // the value is a timestamp (timestamp(...))
}

var compareOps = map[string]string{
	operators.Equals: "eq", operators.NotEquals: "ne", operators.Less: "lt",
	operators.LessEquals: "le", operators.Greater: "gt", operators.GreaterEquals: "ge",
}

var flipped = map[string]string{"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}

func (t *treeBuilder) unsupported(e celast.Expr, what string) error {
	loc := t.ast.SourceInfo().GetStartLocation(e.ID())
	line, col := max(loc.Line(), 1), max(loc.Column()+1, 1)
	return conditionError(t.ast.SourceInfo().Description(), line, col,
		what+" cannot be turned into SQL (G4): use comparisons, in, &&, ||, !, startsWith, contains, has() and timestamp()", what)
}

var trueExpr, falseExpr, unknownExpr = &CondExpr{Op: "true"}, &CondExpr{Op: "false"}, &CondExpr{Op: "unknown"}

func constBool(b bool) *CondExpr {
	if b {
		return trueExpr
	}
	return falseExpr
}

// boolean builds the tree of a boolean expression.
func (t *treeBuilder) boolean(e celast.Expr) (*CondExpr, error) {
	switch e.Kind() {
	case celast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok {
			return constBool(bool(b)), nil
		}
	case celast.SelectKind:
		if s := e.AsSelect(); s.IsTestOnly() {
			if s.Operand().Kind() == celast.IdentKind && s.Operand().AsIdent() == "record" {
				return &CondExpr{Op: "has", Attribute: s.FieldName()}, nil
			}
			if s.Operand().Kind() == celast.IdentKind && s.Operand().AsIdent() == "request" {
				if t.validate {
					return unknownExpr, nil
				}
				_, ok := t.ctx[s.FieldName()]
				return constBool(ok), nil
			}
			return nil, t.unsupported(e, "has() of something other than record.x or request.x")
		}
	case celast.CallKind:
		return t.call(e)
	}
	// A value used as a boolean: record.vip means record.vip == true.
	o, err := t.operand(e)
	if err != nil {
		return nil, err
	}
	return t.compare(e, "eq", o, operand{val: true, known: true})
}

func (t *treeBuilder) call(e celast.Expr) (*CondExpr, error) {
	c := e.AsCall()
	args := c.Args()
	switch fn := c.FunctionName(); fn {
	case operators.LogicalAnd, operators.LogicalOr:
		op := "and"
		if fn == operators.LogicalOr {
			op = "or"
		}
		out := &CondExpr{Op: op}
		for _, a := range args {
			x, err := t.boolean(a)
			if err != nil {
				return nil, err
			}
			switch {
			case (op == "and" && x == falseExpr) || (op == "or" && x == trueExpr):
				return x, nil
			case (op == "and" && x == trueExpr) || (op == "or" && x == falseExpr):
				continue
			case x.Op == op:
				out.Operands = append(out.Operands, x.Operands...)
			default:
				out.Operands = append(out.Operands, x)
			}
		}
		switch len(out.Operands) {
		case 0:
			return constBool(op == "and"), nil
		case 1:
			return out.Operands[0], nil
		}
		return out, nil
	case operators.LogicalNot:
		x, err := t.boolean(args[0])
		if err != nil {
			return nil, err
		}
		switch x {
		case trueExpr:
			return falseExpr, nil
		case falseExpr:
			return trueExpr, nil
		case unknownExpr:
			return unknownExpr, nil
		}
		return &CondExpr{Op: "not", Operands: []*CondExpr{x}}, nil
	case operators.In:
		l, err := t.operand(args[0])
		if err != nil {
			return nil, err
		}
		r, err := t.operand(args[1])
		if err != nil {
			return nil, err
		}
		if r.attr != "" {
			return nil, t.unsupported(args[1], "in with a record attribute on the right")
		}
		if !r.known || (l.attr == "" && !l.known) {
			return unknownExpr, nil
		}
		list, ok := r.val.([]any)
		if !ok {
			if t.validate {
				return nil, t.unsupported(args[1], "in with something other than a list")
			}
			return unknownExpr, nil
		}
		if l.attr == "" {
			for _, v := range list {
				if eq, ok := constCompare("eq", l.val, v); ok && eq {
					return trueExpr, nil
				}
			}
			return falseExpr, nil
		}
		return &CondExpr{Op: "in", Attribute: l.attr, Value: list}, nil
	case overloads.StartsWith, overloads.Contains:
		if !c.IsMemberFunction() || len(args) != 1 {
			break
		}
		target, err := t.operand(c.Target())
		if err != nil {
			return nil, err
		}
		arg, err := t.operand(args[0])
		if err != nil {
			return nil, err
		}
		if arg.attr != "" {
			return nil, t.unsupported(args[0], fn+" of a record attribute")
		}
		op := "starts_with"
		if fn == overloads.Contains {
			op = "contains"
		}
		if !arg.known || (target.attr == "" && !target.known) {
			return unknownExpr, nil
		}
		s, ok := arg.val.(string)
		if !ok {
			if t.validate {
				return nil, t.unsupported(args[0], fn+" of something other than a string")
			}
			return unknownExpr, nil
		}
		if target.attr == "" {
			ts, ok := target.val.(string)
			if !ok {
				return unknownExpr, nil
			}
			if op == "starts_with" {
				return constBool(len(ts) >= len(s) && ts[:len(s)] == s), nil
			}
			return constBool(containsString(ts, s)), nil
		}
		return &CondExpr{Op: op, Attribute: target.attr, Value: s}, nil
	default:
		if op, ok := compareOps[fn]; ok {
			l, err := t.operand(args[0])
			if err != nil {
				return nil, err
			}
			r, err := t.operand(args[1])
			if err != nil {
				return nil, err
			}
			return t.compare(e, op, l, r)
		}
	}
	return nil, t.unsupported(e, fmt.Sprintf("the function %s", displayName(c.FunctionName())))
}

func displayName(fn string) string {
	if d, ok := operators.FindReverse(fn); ok {
		return d
	}
	return fn
}

// compare builds a comparison node, folding constants.
func (t *treeBuilder) compare(e celast.Expr, op string, l, r operand) (*CondExpr, error) {
	if l.attr == "" && r.attr != "" {
		l, r, op = r, l, flipped[op]
	}
	if r.attr != "" {
		return nil, t.unsupported(e, "a comparison of two record attributes")
	}
	if !r.known || (l.attr == "" && !l.known) {
		return unknownExpr, nil
	}
	if _, isList := r.val.([]any); isList {
		return nil, t.unsupported(e, "a comparison with a list")
	}
	if l.attr == "" {
		cmp := constCompare
		if l.ts || r.ts {
			cmp = timeCompare
		}
		if b, ok := cmp(op, l.val, r.val); ok {
			return constBool(b), nil
		}
		return unknownExpr, nil
	}
	if l.ts != r.ts && r.val != nil {
		if t.validate {
			return nil, t.unsupported(e, "a comparison of a timestamp with something else")
		}
		return unknownExpr, nil
	}
	return &CondExpr{Op: op, Attribute: l.attr, Value: r.val, Timestamp: l.ts}, nil
}

// operand reads a value side: a literal, a list of literals, record.x,
// record["x"], request.x, or timestamp() of one of those.
func (t *treeBuilder) operand(e celast.Expr) (operand, error) {
	switch e.Kind() {
	case celast.LiteralKind:
		v, ok := literal(e.AsLiteral())
		if !ok {
			return operand{}, t.unsupported(e, fmt.Sprintf("a %s literal", e.AsLiteral().Type().TypeName()))
		}
		return operand{val: v, known: true}, nil
	case celast.ListKind:
		var list []any
		for _, el := range e.AsList().Elements() {
			o, err := t.operand(el)
			if err != nil {
				return operand{}, err
			}
			if o.attr != "" {
				return operand{}, t.unsupported(el, "a record attribute inside a list")
			}
			if !o.known {
				return operand{known: false}, nil
			}
			list = append(list, o.val)
		}
		if list == nil {
			list = []any{}
		}
		return operand{val: list, known: true}, nil
	case celast.SelectKind:
		s := e.AsSelect()
		if s.Operand().Kind() == celast.IdentKind && !s.IsTestOnly() {
			return t.named(e, s.Operand().AsIdent(), s.FieldName())
		}
	case celast.CallKind:
		c := e.AsCall()
		switch {
		case c.FunctionName() == operators.Index && len(c.Args()) == 2 && c.Args()[0].Kind() == celast.IdentKind &&
			c.Args()[1].Kind() == celast.LiteralKind:
			if k, ok := c.Args()[1].AsLiteral().(types.String); ok {
				return t.named(e, c.Args()[0].AsIdent(), string(k))
			}
		case c.FunctionName() == overloads.TypeConvertTimestamp && len(c.Args()) == 1 && !c.IsMemberFunction():
			o, err := t.operand(c.Args()[0])
			if err != nil {
				return operand{}, err
			}
			o.ts = true
			if o.attr != "" || !o.known {
				return o, nil
			}
			s, ok := o.val.(string)
			tm, err := time.Parse(time.RFC3339Nano, s)
			if !ok || err != nil {
				if t.validate {
					return operand{}, t.unsupported(e, "a timestamp that is not an RFC 3339 string")
				}
				return operand{known: false, ts: true}, nil
			}
			o.val = normalizeTime(tm)
			return o, nil
		}
		return operand{}, t.unsupported(e, "the function "+displayName(c.FunctionName()))
	case celast.IdentKind:
		return operand{}, t.unsupported(e, "the whole "+e.AsIdent()+" object")
	}
	return operand{}, t.unsupported(e, "this expression")
}

// named resolves record.x (an attribute) or request.x (a value).
func (t *treeBuilder) named(e celast.Expr, ident, field string) (operand, error) {
	switch ident {
	case "record":
		return operand{attr: field}, nil
	case "request":
		if t.validate {
			return operand{}, nil
		}
		v, ok := t.ctx[field]
		if !ok || v == nil {
			return operand{}, nil
		}
		if l, ok := v.([]any); ok {
			return operand{val: l, known: true}, nil
		}
		cv, ok := literal(types.DefaultTypeAdapter.NativeToValue(v))
		return operand{val: cv, known: ok}, nil
	}
	return operand{}, t.unsupported(e, "the variable "+ident)
}

// literal converts a CEL scalar to a Go value for the tree.
func literal(v ref.Val) (any, bool) {
	switch x := v.(type) {
	case types.Bool:
		return bool(x), true
	case types.Int:
		return int64(x), true
	case types.Uint:
		return int64(x), true
	case types.Double:
		return float64(x), true
	case types.String:
		return string(x), true
	}
	return nil, false
}

// constCompare compares two constants with CEL's semantics; false when
// the comparison is an error (different types).
func constCompare(op string, a, b any) (result, ok bool) {
	av, bv := types.DefaultTypeAdapter.NativeToValue(a), types.DefaultTypeAdapter.NativeToValue(b)
	switch op {
	case "eq":
		return av.Equal(bv) == types.True, true
	case "ne":
		return av.Equal(bv) != types.True, true
	}
	cmp, isCmp := av.(traits.Comparer)
	if !isCmp {
		return false, false
	}
	c, isInt := cmp.Compare(bv).(types.Int)
	if !isInt {
		return false, false
	}
	switch op {
	case "lt":
		return c < 0, true
	case "le":
		return c <= 0, true
	case "gt":
		return c > 0, true
	}
	return c >= 0, true
}

// timeCompare compares two RFC 3339 strings as instants.
func timeCompare(op string, a, b any) (result, ok bool) {
	as, aok := a.(string)
	bs, bok := b.(string)
	if !aok || !bok {
		return false, false
	}
	ta, err1 := time.Parse(time.RFC3339Nano, as)
	tb, err2 := time.Parse(time.RFC3339Nano, bs)
	if err1 != nil || err2 != nil {
		return false, false
	}
	c := ta.Compare(tb)
	switch op {
	case "eq":
		return c == 0, true
	case "ne":
		return c != 0, true
	case "lt":
		return c < 0, true
	case "le":
		return c <= 0, true
	case "gt":
		return c > 0, true
	}
	return c >= 0, true
}

func containsString(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Matches evaluates the tree on a record with SQL's three-valued logic: the
// reference semantics of the SQL a host renders from it. It reports
// whether the record is selected (true, not unknown).
func (x *CondExpr) Matches(r *Resource) bool {
	v, known := x.eval(r)
	return known && v
}

func (x *CondExpr) eval(r *Resource) (value, known bool) {
	switch x.Op {
	case "true":
		return true, true
	case "false":
		return false, true
	case "unknown":
		return false, false
	case "and":
		allKnown := true
		for _, o := range x.Operands {
			v, k := o.eval(r)
			if k && !v {
				return false, true
			}
			allKnown = allKnown && k
		}
		return true, allKnown
	case "or":
		allKnown := true
		for _, o := range x.Operands {
			v, k := o.eval(r)
			if k && v {
				return true, true
			}
			allKnown = allKnown && k
		}
		return false, allKnown
	case "not":
		v, k := x.Operands[0].eval(r)
		return !v, k
	}
	a, ok := attribute(r, x.Attribute)
	if x.Op == "has" {
		return ok, true
	}
	if !ok {
		return false, false
	}
	switch x.Op {
	case "in":
		for _, v := range x.Value.([]any) {
			if b, ok := constCompare("eq", a, v); ok && b {
				return true, true
			}
		}
		return false, true
	case "starts_with", "contains":
		s, isStr := a.(string)
		sub, _ := x.Value.(string)
		if !isStr {
			return false, false
		}
		if x.Op == "starts_with" {
			return len(s) >= len(sub) && s[:len(sub)] == sub, true
		}
		return containsString(s, sub), true
	}
	if x.Timestamp {
		return timeCompare(x.Op, a, x.Value)
	}
	return constCompare(x.Op, a, x.Value)
}

// attribute returns a record's attribute as a condition sees it (G1).
func attribute(r *Resource, name string) (any, bool) {
	if r == nil {
		return nil, false
	}
	switch {
	case name == "owner_id" && r.OwnerID != "":
		return r.OwnerID, true
	case name == "department_id" && r.DepartmentID != "":
		return r.DepartmentID, true
	}
	v, ok := r.Attributes[name]
	if v == nil {
		return nil, false
	}
	return v, ok
}
