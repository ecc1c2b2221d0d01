package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SoDRule is a separation-of-duties rule (S1): two or more sets, of
// permission keys (Conflicts) or of role ids (Roles), that no member may
// hold together. A set is held when any of its items is; a permission key
// covers the same action on every module below it.
type SoDRule struct {
	ID          string         `json:"id,omitempty"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Conflicts   [][]string     `json:"conflicts,omitempty"`
	Roles       [][]string     `json:"roles,omitempty"`
	Exceptions  []SoDException `json:"exceptions"`
	CreatedAt   time.Time      `json:"created_at,omitzero"`
	UpdatedAt   time.Time      `json:"updated_at,omitzero"`
}

// SoDException lets one member hold a rule's conflicting combination
// (S3): with a reason, and optionally until ExpiresAt. GrantedBy and
// GrantedAt are the server's.
type SoDException struct {
	UserID    string     `json:"user_id"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	GrantedBy string     `json:"granted_by,omitempty"`
	GrantedAt time.Time  `json:"granted_at,omitzero"`
}

// SoDViolation is a member who holds a rule's conflicting combination
// now (S3): what it holds of each set (nil for a set it does not hold),
// and its exception, honoured or not.
type SoDViolation struct {
	UserID    string        `json:"user_id"`
	Held      [][]string    `json:"held"`
	Excepted  bool          `json:"excepted"`
	Exception *SoDException `json:"exception,omitempty"`
}

// PageQuery asks for one page of a list: Cursor from the previous page's
// NextCursor ("" for the first), Limit items (0 for the server's default).
type PageQuery struct {
	Cursor string
	Limit  int
}

func (q PageQuery) values() url.Values {
	v := url.Values{}
	setNonEmpty(v, "cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// SoDRules returns one page of workspace ws's rules, by id, and the cursor
// of the next ("" on the last).
func (c *Client) SoDRules(ctx context.Context, ws string, q PageQuery) ([]SoDRule, string, error) {
	var out page[SoDRule]
	if err := c.get(ctx, ws, wsPath(ws, "sod-rules"), q.values(), &out); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextCursor, nil
}

// AllSoDRules iterates over every rule of workspace ws.
func (c *Client) AllSoDRules(ctx context.Context, ws string) iter.Seq2[SoDRule, error] {
	return pages("", func(cursor string) ([]SoDRule, string, error) {
		return c.SoDRules(ctx, ws, PageQuery{Cursor: cursor})
	})
}

// SoDRule returns one rule with its exceptions.
func (c *Client) SoDRule(ctx context.Context, ws, id string) (*SoDRule, error) {
	var out SoDRule
	if err := c.get(ctx, ws, wsPath(ws, "sod-rules", id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutSoDRule creates or replaces rule r.ID with its exceptions and returns
// it as stored, with the workspace revision after the write. A rule that
// members already break is accepted; writes that would make a member
// break it afterwards fail with separation_of_duties (S2).
func (c *Client) PutSoDRule(ctx context.Context, ws string, r SoDRule) (*SoDRule, int64, error) {
	var out struct {
		SoDRule
		Revision int64 `json:"workspace_revision"`
	}
	body := r
	body.ID, body.CreatedAt, body.UpdatedAt = "", time.Time{}, time.Time{}
	if body.Exceptions == nil {
		body.Exceptions = []SoDException{}
	}
	for i := range body.Exceptions {
		body.Exceptions[i].GrantedBy, body.Exceptions[i].GrantedAt = "", time.Time{}
	}
	if _, err := c.call(ctx, &request{method: http.MethodPut, path: wsPath(ws, "sod-rules", r.ID), body: sodRuleBody(body), ws: ws}, &out); err != nil {
		return nil, 0, err
	}
	return &out.SoDRule, out.Revision, nil
}

// sodRuleBody is the request body of PutSoDRule: the fields the server
// takes, no more (it refuses unknown ones).
func sodRuleBody(r SoDRule) map[string]any {
	b := map[string]any{"name": r.Name, "description": r.Description}
	if r.Conflicts != nil {
		b["conflicts"] = r.Conflicts
	}
	if r.Roles != nil {
		b["roles"] = r.Roles
	}
	exc := make([]map[string]any, len(r.Exceptions))
	for i, e := range r.Exceptions {
		exc[i] = map[string]any{"user_id": e.UserID, "reason": e.Reason}
		if e.ExpiresAt != nil {
			exc[i]["expires_at"] = e.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
	}
	b["exceptions"] = exc
	return b
}

// DeleteSoDRule deletes a rule and returns the workspace revision after.
func (c *Client) DeleteSoDRule(ctx context.Context, ws, id string) (int64, error) {
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "sod-rules", id), ws: ws}, nil)
}

// SoDViolations returns one page of the members who break rule id now,
// by user id, and the cursor of the next page ("" on the last).
func (c *Client) SoDViolations(ctx context.Context, ws, id string, q PageQuery) ([]SoDViolation, string, error) {
	var out page[SoDViolation]
	if err := c.get(ctx, ws, wsPath(ws, "sod-rules", id, "violations"), q.values(), &out); err != nil {
		return nil, "", err
	}
	return out.Items, out.NextCursor, nil
}
