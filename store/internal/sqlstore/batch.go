package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// Column is one column of the rows a Dialect's JSONRows yields: its name
// and its SQL type ("text", "bigint" or "boolean").
type Column struct{ Name, Type string }

// A Commit writes its member rows, their department links, their
// assignments and its audit entries set-based: one statement per table
// for a whole run of such ops (PostgreSQL: the rows bound as one JSON
// array of arrays, a parameter of any length parsed by the database;
// SQLite: VALUES lists of bound parameters, as many rows per statement as
// its parameter limit allows), instead of one statement per row. A bulk import of 10,000 members is then a handful
// of statements, which matters most on PostgreSQL where each statement is
// a round trip.

// execRows runs query once for rows, or once per chunk of them: ROWS in
// query is the FROM item, aliased r, that yields them with cols as its
// columns, and the one "?" before it is the workspace. With the dialect's
// MaxParams the rows are bound as parameters of a VALUES list, as many
// rows per statement as fit; otherwise as one JSON array of arrays
// through its JSONRows.
func (s *Store) execRows(ctx context.Context, tx Tx, query string, ws string, cols []Column, rows [][]any) error {
	if s.d.MaxParams == 0 {
		_, err := s.exec(ctx, tx, strings.Replace(query, "ROWS", s.d.JSONRows(cols)+" AS r", 1), ws, rowsJSON(rows))
		return err
	}
	per := max(1, (s.d.MaxParams-1)/len(cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, 1+len(chunk)*len(cols))
		args = append(args, ws)
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := s.exec(ctx, tx, strings.Replace(query, "ROWS", valuesRows(cols, len(chunk))+" AS r", 1), args...); err != nil {
			return err
		}
	}
	return nil
}

// copyMin is the fewest rows a Commit copies (see Copier): a COPY takes a
// round trip more than a statement, which only many rows repay.
const copyMin = 64

// insertRows inserts rows, each holding a value for every one of cols,
// into table for workspace ws: by COPY when tx is a Copier and the rows
// are many, else through execRows.
func (s *Store) insertRows(ctx context.Context, tx Tx, table string, ws string, cols []Column, rows [][]any) error {
	if c, ok := tx.(Copier); ok && len(rows) >= copyMin {
		names := make([]string, 0, 1+len(cols))
		names = append(names, "workspace_id")
		for _, col := range cols {
			names = append(names, col.Name)
		}
		full := make([][]any, len(rows))
		for i, r := range rows {
			full[i] = append(append(make([]any, 0, 1+len(r)), ws), r...)
		}
		n, err := c.Copy(ctx, table, names, full)
		if err == nil && n != int64(len(rows)) {
			err = fmt.Errorf("copy into %s: %d of %d rows", table, n, len(rows))
		}
		return err
	}
	colNames := make([]string, len(cols))
	for i, c := range cols {
		colNames[i] = c.Name
	}
	return s.execRows(ctx, tx, `INSERT INTO `+table+` (workspace_id, `+strings.Join(colNames, ", ")+`)
		SELECT ?, `+names(cols)+` FROM ROWS`, ws, cols, rows)
}

// valuesRows is a subquery yielding n rows of bound parameters with cols
// as its columns (a VALUES list names them column1, column2, …).
func valuesRows(cols []Column, n int) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "column%d AS %s", i+1, c.Name)
	}
	b.WriteString(" FROM (VALUES ")
	row := "(" + strings.Repeat("?, ", len(cols)-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString("))")
	return b.String()
}

// rowsJSON marshals rows (each a slice of strings, int64s and bools) as
// one JSON array of arrays.
func rowsJSON(rows [][]any) string {
	b, err := json.Marshal(rows)
	if err != nil {
		panic("sqlstore: rows do not marshal: " + err.Error())
	}
	return string(b)
}

func names(cols []Column) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "r." + c.Name
	}
	return strings.Join(out, ", ")
}

