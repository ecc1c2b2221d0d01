package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LockWorkspace takes a lock on one workspace that every node of the
// deployment honours (a PostgreSQL session advisory lock), held until
// unlock is called. admin.Service holds it around each write: nodes
// writing one workspace take turns instead of racing the compare-and-set,
// so that under contention no write is starved; the compare-and-set still
// guarantees correctness, the lock only fairness.
//
// Locks live on connections of a pool of their own: a writer holding a
// lock connection while it waits for one to commit on could otherwise
// exhaust a shared pool. If the connection dies, PostgreSQL releases the
// lock.
func (s *Store) LockWorkspace(ctx context.Context, ws string) (unlock func(), err error) {
	conn, err := s.locks.Acquire(ctx)
	if err != nil {
		return nil, unreachable(fmt.Errorf("lock workspace %s: %w", ws, err))
	}
	key := s.channel + " " + ws // a collision would only share a lock
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", key); err != nil {
		conn.Release()
		return nil, unreachable(fmt.Errorf("lock workspace %s: %w", ws, err))
	}
	return func() {
		// A failed unlock (a dead connection) released the lock anyway;
		// destroy such a connection rather than return it to the pool
		// holding the lock.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", key); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}

// newLockPool returns the pool LockWorkspace takes connections from: as
// many as the main pool, opened on demand.
func newLockPool(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	c := cfg.Copy()
	c.MinConns = 0
	return pgxpool.NewWithConfig(ctx, c)
}
