package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// errUnavailable is the domain error of every operation that failed
// because the database could not be reached: clients get 503 unavailable
// and retry, rather than a 500 for what is an outage.
var errUnavailable = &policy.Error{Code: policy.CodeUnavailable,
	Message: "the database is unreachable; decisions are still answered, changes are not: try again shortly"}

// unreachable marks err as errUnavailable when it is a connection
// failure, keeping the cause for the log.
func unreachable(err error) error {
	if err == nil || !isConnError(err) {
		return err
	}
	return fmt.Errorf("%w (%w)", errUnavailable, err)
}

// isConnError reports whether err is a failure to reach or keep talking
// to the server, as opposed to a failure of the statement.
func isConnError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-03: the server is shutting
		// down or starting up.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgx reports a connection it already knows to be dead as "conn closed".
	return strings.Contains(err.Error(), "conn closed") && !errors.Is(err, context.Canceled)
}