// memberRun is a run of consecutive PutMember, PutAssignment and
// DeleteAssignment ops, reduced to the final write of each key: applying
// it set-based leaves what applying its ops one by one would.
type memberRun struct {
	members  []*admin.Member
	memberAt map[string]int // user id → index in members
	// created holds the members the run's first put of them says are
	// new (PutMember.Created): inserted with their assignments, with no
	// upsert and no old department links to delete.
	created  map[string]bool
	assigns  []assignWrite
	assignAt map[[2]string]int // (user, role) → index in assigns
}

type assignWrite struct {
	user string
	a    admin.Assignment
	del  bool
}

// add takes op into the run and reports whether it is of the run's kinds.
func (r *memberRun) add(op admin.Op) bool {
	switch o := op.(type) {
	case admin.PutMember:
		if r.memberAt == nil {
			r.memberAt = map[string]int{}
		}
		m := o.Member
		if i, ok := r.memberAt[m.UserID]; ok {
			r.members[i] = &m
		} else {
			r.memberAt[m.UserID] = len(r.members)
			r.members = append(r.members, &m)
			if o.Created {
				if r.created == nil {
					r.created = map[string]bool{}
				}
				r.created[m.UserID] = true
			}
		}
	case admin.PutAssignment:
		r.assign(assignWrite{user: o.UserID, a: o.Assignment})
	case admin.DeleteAssignment:
		r.assign(assignWrite{user: o.UserID, a: admin.Assignment{RoleID: o.RoleID}, del: true})
	default:
		return false
	}
	return true
}

func (r *memberRun) assign(w assignWrite) {
	if r.assignAt == nil {
		r.assignAt = map[[2]string]int{}
	}
	k := [2]string{w.user, w.a.RoleID}
	if i, ok := r.assignAt[k]; ok {
		r.assigns[i] = w
		return
	}
	r.assignAt[k] = len(r.assigns)
	r.assigns = append(r.assigns, w)
}

func (r *memberRun) empty() bool { return len(r.members) == 0 && len(r.assigns) == 0 }

var (
	memberCols = []Column{{"user_id", "text"}, {"name", "text"}, {"email", "text"}, {"kind", "text"}, {"owner", "boolean"},
		{"grants", "text"}, {"epoch", "bigint"}, {"created_at", "bigint"}, {"updated_at", "bigint"}, {"grant_expiry", "text"}}
	linkCols   = []Column{{"user_id", "text"}, {"department_id", "text"}}
	assignCols = []Column{{"user_id", "text"}, {"role_id", "text"}, {"revision", "bigint"}, {"assigned_at", "bigint"},
		{"assigned_by", "text"}, {"expires_at", "bigint"}}
	unassignCols = []Column{{"user_id", "text"}, {"role_id", "text"}}
	auditCols    = []Column{{"seq", "bigint"}, {"time", "bigint"}, {"revision", "bigint"}, {"actor", "text"}, {"actor_name", "text"},
		{"action", "text"}, {"target", "text"}, {"before", "text"}, {"after", "text"}, {"reason", "text"}, {"key_id", "text"},
		{"prev_hash", "text"}, {"hash", "text"}}
)

