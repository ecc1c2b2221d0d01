package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// CheckRequest asks whether a user may do something (D1), on a record if
// Resource is set (D2).
type CheckRequest struct {
	// User is the member's user id; or Session, a token from
	// CreateSession, which fails with reauthentication_required once the
	// member's permissions changed (A2).
	User       string           `json:"user,omitempty"`
	Session    string           `json:"session,omitempty"`
	Permission string           `json:"permission"`
	Resource   *policy.Resource `json:"resource,omitempty"`
	// Context is what grant conditions read as request (G1), e.g.
	// {"time": "2026-12-03T10:00:00Z"}.
	Context policy.Context `json:"context,omitempty"`
	// MinRevision asks for a decision at this workspace revision or
	// later, e.g. the revision a write returned (D8). The server waits up
	// to 1 s for it, then answers revision_unavailable. Ignored inside a
	// batch: set Batch.MinRevision.
	MinRevision int64 `json:"min_revision,omitempty"`
	// CorrelationID is any string of the caller's (at most 200
	// characters), echoed in the check's BatchItem. Only a batch sends it;
	// Check ignores it.
	CorrelationID string `json:"correlation_id,omitempty"`
}

// Decision is the answer to a check.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Level is the member's effective level of the permission.
	Level  policy.Level  `json:"level"`
	Reason policy.Reason `json:"reason"`
	// Revision is the workspace revision the decision was computed at.
	Revision int64 `json:"revision"`
	// Conditional is set when only conditional grants allow (G3).
	Conditional bool `json:"conditional,omitempty"`
}

// Check decides one check. A user who is not a member is denied with
// reason not_a_member (D3); an unknown permission is an unknown_permission
// error with suggestions in Details (C1).
func (c *Client) Check(ctx context.Context, ws string, in CheckRequest) (*Decision, error) {
	in.MinRevision = c.minRevision(ws, in.MinRevision)
	in.CorrelationID = ""
	var out Decision
	if err := c.decide(ctx, ws, "check", in, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Revision)
	return &out, nil
}

// decide sends a decision POST: it changes nothing, so it is retried.
func (c *Client) decide(ctx context.Context, ws, endpoint string, body, out any) error {
	p := wsPath(ws) + "/" + endpoint // endpoint is a constant path, e.g. "check/batch"
	_, err := c.call(ctx, &request{method: http.MethodPost, path: p, body: body, idempotent: true, ws: ws}, out)
	return err
}

// MaxBatch is the most checks one CheckBatch call takes (D4).
const MaxBatch = 1000

// Batch is up to MaxBatch checks decided at one revision.
type Batch struct {
	Checks      []CheckRequest `json:"checks"`
	MinRevision int64          `json:"min_revision,omitempty"`
}

// BatchResult holds a batch's decisions in the order of its checks.
type BatchResult struct {
	Results []BatchItem `json:"results"`
	// Revision is the workspace revision every decision was computed at.
	Revision int64 `json:"revision"`
}

// BatchItem is one decision of a batch, or the error of a check that could
// not be decided (an unknown permission, a stale session); the others are
// decided all the same.
type BatchItem struct {
	// CorrelationID is the check's CorrelationID.
	CorrelationID string `json:"correlation_id"`
	// Decision of a check that could not be decided is a denial whose
	// Reason is the error's code.
	Decision
	Err *Error `json:"-"`
}

