package main

// The commands that talk to a running server through the Go client:
// check, explain, who-can, policy export|import and audit verify. Each
// prints an aligned table, or JSON with --json; a failure prints
// "error: <code>: <message>" on stderr and exits 1 (2 for a usage error).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func init() {
	clientCommands["check"] = remoteCheck
	clientCommands["explain"] = remoteExplain
	clientCommands["who-can"] = remoteWhoCan
	clientCommands["policy"] = remotePolicy
	clientCommands["audit"] = remoteAudit
	clientCommands["session-keys"] = remoteSessionKeys
}

// defaultServer is where the client commands look for a server.
const defaultServer = "http://127.0.0.1:8470"

// remote is the configuration every client command shares.
type remote struct {
	fs        *flag.FlagSet
	server    string
	key       string
	workspace string
	// deployment marks a command of the deployment admin, which names
	// no workspace.
	deployment bool
	json       bool
	getenv     func(string) string
	stdout     io.Writer
	stderr     io.Writer
}

// newRemote makes the flag set of command name ("gatehouse check") with
// the common flags; synopsis is its usage line after the name.
func newRemote(name, synopsis string, getenv func(string) string, stdout, stderr io.Writer) *remote {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	r := &remote{fs: fs, getenv: getenv, stdout: stdout, stderr: stderr}
	e := &envFlags{fs: fs, getenv: getenv}
	e.string(&r.server, "server", defaultServer, "URL of the Gatehouse server")
	// The key's default is read after parsing, so that -h never prints a
	// secret from the environment.
	fs.StringVar(&r.key, "key", "", "API key: a workspace key or the deployment admin key ($GATEHOUSE_KEY)")
	e.string(&r.workspace, "workspace", "", "workspace id")
	e.bool(&r.json, "json", "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return r
}

// parse parses args, flags and positional arguments in any order, and
// returns the positional ones. Its error is the exit status to return.
func (r *remote) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := r.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitError{0}
			}
			return nil, exitError{2} // the flag package printed why
		}
		args = r.fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if r.key == "" {
		r.key = r.getenv("GATEHOUSE_KEY")
	}
	if r.workspace == "" && !r.deployment {
		return nil, r.usageError("no workspace: pass --workspace or set GATEHOUSE_WORKSPACE")
	}
	return pos, nil
}

// usageError reports a misuse of the command: exit status 2.
func (r *remote) usageError(format string, args ...any) error {
	fmt.Fprintf(r.stderr, "error: %s: %s\n", policy.CodeInvalidArgument, fmt.Sprintf(format, args...))
	r.fs.Usage()
	return exitError{2}
}

// fail reports a failed call: exit status 1. An API error prints its code
// and message; any other (the server cannot be reached) is unavailable.
func (r *remote) fail(err error) error {
	var e *client.Error
	switch {
	case errors.As(err, &e):
		fmt.Fprintf(r.stderr, "error: %s: %s\n", e.Code, e.Message)
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(r.stderr, "error: canceled: %v\n", err)
	default:
		fmt.Fprintf(r.stderr, "error: %s: %s: %v\n", policy.CodeUnavailable, r.server, err)
	}
	return exitError{1}
}

func (r *remote) client() *client.Client {
	return client.New(r.server, r.key, client.WithUserAgent("gatehouse-cli/"+version))
}