// flush writes the run: member rows (upserted), their department links
// (replaced, M9), then assignments deleted and upserted. Members go first
// because the assignments and links point to them. Created members and
// their assignments are plain inserts (a COPY on PostgreSQL): an import's
// rows look for no existing one.
func (s *Store) flush(ctx context.Context, tx Tx, ws string, r *memberRun, roles *appliedRoles) error {
	defer func() { *r = memberRun{} }()
	if len(r.members) > 0 {
		var fresh, changed [][]any // rows of created members, of the others
		var users []string         // the others, whose links are replaced
		var links [][]any
		for _, m := range r.members {
			row := []any{m.UserID, m.Name, m.Email, string(m.Kind), m.Owner, grantsJSON(m.Grants, m.When), m.Epoch,
				micros(m.CreatedAt), micros(m.UpdatedAt), expiryJSON(m.GrantExpiry)}
			if r.created[m.UserID] {
				fresh = append(fresh, row)
			} else {
				changed = append(changed, row)
				users = append(users, m.UserID)
			}
			for _, d := range m.DepartmentIDs {
				links = append(links, []any{m.UserID, d})
			}
		}
		if len(changed) > 0 {
			// WHERE true: SQLite needs it to parse an upsert's SELECT.
			if err := s.execRows(ctx, tx, `INSERT INTO members (workspace_id, user_id, name, email, kind, owner, grants, epoch, created_at, updated_at, grant_expiry)
				SELECT ?, `+names(memberCols)+` FROM ROWS WHERE true
				ON CONFLICT (workspace_id, user_id) DO UPDATE SET name = excluded.name, email = excluded.email, kind = excluded.kind,
					owner = excluded.owner, grants = excluded.grants, epoch = excluded.epoch, updated_at = excluded.updated_at, grant_expiry = excluded.grant_expiry`,
				ws, memberCols, changed); err != nil {
				return err
			}
			if _, err := s.exec(ctx, tx, `DELETE FROM member_departments WHERE workspace_id = ? AND user_id IN JSON_STRINGS(?)`,
				ws, stringsJSON(users)); err != nil {
				return err
			}
		}
		if len(fresh) > 0 {
			if err := s.insertRows(ctx, tx, "members", ws, memberCols, fresh); err != nil {
				return err
			}
		}
		if len(links) > 0 {
			if err := s.insertRows(ctx, tx, "member_departments", ws, linkCols, links); err != nil {
				return err
			}
		}
	}
	var fresh, puts, dels [][]any // assignments of created members, other puts, deletions
	for _, w := range r.assigns {
		if w.del {
			dels = append(dels, []any{w.user, w.a.RoleID})
			continue
		}
		a := w.a
		rev, err := roles.revision(ctx, s, tx, ws, a.RoleID, a.Revision)
		if err != nil {
			return err
		}
		row := []any{w.user, a.RoleID, rev, micros(a.AssignedAt), a.AssignedBy, micros(a.ExpiresAt)}
		if r.created[w.user] {
			fresh = append(fresh, row)
		} else {
			puts = append(puts, row)
		}
	}
	if len(dels) > 0 {
		if err := s.execRows(ctx, tx, `DELETE FROM assignments WHERE workspace_id = ? AND (user_id, role_id) IN
			(SELECT `+names(unassignCols)+` FROM ROWS)`, ws, unassignCols, dels); err != nil {
			return err
		}
	}
	if len(fresh) > 0 {
		if err := s.insertRows(ctx, tx, "assignments", ws, assignCols, fresh); err != nil {
			return err
		}
	}
	if len(puts) > 0 {
		if err := s.execRows(ctx, tx, `INSERT INTO assignments (workspace_id, user_id, role_id, revision, assigned_at, assigned_by, expires_at)
			SELECT ?, `+names(assignCols)+` FROM ROWS WHERE true
			ON CONFLICT (workspace_id, user_id, role_id) DO UPDATE SET revision = excluded.revision,
				assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by, expires_at = excluded.expires_at`,
			ws, assignCols, puts); err != nil {
			return err
		}
	}
	return nil
}

// putAudit writes a commit's audit entries in one statement or COPY (X4); reason
// is "" for entries whose shared reason is in audit_reasons.
func (s *Store) putAudit(ctx context.Context, tx Tx, ws string, entries []admin.AuditEntry, shared bool) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([][]any, len(entries))
	for i, e := range entries {
		reason := e.Reason
		if shared {
			reason = "" // read from audit_reasons
		}
		rows[i] = []any{e.Seq, micros(e.Time), e.Revision, e.Actor, e.ActorName, e.Action, e.Target,
			string(e.Before), string(e.After), reason, e.KeyID, e.PrevHash, e.Hash}
	}
	return s.insertRows(ctx, tx, "audit", ws, auditCols, rows)
}
