package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// SQL is a DB over database/sql: writes on Writer, reads on Reader (which
// may be the same pool).
type SQL struct {
	Writer, Reader *sql.DB
}

// Write implements DB.
func (d SQL) Write(ctx context.Context, fn func(Tx) error) error { return run(ctx, d.Writer, nil, fn) }

// Read implements DB.
func (d SQL) Read(ctx context.Context, fn func(Tx) error) error {
	return run(ctx, d.Reader, &sql.TxOptions{ReadOnly: true}, fn)
}

func run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &sqlTx{tx: tx}
	defer t.close()
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// sqlTx prepares each distinct statement once per transaction: a bulk
// write runs the same few statements thousands of times, and parsing
// them again each time cost SQLite more than executing them.
type sqlTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (t *sqlTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[q] = st
	return st, nil
}

func (t *sqlTx) close() {
	for _, st := range t.stmts {
		st.Close()
	}
}

func (t *sqlTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *sqlTx) Query(ctx context.Context, q string, args ...any) (Rows, error) {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }
