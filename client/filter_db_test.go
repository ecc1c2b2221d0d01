package client_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// record is a row of the records table of TestD5_FilterSQLSelectsWhatChecksAllow.
type record struct {
	id          int64
	owner       string
	department  string // "" is NULL
	creator     string // "" is NULL
	responsible string // "" is NULL
	// participants and observers exist only in the relation table.
	participants, observers []string
}

// resource is the record as a check sees it; columnsOnly keeps the
// relations the RelationColumns rendering can see: creator and
// responsible.
func (r *record) resource(columnsOnly bool) *policy.Resource {
	res := &policy.Resource{OwnerID: r.owner, DepartmentID: r.department}
	if r.creator != "" {
		res.Relations.Creator = []string{r.creator}
	}
	if r.responsible != "" {
		res.Relations.Responsible = []string{r.responsible}
	}
	if !columnsOnly {
		res.Relations.Participant = r.participants
		res.Relations.Observer = r.observers
	}
	return res
}

// genRecords makes n records, reproducibly: owners among the members and
// strangers, departments across the tree, unknown or none, relations of
// every kind.
func genRecords(n int) []record {
	rnd := mrand.New(mrand.NewPCG(5, 42))
	var users []string
	for _, m := range members {
		users = append(users, m.UserID)
	}
	users = append(users, "stranger")
	pick := func(xs []string, nullOneIn int) string {
		if nullOneIn > 0 && rnd.IntN(nullOneIn) == 0 {
			return ""
		}
		return xs[rnd.IntN(len(xs))]
	}
	depts := []string{"gone"}
	for _, d := range departments {
		depts = append(depts, d.ID)
	}
	some := func() []string {
		var out []string
		for range rnd.IntN(3) {
			if u := pick(users, 0); !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
		return out
	}
	out := make([]record, n)
	for i := range out {
		out[i] = record{id: int64(i + 1), owner: pick(users, 0), department: pick(depts, 3),
			creator: pick(users, 4), responsible: pick(users, 2), participants: some(), observers: some()}
	}
	return out
}

// TestD5_FilterSQLSelectsWhatChecksAllow is the filter's end-to-end
// contract (D5): for several users and permissions, the rows a database
// selects with the rendered WHERE clause are exactly the records that
// checks, one per record, allow. It runs against SQLite and PostgreSQL,
// with relations in a relation table and in columns.
func TestD5_FilterSQLSelectsWhatChecksAllow(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	recs := genRecords(300)
	users := []string{"ghost"} // not a member
	for _, m := range members {
		users = append(users, m.UserID)
	}
	perms := []string{"contacts_view", "contacts_edit", "deals_view", "leads_delete", "invoices_view", "tasks_view", "tasks_edit", "tasks_delete"}

	// The truth: per (user, permission), the filter and the records that
	// checks allow, with every relation and with the columns' only.
	type want struct {
		filter           *client.Filter
		full, columnOnly []int64
	}
	truth := map[[2]string]*want{}
	reasons := map[policy.Reason]int{}
	viaDeptlessOwner := 0 // allowed by department through the owner of a record without one
	for _, u := range users {
		for _, p := range perms {
			f, err := w.check.Filter(ctx, w.ws, client.FilterRequest{User: u, Permission: p})
			if err != nil {
				t.Fatal(err)
			}
			x := &want{filter: f}
			for _, columnsOnly := range []bool{false, true} {
				var checks []client.CheckRequest
				for i := range recs {
					checks = append(checks, client.CheckRequest{User: u, Permission: p, Resource: recs[i].resource(columnsOnly)})
				}
				res, err := w.check.CheckBatch(ctx, w.ws, client.Batch{Checks: checks, MinRevision: f.Revision})
				if err != nil {
					t.Fatal(err)
				}
				if res.Revision != f.Revision {
					t.Fatalf("checks at revision %d, filter at %d", res.Revision, f.Revision)
				}
				for i, r := range res.Results {
					if r.Err != nil {
						t.Fatalf("check %s %s record %d: %v", u, p, recs[i].id, r.Err)
					}
					if f.Matches(checks[i].Resource) != r.Allowed {
						t.Fatalf("Filter.Matches(%+v) = %v for %s %s, but the check says %+v", checks[i].Resource, !r.Allowed, u, p, r.Decision)
					}
					reasons[r.Reason]++
					if !r.Allowed {
						continue
					}
					if columnsOnly {
						x.columnOnly = append(x.columnOnly, recs[i].id)
					} else {
						x.full = append(x.full, recs[i].id)
						if recs[i].department == "" && (r.Reason == policy.ReasonDepartment || r.Reason == policy.ReasonSubdepartment) {
							viaDeptlessOwner++
						}
					}
				}
			}
			truth[[2]string{u, p}] = x
		}
	}
	// The data must exercise every clause, or a wrong rendering could pass.
	for _, r := range []policy.Reason{policy.ReasonLevelAll, policy.ReasonOwner, policy.ReasonResponsible, policy.ReasonDepartment,
		policy.ReasonSubdepartment, policy.ReasonRelation, policy.ReasonOutOfScope, policy.ReasonNoRelation, policy.ReasonNoGrant, policy.ReasonNotAMember} {
		if reasons[r] == 0 {
			t.Errorf("no check decided with reason %s: the records do not exercise it", r)
		}
	}
	if viaDeptlessOwner == 0 {
		t.Error("no record without a department was allowed through its owner's department")
	}

	type variant struct {
		name        string
		d           client.Dialect
		columnsOnly bool // relations from RelationColumns, not RelationTable
	}
	verify := func(t *testing.T, db *sql.DB, prefix string, variants []variant) {
		loadRecords(t, db, prefix, variants[0].d, recs)
		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				cols := client.Columns{Owner: "r.owner_id", Department: "r.department_id"}
				if v.columnsOnly {
					cols.RelationColumns = map[string]string{"creator": "r.creator_id", "responsible": "r.responsible_id"}
				} else {
					cols.RelationTable = &client.RelationTable{Table: prefix + "record_relations", Record: "record_id",
						RecordID: "r.id", Relation: "relation", User: "user_id"}
				}
				for _, u := range users {
					for _, p := range perms {
						x := truth[[2]string{u, p}]
						where, args := x.filter.SQL(v.d, cols)
						q := "SELECT r.id FROM " + prefix + "records r WHERE " + where + " ORDER BY r.id"
						got := queryIDs(t, db, q, args)
						wantIDs := x.full
						if v.columnsOnly {
							wantIDs = x.columnOnly
						}
						if !slices.Equal(got, wantIDs) {
							t.Errorf("%s %s: the SQL selects %d records, the checks allow %d\nfilter %+v\nSQL %s\nargs %v\nselected only: %v\nallowed only:  %v",
								u, p, len(got), len(wantIDs), *x.filter, where, args, minus(got, wantIDs), minus(wantIDs, got))
						}
					}
				}
			})
		}
	}

	t.Run("sqlite", func(t *testing.T) {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "records.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		verify(t, db, "", []variant{{"relation table", client.SQLite, false}, {"relation columns", client.SQLite, true}})
	})
	t.Run("postgres", func(t *testing.T) {
		db, schema := postgresSchema(t)
		verify(t, db, schema+".", []variant{
			{"relation table", client.Postgres, false},
			{"relation table, arrays", client.PostgresArray, false},
			{"relation columns", client.Postgres, true},
			{"relation columns, arrays", client.PostgresArray, true},
		})
	})
}

