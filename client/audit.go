package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// AuditEntry is one entry of a workspace's audit log (X4), a link of its
// hash chain.
type AuditEntry struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Revision int64     `json:"revision"`
	// Actor is who acted (X5): a member's user id, "key:<id>",
	// "deployment" or "system"; ActorName the member's name then.
	Actor     string `json:"actor"`
	ActorName string `json:"actor_name,omitempty"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	// Before and After are the target's JSON before and after the
	// change; null when it did not exist.
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	Reason string          `json:"reason"`
	Hash   string          `json:"hash"`
}

// AuditQuery filters and pages Audit; the zero value is the first page of
// every entry, oldest first.
type AuditQuery struct {
	// Target keeps the entries of one target, e.g. "role:sales_rep", or
	// of every target with a bare id, e.g. "sales_rep".
	Target string
	Actor  string
	// Since keeps the entries from this time on, if not zero.
	Since  time.Time
	Cursor string
	Limit  int
}

// AuditPage is a page of audit entries, oldest first.
type AuditPage struct {
	Items      []AuditEntry `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// Audit returns a page of workspace ws's audit log.
func (c *Client) Audit(ctx context.Context, ws string, q AuditQuery) (*AuditPage, error) {
	v := url.Values{}
	setNonEmpty(v, "target", q.Target)
	setNonEmpty(v, "actor", q.Actor)
	setNonEmpty(v, "cursor", q.Cursor)
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out AuditPage
	if err := c.get(ctx, ws, wsPath(ws, "audit"), v, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllAudit iterates over every audit entry matching q, page after page,
// from q.Cursor on.
func (c *Client) AllAudit(ctx context.Context, ws string, q AuditQuery) iter.Seq2[AuditEntry, error] {
	return pages(q.Cursor, func(cursor string) ([]AuditEntry, string, error) {
		q.Cursor = cursor
		p, err := c.Audit(ctx, ws, q)
		if err != nil {
			return nil, "", err
		}
		return p.Items, p.NextCursor, nil
	})
}

// AuditReport is the result of verifying an audit chain.
type AuditReport struct {
	// OK is true when every entry links to the one before and matches
	// its hash (an HMAC under the server's audit key, or for legacy
	// entries a SHA-256), and none is missing at the end.
	OK      bool  `json:"ok"`
	Entries int64 `json:"entries"`
	// Problem says what is wrong and Seq where, when not OK.
	Problem string `json:"problem,omitempty"`
	Seq     int64  `json:"seq,omitempty"`
	// Legacy counts the entries at the start of the chain written
	// without an audit key: a plain SHA-256 chain, which whoever can
	// write the database can recompute.
	Legacy int64 `json:"legacy"`
	// KeyIDs are the audit keys the keyed entries are signed with.
	KeyIDs []string `json:"key_ids"`
	// HeadSeq and HeadHash are the newest entry: kept outside the
	// database, they reveal a log later cut short.
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
}

// VerifyAudit checks workspace ws's audit hash chain (X4). A broken chain
// is a report with OK false, not an error.
func (c *Client) VerifyAudit(ctx context.Context, ws string) (*AuditReport, error) {
	var out AuditReport
	if err := c.get(ctx, ws, wsPath(ws, "audit", "verify"), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Usage is the usage report (U1).
type Usage struct {
	// Usage counts allowed decisions per (role, permission).
	Usage []UsageRow `json:"usage"`
	// Unused lists the grants no allowed decision used in UnusedDays.
	Unused     []UnusedGrant `json:"unused"`
	UnusedDays int64         `json:"unused_days"`
}

// UsageRow is how often a role's grant allowed a decision.
type UsageRow struct {
	RoleID     string    `json:"role_id"`
	Permission string    `json:"permission"`
	Count      int64     `json:"count"`
	LastUsed   time.Time `json:"last_used"`
}

// UnusedGrant is a role's grant no allowed decision used lately; LastUsed
// is nil if none ever did.
type UnusedGrant struct {
	RoleID     string       `json:"role_id"`
	Permission string       `json:"permission"`
	Level      policy.Level `json:"level"`
	LastUsed   *time.Time   `json:"last_used"`
}

// Usage returns workspace ws's usage report; unusedDays is the window of
// its unused list (the server's default, 30, when 0).
func (c *Client) Usage(ctx context.Context, ws string, unusedDays int) (*Usage, error) {
	v := url.Values{}
	if unusedDays > 0 {
		v.Set("unused_days", strconv.Itoa(unusedDays))
	}
	var out Usage
	if err := c.get(ctx, ws, wsPath(ws, "usage"), v, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExportPolicy returns workspace ws's roles, departments and smart objects
// as a YAML policy file, the same bytes for the same policy.
func (c *Client) ExportPolicy(ctx context.Context, ws string) ([]byte, error) {
	_, data, err := c.send(ctx, &request{method: http.MethodGet, path: wsPath(ws, "policy"), ws: ws,
		header: http.Header{"Accept": {"application/yaml"}}})
	return data, err
}

// ImportPolicy makes workspace ws match a YAML policy file; reason is
// required when it raises a delete or export level (X4).
func (c *Client) ImportPolicy(ctx context.Context, ws string, yaml []byte, reason string) (int64, error) {
	v := url.Values{}
	setNonEmpty(v, "reason", reason)
	if yaml == nil {
		yaml = []byte{}
	}
	return c.write(ctx, &request{method: http.MethodPut, path: wsPath(ws, "policy"), query: v, raw: yaml,
		contentType: "application/yaml", ws: ws}, nil)
}