// CheckBatch decides up to MaxBatch checks at one revision (D4).
func (c *Client) CheckBatch(ctx context.Context, ws string, b Batch) (*BatchResult, error) {
	b.MinRevision = c.minRevision(ws, b.MinRevision)
	checks := make([]CheckRequest, len(b.Checks))
	for i, ch := range b.Checks {
		ch.MinRevision = 0 // it belongs to the batch
		checks[i] = ch
	}
	b.Checks = checks
	var raw struct {
		Results []struct {
			CorrelationID string `json:"correlation_id"`
			Decision
			Error *struct {
				Code    policy.Code    `json:"code"`
				Message string         `json:"message"`
				Details map[string]any `json:"details"`
			} `json:"error"`
		} `json:"results"`
		Revision int64 `json:"revision"`
	}
	if err := c.decide(ctx, ws, "check/batch", b, &raw); err != nil {
		return nil, err
	}
	out := &BatchResult{Results: make([]BatchItem, len(raw.Results)), Revision: raw.Revision}
	for i, r := range raw.Results {
		out.Results[i].Decision = r.Decision
		out.Results[i].CorrelationID = r.CorrelationID
		if e := r.Error; e != nil {
			out.Results[i].Err = &Error{Status: http.StatusOK, Code: e.Code, Message: e.Message, Details: e.Details}
		}
	}
	c.revs.see(ws, raw.Revision)
	return out, nil
}

// FilterRequest asks which records of a module a user may reach with a
// permission (D5).
type FilterRequest struct {
	User       string `json:"user,omitempty"`
	Session    string `json:"session,omitempty"`
	Permission string `json:"permission"`
	// Context puts request values into the plan's conditions (G4).
	Context     policy.Context `json:"context,omitempty"`
	MinRevision int64          `json:"min_revision,omitempty"`
}

// Filter returns the plan of the records user may reach with permission:
// render it as SQL with Filter.SQL, or test records with Filter.Matches.
func (c *Client) Filter(ctx context.Context, ws string, in FilterRequest) (*Filter, error) {
	in.MinRevision = c.minRevision(ws, in.MinRevision)
	var out Filter
	if err := c.decide(ctx, ws, "filter", in, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Revision)
	return &out, nil
}

// ExplainRequest asks why a check decides as it does (D6).
type ExplainRequest struct {
	User        string           `json:"user,omitempty"`
	Session     string           `json:"session,omitempty"`
	Permission  string           `json:"permission"`
	Resource    *policy.Resource `json:"resource,omitempty"`
	Context     policy.Context   `json:"context,omitempty"`
	MinRevision int64            `json:"min_revision,omitempty"`
}

// Explanation is the full trace of a decision (D6).
type Explanation struct {
	policy.Explanation
	// MemberOf names the workspaces where a user who is not a member here
	// is one (D3); only the deployment admin key sees it (W1).
	MemberOf []string `json:"member_of,omitempty"`
	// RoleExpiresAt and GrantExpiresAt say until when the member's roles
	// (by role id) and direct grants (by permission) that expire are
	// honoured (T1, T3).
	RoleExpiresAt  map[string]time.Time `json:"role_expires_at,omitempty"`
	GrantExpiresAt map[string]time.Time `json:"grant_expires_at,omitempty"`
	// RoleDepartments names, by role id, the departments through which
	// the member holds a role (M9).
	RoleDepartments map[string][]string `json:"role_departments,omitempty"`
}

// Explain returns the trace behind Check(in): roles and revisions, the
// grant that decided, inheritance, direct grants, scope steps and hints.
func (c *Client) Explain(ctx context.Context, ws string, in ExplainRequest) (*Explanation, error) {
	in.MinRevision = c.minRevision(ws, in.MinRevision)
	var out Explanation
	if err := c.decide(ctx, ws, "explain", in, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Decision.Revision)
	return &out, nil
}

// WhoCanQuery asks for the members who hold a permission (D7).
type WhoCanQuery struct {
	Permission string
	// Level is the least level listed; the zero value (none) asks for the
	// server's default, own: everyone who holds the permission at all.
	Level       policy.Level
	Cursor      string
	Limit       int
	MinRevision int64
}

// WhoCanPage is a page of WhoCan, by user id.
type WhoCanPage struct {
	Items      []WhoCanItem `json:"items"`
	NextCursor string       `json:"next_cursor"`
	Revision   int64        `json:"revision"`
}

// WhoCanItem is a member and its level of the permission.
type WhoCanItem struct {
	UserID string       `json:"user_id"`
	Level  policy.Level `json:"level"`
}

