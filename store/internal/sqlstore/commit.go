package sqlstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// Commit implements admin.Store.
func (s *Store) Commit(ctx context.Context, c *admin.Commit) error {
	err := s.db.Write(ctx, func(tx Tx) error {
		if err := s.advance(ctx, tx, c); err != nil {
			return err
		}
		var run memberRun
		var roles appliedRoles
		for _, op := range c.Ops {
			if run.add(op) {
				continue
			}
			if !run.empty() {
				if err := s.flush(ctx, tx, c.Workspace, &run, &roles); err != nil {
					return err
				}
			}
			roles.forget(op)
			if err := s.apply(ctx, tx, c, op, &roles); err != nil {
				return err
			}
		}
		if !run.empty() {
			if err := s.flush(ctx, tx, c.Workspace, &run, &roles); err != nil {
				return err
			}
		}
		shared := sharedReason(c.Audit)
		if shared != "" {
			if _, err := s.exec(ctx, tx, `INSERT INTO audit_reasons (workspace_id, revision, reason) VALUES (?, ?, ?)`,
				c.Workspace, c.Revision, shared); err != nil {
				return err
			}
		}
		if err := s.putAudit(ctx, tx, c.Workspace, c.Audit, shared != ""); err != nil {
			return err
		}
		ch := c.Change
		if _, err := s.exec(ctx, tx, `INSERT INTO changes (workspace_id, revision, time, action, targets, epochs) VALUES (?, ?, ?, ?, ?, ?)`,
			c.Workspace, ch.Revision, micros(ch.Time), ch.Action, stringsJSON(ch.Targets), stringsJSON(ch.Epochs)); err != nil {
			return err
		}
		if s.d.Notify != "" {
			n := admin.Notice{Workspace: c.Workspace, Revision: c.Revision, Time: c.Time}
			if _, err := s.exec(ctx, tx, s.d.Notify, n.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, admin.ErrStale) { // the compare-and-set failed: nothing was written
		return admin.ErrStale
	}
	if err != nil {
		return fmt.Errorf("commit revision %d of %s: %w", c.Revision, c.Workspace, err)
	}
	return nil
}

// advance creates the workspace (Base 0) or moves it from Base to
// Revision, failing with errStale when another writer got there first.
func (s *Store) advance(ctx context.Context, tx Tx, c *admin.Commit) error {
	var ws admin.Workspace
	for _, op := range c.Ops {
		if p, ok := op.(admin.PutWorkspace); ok {
			ws = p.Workspace
		}
	}
	if c.Base == 0 {
		if ws.ID != c.Workspace {
			return fmt.Errorf("creating workspace %s needs its PutWorkspace op", c.Workspace)
		}
		_, err := s.exec(ctx, tx, `INSERT INTO workspaces (id, name, plan, revision, audit_seq, audit_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ws.ID, ws.Name, string(ws.Plan), c.Revision,
			c.AuditHead.Seq, c.AuditHead.Hash, micros(ws.CreatedAt), micros(c.Time))
		if err != nil && s.d.IsUniqueViolation(err) {
			return admin.ErrStale
		}
		return err
	}
	n, err := s.exec(ctx, tx, `UPDATE workspaces SET revision = ?, audit_seq = ?, audit_hash = ?, updated_at = ?
		WHERE id = ? AND revision = ?`, c.Revision, c.AuditHead.Seq, c.AuditHead.Hash, micros(c.Time), c.Workspace, c.Base)
	if err != nil {
		return err
	}
	if n != 1 {
		return admin.ErrStale
	}
	return nil
}

// apply runs one op.
func (s *Store) apply(ctx context.Context, tx Tx, c *admin.Commit, op admin.Op, roles *appliedRoles) error {
	ws := c.Workspace
	var err error
	switch o := op.(type) {
	case admin.PutWorkspace:
		if c.Base != 0 {
			_, err = s.exec(ctx, tx, `UPDATE workspaces SET name = ?, plan = ? WHERE id = ?`, o.Workspace.Name, string(o.Workspace.Plan), ws)
		}
	case admin.PutRole:
		r := o.Role
		// A new role's assignees follow its first revision; only an apply
		// moves applied_revision (see ApplyRole below).
		_, err = s.exec(ctx, tx, `INSERT INTO roles (workspace_id, id, name, description, audience, predefined, is_default, revision, applied_revision, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, description = excluded.description,
				revision = excluded.revision, is_default = excluded.is_default, updated_at = excluded.updated_at`,
			ws, r.ID, r.Name, r.Description, string(r.Audience), r.Predefined, r.Default, r.Revision, r.Revision, micros(r.CreatedAt), micros(r.UpdatedAt))
	case admin.DeleteRole:
		_, err = s.exec(ctx, tx, `DELETE FROM roles WHERE workspace_id = ? AND id = ?`, ws, o.RoleID)
	case admin.PutRoleRevision:
		rv := o.Revision
		_, err = s.exec(ctx, tx, `INSERT INTO role_revisions (workspace_id, role_id, revision, grants, author, reason, applied, restored, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ws, rv.RoleID, rv.Revision, grantsJSON(rv.Grants, rv.When), rv.Author, rv.Reason, rv.Applied, rv.Restored, micros(rv.CreatedAt))
	case admin.PutMember:
		err = s.putMember(ctx, tx, ws, &o.Member)
	case admin.DeleteMember:
		_, err = s.exec(ctx, tx, `DELETE FROM members WHERE workspace_id = ? AND user_id = ?`, ws, o.UserID)
	case admin.PutAssignment:
		a := o.Assignment
		var rev any
		if rev, err = roles.revision(ctx, s, tx, ws, a.RoleID, a.Revision); err != nil {
			break
		}
		_, err = s.exec(ctx, tx, `INSERT INTO assignments (workspace_id, user_id, role_id, revision, assigned_at, assigned_by, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, user_id, role_id) DO UPDATE SET revision = excluded.revision,
				assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by, expires_at = excluded.expires_at`,
			ws, o.UserID, a.RoleID, rev, micros(a.AssignedAt), a.AssignedBy, micros(a.ExpiresAt))
	case admin.DeleteAssignment:
		_, err = s.exec(ctx, tx, `DELETE FROM assignments WHERE workspace_id = ? AND user_id = ? AND role_id = ?`, ws, o.UserID, o.RoleID)
	case admin.ApplyRole:
		err = s.applyRole(ctx, tx, ws, o)
	case admin.BumpEpochs:
		_, err = s.exec(ctx, tx, `UPDATE members SET epoch = epoch + 1 WHERE workspace_id = ? AND user_id IN JSON_STRINGS(?)`,
			ws, stringsJSON(o.UserIDs))
	case admin.PutDepartment:
		err = s.putDepartment(ctx, tx, ws, &o.Department)
	case admin.DeleteDepartment:
		_, err = s.exec(ctx, tx, `DELETE FROM departments WHERE workspace_id = ? AND id = ?`, ws, o.ID)
	case admin.PutObject:
		ob := o.Object
		_, err = s.exec(ctx, tx, `INSERT INTO smart_objects (workspace_id, id, name, description) VALUES (?, ?, ?, ?)
			ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, description = excluded.description`,
			ws, ob.ID, ob.Name, ob.Description)
	case admin.DeleteObject:
		_, err = s.exec(ctx, tx, `DELETE FROM smart_objects WHERE workspace_id = ? AND id = ?`, ws, o.ID)
	case admin.PutKey:
		k := o.Key
		_, err = s.exec(ctx, tx, `INSERT INTO api_keys (workspace_id, id, scope, name, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ws, k.ID, string(k.Scope), k.Name, hex.EncodeToString(k.Hash), micros(k.CreatedAt), k.CreatedBy)
	case admin.DeleteKey:
		_, err = s.exec(ctx, tx, `DELETE FROM api_keys WHERE workspace_id = ? AND id = ?`, ws, o.ID)
	case admin.PutGatewayRoutes:
		if _, err = s.exec(ctx, tx, `DELETE FROM gateway_routes WHERE workspace_id = ?`, ws); err != nil {
			break
		}
		for i, r := range o.Routes {
			if _, err = s.exec(ctx, tx, `INSERT INTO gateway_routes (workspace_id, position, method, path, permission, owner_param, department_param)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, ws, i, r.Method, r.Path, r.Permission, r.Owner, r.Department); err != nil {
				break
			}
		}
	case admin.PutAliases:
		if _, err = s.exec(ctx, tx, `DELETE FROM action_aliases WHERE workspace_id = ?`, ws); err != nil {
			break
		}
		for _, a := range slices.Sorted(maps.Keys(o.Aliases)) {
			if _, err = s.exec(ctx, tx, `INSERT INTO action_aliases (workspace_id, alias, permission) VALUES (?, ?, ?)`, ws, a, o.Aliases[a]); err != nil {
				break
			}
		}
	case admin.PutReview:
		err = s.putReview(ctx, tx, ws, o)
	case admin.PutSoDRules:
		err = s.putSoDRules(ctx, tx, ws, o.Rules)
	default:
		err = fmt.Errorf("unknown op %T", op)
	}
	return err
}

// applyRole moves every holder of a role to a revision (R6): the role's
// followers by moving its applied_revision, a row of its own, and the
// assignments pinned to another revision by making them followers. An
// apply of a 10,000-member role writes the role row and the few pinned
// rows, not 10,000 assignments. Department roles are few: they keep
// their revision in each row.
func (s *Store) applyRole(ctx context.Context, tx Tx, ws string, o admin.ApplyRole) error {
	// No key checks applied_revision (a role and its revisions point at
	// each other), so the update does: it moves the role only to a
	// revision the role has.
	n, err := s.exec(ctx, tx, `UPDATE roles SET applied_revision = ? WHERE workspace_id = ? AND id = ?
		AND EXISTS (SELECT 1 FROM role_revisions rv WHERE rv.workspace_id = roles.workspace_id AND rv.role_id = roles.id AND rv.revision = ?)`,
		o.Revision, ws, o.RoleID, o.Revision)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("apply role %s: no revision %d of it", o.RoleID, o.Revision)
	}
	if _, err := s.exec(ctx, tx, `UPDATE assignments SET revision = NULL WHERE workspace_id = ? AND role_id = ? AND revision IS NOT NULL`, ws, o.RoleID); err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, `UPDATE department_roles SET revision = ? WHERE workspace_id = ? AND role_id = ?`, o.Revision, ws, o.RoleID)
	return err
}

// putDepartment writes a department row and replaces its roles (M9).
func (s *Store) putDepartment(ctx context.Context, tx Tx, ws string, d *admin.Department) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO departments (workspace_id, id, name, parent_id, include_subdepartments) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
			include_subdepartments = excluded.include_subdepartments`,
		ws, d.ID, d.Name, d.ParentID, d.IncludeSubdepartments); err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, `DELETE FROM department_roles WHERE workspace_id = ? AND department_id = ?`, ws, d.ID); err != nil {
		return err
	}
	for _, a := range d.Roles {
		if _, err := s.exec(ctx, tx, `INSERT INTO department_roles (workspace_id, department_id, role_id, revision, assigned_at, assigned_by, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, ws, d.ID, a.RoleID, a.Revision, micros(a.AssignedAt), a.AssignedBy, micros(a.ExpiresAt)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) putMember(ctx context.Context, tx Tx, ws string, m *admin.Member) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO members (workspace_id, user_id, name, email, kind, owner, grants, epoch, created_at, updated_at, grant_expiry)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, user_id) DO UPDATE SET name = excluded.name, email = excluded.email, kind = excluded.kind,
			owner = excluded.owner, grants = excluded.grants, epoch = excluded.epoch, updated_at = excluded.updated_at, grant_expiry = excluded.grant_expiry`,
		ws, m.UserID, m.Name, m.Email, string(m.Kind), m.Owner, grantsJSON(m.Grants, m.When), m.Epoch, micros(m.CreatedAt), micros(m.UpdatedAt), expiryJSON(m.GrantExpiry)); err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, `DELETE FROM member_departments WHERE workspace_id = ? AND user_id = ?`, ws, m.UserID); err != nil {
		return err
	}
	for _, d := range m.DepartmentIDs {
		if _, err := s.exec(ctx, tx, `INSERT INTO member_departments (workspace_id, user_id, department_id) VALUES (?, ?, ?)`, ws, m.UserID, d); err != nil {
			return err
		}
	}
	return nil
}

// sharedReason is the reason every entry of a write of several entries
// carries, stored once in audit_reasons (X4), or "" when there is none,
// the write has one entry, or the entries differ (then each keeps its
// own, inline).
func sharedReason(entries []admin.AuditEntry) string {
	if len(entries) < 2 || entries[0].Reason == "" {
		return ""
	}
	for _, e := range entries[1:] {
		if e.Reason != entries[0].Reason || e.Revision != entries[0].Revision {
			return ""
		}
	}
	return entries[0].Reason
}