// printJSON writes v indented.
func (r *remote) printJSON(v any) error {
	enc := json.NewEncoder(r.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table returns an aligned writer; Flush it.
func (r *remote) table() *tabwriter.Writer {
	return tabwriter.NewWriter(r.stdout, 0, 0, 2, ' ', 0)
}

// subject is whom and what a decision command asks about, with the record
// if any.
type subject struct {
	user, session, permission string
	owner, department         string
	relations                 [4]listFlag // creator, responsible, participant, observer
	minRevision               int64
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

var relationFlags = [4]string{policy.RelCreator, policy.RelResponsible, "participant", "observer"}

func (s *subject) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.user, "user", "", "the member's user id (or the first argument)")
	fs.StringVar(&s.permission, "permission", "", "the permission, e.g. contacts_view (or the last argument)")
	fs.StringVar(&s.session, "session", "", "a session token instead of --user")
	fs.StringVar(&s.owner, "owner", "", "the record's owner; any record flag makes it a check on a record (D2)")
	fs.StringVar(&s.department, "department", "", "the record's department")
	for i, name := range relationFlags {
		fs.Var(&s.relations[i], name, "users holding relation "+name+" on the record (repeatable, comma-separated)")
	}
	fs.Int64Var(&s.minRevision, "min-revision", 0, "decide at this workspace revision or later (D8)")
}

// resolve takes the user and permission from positional arguments when
// the flags do not give them.
func (s *subject) resolve(r *remote, pos []string) error {
	if s.user == "" && s.session == "" && len(pos) > 0 {
		s.user, pos = pos[0], pos[1:]
	}
	if s.permission == "" && len(pos) > 0 {
		s.permission, pos = pos[0], pos[1:]
	}
	switch {
	case len(pos) > 0:
		return r.usageError("unexpected arguments %q", pos)
	case s.user == "" && s.session == "":
		return r.usageError("no user: pass --user (or --session)")
	case s.permission == "":
		return r.usageError("no permission: pass --permission, e.g. contacts_view")
	}
	return nil
}

// resource is the record the flags describe, nil when none does.
func (s *subject) resource() *policy.Resource {
	res := &policy.Resource{OwnerID: s.owner, DepartmentID: s.department, Relations: policy.Relations{
		Creator: s.relations[0], Responsible: s.relations[1], Participant: s.relations[2], Observer: s.relations[3]}}
	if res.OwnerID == "" && res.DepartmentID == "" && len(s.relations[0])+len(s.relations[1])+len(s.relations[2])+len(s.relations[3]) == 0 {
		return nil
	}
	return res
}

func (s *subject) who() string {
	if s.user != "" {
		return s.user
	}
	return "(session)"
}

const decisionSynopsis = "[flags] [<user>] [<permission>]"

// decisionCommand parses the flags and arguments shared by check and
// explain.
func decisionCommand(name string, args []string, getenv func(string) string, stdout, stderr io.Writer) (*remote, *subject, error) {
	r := newRemote(name, decisionSynopsis, getenv, stdout, stderr)
	s := &subject{}
	s.flags(r.fs)
	pos, err := r.parse(args)
	if err != nil {
		return nil, nil, err
	}
	if err := s.resolve(r, pos); err != nil {
		return nil, nil, err
	}
	return r, s, nil
}

// remoteCheck is "gatehouse check": may a user do something (D1, D2)?
func remoteCheck(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	r, s, err := decisionCommand("gatehouse check", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	d, err := r.client().Check(ctx, r.workspace, client.CheckRequest{User: s.user, Session: s.session,
		Permission: s.permission, Resource: s.resource(), MinRevision: s.minRevision})
	if err != nil {
		return r.fail(err)
	}
	if r.json {
		return r.printJSON(d)
	}
	tw := r.table()
	fmt.Fprintf(tw, "allowed\t%s\n", yesNo(d.Allowed))
	fmt.Fprintf(tw, "user\t%s\n", s.who())
	fmt.Fprintf(tw, "permission\t%s\n", s.permission)
	fmt.Fprintf(tw, "level\t%s\n", d.Level)
	fmt.Fprintf(tw, "reason\t%s\n", d.Reason)
	fmt.Fprintf(tw, "revision\t%d\n", d.Revision)
	return tw.Flush()
}

// remoteExplain is "gatehouse explain": the trace of a decision (D6).
func remoteExplain(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	r, s, err := decisionCommand("gatehouse explain", args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	e, err := r.client().Explain(ctx, r.workspace, client.ExplainRequest{User: s.user, Session: s.session,
		Permission: s.permission, Resource: s.resource(), MinRevision: s.minRevision})
	if err != nil {
		return r.fail(err)
	}
	if r.json {
		return r.printJSON(e)
	}
	printExplanation(r.stdout, e)
	return nil
}

// printExplanation renders an explanation as a few aligned sections.
func printExplanation(w io.Writer, e *client.Explanation) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdict := "denied"
	if e.Decision.Allowed {
		verdict = "allowed"
	}
	fmt.Fprintf(tw, "decision\t%s (%s) at revision %d\n", verdict, e.Decision.Reason, e.Decision.Revision)
	fmt.Fprintf(tw, "user\t%s\n", e.User)
	fmt.Fprintf(tw, "permission\t%s (module %s, action %s)\n", e.Permission, e.Module, e.Action)
	member := "no"
	if e.Member {
		member = "yes, " + string(e.Kind)
		if e.Owner {
			member += ", workspace owner"
		}
	}
	fmt.Fprintf(tw, "member\t%s\n", member)
	fmt.Fprintf(tw, "level\t%s\n", e.Level)
	if e.DecidedBy != "" {
		fmt.Fprintf(tw, "decided by\t%s\n", e.DecidedBy)
	}
	if d := e.Direct; d != nil {
		fmt.Fprintf(tw, "direct grant\t%s from %s%s\n", d.Level, d.From, cond(d.Redundant, " (redundant)"))
	}
	if len(e.MemberOf) > 0 {
		fmt.Fprintf(tw, "member of\t%s\n", strings.Join(e.MemberOf, ", "))
	}
	for _, id := range slices.Sorted(maps.Keys(e.RoleExpiresAt)) {
		fmt.Fprintf(tw, "role %s expires\t%s\n", id, e.RoleExpiresAt[id].UTC().Format(time.RFC3339))
	}
	for _, k := range slices.Sorted(maps.Keys(e.GrantExpiresAt)) {
		fmt.Fprintf(tw, "grant %s expires\t%s\n", k, e.GrantExpiresAt[k].UTC().Format(time.RFC3339))
	}
	tw.Flush()
	if len(e.Roles) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ROLE\tNAME\tREVISION\tLEVEL\tSOURCE\tFROM")
		for _, rt := range e.Roles {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", rt.RoleID, rt.Name, rt.Revision, rt.Level, rt.Source, dash(rt.From))
		}
		tw.Flush()
	}
	if len(e.Requires) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "REQUIRES\tLEVEL\tSATISFIED")
		for _, q := range e.Requires {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", q.Permission, q.Level, yesNo(q.Satisfied))
		}
		tw.Flush()
	}
	if e.Scope != nil && len(e.Scope.Steps) > 0 {
		fmt.Fprintln(w, "\nscope:")
		for _, step := range e.Scope.Steps {
			fmt.Fprintf(w, "  - %s\n", step)
		}
	}
	if len(e.Redundant) > 0 {
		fmt.Fprintf(w, "\nredundant direct grants: %s\n", strings.Join(e.Redundant, ", "))
	}
	if len(e.Hints) > 0 {
		fmt.Fprintln(w, "\nhints:")
		for _, h := range e.Hints {
			fmt.Fprintf(w, "  - %s\n", h)
		}
	}
}

