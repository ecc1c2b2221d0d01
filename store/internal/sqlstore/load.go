package sqlstore

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Load implements admin.Store.
func (s *Store) Load(ctx context.Context, ws string) (*admin.Dataset, error) {
	d := &admin.Dataset{}
	err := s.db.Read(ctx, func(tx Tx) error {
		found, err := s.loadWorkspace(ctx, tx, ws, d)
		if err != nil || !found {
			return err
		}
		for _, load := range []func(context.Context, Tx, string, *admin.Dataset) error{
			s.loadRoles, s.loadRevisions, s.loadDepartments, s.loadObjects, s.loadKeys, s.loadAliases, s.loadGateway, s.loadSoDRules, s.loadReviews, s.loadMembers,
		} {
			if err := load(ctx, tx, ws, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ws, err)
	}
	if d.Workspace.ID == "" {
		return nil, notFound(ws)
	}
	return d, nil
}

func (s *Store) loadWorkspace(ctx context.Context, tx Tx, ws string, d *admin.Dataset) (bool, error) {
	rows, err := s.query(ctx, tx, `SELECT id, name, plan, revision, audit_seq, audit_hash, created_at, updated_at FROM workspaces WHERE id = ?`, ws)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	var w admin.Workspace
	var plan string
	var created, updated int64
	if err := rows.Scan(&w.ID, &w.Name, &plan, &w.Revision, &d.AuditHead.Seq, &d.AuditHead.Hash, &created, &updated); err != nil {
		return false, err
	}
	w.Plan, w.CreatedAt, w.UpdatedAt = admin.Plan(plan), fromMicros(created), fromMicros(updated)
	d.Workspace = w
	return true, rows.Err()
}

func (s *Store) loadRoles(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT r.id, r.name, r.description, r.audience, r.predefined, r.is_default, r.revision, r.created_at, r.updated_at, rv.grants
		FROM roles r JOIN role_revisions rv ON rv.workspace_id = r.workspace_id AND rv.role_id = r.id AND rv.revision = r.revision
		WHERE r.workspace_id = ? ORDER BY r.id`, ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r admin.Role
		var aud, grants string
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &aud, &r.Predefined, &r.Default, &r.Revision, &created, &updated, &grants); err != nil {
			return err
		}
		r.Audience, r.CreatedAt, r.UpdatedAt = policy.Audience(aud), fromMicros(created), fromMicros(updated)
		if r.Grants, r.When, err = parseGrants(grants); err != nil {
			return err
		}
		d.Roles = append(d.Roles, r)
	}
	return rows.Err()
}

const revisionColumns = `role_id, revision, grants, author, reason, applied, restored, created_at`

func scanRevision(rows Rows) (admin.RoleRevision, error) {
	var rv admin.RoleRevision
	var grants string
	var created int64
	if err := rows.Scan(&rv.RoleID, &rv.Revision, &grants, &rv.Author, &rv.Reason, &rv.Applied, &rv.Restored, &created); err != nil {
		return rv, err
	}
	rv.CreatedAt = fromMicros(created)
	var err error
	rv.Grants, rv.When, err = parseGrants(grants)
	return rv, err
}

// loadRevisions loads each role's newest revision and every revision a
// member holds; older ones stay in the database for R6a.
func (s *Store) loadRevisions(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT `+revisionColumns+` FROM role_revisions rv
		WHERE rv.workspace_id = ? AND (
			rv.revision = (SELECT r.revision FROM roles r WHERE r.workspace_id = rv.workspace_id AND r.id = rv.role_id)
			OR EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = rv.workspace_id AND a.role_id = rv.role_id AND a.revision = rv.revision)
			OR EXISTS (SELECT 1 FROM department_roles dr WHERE dr.workspace_id = rv.workspace_id AND dr.role_id = rv.role_id AND dr.revision = rv.revision))
		ORDER BY role_id, revision`, ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		rv, err := scanRevision(rows)
		if err != nil {
			return err
		}
		d.Revisions = append(d.Revisions, rv)
	}
	return rows.Err()
}

func (s *Store) loadDepartments(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT id, name, parent_id, include_subdepartments FROM departments WHERE workspace_id = ? ORDER BY id`, ws)
	if err != nil {
		return err
	}
	index := map[string]int{}
	for rows.Next() {
		var dp admin.Department
		if err := rows.Scan(&dp.ID, &dp.Name, &dp.ParentID, &dp.IncludeSubdepartments); err != nil {
			rows.Close()
			return err
		}
		index[dp.ID] = len(d.Departments)
		d.Departments = append(d.Departments, dp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.query(ctx, tx, `SELECT department_id, role_id, revision, assigned_at, assigned_by, expires_at FROM department_roles
		WHERE workspace_id = ? ORDER BY department_id, role_id`, ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var dep string
		var a admin.Assignment
		var at, exp int64
		if err := rows.Scan(&dep, &a.RoleID, &a.Revision, &at, &a.AssignedBy, &exp); err != nil {
			return err
		}
		a.AssignedAt, a.ExpiresAt = fromMicros(at), fromMicros(exp)
		if i, ok := index[dep]; ok {
			d.Departments[i].Roles = append(d.Departments[i].Roles, a)
		}
	}
	return rows.Err()
}

func (s *Store) loadObjects(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT id, name, description FROM smart_objects WHERE workspace_id = ? ORDER BY id`, ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o admin.SmartObject
		if err := rows.Scan(&o.ID, &o.Name, &o.Description); err != nil {
			return err
		}
		d.Objects = append(d.Objects, o)
	}
	return rows.Err()
}

