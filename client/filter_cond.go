package client

import (
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// condition renders a grant condition's tree (G4) as a boolean SQL
// expression. SQL's three-valued logic is the tree's: a NULL column makes a
// comparison unknown, and unknown never selects a record, as a condition
// that fails to evaluate never allows (G3). Timestamps compare as
// timestamptz on PostgreSQL and through julianday() on SQLite, which keeps
// them as RFC 3339 text.
func (r *renderer) condition(cols Columns, x *policy.CondExpr) string {
	if x == nil {
		return r.constant(false)
	}
	switch x.Op {
	case "true":
		return r.constant(true)
	case "false":
		return r.constant(false)
	case "unknown":
		return "NULL"
	case "and", "or":
		if len(x.Operands) == 0 { // the neutral value: "()" would not parse
			return r.constant(x.Op == "and")
		}
		parts := make([]string, len(x.Operands))
		for i, o := range x.Operands {
			parts[i] = r.condition(cols, o)
		}
		return "(" + strings.Join(parts, " "+strings.ToUpper(x.Op)+" ") + ")"
	case "not":
		if len(x.Operands) != 1 {
			return "NULL" // malformed: select nothing through it
		}
		return "(NOT " + r.condition(cols, x.Operands[0]) + ")"
	}
	col := cols.attribute(x.Attribute)
	switch x.Op {
	case "has":
		return "(" + col + " IS NOT NULL)"
	case "in":
		list, _ := x.Value.([]any)
		if len(list) == 0 {
			return "(CASE WHEN " + col + " IS NULL THEN NULL ELSE " + r.constant(false) + " END)"
		}
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = r.arg(r.value(v))
		}
		return "(" + col + " IN (" + strings.Join(parts, ", ") + "))"
	case "starts_with":
		p := r.arg(x.Value)
		return "(substr(" + col + ", 1, length(CAST(" + p + " AS TEXT))) = " + r.arg(x.Value) + ")"
	case "contains":
		if r.d == SQLite {
			return "(instr(" + col + ", " + r.arg(x.Value) + ") > 0)"
		}
		return "(strpos(" + col + ", " + r.arg(x.Value) + ") > 0)"
	}
	op := map[string]string{"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[x.Op]
	if op == "" {
		return "NULL" // an op this version does not know: select nothing through it
	}
	if x.Timestamp {
		if r.d == SQLite {
			return "(julianday(" + col + ") " + op + " julianday(" + r.arg(x.Value) + "))"
		}
		return "(" + col + " " + op + " CAST(" + r.arg(x.Value) + " AS timestamptz))"
	}
	return "(" + col + " " + op + " " + r.arg(r.value(x.Value)) + ")"
}

// value converts a tree value to a driver argument.
func (r *renderer) value(v any) any {
	if b, ok := v.(bool); ok && r.d == SQLite {
		if b {
			return 1
		}
		return 0
	}
	return v
}

// attribute returns the column of a record attribute, or NULL.
func (c Columns) attribute(name string) string {
	if col, ok := c.Attributes[name]; ok {
		return col
	}
	switch name {
	case "owner_id":
		return c.Owner
	case "department_id":
		return c.Department
	}
	return "NULL"
}