// remoteWhoCan is "gatehouse who-can": the members holding a permission
// at a level or above (D7), every page.
func remoteWhoCan(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	r := newRemote("gatehouse who-can", "[flags] [<permission>]", getenv, stdout, stderr)
	var perm, level string
	var limit int
	r.fs.StringVar(&perm, "permission", "", "the permission, e.g. contacts_export (or the argument)")
	r.fs.StringVar(&level, "level", "own", "the least level listed: own, department, subdepartments or all")
	r.fs.IntVar(&limit, "page-size", 0, "members per request (the server's default if 0)")
	pos, err := r.parse(args)
	if err != nil {
		return err
	}
	if perm == "" && len(pos) > 0 {
		perm, pos = pos[0], pos[1:]
	}
	if len(pos) > 0 {
		return r.usageError("unexpected arguments %q", pos)
	}
	if perm == "" {
		return r.usageError("no permission: pass --permission, e.g. contacts_export")
	}
	least, err := policy.ParseLevel(level)
	if err != nil || least == policy.LevelNone {
		return r.usageError("--level must be own, department, subdepartments or all, not %q", level)
	}
	c := r.client()
	out := struct {
		Permission string              `json:"permission"`
		Level      policy.Level        `json:"level"`
		Items      []client.WhoCanItem `json:"items"`
		Revision   int64               `json:"revision"`
	}{Permission: perm, Level: least, Items: []client.WhoCanItem{}}
	q := client.WhoCanQuery{Permission: perm, Level: least, Limit: limit}
	for {
		p, err := c.WhoCan(ctx, r.workspace, q)
		if err != nil {
			return r.fail(err)
		}
		out.Items = append(out.Items, p.Items...)
		if out.Revision == 0 {
			out.Revision = p.Revision
		}
		if p.NextCursor == "" {
			break
		}
		// Later pages at the first's revision or later: never back in time.
		q.Cursor, q.MinRevision = p.NextCursor, p.Revision
	}
	if r.json {
		return r.printJSON(out)
	}
	tw := r.table()
	fmt.Fprintln(tw, "USER\tLEVEL")
	for _, it := range out.Items {
		fmt.Fprintf(tw, "%s\t%s\n", it.UserID, it.Level)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "%d members with %s at %s or above, revision %d\n", len(out.Items), perm, least, out.Revision)
	return nil
}

