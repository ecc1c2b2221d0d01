package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// Listen delivers the notice of every change committed to this store, by
// any node, until ctx ends or the connection fails; it returns why. It
// calls ready once it listens: a change committed after that is
// delivered. It holds its own connection, outside the pool, so that
// waiting for notices never takes one from the writers.
//
// PostgreSQL delivers notices in commit order, but may drop them (a
// listener that reconnects misses what was sent meanwhile); callers make
// up for that with admin.Service.Sync after ready.
func (s *Store) Listen(ctx context.Context, ready func(), deliver func(admin.Notice)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return unreachable(fmt.Errorf("listen: connect: %w", err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return unreachable(fmt.Errorf("listen: %w", err))
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return unreachable(fmt.Errorf("listen: %w", err))
		}
		if notice, err := admin.ParseNotice(n.Payload); err == nil {
			deliver(notice)
		}
	}
}
