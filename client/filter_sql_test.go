package client_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// relTable is the relation table of the rendering tests.
var relTable = &client.RelationTable{Table: "rel", Record: "record_id", RecordID: "r.id", Relation: "relation", User: "user_id"}

// TestD5_FilterSQL checks the SQL text and arguments a filter renders to,
// per dialect and relation storage.
func TestD5_FilterSQL(t *testing.T) {
	t.Parallel()
	cols := client.Columns{Owner: "r.owner_id", Department: "r.department_id"}
	withTable := cols
	withTable.RelationTable = relTable
	withColumns := cols
	withColumns.RelationColumns = map[string]string{"responsible": "r.responsible_id", "creator": "r.creator_id"}

	own := &client.Filter{Kind: policy.PlanConditional, OwnerIDs: []string{"ann"}, RelationUser: "ann", Relations: []string{"responsible"}}
	dept := &client.Filter{Kind: policy.PlanConditional, OwnerIDs: []string{"bob"}, DepartmentIDs: []string{"east", "sales"},
		DepartmentOwnerIDs: []string{"ann", "bob"}, RelationUser: "bob", Relations: []string{"responsible"}}
	tasks := &client.Filter{Kind: policy.PlanConditional, RelationUser: "cat", Relations: []string{"creator", "participant"}}
	tests := []struct {
		name      string
		f         *client.Filter
		d         client.Dialect
		cols      client.Columns
		wantSQL   string
		wantArgs  []any
		wantEmpty bool // no arguments
	}{
		{"all postgres", &client.Filter{Kind: policy.PlanAll}, client.Postgres, cols, "TRUE", nil, true},
		{"all sqlite", &client.Filter{Kind: policy.PlanAll}, client.SQLite, cols, "1=1", nil, true},
		{"none postgres", &client.Filter{Kind: policy.PlanNone}, client.Postgres, cols, "FALSE", nil, true},
		{"none sqlite", &client.Filter{Kind: policy.PlanNone}, client.SQLite, cols, "1=0", nil, true},
		{"unknown kind reaches nothing", &client.Filter{Kind: "someday", OwnerIDs: []string{"x"}}, client.Postgres, cols, "FALSE", nil, true},
		{"conditional with empty lists", &client.Filter{Kind: policy.PlanConditional}, client.SQLite, withTable, "1=0", nil, true},
		{"own, relations skipped", own, client.Postgres, cols, "(r.owner_id IN ($1))", []any{"ann"}, false},
		{"own, relation table", own, client.Postgres, withTable,
			"(r.owner_id IN ($1) OR EXISTS (SELECT 1 FROM rel WHERE rel.record_id = r.id AND rel.relation IN ($2) AND rel.user_id = $3))",
			[]any{"ann", "responsible", "ann"}, false},
		{"own, relation columns, sqlite", own, client.SQLite, withColumns,
			"(r.owner_id IN (?) OR r.responsible_id = ?)", []any{"ann", "ann"}, false},
		{"department, postgres", dept, client.Postgres, withColumns,
			"(r.owner_id IN ($1) OR r.department_id IN ($2, $3) OR (r.department_id IS NULL AND r.owner_id IN ($4, $5)) OR r.responsible_id = $6)",
			[]any{"bob", "east", "sales", "ann", "bob", "bob"}, false},
		{"department, sqlite", dept, client.SQLite, cols,
			"(r.owner_id IN (?) OR r.department_id IN (?, ?) OR (r.department_id IS NULL AND r.owner_id IN (?, ?)))",
			[]any{"bob", "east", "sales", "ann", "bob"}, false},
		{"department, postgres arrays", dept, client.PostgresArray, withTable,
			"(r.owner_id = ANY($1) OR r.department_id = ANY($2) OR (r.department_id IS NULL AND r.owner_id = ANY($3)) OR " +
				"EXISTS (SELECT 1 FROM rel WHERE rel.record_id = r.id AND rel.relation = ANY($4) AND rel.user_id = $5))",
			[]any{[]string{"bob"}, []string{"east", "sales"}, []string{"ann", "bob"}, []string{"responsible"}, "bob"}, false},
		{"relation module, table", tasks, client.SQLite, withTable,
			"(EXISTS (SELECT 1 FROM rel WHERE rel.record_id = r.id AND rel.relation IN (?, ?) AND rel.user_id = ?))",
			[]any{"creator", "participant", "cat"}, false},
		{"relation module, columns cover creator only", tasks, client.Postgres, withColumns,
			"(r.creator_id = $1)", []any{"cat"}, false},
		{"relation module without relation storage", tasks, client.Postgres, cols, "FALSE", nil, true},
		{"values never enter the text", &client.Filter{Kind: policy.PlanConditional, OwnerIDs: []string{"x') OR 1=1 --"}},
			client.SQLite, cols, "(r.owner_id IN (?))", []any{"x') OR 1=1 --"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, args := tt.f.SQL(tt.d, tt.cols)
			if sql != tt.wantSQL {
				t.Errorf("SQL\n got %s\nwant %s", sql, tt.wantSQL)
			}
			if tt.wantEmpty && len(args) != 0 || !tt.wantEmpty && !reflect.DeepEqual(args, tt.wantArgs) {
				t.Errorf("args\n got %#v\nwant %#v", args, tt.wantArgs)
			}
		})
	}
}

// TestD5_FilterSQLRejectsBadIdentifiers checks that a column name that is
// not an identifier panics rather than enter the SQL.
func TestD5_FilterSQLRejectsBadIdentifiers(t *testing.T) {
	t.Parallel()
	f := &client.Filter{Kind: policy.PlanAll}
	for _, cols := range []client.Columns{
		{Owner: "owner_id; DROP TABLE x", Department: "d"},
		{Owner: "o", Department: ""},
		{Owner: "o", Department: "d", RelationTable: &client.RelationTable{Table: "t", Record: "r", RecordID: "1", Relation: "rel", User: "u"}},
		{Owner: "o", Department: "d", RelationColumns: map[string]string{"responsible": "a b"}},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "not an SQL identifier") {
					t.Errorf("columns %+v: recovered %v, want a panic naming the column", cols, r)
				}
			}()
			f.SQL(client.Postgres, cols)
		}()
	}
}
