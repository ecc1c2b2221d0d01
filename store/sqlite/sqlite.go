// Package sqlite is the embedded default store: admin.Store on SQLite
// through modernc.org/sqlite (pure Go, no cgo), in WAL mode with foreign
// keys on. Writers go through one connection that begins IMMEDIATE
// transactions, so they queue instead of failing with SQLITE_BUSY; readers
// use a pool of their own and see consistent snapshots while a write runs.
// Migrations are embedded and applied with goose when the store opens.
//
// It imports admin and policy; nothing imports it but cmd and tests.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/gatehouse-authz/gatehouse/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is admin.Store on one SQLite database file.
type Store struct {
	*sqlstore.Store
	write, read *sql.DB
	applied     []int64
}

// Applied lists the migrations that opening the store applied, oldest
// first: none when the schema was already the newest.
func (s *Store) Applied() []int64 { return s.applied }

// writerCacheKiB is the page cache of the writing connection.
const writerCacheKiB = 64 << 10

// Open opens (creating if needed) the database at path and migrates it to
// the newest schema.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := func(lock string, pragmas ...string) string {
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", lock)
		return "file:" + path + "?" + q.Encode()
	}
	// The one writer keeps a larger page cache than SQLite's 2 MiB: a
	// bulk write (a 10,000-member import) touches the pages of every
	// index of the member, assignment and audit tables, and with the
	// default it read most of them back from the file each time.
	write, err := sql.Open("sqlite", dsn("immediate", fmt.Sprintf("cache_size(-%d)", writerCacheKiB)))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	s := &Store{write: write, read: read}
	if s.applied, err = migrateUp(ctx, write); err != nil {
		s.Close()
		return nil, err
	}
	s.Store = sqlstore.New(sqlstore.SQL{Writer: write, Reader: read}, sqlstore.Dialect{
		InJSONStrings:     "IN (SELECT value FROM json_each(?))",
		MaxParams:         maxParams,
		IsUniqueViolation: isUniqueViolation,
	})
	return s, nil
}

// maxParams keeps bulk writes' statements under SQLite's limit of 32,766
// bound parameters. Binding beat json_each with json_extract, tried as
// this store's JSONRows (it turns every row's array back into text and
// parses it again): 10,000 audit rows in ~80 ms against ~150 ms, 10,000
// member rows in ~40 ms against ~67 ms (BenchmarkImport, statement times).
const maxParams = 32_000

// Migrate applies the embedded migrations to db.
func Migrate(ctx context.Context, db *sql.DB) error {
	_, err := migrateUp(ctx, db)
	return err
}

func migrateUp(ctx context.Context, db *sql.DB) ([]int64, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate sqlite: %w", err)
	}
	var applied []int64
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.write.Close(), s.read.Close())
}

func isUniqueViolation(err error) bool {
	var e *sqlite3.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY || e.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE
}

// ExecRaw runs one statement outside the admin rules. It exists for tests
// that tamper with the database (audit verification) and for operators'
// tools; the server never calls it.
func (s *Store) ExecRaw(ctx context.Context, query string) error {
	_, err := s.write.ExecContext(ctx, query)
	return err
}

// QueryInt runs one query that answers a single integer, outside the
// admin rules: for tests that measure what the database holds.
func (s *Store) QueryInt(ctx context.Context, query string) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}

// Ping reports whether the database file can be read (readiness).
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.read.ExecContext(ctx, "SELECT 1")
	return err
}