func (s *Store) loadKeys(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT id, scope, name, hash, created_at, created_by FROM api_keys WHERE workspace_id = ? ORDER BY id`, ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		k := admin.APIKey{Workspace: ws}
		var scope, hash string
		var created int64
		if err := rows.Scan(&k.ID, &scope, &k.Name, &hash, &created, &k.CreatedBy); err != nil {
			return err
		}
		if k.Hash, err = hex.DecodeString(hash); err != nil {
			return fmt.Errorf("key %s: %w", k.ID, err)
		}
		k.Scope, k.CreatedAt = admin.KeyScope(scope), fromMicros(created)
		d.Keys = append(d.Keys, k)
	}
	return rows.Err()
}

func (s *Store) loadAliases(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT alias, permission FROM action_aliases WHERE workspace_id = ?`, ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var alias, perm string
		if err := rows.Scan(&alias, &perm); err != nil {
			return err
		}
		if d.Aliases == nil {
			d.Aliases = map[string]string{}
		}
		d.Aliases[alias] = perm
	}
	return rows.Err()
}

func (s *Store) loadGateway(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT method, path, permission, owner_param, department_param FROM gateway_routes WHERE workspace_id = ? ORDER BY position`, ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r policy.GatewayRoute
		if err := rows.Scan(&r.Method, &r.Path, &r.Permission, &r.Owner, &r.Department); err != nil {
			return err
		}
		d.GatewayRoutes = append(d.GatewayRoutes, r)
	}
	return rows.Err()
}

const memberColumns = `user_id, name, email, kind, owner, grants, epoch, created_at, updated_at, grant_expiry`

func scanMember(rows Rows) (admin.Member, error) {
	var m admin.Member
	var kind, grants, expiry string
	var created, updated int64
	if err := rows.Scan(&m.UserID, &m.Name, &m.Email, &kind, &m.Owner, &grants, &m.Epoch, &created, &updated, &expiry); err != nil {
		return m, err
	}
	m.Kind, m.CreatedAt, m.UpdatedAt = policy.Audience(kind), fromMicros(created), fromMicros(updated)
	var err error
	if m.Grants, m.When, err = parseGrants(grants); err != nil {
		return m, err
	}
	m.GrantExpiry, err = parseExpiry(expiry)
	return m, err
}

// loadMembers reads every member, then their departments and assignments
// in two ordered scans merged by user id: three queries, however many
// members.
func (s *Store) loadMembers(ctx context.Context, tx Tx, ws string, d *admin.Dataset) error {
	rows, err := s.query(ctx, tx, `SELECT `+memberColumns+` FROM members WHERE workspace_id = ? ORDER BY user_id`, ws)
	if err != nil {
		return err
	}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			rows.Close()
			return err
		}
		d.Members = append(d.Members, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return s.fillMembers(ctx, tx, ws, d.Members, "")
}

// fillMembers adds departments and assignments to members sorted by user
// id. With a JSON list in only, it reads just those members' rows.
func (s *Store) fillMembers(ctx context.Context, tx Tx, ws string, members []admin.Member, only string) error {
	index := make(map[string]int, len(members))
	for i := range members {
		index[members[i].UserID] = i
	}
	filter := ""
	args := []any{ws}
	if only != "" {
		filter = ` AND user_id IN JSON_STRINGS(?)`
		args = append(args, only)
	}
	rows, err := s.query(ctx, tx, `SELECT user_id, department_id FROM member_departments WHERE workspace_id = ?`+filter+` ORDER BY user_id, department_id`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var u, dep string
		if err := rows.Scan(&u, &dep); err != nil {
			rows.Close()
			return err
		}
		if i, ok := index[u]; ok {
			members[i].DepartmentIDs = append(members[i].DepartmentIDs, dep)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.query(ctx, tx, `SELECT user_id, role_id, revision, assigned_at, assigned_by, expires_at FROM assignments WHERE workspace_id = ?`+filter+` ORDER BY user_id, role_id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var a admin.Assignment
		var at, exp int64
		if err := rows.Scan(&u, &a.RoleID, &a.Revision, &at, &a.AssignedBy, &exp); err != nil {
			return err
		}
		a.AssignedAt, a.ExpiresAt = fromMicros(at), fromMicros(exp)
		if i, ok := index[u]; ok {
			members[i].Roles = append(members[i].Roles, a)
		}
	}
	return rows.Err()
}
