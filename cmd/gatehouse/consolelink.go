package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

func init() { clientCommands["console-link"] = remoteConsoleLink }

// remoteConsoleLink prints a one-time console sign-in link for a member
// (X6): what a host platform's backend asks for before it shows the
// console to one of its admins, here for a person at a terminal.
func remoteConsoleLink(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	r := newRemote("gatehouse console-link", "[flags] [<user id>]", getenv, stdout, stderr)
	var user, returnTo string
	r.fs.StringVar(&user, "user", "", "the member's user id (or the argument)")
	r.fs.StringVar(&returnTo, "return-to", "", "a console path to open after signing in, e.g. /w/acme/roles")
	pos, err := r.parse(args)
	if err != nil {
		return err
	}
	if user == "" && len(pos) > 0 {
		user, pos = pos[0], pos[1:]
	}
	if len(pos) > 0 {
		return r.usageError("unexpected arguments %q", pos)
	}
	if user == "" {
		return r.usageError("no member: pass --user or the user id")
	}
	l, _, err := r.client().ConsoleLink(ctx, r.workspace, user, returnTo)
	if err != nil {
		return r.fail(err)
	}
	if r.json {
		return r.printJSON(l)
	}
	fmt.Fprintln(stdout, l.URL)
	fmt.Fprintf(stderr, "works once, until %s\n", l.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}
