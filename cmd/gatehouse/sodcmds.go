package main

// "gatehouse sod": a workspace's separation-of-duties rules (S1–S3) from
// the command line: list, get, put, delete, violations.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

func init() {
	clientCommands["sod"] = remoteSoD
}

const sodUsage = `usage: gatehouse sod list [flags]
       gatehouse sod get <rule> [flags]
       gatehouse sod put <rule> --name NAME (--set KEYS --set KEYS … | --roles --set ROLES --set ROLES …)
                         [--description TEXT] [--except USER=REASON[@RFC3339]]…
       gatehouse sod delete <rule> [flags]
       gatehouse sod violations <rule> [flags]`

// remoteSoD is "gatehouse sod": separation-of-duties rules (S1–S3).
func remoteSoD(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	subs := []string{"list", "get", "put", "delete", "violations"}
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		fmt.Fprintln(stderr, "error: invalid_argument: sod needs a subcommand: "+strings.Join(subs, ", "))
		fmt.Fprintln(stderr, sodUsage)
		return exitError{2}
	}
	sub := args[0]
	r := newRemote("gatehouse sod "+sub, "[flags]", getenv, stdout, stderr)
	var name, description string
	var roles bool
	var sets listSetFlag
	var excepts rawFlags
	if sub == "put" {
		r.fs.StringVar(&name, "name", "", "the rule's name")
		r.fs.StringVar(&description, "description", "", "what the rule is for")
		r.fs.BoolVar(&roles, "roles", false, "the sets are role ids, not permission keys")
		r.fs.Var(&sets, "set", "one set of the rule, comma-separated (repeat for each set, at least twice)")
		r.fs.Var(&excepts, "except", "an exception: USER=REASON, or USER=REASON@2027-01-31T00:00:00Z to expire (repeatable)")
	}
	pos, err := r.parse(args[1:])
	if err != nil {
		return err
	}
	c := r.client()
	if sub == "list" {
		if len(pos) > 0 {
			return r.usageError("unexpected arguments %q", pos)
		}
		rules := []client.SoDRule{}
		for rule, err := range c.AllSoDRules(ctx, r.workspace) {
			if err != nil {
				return r.fail(err)
			}
			rules = append(rules, rule)
		}
		if r.json {
			return r.printJSON(rules)
		}
		tw := r.table()
		fmt.Fprintln(tw, "RULE\tNAME\tKIND\tSETS\tEXCEPTIONS")
		for _, rule := range rules {
			kind, ss := "permissions", rule.Conflicts
			if rule.Roles != nil {
				kind, ss = "roles", rule.Roles
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", rule.ID, rule.Name, kind, setsText(ss), len(rule.Exceptions))
		}
		return tw.Flush()
	}
	if len(pos) != 1 {
		return r.usageError("sod %s takes one rule id", sub)
	}
	id := pos[0]
	switch sub {
	case "get":
		rule, err := c.SoDRule(ctx, r.workspace, id)
		if err != nil {
			return r.fail(err)
		}
		return r.printRule(rule)
	case "put":
		rule := client.SoDRule{ID: id, Name: name, Description: description}
		if roles {
			rule.Roles = sets.sets
		} else {
			rule.Conflicts = sets.sets
		}
		for _, x := range excepts {
			e, err := parseException(x)
			if err != nil {
				return r.usageError("%v", err)
			}
			rule.Exceptions = append(rule.Exceptions, e)
		}
		out, rev, err := c.PutSoDRule(ctx, r.workspace, rule)
		if err != nil {
			return r.fail(err)
		}
		if r.json {
			return r.printJSON(map[string]any{"rule": out, "workspace_revision": rev})
		}
		fmt.Fprintf(stdout, "put rule %s; workspace revision %d\n", out.ID, rev)
		return nil
	case "delete":
		rev, err := c.DeleteSoDRule(ctx, r.workspace, id)
		if err != nil {
			return r.fail(err)
		}
		fmt.Fprintf(stdout, "deleted rule %s; workspace revision %d\n", id, rev)
		return nil
	default: // violations
		var all []client.SoDViolation
		cursor := ""
		for {
			vs, next, err := c.SoDViolations(ctx, r.workspace, id, client.PageQuery{Cursor: cursor})
			if err != nil {
				return r.fail(err)
			}
			all = append(all, vs...)
			if next == "" {
				break
			}
			cursor = next
		}
		if r.json {
			if all == nil {
				all = []client.SoDViolation{}
			}
			return r.printJSON(all)
		}
		tw := r.table()
		fmt.Fprintln(tw, "USER\tHOLDS\tEXCEPTION")
		for _, v := range all {
			exc := "-"
			if v.Exception != nil {
				exc = v.Exception.Reason
				if !v.Excepted {
					exc += " (expired)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.UserID, setsText(v.Held), exc)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d members break rule %s\n", len(all), id)
		return nil
	}
}

func (r *remote) printRule(rule *client.SoDRule) error {
	if r.json {
		return r.printJSON(rule)
	}
	tw := r.table()
	fmt.Fprintf(tw, "rule\t%s\n", rule.ID)
	fmt.Fprintf(tw, "name\t%s\n", rule.Name)
	if rule.Description != "" {
		fmt.Fprintf(tw, "description\t%s\n", rule.Description)
	}
	if rule.Roles != nil {
		fmt.Fprintf(tw, "roles\t%s\n", setsText(rule.Roles))
	} else {
		fmt.Fprintf(tw, "permissions\t%s\n", setsText(rule.Conflicts))
	}
	for _, e := range rule.Exceptions {
		until := ""
		if e.ExpiresAt != nil {
			until = " until " + e.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "exception\t%s: %s%s (by %s)\n", e.UserID, e.Reason, until, e.GrantedBy)
	}
	return tw.Flush()
}

// setsText renders sets as "a, b | c"; a set not held shows as "-".
func setsText(sets [][]string) string {
	parts := make([]string, len(sets))
	for i, s := range sets {
		parts[i] = dash(strings.Join(s, ", "))
	}
	return strings.Join(parts, " | ")
}

// parseException reads USER=REASON[@RFC3339].
func parseException(s string) (client.SoDException, error) {
	user, rest, ok := strings.Cut(s, "=")
	if !ok || user == "" || rest == "" {
		return client.SoDException{}, fmt.Errorf("--except %q: want USER=REASON or USER=REASON@TIME", s)
	}
	e := client.SoDException{UserID: user, Reason: rest}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		if t, err := time.Parse(time.RFC3339, rest[i+1:]); err == nil {
			e.Reason, e.ExpiresAt = rest[:i], &t
		}
	}
	return e, nil
}

// listSetFlag is a repeatable flag, each value one comma-separated set.
type listSetFlag struct{ sets [][]string }

func (l *listSetFlag) String() string { return setsText(l.sets) }

func (l *listSetFlag) Set(v string) error {
	var set []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			set = append(set, s)
		}
	}
	l.sets = append(l.sets, set)
	return nil
}

// rawFlags is a repeatable flag whose values are taken whole.
type rawFlags []string

func (f *rawFlags) String() string { return strings.Join(*f, "; ") }

func (f *rawFlags) Set(v string) error {
	*f = append(*f, v)
	return nil
}
