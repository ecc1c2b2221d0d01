package main

// "gatehouse review": access review campaigns (V1–V3) from the command
// line: open, list, items, decide, close.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func init() {
	clientCommands["review"] = remoteReview
}

const reviewUsage = `usage: gatehouse review open --name NAME --deadline RFC3339|DURATION [--default keep|revoke]
                            [--roles R,…] [--permissions P,…] [--actions A,…] [--min-level L]
                            [--reviewers admins|department_heads] [--every-days N] [flags]
       gatehouse review list [flags]
       gatehouse review items <review> [--open] [--role R] [--permission P] [flags]
       gatehouse review decide <review> <item>… --decision keep|revoke [--reason TEXT] [flags]
       gatehouse review close <review> [flags]`

// remoteReview is "gatehouse review": access review campaigns (V1–V3).
func remoteReview(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	subs := []string{"open", "list", "items", "decide", "close"}
	if len(args) == 0 || !slices.Contains(subs, args[0]) {
		fmt.Fprintln(stderr, "error: invalid_argument: review needs a subcommand: "+strings.Join(subs, ", "))
		fmt.Fprintln(stderr, reviewUsage)
		return exitError{2}
	}
	sub := args[0]
	r := newRemote("gatehouse review "+sub, "[flags]", getenv, stdout, stderr)
	var name, deadline, def, roles, perms, actions, minLevel, reviewers, decision, reason, role, perm string
	var everyDays int
	var open bool
	switch sub {
	case "open":
		r.fs.StringVar(&name, "name", "", "the campaign's name")
		r.fs.StringVar(&deadline, "deadline", "", "when undecided items take the default: RFC 3339, or a duration from now (e.g. 168h)")
		r.fs.StringVar(&def, "default", "keep", "the decision of items still open at the deadline: keep or revoke")
		r.fs.StringVar(&roles, "roles", "", "scope: these roles' assignments (comma-separated)")
		r.fs.StringVar(&perms, "permissions", "", "scope: what reaches these permissions (comma-separated)")
		r.fs.StringVar(&actions, "actions", "", "scope: what reaches a permission with one of these actions (comma-separated)")
		r.fs.StringVar(&minLevel, "min-level", "", "scope: at this level or above (own when unset)")
		r.fs.StringVar(&reviewers, "reviewers", "", "admins (the default) or department_heads")
		r.fs.IntVar(&everyDays, "every-days", 0, "recur every N days (0: once)")
	case "items":
		r.fs.BoolVar(&open, "open", false, "only undecided items")
		r.fs.StringVar(&role, "role", "", "only assignments of this role")
		r.fs.StringVar(&perm, "permission", "", "only items granting this permission")
	case "decide":
		r.fs.StringVar(&decision, "decision", "", "keep or revoke")
		r.fs.StringVar(&reason, "reason", "", "why (optional)")
	}
	pos, err := r.parse(args[1:])
	if err != nil {
		return err
	}
	c := r.client()
	switch sub {
	case "open":
		if len(pos) > 0 {
			return r.usageError("unexpected arguments %q", pos)
		}
		in := client.ReviewInput{Name: name, Default: def, Reviewers: reviewers, EveryDays: everyDays}
		if in.Deadline, err = parseDeadline(deadline, time.Now()); err != nil {
			return r.usageError("%v", err)
		}
		if roles != "" || perms != "" || actions != "" || minLevel != "" {
			in.Scope = &client.ReviewScope{Roles: splitList(roles), Permissions: splitList(perms), Actions: splitList(actions)}
			if minLevel != "" {
				if in.Scope.MinLevel, err = policy.ParseLevel(minLevel); err != nil {
					return r.usageError("--min-level: %v", err)
				}
			}
		}
		rv, rev, err := c.OpenReview(ctx, r.workspace, in)
		if err != nil {
			return r.fail(err)
		}
		if r.json {
			return r.printJSON(map[string]any{"review": rv, "workspace_revision": rev})
		}
		fmt.Fprintf(stdout, "opened review %s with %d items, due %s; workspace revision %d\n", rv.ID, rv.Items, rv.Deadline.Format(time.RFC3339), rev)
		return nil
	case "list":
		if len(pos) > 0 {
			return r.usageError("unexpected arguments %q", pos)
		}
		all := []client.Review{}
		cursor := ""
		for {
			rs, next, err := c.Reviews(ctx, r.workspace, client.PageQuery{Cursor: cursor})
			if err != nil {
				return r.fail(err)
			}
			all = append(all, rs...)
			if next == "" {
				break
			}
			cursor = next
		}
		if r.json {
			return r.printJSON(all)
		}
		tw := r.table()
		fmt.Fprintln(tw, "REVIEW\tNAME\tSTATUS\tDEADLINE\tDECIDED\tDEFAULT")
		for _, rv := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\n", rv.ID, rv.Name, rv.Status, rv.Deadline.Format(time.RFC3339), rv.Decided, rv.Items, rv.Default)
		}
		return tw.Flush()
	case "items":
		if len(pos) != 1 {
			return r.usageError("review items takes one review id")
		}
		all := []client.ReviewItem{}
		q := client.ReviewItemQuery{Open: open, Role: role, Permission: perm}
		for {
			its, next, err := c.ReviewItems(ctx, r.workspace, pos[0], q)
			if err != nil {
				return r.fail(err)
			}
			all = append(all, its...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if r.json {
			return r.printJSON(all)
		}
		tw := r.table()
		fmt.Fprintln(tw, "ITEM\tHOLDER\tACCESS\tEXPIRES\tLAST USED\tDECISION\tOUTCOME")
		for _, it := range all {
			holder := it.UserID
			if it.DepartmentID != "" {
				holder = "department:" + it.DepartmentID
			}
			access := "role:" + it.RoleID
			if it.RoleID == "" {
				access = "grant:" + it.Permission
			}
			dec := dash(it.Decision)
			if it.DecidedBy != "" {
				dec += " by " + it.DecidedBy
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, holder, access, timeText(it.ExpiresAt), timeText(it.LastUsed), dec, dash(it.Outcome))
		}
		return tw.Flush()
	case "decide":
		if len(pos) < 2 {
			return r.usageError("review decide takes a review id and one or more item ids")
		}
		var ids []int
		for _, p := range pos[1:] {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 {
				return r.usageError("item %q is not an item id", p)
			}
			ids = append(ids, n)
		}
		var rev int64
		for _, n := range ids {
			if _, rev, err = c.DecideReviewItem(ctx, r.workspace, pos[0], n, decision, reason); err != nil {
				return r.fail(fmt.Errorf("item %d: %w", n, err))
			}
		}
		if r.json {
			return r.printJSON(map[string]any{"decided": ids, "decision": decision, "workspace_revision": rev})
		}
		fmt.Fprintf(stdout, "decided %d items %s; workspace revision %d\n", len(ids), decision, rev)
		return nil
	default: // close
		if len(pos) != 1 {
			return r.usageError("review close takes one review id")
		}
		rep, rev, err := c.CloseReview(ctx, r.workspace, pos[0])
		if err != nil {
			return r.fail(err)
		}
		if r.json {
			return r.printJSON(map[string]any{"report": rep, "workspace_revision": rev})
		}
		fmt.Fprintf(stdout, "closed review %s: %d revoked, %d refused; workspace revision %d\n", rep.Review.ID, len(rep.Revoked), len(rep.Refused), rev)
		for _, it := range rep.Refused {
			fmt.Fprintf(stdout, "refused item %d (%s): %s\n", it.ID, it.UserID+it.DepartmentID, it.Note)
		}
		return nil
	}
}

// parseDeadline reads RFC 3339 or a duration from now.
func parseDeadline(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("--deadline is required")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("--deadline %q: want RFC 3339 or a positive duration such as 168h", s)
	}
	return now.Add(d), nil
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func timeText(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
