package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Workspaces implements admin.Store.
func (s *Store) Workspaces(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.Read(ctx, func(tx Tx) error {
		rows, err := s.query(ctx, tx, `SELECT id FROM workspaces ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// Heads implements admin.Store.
func (s *Store) Heads(ctx context.Context) ([]admin.Head, error) {
	var out []admin.Head
	err := s.db.Read(ctx, func(tx Tx) error {
		rows, err := s.query(ctx, tx, `SELECT id, revision FROM workspaces ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h admin.Head
			if err := rows.Scan(&h.Workspace, &h.Revision); err != nil {
				return err
			}
			out = append(out, h)
		}
		return rows.Err()
	})
	return out, err
}

// RoleRevisions implements admin.Store.
func (s *Store) RoleRevisions(ctx context.Context, ws, role string) ([]admin.RoleRevision, error) {
	var out []admin.RoleRevision
	err := s.db.Read(ctx, func(tx Tx) error {
		rows, err := s.query(ctx, tx, `SELECT `+revisionColumns+` FROM role_revisions WHERE workspace_id = ? AND role_id = ? ORDER BY revision`, ws, role)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rv, err := scanRevision(rows)
			if err != nil {
				return err
			}
			out = append(out, rv)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("revisions of role %s: %w", role, err)
	}
	return out, nil
}

// likePattern makes a case-insensitive substring pattern with \ escapes.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}

// Members implements admin.Store: the role and department filters use
// the assignments_by_role and member_departments_by_department indexes,
// paging uses the primary key.
func (s *Store) Members(ctx context.Context, ws string, f admin.MemberFilter) ([]admin.Member, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + memberColumns + ` FROM members m WHERE m.workspace_id = ? AND m.user_id > ?`)
	args := []any{ws, f.After}
	if f.Role != "" {
		b.WriteString(` AND EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = m.workspace_id AND a.role_id = ? AND a.user_id = m.user_id)`)
		args = append(args, f.Role)
	}
	if f.Department != "" {
		b.WriteString(` AND EXISTS (SELECT 1 FROM member_departments d WHERE d.workspace_id = m.workspace_id AND d.department_id = ? AND d.user_id = m.user_id)`)
		args = append(args, f.Department)
	}
	if f.Query != "" {
		p := likePattern(f.Query)
		b.WriteString(` AND (lower(m.user_id) LIKE ? ESCAPE '\' OR lower(m.name) LIKE ? ESCAPE '\' OR lower(m.email) LIKE ? ESCAPE '\')`)
		args = append(args, p, p, p)
	}
	b.WriteString(` ORDER BY m.user_id LIMIT ?`)
	args = append(args, f.Limit)
	var out []admin.Member
	err := s.db.Read(ctx, func(tx Tx) error {
		rows, err := s.query(ctx, tx, b.String(), args...)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			m, err := scanMember(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, m)
			ids = append(ids, m.UserID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		return s.fillMembers(ctx, tx, ws, out, stringsJSON(ids))
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", ws, err)
	}
	return out, nil
}

// Audit implements admin.Store.
func (s *Store) Audit(ctx context.Context, ws string, f admin.AuditFilter) ([]admin.AuditEntry, error) {
	var b strings.Builder
	// An entry's reason is its write's, stored once in audit_reasons, or,
	// for entries written before, its own. An inline reason wins, so that
	// whatever is changed in either table is what verify reads (X4).
	b.WriteString(`SELECT a.seq, a.time, a.revision, a.actor, a.actor_name, a.action, a.target, a.before, a.after,
		CASE WHEN a.reason <> '' THEN a.reason ELSE COALESCE(r.reason, '') END, a.key_id, a.prev_hash, a.hash
		FROM audit a LEFT JOIN audit_reasons r ON r.workspace_id = a.workspace_id AND r.revision = a.revision
		WHERE a.workspace_id = ? AND a.seq > ?`)
	args := []any{ws, f.After}
	switch targets := admin.TargetsOf(f.Target); len(targets) {
	case 0:
	case 1:
		b.WriteString(` AND a.target = ?`)
		args = append(args, targets[0])
	default:
		b.WriteString(` AND a.target IN (?` + strings.Repeat(`, ?`, len(targets)-1) + `)`)
		for _, t := range targets {
			args = append(args, t)
		}
	}
	if f.Actor != "" {
		b.WriteString(` AND a.actor = ?`)
		args = append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		b.WriteString(` AND a.time >= ?`)
		args = append(args, micros(f.Since))
	}
	b.WriteString(` ORDER BY a.seq LIMIT ?`)
	args = append(args, f.Limit)
	var out []admin.AuditEntry
	err := s.db.Read(ctx, func(tx Tx) error {
		rows, err := s.query(ctx, tx, b.String(), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e admin.AuditEntry
			var t int64
			var before, after string
			if err := rows.Scan(&e.Seq, &t, &e.Revision, &e.Actor, &e.ActorName, &e.Action, &e.Target, &before, &after, &e.Reason, &e.KeyID, &e.PrevHash, &e.Hash); err != nil {
				return err
			}
			e.Time, e.Before, e.After = fromMicros(t), rawOrNil(before), rawOrNil(after)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("audit of %s: %w", ws, err)
	}
	return out, nil
}

// Changes implements admin.Store.
func (s *Store) Changes(ctx context.Context, ws string, after int64, limit int) ([]admin.Change, error) {
	var out []admin.Change
	err := s.db.Read(ctx, func(tx Tx) error {
		var err error
		out, err = s.changes(ctx, tx, ws, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("changes of %s: %w", ws, err)
	}
	return out, nil
}

func (s *Store) changes(ctx context.Context, tx Tx, ws string, after int64, limit int) ([]admin.Change, error) {
	rows, err := s.query(ctx, tx, `SELECT revision, time, action, targets, epochs FROM changes WHERE workspace_id = ? AND revision > ? ORDER BY revision LIMIT ?`, ws, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []admin.Change
	for rows.Next() {
		var c admin.Change
		var t int64
		var targets, epochs string
		if err := rows.Scan(&c.Revision, &t, &c.Action, &targets, &epochs); err != nil {
			return nil, err
		}
		c.Time = fromMicros(t)
		if c.Targets, err = parseStrings(targets); err != nil {
			return nil, err
		}
		if c.Epochs, err = parseStrings(epochs); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddUsage implements admin.Store.
func (s *Store) AddUsage(ctx context.Context, ws string, us []admin.Usage) error {
	if len(us) == 0 {
		return nil
	}
	return s.db.Write(ctx, func(tx Tx) error {
		for _, u := range us {
			if _, err := s.exec(ctx, tx, `INSERT INTO usage (workspace_id, role_id, permission, count, last_used)
				SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM roles WHERE workspace_id = ? AND id = ?)
				ON CONFLICT (workspace_id, role_id, permission) DO UPDATE SET count = usage.count + excluded.count,
					last_used = CASE WHEN excluded.last_used > usage.last_used THEN excluded.last_used ELSE usage.last_used END`,
				ws, u.RoleID, u.Permission, u.Count, micros(u.LastUsed), ws, u.RoleID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Usage implements admin.Store.
func (s *Store) Usage(ctx context.Context, ws string) ([]admin.Usage, error) {
	var out []admin.Usage
	err := s.db.Read(ctx, func(tx Tx) error {
		rows, err := s.query(ctx, tx, `SELECT role_id, permission, count, last_used FROM usage WHERE workspace_id = ? ORDER BY role_id, permission`, ws)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u admin.Usage
			var t int64
			if err := rows.Scan(&u.RoleID, &u.Permission, &u.Count, &t); err != nil {
				return err
			}
			u.LastUsed = fromMicros(t)
			out = append(out, u)
		}
		return rows.Err()
	})
	return out, err
}

// Secret implements admin.Store. A read comes first, so that nodes that
// re-read a secret to follow its changes never take the write lock.
func (s *Store) Secret(ctx context.Context, name string, generate func() []byte) ([]byte, error) {
	value, found, err := s.readSecret(ctx, name)
	if err != nil || found {
		return value, err
	}
	err = s.db.Write(ctx, func(tx Tx) error {
		for attempt := 0; attempt < 2; attempt++ {
			var found bool
			if value, found, err = s.selectSecret(ctx, tx, name); found || err != nil {
				return err
			}
			// Another process may insert first; then the second pass reads its value.
			if _, err := s.exec(ctx, tx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
				name, generate(), micros(time.Now())); err != nil {
				return err
			}
		}
		return fmt.Errorf("secret %s vanished", name)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return value, nil
}

// UpdateSecret implements admin.Store. The read and the write share a
// transaction, and the write replaces the value only if it is still the
// one update saw: where transactions of several processes interleave
// (PostgreSQL's read committed), the loser runs update again on the newer
// value, so that concurrent updates all count.
func (s *Store) UpdateSecret(ctx context.Context, name string, update func(old []byte) ([]byte, error)) ([]byte, error) {
	const attempts = 10
	for range attempts {
		var value []byte
		var swapped bool
		err := s.db.Write(ctx, func(tx Tx) error {
			old, found, err := s.selectSecret(ctx, tx, name)
			if err != nil {
				return err
			}
			if !found {
				return admin.ErrSecretMissing
			}
			if value, err = update(old); err != nil {
				return err
			}
			n, err := s.exec(ctx, tx, `UPDATE secrets SET value = ? WHERE name = ? AND value = ?`, value, name, old)
			swapped = n == 1
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("update secret %s: %w", name, err)
		}
		if swapped {
			return value, nil
		}
	}
	return nil, policy.Errorf(policy.CodeUnavailable, "secret %s kept changing while it was being updated; try again", name)
}

func (s *Store) readSecret(ctx context.Context, name string) (value []byte, found bool, err error) {
	err = s.db.Read(ctx, func(tx Tx) error {
		value, found, err = s.selectSecret(ctx, tx, name)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("read secret %s: %w", name, err)
	}
	return value, found, nil
}

func (s *Store) selectSecret(ctx context.Context, tx Tx, name string) (value []byte, found bool, err error) {
	rows, err := s.query(ctx, tx, `SELECT value FROM secrets WHERE name = ?`, name)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&value); err != nil {
			return nil, false, err
		}
		found = true
	}
	return value, found, rows.Err()
}
