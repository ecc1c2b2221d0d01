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

// Role is a role (profile) at its newest revision.
type Role struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Audience    policy.Audience `json:"audience"`
	Predefined  bool            `json:"predefined"`
	// Default is true for the one default role (R2).
	Default bool `json:"default"`
	// Grants lists the grants above none; When the conditions of the
	// conditional ones (G1). On the wire they are one map of grant values.
	Grants policy.Grants     `json:"-"`
	When   policy.Conditions `json:"-"`
	// Revision is the role's own revision (R6), its ETag: pass it as
	// IfRevision of an edit (R7). It is not a workspace revision.
	Revision    int64     `json:"revision"`
	MemberCount int       `json:"member_count"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// RoleQuery filters Roles; the zero value lists every role.
type RoleQuery struct {
	// Q searches names and descriptions.
	Q string
	// Audience keeps the roles of one audience, if set.
	Audience policy.Audience
}

// Roles lists the roles of workspace ws, by name, reading every page.
func (c *Client) Roles(ctx context.Context, ws string, q RoleQuery) ([]Role, error) {
	v := url.Values{}
	setNonEmpty(v, "q", q.Q)
	setNonEmpty(v, "audience", string(q.Audience))
	return all[Role](ctx, c, ws, wsPath(ws, "roles"), v)
}

// Role returns role id of workspace ws.
func (c *Client) Role(ctx context.Context, ws, id string) (*Role, error) {
	var out Role
	if err := c.get(ctx, ws, wsPath(ws, "roles", id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RoleInput creates a custom role.
type RoleInput struct {
	Name string `json:"name"`
	// Audience is internal when empty.
	Audience    policy.Audience `json:"audience,omitempty"`
	Description string          `json:"description,omitempty"`
	Grants      policy.Grants   `json:"-"`
	// When are conditions on some of Grants (G1), e.g.
	// {"deals_edit": "record.amount <= 10000"}.
	When policy.Conditions `json:"-"`
	// Template pre-fills the grants from a template (R9); Grants then
	// adjust them.
	Template string `json:"template,omitempty"`
	// Reason is required when the role raises a delete or export level
	// (X4).
	Reason string `json:"reason,omitempty"`
}

// CreateRole creates a custom role in workspace ws. Returns
// plan_limit_reached past the plan's limit (W2), name_taken (R1),
// dependency_violation (C4), audience_mismatch (M6), reason_required (X4).
func (c *Client) CreateRole(ctx context.Context, ws string, in RoleInput) (*Role, int64, error) {
	return c.roleWrite(ctx, ws, &request{method: http.MethodPost, path: wsPath(ws, "roles"), body: in, create: true})
}

// RoleUpdate edits a role; nil and empty fields are left as they are.
type RoleUpdate struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	// Grants, when not nil, replace the role's grants as a new revision
	// (R6); policy.Grants{} removes every grant. A permission set to none
	// explicitly overrides what a parent module grants (C6).
	Grants policy.Grants `json:"-"`
	// When are conditions on some of Grants (G1); they are replaced with
	// them.
	When policy.Conditions `json:"-"`
	// SetAll is "allow" (every permission at its highest level) or "deny"
	// (every permission at none) (R8); it excludes the fields above.
	SetAll string `json:"set_all,omitempty"`
	// Apply moves every assignee to the new revision; nil means true
	// when Grants are given (R6).
	Apply *bool `json:"apply,omitempty"`
	// Reason is required when the edit raises a delete or export level
	// (X4).
	Reason string `json:"reason,omitempty"`
	// IfRevision, if set, is the role revision the edit is based on (R7,
	// If-Match): an edit of a role changed since then fails with
	// revision_conflict and writes nothing.
	IfRevision int64 `json:"-"`
}

// UpdateRole edits role id of workspace ws; every grant change makes a new
// revision (R6).
func (c *Client) UpdateRole(ctx context.Context, ws, id string, in RoleUpdate) (*Role, int64, error) {
	return c.roleWrite(ctx, ws, &request{method: http.MethodPatch, path: wsPath(ws, "roles", id), body: in,
		header: ifMatch(in.IfRevision)})
}

// DeleteRole deletes role id of workspace ws. A role with members needs
// reassignTo, a role of the same audience that they move to (R5);
// otherwise role_in_use. The default, Employee and Head roles are
// role_protected (R2, R3).
func (c *Client) DeleteRole(ctx context.Context, ws, id, reassignTo string) (int64, error) {
	v := url.Values{}
	setNonEmpty(v, "reassign_to", reassignTo)
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "roles", id), query: v, ws: ws}, nil)
}

// DuplicateRole copies role id's grants, audience and description into a
// new role named name, or "<name> (Copy)" when name is empty (R4).
func (c *Client) DuplicateRole(ctx context.Context, ws, id, name string) (*Role, int64, error) {
	body := struct {
		Name string `json:"name,omitempty"`
	}{name}
	return c.roleWrite(ctx, ws, &request{method: http.MethodPost, path: wsPath(ws, "roles", id, "duplicate"), body: body, create: true})
}

func (c *Client) roleWrite(ctx context.Context, ws string, rq *request) (*Role, int64, error) {
	rq.ws = ws
	var out Role
	rev, err := c.write(ctx, rq, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

func ifMatch(rev int64) http.Header {
	if rev <= 0 {
		return nil
	}
	return http.Header{"If-Match": {`"` + strconv.FormatInt(rev, 10) + `"`}}
}

// GrantChange is one permission whose level an edit changes.
type GrantChange struct {
	Permission string       `json:"permission"`
	Old        policy.Level `json:"old"`
	New        policy.Level `json:"new"`
	// OldWhen and NewWhen are the grant's conditions (G1), "" for none.
	OldWhen string `json:"old_when,omitempty"`
	NewWhen string `json:"new_when,omitempty"`
}

// Impact is what a proposed edit of a role would change (P1): a summary
// over every member of the role and one page of the affected members.
type Impact struct {
	RoleID string `json:"role_id"`
	// Affected counts the role's members whose levels would change;
	// Unaffected those whose levels would not.
	Affected   int `json:"affected"`
	Unaffected int `json:"unaffected"`
	// Permissions counts, per permission that changes for anyone, the
	// members gaining and losing.
	Permissions []PermissionImpact `json:"permissions"`
	// Members is a page of the affected members, by user id.
	Members []MemberImpact `json:"members"`
	// NextCursor asks for the next page (PreviewRolePage); "" on the last.
	NextCursor string `json:"next_cursor"`
}

// PermissionImpact is how many members an edit raises and lowers on one
// permission.
type PermissionImpact struct {
	Permission string `json:"permission"`
	Gaining    int    `json:"gaining"`
	Losing     int    `json:"losing"`
	// Changing counts the members whose level stays but whose condition
	// changes (G1).
	Changing int `json:"changing,omitempty"`
}

// MemberImpact is one member's changes in an Impact.
type MemberImpact struct {
	UserID  string        `json:"user_id"`
	Changes []GrantChange `json:"changes"`
}

// PreviewRole reports what setting grants on role id would change for its
// members, with the first page of them; nothing is written (P1).
func (c *Client) PreviewRole(ctx context.Context, ws, id string, grants policy.Grants) (*Impact, error) {
	return c.PreviewRolePage(ctx, ws, id, grants, "", 0)
}

// PreviewRolePage is PreviewRole for the page of members after cursor
// (an Impact's NextCursor; "" for the first), at most limit of them
// (1–1000; 0 for the server's default, 100).
func (c *Client) PreviewRolePage(ctx context.Context, ws, id string, grants policy.Grants, cursor string, limit int) (*Impact, error) {
	return c.PreviewRolePageWhen(ctx, ws, id, grants, nil, cursor, limit)
}

// PreviewRoleWhen is PreviewRole with conditions on some of the proposed
// grants (G1): when maps a permission key of grants to its CEL condition.
// A member's GrantChange then carries the conditions under which it holds
// the old and new level, and an edit that only adds, removes or changes a
// condition at the same level is listed too.
func (c *Client) PreviewRoleWhen(ctx context.Context, ws, id string, grants policy.Grants, when policy.Conditions) (*Impact, error) {
	return c.PreviewRolePageWhen(ctx, ws, id, grants, when, "", 0)
}

// PreviewRolePageWhen is PreviewRoleWhen for one page of members, as
// PreviewRolePage.
func (c *Client) PreviewRolePageWhen(ctx context.Context, ws, id string, grants policy.Grants, when policy.Conditions, cursor string, limit int) (*Impact, error) {
	if grants == nil {
		grants = policy.Grants{}
	}
	body := struct {
		Grants policy.GrantValues `json:"grants"`
	}{policy.JoinGrants(grants, when)}
	q := url.Values{}
	setNonEmpty(q, "cursor", cursor)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out Impact
	// A preview changes nothing, so it is retried like a read.
	if _, err := c.call(ctx, &request{method: http.MethodPost, path: wsPath(ws, "roles", id, "preview"), query: q, body: body,
		idempotent: true, ws: ws}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RoleRevision is one immutable revision of a role's grants (R6a).
type RoleRevision struct {
	RoleID   string `json:"role_id"`
	Revision int64  `json:"revision"`
	// Grants are the revision's grants, a level or {level, when} each (G1).
	Grants policy.GrantValues `json:"grants"`
	// Author is the acting member, "" for an API key without one.
	Author string `json:"author"`
	Reason string `json:"reason"`
	// Applied tells whether the edit moved the assignees to it (R6).
	Applied bool `json:"applied"`
	// Restored is the revision it restores, 0 if it restores none.
	Restored  int64     `json:"restored,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// RevisionDiff is a revision with its changes from the one before.
