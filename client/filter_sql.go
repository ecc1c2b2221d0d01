package client

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Filter is the answer of a filter call (D5): which records of a module a
// member may reach with a permission. Its semantics are policy.Plan's: a
// conditional filter matches a record when
//
//	owner_id IN OwnerIDs
//	OR department_id IN DepartmentIDs
//	OR (department_id IS NULL AND owner_id IN DepartmentOwnerIDs)
//	OR RelationUser holds one of Relations on the record
//
// and exactly the records it matches are the ones a check allows.
type Filter struct {
	Kind policy.PlanKind `json:"kind"`
	// OwnerIDs: records owned by one of them.
	OwnerIDs []string `json:"owner_ids"`
	// DepartmentIDs: records in one of these departments.
	DepartmentIDs []string `json:"department_ids"`
	// DepartmentOwnerIDs: records without a department, owned by one of
	// them (such a record counts as in its owner's departments, D2).
	DepartmentOwnerIDs []string `json:"department_owner_ids"`
	// RelationUser and Relations: records on which RelationUser holds one
	// of the Relations (creator, responsible, participant, observer).
	RelationUser string   `json:"relation_user"`
	Relations    []string `json:"relations"`
	// Level is the member's effective level of the permission.
	Level policy.Level `json:"level"`
	// Revision is the workspace revision the filter was computed at.
	Revision int64 `json:"revision"`
	// Conditions are the member's conditional grants (G4): a record also
	// matches when it matches one's scope clauses (any record at level
	// all) AND its condition tree.
	Conditions []policy.PlanCondition `json:"conditions,omitempty"`
}

// Plan returns f as the domain's plan.
func (f *Filter) Plan() *policy.Plan {
	return &policy.Plan{Kind: f.Kind, Scope: f.scope(), Level: f.Level, Revision: f.Revision, Conditions: f.Conditions}
}

func (f *Filter) scope() policy.Scope {
	return policy.Scope{OwnerIDs: f.OwnerIDs, DepartmentIDs: f.DepartmentIDs,
		DepartmentOwnerIDs: f.DepartmentOwnerIDs, RelationUser: f.RelationUser, Relations: f.Relations}
}

// Matches reports whether record r passes the filter: what a check on r
// answers, decided locally. A record without a department has an empty
// DepartmentID.
func (f *Filter) Matches(r *policy.Resource) bool { return f.Plan().Matches(r) }

// Dialect is the SQL flavour SQL renders.
type Dialect int

// The dialects.
const (
	// Postgres numbers its placeholders $1, $2, … and lists values as
	// IN ($1, $2): one argument per value, for any driver. It is the zero
	// Dialect.
	Postgres Dialect = iota
	// PostgresArray is Postgres with each list as one array argument,
	// "owner_id = ANY($1)": the statement's text no longer depends on the
	// lists' lengths and no list meets the 65,535-parameter limit. The
	// arguments are []string, which pgx's database/sql driver sends as
	// text[]; with lib/pq, wrap them in pq.Array.
	PostgresArray
	// SQLite uses ? placeholders and IN (?, ?) lists. SQLite takes at
	// most 32,766 parameters per statement.
	SQLite
)

// Columns names where a table keeps what a filter tests. Owner and
// Department are required; the relation fields are optional.
//
// Names are SQL identifiers, optionally qualified ("r.owner_id",
// "crm.task_relations"), written into the SQL as they are: they are the
// program's constants, never input. SQL panics on a name that is not
// letters, digits and underscores separated by dots.
type Columns struct {
	// Owner holds the record's owner: a user id.
	Owner string
	// Department holds the record's department id, NULL when it has none
	// (never ''): such a record counts as in its owner's departments.
	Department string
	// RelationTable keeps the record's relations one row per (record,
	// relation, user): any number of users per relation. It is the
	// general form, and the one relation modules need (R10).
	RelationTable *RelationTable
	// RelationColumns maps a relation name ("responsible", "creator", …)
	// to a column of the record holding one user id or NULL, for tables
	// where a relation has at most one user (e.g. responsible_id). It is
	// used only when RelationTable is nil.
	RelationColumns map[string]string
	// Attributes maps a record attribute that grant conditions read
	// (record.<name>, G1) to its column. owner_id and department_id
	// default to Owner and Department; any other attribute without a
	// column renders as NULL, so a condition on it selects nothing it
	// would not select for a record lacking the attribute.
	Attributes map[string]string
}

// RelationTable is a table of record relations:
//
//	CREATE TABLE record_relations (record_id …, relation TEXT, user_id TEXT)
//
// with relation one of "creator", "responsible", "participant",
// "observer".
type RelationTable struct {
	// Table is the table's name, e.g. "record_relations".
	Table string
	// Record is its column referring to the record, e.g. "record_id";
	// RecordID the filtered table's key it refers to, qualified so that
	// it is not read as the relation table's own column, e.g. "r.id" or
	// "records.id".
	Record   string
	RecordID string
	// Relation holds the relation's name, User the user id.
	Relation string
	User     string
}

