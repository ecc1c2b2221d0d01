package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// storedException is an SoD exception as the sod_rules.exceptions column
// holds it (S3).
type storedException struct {
	UserID    string `json:"user_id"`
	Reason    string `json:"reason"`
	ExpiresAt int64  `json:"expires_at"`
	GrantedBy string `json:"granted_by"`
	GrantedAt int64  `json:"granted_at"`
}

// putSoDRules replaces a workspace's separation-of-duties rules (S1).
func (s *Store) putSoDRules(ctx context.Context, tx Tx, ws string, rules []admin.SoDRule) error {
	if _, err := s.exec(ctx, tx, `DELETE FROM sod_rules WHERE workspace_id = ?`, ws); err != nil {
		return err
	}
	for _, r := range rules {
		kind, sets := "permissions", r.Permissions
		if r.Roles != nil {
			kind, sets = "roles", r.Roles
		}
		setsJSON, err := json.Marshal(sets)
		if err != nil {
			return err
		}
		exc := make([]storedException, len(r.Exceptions))
		for i, e := range r.Exceptions {
			exc[i] = storedException{UserID: e.UserID, Reason: e.Reason, ExpiresAt: micros(e.ExpiresAt), GrantedBy: e.GrantedBy, GrantedAt: micros(e.GrantedAt)}
		}
		excJSON, err := json.Marshal(exc)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO sod_rules (workspace_id, id, name, description, kind, sets, exceptions, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ws, r.ID, r.Name, r.Description, kind, string(setsJSON), string(excJSON),
			micros(r.CreatedAt), micros(r.UpdatedAt)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) loadSoDRules(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, id, name, description, kind, sets, exceptions, created_at, updated_at FROM sod_rules WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, id`, q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r admin.SoDRule
		var ws, kind, sets, exceptions string
		var created, updated int64
		if err := rows.Scan(&ws, &r.ID, &r.Name, &r.Description, &kind, &sets, &exceptions, &created, &updated); err != nil {
			return err
		}
		var ss [][]string
		if err := json.Unmarshal([]byte(sets), &ss); err != nil {
			return fmt.Errorf("sod rule %s sets: %w", r.ID, err)
		}
		if kind == "roles" {
			r.Roles = ss
		} else {
			r.Permissions = ss
		}
		var exc []storedException
		if err := json.Unmarshal([]byte(exceptions), &exc); err != nil {
			return fmt.Errorf("sod rule %s exceptions: %w", r.ID, err)
		}
		for _, e := range exc {
			r.Exceptions = append(r.Exceptions, admin.SoDException{UserID: e.UserID, Reason: e.Reason, ExpiresAt: fromMicros(e.ExpiresAt),
				GrantedBy: e.GrantedBy, GrantedAt: fromMicros(e.GrantedAt)})
		}
		r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
		if d := q.get(ws); d != nil {
			d.SoDRules = append(d.SoDRules, r)
		}
	}
	return rows.Err()
}