type RevisionDiff struct {
	RoleRevision
	Changes []GrantChange `json:"changes"`
}

// RoleRevisions lists role id's revisions (R6a), oldest first, reading every page.
func (c *Client) RoleRevisions(ctx context.Context, ws, id string) ([]RoleRevision, error) {
	return all[RoleRevision](ctx, c, ws, wsPath(ws, "roles", id, "revisions"), nil)
}

// RoleRevision returns revision n of role id with its diff to n-1 (R6a).
func (c *Client) RoleRevision(ctx context.Context, ws, id string, n int64) (*RevisionDiff, error) {
	var out RevisionDiff
	if err := c.get(ctx, ws, wsPath(ws, "roles", id, "revisions", strconv.FormatInt(n, 10)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RestoreOptions adjust RestoreRevision.
type RestoreOptions struct {
	// Apply moves every assignee to the restoring revision; nil means
	// true (R6).
	Apply  *bool  `json:"apply,omitempty"`
	Reason string `json:"reason,omitempty"`
	// IfRevision, if set, is the role revision the restore is based on
	// (R7).
	IfRevision int64 `json:"-"`
}

// RestoreRevision makes a new revision of role id with the grants of
// revision n (R6a).
func (c *Client) RestoreRevision(ctx context.Context, ws, id string, n int64, o RestoreOptions) (*Role, int64, error) {
	return c.roleWrite(ctx, ws, &request{method: http.MethodPost,
		path: wsPath(ws, "roles", id, "revisions", strconv.FormatInt(n, 10), "restore"), body: o, header: ifMatch(o.IfRevision), create: true})
}

// RoleMembers returns a page of role id's members (M7); q.Role is
// ignored.
func (c *Client) RoleMembers(ctx context.Context, ws, id string, q MemberQuery) (*MemberPage, error) {
	q.Role = ""
	return c.memberPage(ctx, ws, wsPath(ws, "roles", id, "members"), q)
}

// AllRoleMembers iterates over every member of role id matching q, page
// after page, from q.Cursor on.
func (c *Client) AllRoleMembers(ctx context.Context, ws, id string, q MemberQuery) iter.Seq2[Member, error] {
	return pages(q.Cursor, func(cursor string) ([]Member, string, error) {
		q.Cursor = cursor
		p, err := c.RoleMembers(ctx, ws, id, q)
		if err != nil {
			return nil, "", err
		}
		return p.Items, p.NextCursor, nil
	})
}

// AddRoleMembers assigns role id to the members userIDs (at most 10,000).
func (c *Client) AddRoleMembers(ctx context.Context, ws, id string, userIDs []string) (int64, error) {
	body := struct {
		UserIDs []string `json:"user_ids"`
	}{userIDs}
	return c.write(ctx, &request{method: http.MethodPost, path: wsPath(ws, "roles", id, "members"), body: body, ws: ws}, nil)
}

// AddRoleMembersUntil assigns role id to members until expiresAt (T1, in
// the future): a member holding it until earlier holds it until
// expiresAt, one holding it longer keeps it. Extending is a grant (T3).
func (c *Client) AddRoleMembersUntil(ctx context.Context, ws, id string, userIDs []string, expiresAt time.Time) (int64, error) {
	body := struct {
		UserIDs   []string  `json:"user_ids"`
		ExpiresAt time.Time `json:"expires_at"`
	}{userIDs, expiresAt}
	return c.write(ctx, &request{method: http.MethodPost, path: wsPath(ws, "roles", id, "members"), body: body, ws: ws}, nil)
}

// RemoveRoleMember takes role id from member user. A member left without
// roles gets the default role; taking the default role from a member who
// has no other is last_role (M4).
func (c *Client) RemoveRoleMember(ctx context.Context, ws, id, user string) (int64, error) {
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "roles", id, "members", user), ws: ws}, nil)
}
