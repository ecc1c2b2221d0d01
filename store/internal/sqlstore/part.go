package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// ReadPart implements admin.PartReader: in one read transaction, so at
// one revision, the workspace row and audit head, the changelog rows after
// after (at most limit+1 of them), and then the rows pick names — the
// given members, every member holding one of the given roles, those
// roles at their newest revisions, and every role revision the members
// read hold. It returns nil when pick refuses.
func (s *Store) ReadPart(ctx context.Context, ws string, after int64, limit int, pick admin.PartPicker) (*admin.Part, error) {
	var p *admin.Part
	err := s.db.Read(ctx, func(tx Tx) error {
		p = nil
		q := &sel{one: ws}
		if err := s.loadWorkspaces(ctx, tx, q, `id = ?`, ws); err != nil {
			return err
		}
		if len(q.sets) == 0 {
			return notFound(ws)
		}
		d := q.sets[0]
		changes, err := s.changes(ctx, tx, ws, after, limit+1)
		if err != nil {
			return err
		}
		users, roles, ok := pick(d.Workspace.Revision, changes)
		if !ok {
			return nil
		}
		p = &admin.Part{Workspace: d.Workspace, AuditHead: d.AuditHead, Changes: changes, Users: users, RoleIDs: roles}
		usersJSON, rolesJSON := stringsJSON(users), stringsJSON(roles)
		if len(roles) > 0 {
			if p.Roles, err = s.rolesIn(ctx, tx, ws, rolesJSON); err != nil {
				return err
			}
		}
		// Two plain lookups rather than one OR, which planners answer with
		// a scan of every member.
		var ids []string
		seen := map[string]bool{}
		read := func(query string, args ...any) error {
			return s.eachRow(ctx, tx, func(rows Rows) error {
				m, err := scanMember(rows)
				if err != nil {
					return err
				}
				if !seen[m.UserID] {
					seen[m.UserID] = true
					p.Members = append(p.Members, m)
					ids = append(ids, m.UserID)
				}
				return nil
			}, query, args...)
		}
		if len(users) > 0 {
			if err := read(`SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = ? AND m.user_id IN JSON_STRINGS(?)`, ws, usersJSON); err != nil {
				return err
			}
		}
		if len(roles) > 0 {
			if err := read(`SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = ?
				AND m.user_id IN (SELECT a.user_id FROM assignments a WHERE a.workspace_id = ? AND a.role_id IN JSON_STRINGS(?))`, ws, ws, rolesJSON); err != nil {
				return err
			}
		}
		slices.SortFunc(p.Members, func(a, b admin.Member) int { return strings.Compare(a.UserID, b.UserID) })
		slices.Sort(ids)
		idsJSON := stringsJSON(ids)
		if len(ids) > 0 {
			if err := s.fillMembers(ctx, tx, ws, p.Members, idsJSON); err != nil {
				return err
			}
		}
		return s.eachRow(ctx, tx, func(rows Rows) error {
			rv, err := scanRevision(rows)
			if err != nil {
				return err
			}
			p.Revisions = append(p.Revisions, rv)
			return nil
		}, `SELECT `+revisionColumns+` FROM role_revisions rv
			WHERE rv.workspace_id = ? AND (
				(rv.role_id IN JSON_STRINGS(?) AND rv.revision = (SELECT r.revision FROM roles r WHERE r.workspace_id = rv.workspace_id AND r.id = rv.role_id))
				OR EXISTS (SELECT 1 FROM assignments a JOIN roles r ON r.workspace_id = a.workspace_id AND r.id = a.role_id
					WHERE a.workspace_id = rv.workspace_id AND a.role_id = rv.role_id AND COALESCE(a.revision, r.applied_revision) = rv.revision
					AND a.user_id IN JSON_STRINGS(?)))
			ORDER BY role_id, revision`, ws, rolesJSON, idsJSON)
	})
	if err != nil {
		return nil, fmt.Errorf("read part of %s: %w", ws, err)
	}
	if p == nil {
		return nil, nil
	}
	return p, nil
}

// rolesIn reads the roles listed in ids (a JSON array) at their newest
// revisions, with their grants.
func (s *Store) rolesIn(ctx context.Context, tx Tx, ws, ids string) ([]admin.Role, error) {
	var out []admin.Role
	err := s.eachRow(ctx, tx, func(rows Rows) error {
		r, err := scanRole(rows)
		if err == nil {
			out = append(out, r)
		}
		return err
	}, `SELECT `+roleColumns+` FROM `+roleJoin+` WHERE r.workspace_id = ? AND r.id IN JSON_STRINGS(?) ORDER BY r.id`, ws, ids)
	return out, err
}
