// Package postgres is admin.Store on PostgreSQL through pgx and pgxpool,
// for deployments that run several Gatehouse nodes on one database.
// Writers are serialized per workspace by the compare-and-set on the
// workspace row (see admin.Store.Commit), which PostgreSQL's row locks
// make safe under READ COMMITTED; loads read one REPEATABLE READ snapshot.
// Migrations are embedded and applied with goose when the store opens.
//
// It imports admin and policy; nothing imports it but cmd and tests.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehouse-authz/gatehouse/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is admin.Store on one PostgreSQL database.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	// channel carries the change notices (admin.Notice) of this store's
	// schema, so that deployments sharing a database do not hear each
	// other.
	channel string
	locks   *pgxpool.Pool // see LockWorkspace
	applied []int64
}

// Applied lists the migrations that opening the store applied, oldest
// first: none when the schema was already the newest.
func (s *Store) Applied() []int64 { return s.applied }

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; pool settings such as pool_max_conns are honoured) and migrates
// it to the newest schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	return OpenConfig(ctx, cfg)
}

// connectTimeout bounds a connection attempt when the DSN sets none
// (connect_timeout): a write while the database is down fails within it
// with unavailable rather than hanging on the network.
const connectTimeout = 3 * time.Second

// OpenConfig is Open with a parsed pool configuration.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	applied, err := migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres schema: %w", err)
	}
	channel := "gatehouse_changes:" + schema
	locks, err := newLockPool(ctx, cfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	return &Store{pool: pool, locks: locks, channel: channel, applied: applied, Store: sqlstore.New(pgDB{pool}, sqlstore.Dialect{
		Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
		// An array, not a subquery: the planner then walks the key's
		// index once for the sorted list (a ScalarArrayOp) instead of a
		// nested loop of probes, a third faster for the thousands of
		// epoch bumps of an applied edit.
		InJSONStrings:     "= ANY(ARRAY(SELECT json_array_elements_text(?::json)))",
		JSONRows:          jsonRows,
		Borrow:            func() sqlstore.Borrowed { return new(borrowed) },
		IsUniqueViolation: isUniqueViolation,
		Notify:            "SELECT pg_notify(" + quoteLiteral(channel) + ", ?)",
	})}, nil
}

// borrowed implements sqlstore.Borrowed with pgx's BytesScanner: the
// column's bytes in the connection's read buffer (as pgtype.DriverBytes).
type borrowed []byte

func (b *borrowed) ScanBytes(v []byte) error {
	*b = v
	return nil
}

func (b *borrowed) Target() any   { return b }
func (b *borrowed) Bytes() []byte { return *b }

// jsonRows implements sqlstore.Dialect.JSONRows with
// jsonb_array_elements (parsed once: ->> on json would parse each element
// again for every column): column i is element i of each array, as text cast
// to the column's type.
func jsonRows(cols []sqlstore.Column) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(e->>%d)::%s AS %s", i, c.Type, c.Name)
	}
	b.WriteString(" FROM jsonb_array_elements(?::jsonb) AS e)")
	return b.String()
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func migrate(ctx context.Context, pool *pgxpool.Pool) ([]int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// Nodes of one deployment may start together: an advisory lock makes
	// one of them migrate while the others wait.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	var applied []int64
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Close closes the pools.
func (s *Store) Close() error {
	s.locks.Close()
	s.pool.Close()
	return nil
}

// ExecRaw runs one statement outside the admin rules. It exists for tests
// that tamper with the database (audit verification) and for operators'
// tools; the server never calls it.
func (s *Store) ExecRaw(ctx context.Context, query string) error {
	_, err := s.pool.Exec(ctx, query)
	return err
}

// QueryInt runs one query that answers a single integer, outside the
// admin rules: for tests that measure what the database holds.
func (s *Store) QueryInt(ctx context.Context, query string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, query).Scan(&n)
	return n, err
}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// pgDB is sqlstore.DB on a pgx pool.
type pgDB struct{ pool *pgxpool.Pool }

func (d pgDB) Write(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return d.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

func (d pgDB) Read(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return d.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (d pgDB) run(ctx context.Context, opts pgx.TxOptions, fn func(sqlstore.Tx) error) error {
	err := pgx.BeginTxFunc(ctx, d.pool, opts, func(tx pgx.Tx) error { return fn(pgTx{tx}) })
	if err != nil && pgconn.SafeToRetry(err) {
		// Nothing reached the server (typically a pooled connection the
		// server closed while it restarted): one more try on a new one.
		err = pgx.BeginTxFunc(ctx, d.pool, opts, func(tx pgx.Tx) error { return fn(pgTx{tx}) })
	}
	return unreachable(err)
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

// Copy implements sqlstore.Copier with COPY FROM STDIN, in the binary
// format.
func (t pgTx) Copy(ctx context.Context, table string, cols []string, rows [][]any) (int64, error) {
	return t.tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
}

func (t pgTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// Ping reports whether the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }
