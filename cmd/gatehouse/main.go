// Command gatehouse is the Gatehouse server and its command-line client.
//
//	gatehouse serve      run the server (HTTP API and console)
//	gatehouse migrate    create or upgrade the database schema
//	gatehouse version    print the version
//	gatehouse check | explain | who-can | assign | policy | audit | sod   talk to a running server
//	gatehouse bench      measure a server's decision throughput
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status, its message already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const usage = `usage: gatehouse <command> [flags]

commands:
  serve          run the server: HTTP API on --addr, console at /
  migrate        create or upgrade the database schema and exit
  version        print the version (also --version)
  check          ask a running server whether a user may do something
  explain        show why a user may or may not do something
  who-can        list the members who hold a permission
  assign         give members a role, optionally until a time (--until)
  policy         export or import a workspace's policy as YAML
  sod            list, put, delete separation-of-duties rules; list violations
  audit verify   verify a workspace's audit chain (X4)
  audit keygen   print a new audit key for --audit-key-file
  session-keys   list or rotate the session signing keys (deployment admin)
  console-link   print a one-time console sign-in link for a member
  bench          measure decision throughput and latency

Run "gatehouse <command> -h" for a command's flags.
`

// run is the whole program, testable: arguments, environment and streams
// come in, nothing global is read.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-version", "-v":
		fmt.Fprintln(stdout, "gatehouse", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	if c, ok := clientCommands[cmd]; ok {
		return c(ctx, rest, getenv, stdin, stdout, stderr)
	}
	if s := suggestCommand(cmd); s != "" {
		fmt.Fprintf(stderr, "gatehouse: unknown command %q; did you mean %q?\n\n%s", cmd, s, usage)
	} else {
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", cmd, usage)
	}
	return exitError{2}
}

// parseError is the exit of a command whose flags did not parse: 0 for
// -h/--help (the flag package printed the usage), 2 otherwise (it
// printed why), as every command does.
func parseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return exitError{0}
	}
	return exitError{2}
}

// suggestCommand returns the command closest to a mistyped one (at most
// two edits away, or one it starts), or "".
func suggestCommand(typed string) string {
	names := []string{"serve", "migrate", "version", "help"}
	for name := range clientCommands {
		names = append(names, name)
	}
	slices.Sort(names)
	best, bestD := "", 3
	for _, n := range names {
		d := editDistance(strings.ToLower(typed), n)
		if len(typed) >= 3 && strings.HasPrefix(n, strings.ToLower(typed)) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// clientCommands are the commands that talk to a running server; they
// register themselves from their files.
var clientCommands = map[string]func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error{}