// remotePolicy is "gatehouse policy export|import": the workspace's roles
// and departments as YAML (policy as code).
func remotePolicy(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		fmt.Fprintln(stderr, "error: invalid_argument: policy needs a subcommand: export or import")
		fmt.Fprintln(stderr, "usage: gatehouse policy export [flags] > policy.yaml\n       gatehouse policy import [flags] [<file>|-]")
		return exitError{2}
	}
	switch args[0] {
	case "export":
		r := newRemote("gatehouse policy export", "[flags]", getenv, stdout, stderr)
		var out string
		r.fs.StringVar(&out, "o", "", "write the YAML to this file instead of stdout")
		pos, err := r.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return r.usageError("unexpected arguments %q", pos)
		}
		data, err := r.client().ExportPolicy(ctx, r.workspace)
		if err != nil {
			return r.fail(err)
		}
		if out != "" {
			if err := os.WriteFile(out, data, 0o644); err != nil {
				fmt.Fprintf(stderr, "error: %v\n", err)
				return exitError{1}
			}
			return nil
		}
		_, err = stdout.Write(data)
		return err
	default:
		r := newRemote("gatehouse policy import", "[flags] [<file>|-]", getenv, stdout, stderr)
		var reason string
		r.fs.StringVar(&reason, "reason", "", "why (required when the file raises a delete or export level, X4)")
		pos, err := r.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) > 1 {
			return r.usageError("import takes one file (or - for stdin), not %q", pos)
		}
		src := "-"
		if len(pos) == 1 {
			src = pos[0]
		}
		var data []byte
		if src == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(src)
		}
		if err != nil {
			fmt.Fprintf(stderr, "error: %s: cannot read the policy: %v\n", policy.CodeInvalidArgument, err)
			return exitError{2}
		}
		rev, err := r.client().ImportPolicy(ctx, r.workspace, data, reason)
		if err != nil {
			return r.fail(err)
		}
		if r.json {
			return r.printJSON(map[string]int64{"workspace_revision": rev})
		}
		fmt.Fprintf(stdout, "imported the policy into %s; workspace revision %d\n", r.workspace, rev)
		return nil
	}
}

// remoteAudit is "gatehouse audit verify": check the audit hash chain
// (X4); a broken chain exits 1.
func remoteAudit(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "keygen" {
		return auditKeygen(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "error: invalid_argument: audit needs a subcommand: verify or keygen")
		fmt.Fprintln(stderr, "usage: gatehouse audit verify [--require-keyed] [flags]\n       gatehouse audit keygen [--id ID]")
		return exitError{2}
	}
	r := newRemote("gatehouse audit verify", "[flags]", getenv, stdout, stderr)
	requireKeyed := r.fs.Bool("require-keyed", false, "fail when the chain starts with legacy entries written without an audit key")
	pos, err := r.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return r.usageError("unexpected arguments %q", pos)
	}
	rep, err := r.client().VerifyAudit(ctx, r.workspace)
	if err != nil {
		return r.fail(err)
	}
	if r.json {
		if err := r.printJSON(rep); err != nil {
			return err
		}
	} else {
		tw := r.table()
		fmt.Fprintf(tw, "workspace\t%s\n", r.workspace)
		fmt.Fprintf(tw, "entries\t%d\n", rep.Entries)
		if rep.OK {
			fmt.Fprintf(tw, "chain\tintact\n")
		} else {
			fmt.Fprintf(tw, "chain\tBROKEN at entry %d\n", rep.Seq)
			fmt.Fprintf(tw, "problem\t%s\n", rep.Problem)
		}
		switch {
		case rep.Legacy == rep.Entries:
			fmt.Fprintf(tw, "keyed\tno: every entry is legacy, unkeyed (a plain SHA-256 chain that whoever can write the database can recompute)\n")
		case rep.Legacy > 0:
			fmt.Fprintf(tw, "keyed\tfrom entry %d on, with keys %s; entries 1–%d are legacy, unkeyed (written before the server had an audit key)\n",
				rep.Legacy+1, strings.Join(rep.KeyIDs, ", "), rep.Legacy)
		default:
			fmt.Fprintf(tw, "keyed\tevery entry, with keys %s\n", strings.Join(rep.KeyIDs, ", "))
		}
		if rep.OK {
			fmt.Fprintf(tw, "head\tentry %d, %s (keep it: a later verify that ends before it means the log was cut short)\n", rep.HeadSeq, rep.HeadHash)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if !rep.OK {
		fmt.Fprintf(stderr, "error: the audit chain of %s is broken at entry %d: %s\n", r.workspace, rep.Seq, rep.Problem)
		return exitError{1}
	}
	if *requireKeyed && rep.Legacy > 0 {
		fmt.Fprintf(stderr, "error: the audit chain of %s starts with %d legacy entries written without an audit key (--require-keyed)\n", r.workspace, rep.Legacy)
		return exitError{1}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cond(b bool, s string) string {
	if b {
		return s
	}
	return ""
}