// postgresSchema connects to the test PostgreSQL server, as
// store/postgres's tests do (GATEHOUSE_TEST_POSTGRES; skipped without it
// unless CI is set), and creates a schema of its own, dropped at the end.
func postgresSchema(t *testing.T) (*sql.DB, string) {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES is not set; CI must run the PostgreSQL tests (use ./scripts/postgres)")
		}
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set; ./scripts/postgres starts a throwaway server")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("PostgreSQL at GATEHOUSE_TEST_POSTGRES is unreachable: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return db, schema
}

// loadRecords creates the records and record_relations tables (names
// prefixed by prefix, e.g. a schema) and fills them.
func loadRecords(t *testing.T, db *sql.DB, prefix string, d client.Dialect, recs []record) {
	t.Helper()
	ph := func(n int) string {
		if d == client.SQLite {
			return "?"
		}
		return "$" + strconv.Itoa(n)
	}
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, ddl := range []string{
		"CREATE TABLE " + prefix + "records (id INTEGER PRIMARY KEY, owner_id TEXT NOT NULL, department_id TEXT, creator_id TEXT, responsible_id TEXT)",
		"CREATE TABLE " + prefix + "record_relations (record_id INTEGER NOT NULL REFERENCES " + prefix + "records (id), relation TEXT NOT NULL, user_id TEXT NOT NULL)",
	} {
		if _, err := tx.Exec(ddl); err != nil {
			t.Fatal(err)
		}
	}
	insRec := fmt.Sprintf("INSERT INTO %srecords (id, owner_id, department_id, creator_id, responsible_id) VALUES (%s, %s, %s, %s, %s)",
		prefix, ph(1), ph(2), ph(3), ph(4), ph(5))
	insRel := fmt.Sprintf("INSERT INTO %srecord_relations (record_id, relation, user_id) VALUES (%s, %s, %s)", prefix, ph(1), ph(2), ph(3))
	for _, r := range recs {
		if _, err := tx.Exec(insRec, r.id, r.owner, null(r.department), null(r.creator), null(r.responsible)); err != nil {
			t.Fatal(err)
		}
		rels := map[string][]string{"participant": r.participants, "observer": r.observers}
		if r.creator != "" {
			rels["creator"] = []string{r.creator}
		}
		if r.responsible != "" {
			rels["responsible"] = []string{r.responsible}
		}
		for rel, users := range rels {
			for _, u := range users {
				if _, err := tx.Exec(insRel, r.id, rel, u); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func queryIDs(t *testing.T, db *sql.DB, q string, args []any) []int64 {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", q, args, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// minus returns the ids of a that are not in b.
func minus(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