// WhoCan returns a page of the members whose level of q.Permission is at
// least q.Level (D7).
func (c *Client) WhoCan(ctx context.Context, ws string, q WhoCanQuery) (*WhoCanPage, error) {
	v := url.Values{"permission": {q.Permission}}
	if q.Level != policy.LevelNone {
		v.Set("level", q.Level.String())
	}
	setNonEmpty(v, "cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if rev := c.minRevision(ws, q.MinRevision); rev > 0 {
		v.Set("min_revision", strconv.FormatInt(rev, 10))
	}
	var out WhoCanPage
	if err := c.get(ctx, ws, wsPath(ws, "who-can"), v, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Revision)
	return &out, nil
}

// AllWhoCan iterates over every member WhoCan lists, page after page, from
// q.Cursor on. Each page after the first asks for at least the revision of
// the one before, so the listing never goes back in time.
func (c *Client) AllWhoCan(ctx context.Context, ws string, q WhoCanQuery) iter.Seq2[WhoCanItem, error] {
	return pages(q.Cursor, func(cursor string) ([]WhoCanItem, string, error) {
		q.Cursor = cursor
		p, err := c.WhoCan(ctx, ws, q)
		if err != nil {
			return nil, "", err
		}
		q.MinRevision = max(q.MinRevision, p.Revision)
		return p.Items, p.NextCursor, nil
	})
}

// Session is a signed token bound to a member's epoch (A2).
type Session struct {
	Token     string    `json:"token"`
	User      string    `json:"user"`
	Epoch     int64     `json:"epoch"`
	ExpiresAt time.Time `json:"expires_at"`
	Revision  int64     `json:"revision"`
}

// CreateSession issues a session token for member user, valid for ttl
// (the server's default, 1 h, when 0; at most 24 h). Decisions asked with
// it fail with reauthentication_required once the member's permissions
// change (A2). Issuing a token writes nothing, so it is retried.
func (c *Client) CreateSession(ctx context.Context, ws, user string, ttl time.Duration) (*Session, error) {
	body := struct {
		User       string `json:"user"`
		TTLSeconds int64  `json:"ttl_seconds,omitempty"`
	}{user, int64((ttl + time.Second - 1) / time.Second)}
	var out Session
	if err := c.decide(ctx, ws, "sessions", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ResourceChecks asks about one user and many records, several
// permissions each (like Cerbos' CheckResources): what a list page needs
// to show each row's actions, in one call at one revision. At most
// MaxBatch record × permission pairs.
type ResourceChecks struct {
	User    string `json:"user,omitempty"`
	Session string `json:"session,omitempty"`
	// Permissions are asked on every record that names none of its own.
	Permissions []string        `json:"permissions,omitempty"`
	Resources   []ResourceCheck `json:"resources"`
	MinRevision int64           `json:"min_revision,omitempty"`
}

// ResourceCheck is one record of ResourceChecks.
type ResourceCheck struct {
	// ID is the host's id of the record, echoed in its result.
	ID       string           `json:"id"`
	Resource *policy.Resource `json:"resource,omitempty"`
	// Permissions, if set, are asked on this record instead of
	// ResourceChecks.Permissions.
	Permissions []string `json:"permissions,omitempty"`
}

// ResourceResults holds a record's decisions, by permission, in the order
// of ResourceChecks.Resources.
type ResourceResults struct {
	Results []ResourceResult `json:"results"`
	// Revision is the workspace revision every decision was made at.
	Revision int64 `json:"revision"`
}

// ResourceResult is one record's decisions.
type ResourceResult struct {
	ID          string              `json:"id"`
	Permissions map[string]Decision `json:"permissions"`
}

// CheckResources decides every permission asked on every record for one
// user (D2, D4). An unknown permission fails the call (C1).
func (c *Client) CheckResources(ctx context.Context, ws string, in ResourceChecks) (*ResourceResults, error) {
	in.MinRevision = c.minRevision(ws, in.MinRevision)
	if in.Resources == nil {
		in.Resources = []ResourceCheck{}
	}
	var out ResourceResults
	if err := c.decide(ctx, ws, "check/resources", in, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Revision)
	return &out, nil
}