// SQL renders the filter as a boolean SQL expression over the columns
// cols names, with placeholders for d, and returns it with its arguments
// in placeholder order; AND it into a WHERE clause:
//
//	where, args := f.SQL(client.Postgres, cols)
//	rows, err := db.QueryContext(ctx, "SELECT id FROM records r WHERE "+where, args...)
//
// A filter of kind all renders as TRUE (SQLite 1=1), none as FALSE (SQLite
// 1=0), a conditional one as a parenthesized OR of the clauses of Filter's
// doc, leaving out those whose lists are empty. Values travel only as
// arguments, never in the SQL text.
//
// Relations are rendered from cols.RelationTable as an EXISTS subquery
// when it is set, else from cols.RelationColumns as "column = user". A
// relation that neither covers is left out, which only ever leaves records
// out: the clause never reaches a record the user may not reach. Without
// either, records the user reaches only as responsible (scoped modules) or
// through a relation (relation modules, R10) are not selected.
//
// SQL panics when a name in cols is not an identifier (see Columns), or
// when Owner or Department is empty.
func (f *Filter) SQL(d Dialect, cols Columns) (where string, args []any) {
	cols.mustValidate()
	r := renderer{d: d}
	switch f.Kind {
	case policy.PlanAll:
		return r.constant(true), nil
	case policy.PlanConditional:
	default: // none, or a kind this version does not know: reach nothing
		return r.constant(false), nil
	}
	clauses := r.scope(cols, f.scope())
	for _, c := range f.Conditions {
		scope := r.constant(true)
		if c.Level != policy.LevelAll {
			sc := r.scope(cols, c.Scope)
			if len(sc) == 0 {
				continue
			}
			scope = "(" + strings.Join(sc, " OR ") + ")"
		}
		clauses = append(clauses, "("+scope+" AND "+r.condition(cols, c.When)+")")
	}
	if len(clauses) == 0 {
		return r.constant(false), nil
	}
	return "(" + strings.Join(clauses, " OR ") + ")", r.args
}

// scope renders the clauses of a scope (see Filter).
func (r *renderer) scope(cols Columns, f policy.Scope) []string {
	var clauses []string
	if len(f.OwnerIDs) > 0 {
		clauses = append(clauses, r.in(cols.Owner, f.OwnerIDs))
	}
	if len(f.DepartmentIDs) > 0 {
		clauses = append(clauses, r.in(cols.Department, f.DepartmentIDs))
	}
	if len(f.DepartmentOwnerIDs) > 0 {
		clauses = append(clauses, "("+cols.Department+" IS NULL AND "+r.in(cols.Owner, f.DepartmentOwnerIDs)+")")
	}
	if f.RelationUser != "" && len(f.Relations) > 0 {
		if t := cols.RelationTable; t != nil {
			clauses = append(clauses, "EXISTS (SELECT 1 FROM "+t.Table+" WHERE "+t.Table+"."+t.Record+" = "+t.RecordID+
				" AND "+r.in(t.Table+"."+t.Relation, f.Relations)+" AND "+t.Table+"."+t.User+" = "+r.arg(f.RelationUser)+")")
		} else {
			for _, rel := range f.Relations {
				if col, ok := cols.RelationColumns[rel]; ok {
					clauses = append(clauses, col+" = "+r.arg(f.RelationUser))
				}
			}
		}
	}
	return clauses
}

// renderer accumulates the arguments of one rendering.
type renderer struct {
	d    Dialect
	args []any
}

func (r *renderer) constant(b bool) string {
	switch {
	case r.d == SQLite && b:
		return "1=1"
	case r.d == SQLite:
		return "1=0"
	case b:
		return "TRUE"
	}
	return "FALSE"
}

// arg adds one argument and returns its placeholder.
func (r *renderer) arg(v any) string {
	r.args = append(r.args, v)
	if r.d == SQLite {
		return "?"
	}
	return "$" + strconv.Itoa(len(r.args))
}

// in renders "col IN (…)" for a non-empty list of values.
func (r *renderer) in(col string, values []string) string {
	if r.d == PostgresArray {
		return col + " = ANY(" + r.arg(slices.Clone(values)) + ")"
	}
	var b strings.Builder
	b.WriteString(col)
	b.WriteString(" IN (")
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.arg(v))
	}
	b.WriteByte(')')
	return b.String()
}

// identifier is a plain or dot-qualified SQL name.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

func (c Columns) mustValidate() {
	check := func(what, name string) {
		if !identifier.MatchString(name) {
			panic(fmt.Sprintf("client: Columns.%s is %q, not an SQL identifier such as owner_id or r.owner_id", what, name))
		}
	}
	check("Owner", c.Owner)
	check("Department", c.Department)
	if t := c.RelationTable; t != nil {
		check("RelationTable.Table", t.Table)
		check("RelationTable.Record", t.Record)
		check("RelationTable.RecordID", t.RecordID)
		check("RelationTable.Relation", t.Relation)
		check("RelationTable.User", t.User)
	}
	for rel, col := range c.RelationColumns {
		check("RelationColumns["+strconv.Quote(rel)+"]", col)
	}
	for a, col := range c.Attributes {
		check("Attributes["+strconv.Quote(a)+"]", col)
	}
}
