package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// ReviewScope selects what a campaign reviews (V1); the zero scope is
// every assignment and direct grant.
type ReviewScope struct {
	Roles       []string     `json:"roles,omitempty"`
	Permissions []string     `json:"permissions,omitempty"`
	Actions     []string     `json:"actions,omitempty"`
	MinLevel    policy.Level `json:"min_level,omitempty"`
}

// ReviewInput opens an access review campaign (V1).
type ReviewInput struct {
	Name      string       `json:"name"`
	Deadline  time.Time    `json:"deadline"`
	Default   string       `json:"default"` // keep or revoke
	Scope     *ReviewScope `json:"scope,omitempty"`
	Reviewers string       `json:"reviewers,omitempty"` // admins (default) or department_heads
	EveryDays int          `json:"every_days,omitempty"`
}

// Review is a campaign with its progress.
type Review struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Status    string      `json:"status"`
	Scope     ReviewScope `json:"scope"`
	Reviewers string      `json:"reviewers"`
	Deadline  time.Time   `json:"deadline"`
	Default   string      `json:"default"`
	EveryDays int         `json:"every_days"`
	CreatedBy string      `json:"created_by"`
	CreatedAt time.Time   `json:"created_at"`
	ClosedBy  string      `json:"closed_by"`
	ClosedAt  *time.Time  `json:"closed_at"`
	Next      string      `json:"next"`
	Decided   int         `json:"decided"`
	Items     int         `json:"items"`
}

// ReviewItem is one member's assignment (RoleID) or direct grant
// (Permission) under review, or a department's role (DepartmentID,
// UserID empty; M9), with what it grants, its last use (U1) and, when it
// expires, its expiry (T1).
type ReviewItem struct {
	ID           int           `json:"id"`
	UserID       string        `json:"user_id"`
	DepartmentID string        `json:"department_id"`
	ExpiresAt    *time.Time    `json:"expires_at"`
	RoleID       string        `json:"role_id"`
	Permission   string        `json:"permission"`
	Grants       policy.Grants `json:"grants"`
	LastUsed     *time.Time    `json:"last_used"`
	Decision     string        `json:"decision"`
	Reason       string        `json:"reason"`
	DecidedBy    string        `json:"decided_by"`
	DecidedAt    *time.Time    `json:"decided_at"`
	Outcome      string        `json:"outcome"`
	Note         string        `json:"note"`
}

// ReviewItemQuery filters a campaign's items (the reviewer's inbox).
type ReviewItemQuery struct {
	Open       bool
	Role       string
	Permission string
	Cursor     string
	Limit      int
}

// ReviewCloseReport is what closing a campaign did.
type ReviewCloseReport struct {
	Review  Review       `json:"review"`
	Revoked []ReviewItem `json:"revoked"`
	Refused []ReviewItem `json:"refused"`
}

// OpenReview opens a campaign; its items are generated now.
func (c *Client) OpenReview(ctx context.Context, ws string, in ReviewInput) (*Review, int64, error) {
	var out struct {
		Review
		Revision int64 `json:"workspace_revision"`
	}
	if _, err := c.call(ctx, &request{method: http.MethodPost, path: wsPath(ws, "reviews"), body: in, ws: ws}, &out); err != nil {
		return nil, 0, err
	}
	return &out.Review, out.Revision, nil
}

// Reviews returns one page of the campaigns the key (or actor) may see,
// newest first, and the cursor of the next.
func (c *Client) Reviews(ctx context.Context, ws string, q PageQuery) ([]Review, string, error) {
	var out page[Review]
	if err := c.get(ctx, ws, wsPath(ws, "reviews"), q.values(), &out); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextCursor, nil
}

// Review returns one campaign with its progress.
func (c *Client) Review(ctx context.Context, ws, id string) (*Review, error) {
	var out Review
	if err := c.get(ctx, ws, wsPath(ws, "reviews", id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReviewUpdate changes an open campaign; nil fields stay.
type ReviewUpdate struct {
	Name      *string    `json:"name,omitempty"`
	Deadline  *time.Time `json:"deadline,omitempty"`
	Default   *string    `json:"default,omitempty"`
	EveryDays *int       `json:"every_days,omitempty"`
}

// UpdateReview changes an open campaign.
func (c *Client) UpdateReview(ctx context.Context, ws, id string, u ReviewUpdate) (*Review, int64, error) {
	var out struct {
		Review
		Revision int64 `json:"workspace_revision"`
	}
	if _, err := c.call(ctx, &request{method: http.MethodPatch, path: wsPath(ws, "reviews", id), body: u, ws: ws}, &out); err != nil {
		return nil, 0, err
	}
	return &out.Review, out.Revision, nil
}

// ReviewItems returns one page of a campaign's items and the next cursor.
func (c *Client) ReviewItems(ctx context.Context, ws, id string, q ReviewItemQuery) ([]ReviewItem, string, error) {
	v := PageQuery{Cursor: q.Cursor, Limit: q.Limit}.values()
	if q.Open {
		v.Set("open", "true")
	}
	setNonEmpty(v, "role", q.Role)
	setNonEmpty(v, "permission", q.Permission)
	var out page[ReviewItem]
	if err := c.get(ctx, ws, wsPath(ws, "reviews", id, "items"), v, &out); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextCursor, nil
}

// ReviewCSV returns a campaign's decisions as CSV (V3).
func (c *Client) ReviewCSV(ctx context.Context, ws, id string) ([]byte, error) {
	_, data, err := c.send(ctx, &request{method: http.MethodGet, path: wsPath(ws, "reviews", id, "items"),
		query: url.Values{"format": {"csv"}}, idempotent: true, ws: ws})
	return data, err
}

// DecideReviewItem decides one item keep or revoke (V2).
func (c *Client) DecideReviewItem(ctx context.Context, ws, id string, item int, decision, reason string) (*ReviewItem, int64, error) {
	var out struct {
		ReviewItem
		Revision int64 `json:"workspace_revision"`
	}
	body := map[string]string{"decision": decision, "reason": reason}
	if _, err := c.call(ctx, &request{method: http.MethodPut, path: wsPath(ws, "reviews", id, "items", strconv.Itoa(item)), body: body, ws: ws}, &out); err != nil {
		return nil, 0, err
	}
	return &out.ReviewItem, out.Revision, nil
}

// CloseReview closes a campaign: defaults, revocations, recurrence.
func (c *Client) CloseReview(ctx context.Context, ws, id string) (*ReviewCloseReport, int64, error) {
	var out struct {
		ReviewCloseReport
		Revision int64 `json:"workspace_revision"`
	}
	if _, err := c.call(ctx, &request{method: http.MethodPost, path: wsPath(ws, "reviews", id, "close"), ws: ws}, &out); err != nil {
		return nil, 0, err
	}
	return &out.ReviewCloseReport, out.Revision, nil
}
