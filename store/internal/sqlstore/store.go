// Package sqlstore implements admin.Store once, over the small set of SQL
// that SQLite and PostgreSQL share; store/sqlite and store/postgres supply
// the connection (database/sql with modernc.org/sqlite, pgxpool) and the
// few dialect differences. Keeping one implementation means the two stores
// cannot drift apart; the conformance suite (store/storetest) runs against
// both.
//
// Every public method is one transaction; helpers take (ctx, tx, …).
// Queries are written with ? placeholders, rebound per dialect, and never
// built from user input.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Tx is one database transaction.
type Tx interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Copier is a Tx that can stream rows into a table (PostgreSQL's COPY):
// a Commit inserts its audit entries and department links that way when
// it has many, which spares the database parsing them from JSON and the
// store marshalling them into it.
type Copier interface {
	// Copy inserts rows, each holding a value for every one of cols (Go
	// strings, int64s and bools), into table.
	Copy(ctx context.Context, table string, cols []string, rows [][]any) (int64, error)
}

// Borrowed is a scan target that lends a text column's bytes without
// copying them, valid until the next row: a load compares or interns most
// of what it reads (the workspace id of every row, role and department
// ids, role grants), and making a string of each column of each row took
// a third of a node's start-up allocation time.
type Borrowed interface {
	// Target is what to pass to Rows.Scan.
	Target() any
	// Bytes returns the column of the row last scanned.
	Bytes() []byte
}

// RawBytes is a Borrowed for database/sql, whose sql.RawBytes it is.
type RawBytes struct{ b sql.RawBytes }

// Target implements Borrowed.
func (r *RawBytes) Target() any { return &r.b }

// Bytes implements Borrowed.
func (r *RawBytes) Bytes() []byte { return r.b }

// Rows is a query's result, read like database/sql's.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// DB opens transactions.
type DB interface {
	// Write runs fn in a read-write transaction that commits iff fn
	// returns nil. Writers are serialized by the database.
	Write(ctx context.Context, fn func(Tx) error) error
	// Read runs fn in a read-only transaction that sees one consistent
	// state of the database.
	Read(ctx context.Context, fn func(Tx) error) error
}

// Dialect is what differs between the databases.
type Dialect struct {
	// Placeholder returns the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// InJSONStrings replaces "IN JSON_STRINGS(?)": a membership test in
	// the strings of a JSON array bound at the placeholder "?", for lists
	// of any length.
	InJSONStrings string
	// JSONRows returns a parenthesized subquery yielding, with cols as
	// its columns, the rows of a JSON array of arrays bound at its one
	// "?" (element i of each array is column i): how a Commit writes many
	// rows in one statement. Needed unless MaxParams is set.
	JSONRows func(cols []Column) string
	// MaxParams, when set, makes bulk writes bind rows as parameters of
	// VALUES lists of at most this many parameters per statement instead
	// of going through JSONRows: SQLite, whose JSON functions cost more
	// than binding.
	MaxParams int
	// Borrow returns a new Borrowed scan target; nil means RawBytes.
	Borrow func() Borrowed
	// IsUniqueViolation reports a primary-key or unique violation.
	IsUniqueViolation func(error) bool
	// Notify, when set, is a statement run last in every Commit's
	// transaction with the change's notice (see admin.Notice) bound at its
	// one placeholder: PostgreSQL's pg_notify, which delivers it to the
	// other nodes when, and only if, the transaction commits.
	Notify string
}

// Store implements admin.Store.
type Store struct {
	db DB
	d  Dialect
}

var _ admin.Store = (*Store)(nil)

// New returns a Store over db.
func New(db DB, d Dialect) *Store {
	return &Store{db: db, d: d}
}

// q rebinds a query's ? placeholders for the dialect.
func (s *Store) q(query string) string {
	query = strings.ReplaceAll(query, "IN JSON_STRINGS(?)", s.d.InJSONStrings)
	if s.d.Placeholder == nil {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString(s.d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec and query rebind and run.
func (s *Store) exec(ctx context.Context, tx Tx, query string, args ...any) (int64, error) {
	n, err := tx.Exec(ctx, s.q(query), args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", firstWords(query), err)
	}
	return n, nil
}

func (s *Store) query(ctx context.Context, tx Tx, query string, args ...any) (Rows, error) {
	rows, err := tx.Query(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", firstWords(query), err)
	}
	return rows, nil
}

// eachRow runs query and calls row for each row it returns, stopping at
// the first error.
func (s *Store) eachRow(ctx context.Context, tx Tx, row func(Rows) error, query string, args ...any) error {
	rows, err := s.query(ctx, tx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// firstWords names a statement in an error without its whole text.
func firstWords(q string) string {
	f := strings.Fields(q)
	if len(f) > 4 {
		f = f[:4]
	}
	return strings.Join(f, " ")
}

// Times are stored as Unix microseconds: both databases order and compare
// integers the same way, and nothing depends on a driver's time handling.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// grantsJSON stores grants as a JSON object of grant values: level strings,
// or {"level", "when"} for conditional grants (G1). Rows written before
// conditions existed hold only level strings, and read unchanged: the
// storage format grew, it did not change, so no migration is needed.
func grantsJSON(g policy.Grants, when policy.Conditions) string {
	if len(g) == 0 {
		return "{}"
	}
	b, err := json.Marshal(policy.JoinGrants(g, when))
	if err != nil {
		panic("sqlstore: grants do not marshal: " + err.Error())
	}
	return string(b)
}

func parseGrants(s string) (policy.Grants, policy.Conditions, error) {
	if s == "{}" || s == "" {
		return nil, nil, nil
	}
	var g policy.GrantValues
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		return nil, nil, fmt.Errorf("stored grants %q: %w", s, err)
	}
	grants, when := g.Split()
	return grants, when, nil
}

// expiryJSON stores the expiry of direct grants (T1) as
// {permission: Unix microseconds}.
func expiryJSON(e map[string]time.Time) string {
	if len(e) == 0 {
		return "{}"
	}
	out := make(map[string]int64, len(e))
	for k, t := range e {
		out[k] = micros(t)
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic("sqlstore: grant expiry does not marshal: " + err.Error())
	}
	return string(b)
}

func parseExpiry(s string) (map[string]time.Time, error) {
	if s == "{}" || s == "" {
		return nil, nil
	}
	var in map[string]int64
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("stored grant expiry %q: %w", s, err)
	}
	out := make(map[string]time.Time, len(in))
	for k, us := range in {
		out[k] = fromMicros(us)
	}
	return out, nil
}

func stringsJSON(xs []string) string {
	if xs == nil {
		xs = []string{}
	}
	b, _ := json.Marshal(xs)
	return string(b)
}

func parseStrings(s string) ([]string, error) {
	var xs []string
	if err := json.Unmarshal([]byte(s), &xs); err != nil {
		return nil, fmt.Errorf("stored list %q: %w", s, err)
	}
	if len(xs) == 0 {
		return nil, nil
	}
	return xs, nil
}

func rawOrNil(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func notFound(ws string) error {
	return &policy.Error{Code: policy.CodeNotFound, Message: "no workspace " + strconv.Quote(ws),
		Details: map[string]any{"workspace": ws}}
}
