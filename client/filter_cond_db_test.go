package client_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// condWorld is a workspace whose roles and direct grants carry random
// conditions (policyref.RandomCondition) at random levels, on deals_view
// and, through inheritance (C6), on crm_view.
func condWorld(t *testing.T, rng *mrand.Rand) (*policy.Snapshot, []string) {
	t.Helper()
	levels := []policy.Level{policy.LevelOwn, policy.LevelDepartment, policy.LevelSubdepartments, policy.LevelAll}
	st := policy.State{Workspace: "acme", Revision: 1, Catalog: policy.DefaultCatalog(),
		Departments: []policy.Department{{ID: "sales"}, {ID: "east", ParentID: "sales"}, {ID: "support"}}}
	for i := range 8 {
		g, when := policy.Grants{}, policy.Conditions{}
		key := []string{"deals_view", "crm_view"}[i%2]
		g[key] = levels[rng.IntN(len(levels))]
		if i%4 != 3 { // a quarter of the roles are unconditional
			when[key] = policyref.RandomCondition(rng, 2)
		}
		st.Roles = append(st.Roles, policy.RoleRevision{RoleID: fmt.Sprintf("r%d", i), Revision: 1, Name: fmt.Sprintf("R%d", i),
			Audience: policy.Internal, Grants: g, When: when})
	}
	depts := []string{"sales", "east", "support", ""}
	var users []string
	for i := range 12 {
		m := policy.Member{UserID: fmt.Sprintf("u%d", i+1), Kind: policy.Internal}
		if d := depts[rng.IntN(len(depts))]; d != "" {
			m.DepartmentIDs = []string{d}
		}
		for range 1 + rng.IntN(2) {
			m.Roles = append(m.Roles, policy.RoleRef{RoleID: fmt.Sprintf("r%d", rng.IntN(8)), Revision: 1})
		}
		if i%4 == 0 {
			m.Grants = policy.Grants{"deals_view": levels[rng.IntN(len(levels))]}
			m.When = policy.Conditions{"deals_view": policyref.RandomCondition(rng, 2)}
		}
		st.Members = append(st.Members, m)
		users = append(users, m.UserID)
	}
	s, err := policy.Compile(st)
	if err != nil {
		t.Fatal(err)
	}
	return s, users
}

// condRecord is a record with the attributes of policyref.RandomAttributes.
type condRecord struct {
	id    int64
	res   *policy.Resource
	attrs map[string]any
}

// TestG4_ConditionalFilterSQLSelectsWhatChecksAllow extends the filter's
// contract (D5) to conditional grants (G4): for random conditions on
// roles and direct grants, random records (attributes missing included)
// and random request contexts, the SQL the client renders from the plan —
// sent through JSON as the API sends it — selects on real SQLite and
// PostgreSQL exactly the records that checks allow.
func TestG4_ConditionalFilterSQLSelectsWhatChecksAllow(t *testing.T) {
	t.Parallel()
	rng := mrand.New(mrand.NewPCG(18, 18))
	s, users := condWorld(t, rng)
	owners := append(slices.Clone(users), "stranger")
	depts := []string{"sales", "east", "support", ""}
	var recs []condRecord
	for i := range 400 {
		a := policyref.RandomAttributes(rng)
		r := &policy.Resource{OwnerID: owners[rng.IntN(len(owners))], DepartmentID: depts[rng.IntN(len(depts))], Attributes: a}
		recs = append(recs, condRecord{id: int64(i + 1), res: r, attrs: a})
	}
	type question struct {
		user, perm string
		ctx        policy.Context
		filter     *client.Filter
		want       []int64
	}
	var qs []question
	conditional := 0
	for _, u := range users {
		for _, p := range []string{"deals_view", "leads_view"} {
			ctx := policy.Context(policyref.RandomContext(rng))
			plan, err := s.FilterContext(u, p, ctx)
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(plan)
			if err != nil {
				t.Fatal(err)
			}
			var f client.Filter
			if err := json.Unmarshal(js, &f); err != nil {
				t.Fatal(err)
			}
			q := question{user: u, perm: p, ctx: ctx, filter: &f}
			for _, r := range recs {
				d, err := s.CheckContext(u, p, r.res, ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d.Conditional {
					conditional++
				}
				if f.Matches(r.res) != d.Allowed {
					t.Fatalf("%s %s on %+v with %v: Filter.Matches %v, check %+v\nplan %s", u, p, r.res, ctx, !d.Allowed, d, js)
				}
				if d.Allowed {
					q.want = append(q.want, r.id)
				}
			}
			qs = append(qs, q)
		}
	}
	if conditional < 50 {
		t.Fatalf("only %d checks allowed through conditions: the data does not exercise them", conditional)
	}
	cols := client.Columns{Owner: "r.owner_id", Department: "r.department_id", Attributes: map[string]string{
		"amount": "r.amount", "stage": "r.stage", "vip": "r.vip", "closed_at": "r.closed_at", "region": "r.region"}}
	verify := func(t *testing.T, db *sql.DB, prefix string, d client.Dialect) {
		loadCondRecords(t, db, prefix, d, recs)
		for _, q := range qs {
			where, args := q.filter.SQL(d, cols)
			got := queryIDs(t, db, "SELECT r.id FROM "+prefix+"crecords r WHERE "+where+" ORDER BY r.id", args)
			if !slices.Equal(got, q.want) {
				t.Errorf("%s %s (context %v): the SQL selects %d records, checks allow %d\nSQL %s\nargs %v\nselected only: %v\nallowed only: %v",
					q.user, q.perm, q.ctx, len(got), len(q.want), where, args, minus(got, q.want), minus(q.want, got))
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "records.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		verify(t, db, "", client.SQLite)
	})
	t.Run("postgres", func(t *testing.T) {
		db, schema := postgresSchema(t)
		verify(t, db, schema+".", client.Postgres)
	})
}

// loadCondRecords creates the crecords table with a typed column per
// attribute (NULL when the record lacks it) and fills it.
func loadCondRecords(t *testing.T, db *sql.DB, prefix string, d client.Dialect, recs []condRecord) {
	t.Helper()
	ts, num, boolean := "TIMESTAMPTZ", "DOUBLE PRECISION", "BOOLEAN"
	ph := func(n int) string { return "$" + strconv.Itoa(n) }
	if d == client.SQLite {
		ts, num, boolean = "TEXT", "REAL", "INTEGER"
		ph = func(int) string { return "?" }
	}
	ddl := "CREATE TABLE " + prefix + "crecords (id INTEGER PRIMARY KEY, owner_id TEXT NOT NULL, department_id TEXT, amount " + num +
		", stage TEXT, vip " + boolean + ", closed_at " + ts + ", region TEXT)"
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	ins := fmt.Sprintf("INSERT INTO %screcords (id, owner_id, department_id, amount, stage, vip, closed_at, region) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
		prefix, ph(1), ph(2), ph(3), ph(4), ph(5), ph(6), ph(7), ph(8))
	for _, r := range recs {
		var dept any
		if r.res.DepartmentID != "" {
			dept = r.res.DepartmentID
		}
		if _, err := db.Exec(ins, r.id, r.res.OwnerID, dept, r.attrs["amount"], r.attrs["stage"], r.attrs["vip"], r.attrs["closed_at"], r.attrs["region"]); err != nil {
			t.Fatal(err)
		}
	}
}
