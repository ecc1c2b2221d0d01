package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

func init() {
	clientCommands["assign"] = remoteAssign
}

// remoteAssign is "gatehouse assign --role R [--until T] user…": it gives
// members a role, until an instant when --until is given (T1). --until
// takes an RFC 3339 instant or a duration from now ("72h").
func remoteAssign(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	r := newRemote("gatehouse assign", "--role <role> [--until <time|duration>] <user>...", getenv, stdout, stderr)
	var role, until string
	r.fs.StringVar(&role, "role", "", "the role id to assign")
	r.fs.StringVar(&until, "until", "", "when the assignment expires: an RFC 3339 time or a duration from now, e.g. 72h (T1); none if empty")
	users, err := r.parse(args)
	if err != nil {
		return err
	}
	if role == "" {
		return r.usageError("no role: pass --role")
	}
	if len(users) == 0 {
		return r.usageError("no members: name at least one user id")
	}
	at, err := parseUntil(until, time.Now())
	if err != nil {
		return r.usageError("%v", err)
	}
	c := r.client()
	var rev int64
	if at.IsZero() {
		rev, err = c.AddRoleMembers(ctx, r.workspace, role, users)
	} else {
		rev, err = c.AddRoleMembersUntil(ctx, r.workspace, role, users, at)
	}
	if err != nil {
		return r.fail(err)
	}
	out := struct {
		Role      string     `json:"role_id"`
		Users     []string   `json:"user_ids"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		Revision  int64      `json:"revision"`
	}{role, users, nil, rev}
	if !at.IsZero() {
		out.ExpiresAt = &at
	}
	if r.json {
		return r.printJSON(out)
	}
	when := "without expiry"
	if !at.IsZero() {
		when = "until " + at.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(r.stdout, "assigned %s to %d members %s, revision %d\n", role, len(users), when, rev)
	return nil
}

// parseUntil reads --until: empty (no expiry), an RFC 3339 time, or a
// positive duration from now.
func parseUntil(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("--until %q is neither an RFC 3339 time nor a positive duration", s)
	}
	return now.Add(d).UTC().Truncate(time.Second), nil
}
