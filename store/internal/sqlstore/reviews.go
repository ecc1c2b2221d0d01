package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// reviewDefinition is the reviews.definition column (V1).
type reviewDefinition struct {
	Roles       []string     `json:"roles,omitempty"`
	Permissions []string     `json:"permissions,omitempty"`
	Actions     []string     `json:"actions,omitempty"`
	MinLevel    policy.Level `json:"min_level"`
	Reviewers   string       `json:"reviewers"`
	Default     string       `json:"default"`
	EveryDays   int          `json:"every_days,omitempty"`
	CreatedBy   string       `json:"created_by"`
	ClosedBy    string       `json:"closed_by,omitempty"`
	Next        string       `json:"next,omitempty"`
}

// deptHolder prefixes the user_id column of a department's item (M9):
// user ids never hold control characters (admin.checkUserID), so the
// column stays unambiguous without a migration.
const deptHolder = "\x1fdepartment:"

func itemHolder(it admin.ReviewItem) string {
	if it.DepartmentID != "" {
		return deptHolder + it.DepartmentID
	}
	return it.UserID
}

// putReview upserts a campaign's row and the items given.
func (s *Store) putReview(ctx context.Context, tx Tx, ws string, o admin.PutReview) error {
	r := o.Review
	def, err := json.Marshal(reviewDefinition{Roles: r.Scope.Roles, Permissions: r.Scope.Permissions, Actions: r.Scope.Actions,
		MinLevel: r.Scope.MinLevel, Reviewers: r.Reviewers, Default: r.Default, EveryDays: r.EveryDays, CreatedBy: r.CreatedBy,
		ClosedBy: r.ClosedBy, Next: r.Next})
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO reviews (workspace_id, id, name, status, definition, deadline, created_at, closed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, id) DO UPDATE SET name = excluded.name, status = excluded.status, definition = excluded.definition,
		deadline = excluded.deadline, closed_at = excluded.closed_at`,
		ws, r.ID, r.Name, r.Status, string(def), micros(r.Deadline), micros(r.CreatedAt), micros(r.ClosedAt)); err != nil {
		return err
	}
	for _, it := range o.Items {
		if _, err := s.exec(ctx, tx, `INSERT INTO review_items (workspace_id, review_id, id, user_id, role_id, permission, grants, last_used,
			decision, reason, decided_by, decided_at, outcome, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, review_id, id) DO UPDATE SET decision = excluded.decision, reason = excluded.reason,
			decided_by = excluded.decided_by, decided_at = excluded.decided_at, outcome = excluded.outcome, note = excluded.note`,
			ws, r.ID, it.ID, itemHolder(it), it.RoleID, it.Permission, grantsJSON(it.Grants, nil), micros(it.LastUsed),
			it.Decision, it.Reason, it.DecidedBy, micros(it.DecidedAt), it.Outcome, it.Note); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) loadReviews(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, id, name, status, definition, deadline, created_at, closed_at FROM reviews WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, id`, q.args()...)
	if err != nil {
		return err
	}
	byID := map[[2]string]int{}
	for rows.Next() {
		var r admin.Review
		var ws, def string
		var deadline, created, closed int64
		if err := rows.Scan(&ws, &r.ID, &r.Name, &r.Status, &def, &deadline, &created, &closed); err != nil {
			rows.Close()
			return err
		}
		var rd reviewDefinition
		if err := json.Unmarshal([]byte(def), &rd); err != nil {
			rows.Close()
			return fmt.Errorf("review %s definition: %w", r.ID, err)
		}
		r.Scope = admin.ReviewScope{Roles: rd.Roles, Permissions: rd.Permissions, Actions: rd.Actions, MinLevel: rd.MinLevel}
		r.Reviewers, r.Default, r.EveryDays, r.CreatedBy, r.ClosedBy, r.Next = rd.Reviewers, rd.Default, rd.EveryDays, rd.CreatedBy, rd.ClosedBy, rd.Next
		r.Deadline, r.CreatedAt, r.ClosedAt = fromMicros(deadline), fromMicros(created), fromMicros(closed)
		d := q.get(ws)
		if d == nil {
			continue
		}
		byID[[2]string{ws, r.ID}] = len(d.Reviews)
		d.Reviews = append(d.Reviews, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(byID) == 0 {
		return nil
	}
	rows, err = s.query(ctx, tx, `SELECT workspace_id, review_id, id, user_id, role_id, permission, grants, last_used, decision, reason, decided_by,
		decided_at, outcome, note FROM review_items WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, review_id, id`, q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var it admin.ReviewItem
		var ws, review, grants string
		var lastUsed, decidedAt int64
		if err := rows.Scan(&ws, &review, &it.ID, &it.UserID, &it.RoleID, &it.Permission, &grants, &lastUsed, &it.Decision, &it.Reason,
			&it.DecidedBy, &decidedAt, &it.Outcome, &it.Note); err != nil {
			return err
		}
		if it.Grants, _, err = parseGrants(grants); err != nil {
			return err
		}
		it.LastUsed, it.DecidedAt = fromMicros(lastUsed), fromMicros(decidedAt)
		if d, ok := strings.CutPrefix(it.UserID, deptHolder); ok {
			it.UserID, it.DepartmentID = "", d
		}
		i, ok := byID[[2]string{ws, review}]
		if !ok {
			continue
		}
		d := q.get(ws)
		d.Reviews[i].Items = append(d.Reviews[i].Items, it)
	}
	return rows.Err()
}
