package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// remoteSessionKeys is "gatehouse session-keys list|rotate": the session
// signing keys (A2), with the deployment admin key.
func remoteSessionKeys(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		fmt.Fprintln(stderr, "error: invalid_argument: session-keys needs a subcommand: list or rotate")
		fmt.Fprintln(stderr, "usage: gatehouse session-keys list|rotate [flags]")
		return exitError{2}
	}
	sub := args[0]
	r := newRemote("gatehouse session-keys "+sub, "[flags]", getenv, stdout, stderr)
	r.deployment = true
	pos, err := r.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return r.usageError("unexpected arguments %q", pos)
	}
	var keys []client.SessionKey
	if sub == "rotate" {
		keys, err = r.client().RotateSessionKey(ctx)
	} else {
		keys, err = r.client().SessionKeys(ctx)
	}
	if err != nil {
		return r.fail(err)
	}
	if r.json {
		return r.printJSON(keys)
	}
	tw := r.table()
	fmt.Fprintln(tw, "KEY\tSIGNS FROM\tACCEPTED UNTIL\tSIGNING")
	for _, k := range keys {
		until := "-"
		if k.AcceptUntil != nil {
			until = k.AcceptUntil.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.SignFrom.UTC().Format(time.RFC3339), until, yesNo(k.Signing))
	}
	return tw.Flush()
}
