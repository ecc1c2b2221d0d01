package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Member is a user of the host platform in one workspace (M1).
type Member struct {
	UserID        string          `json:"user_id"`
	Name          string          `json:"name"`
	Email         string          `json:"email"`
	Kind          policy.Audience `json:"kind"`
	DepartmentIDs []string        `json:"department_ids"`
	// Owner is true for a workspace owner, who can do everything (W4).
	Owner bool         `json:"owner"`
	Roles []Assignment `json:"roles"`
	// Grants are the member's direct grants above none (M5); When the
	// conditions of the conditional ones (G1).
	Grants policy.Grants     `json:"-"`
	When   policy.Conditions `json:"-"`
	// GrantExpiresAt holds, for each direct grant that expires, when it
	// stops being honoured (T1).
	GrantExpiresAt map[string]time.Time `json:"grant_expires_at,omitempty"`
	// DepartmentRoles are the roles held through departments (M9).
	DepartmentRoles []HeldRole `json:"department_roles,omitempty"`
	// Epoch moves whenever the member's permissions may change (A1).
	Epoch int64 `json:"epoch"`
}

// Assignment is a role a member holds, at a revision (R6, M7).
type Assignment struct {
	RoleID     string    `json:"role_id"`
	Revision   int64     `json:"revision"`
	AssignedAt time.Time `json:"assigned_at"`
	AssignedBy string    `json:"assigned_by"`
	// ExpiresAt is when the assignment stops being honoured (T1); nil
	// when it does not expire.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// HeldRole is a role a member holds through a department (M9).
type HeldRole struct {
	Assignment
	DepartmentID string `json:"department_id"`
}

// MemberInput creates or replaces a member.
type MemberInput struct {
	UserID string          `json:"user_id"`
	Name   string          `json:"name"`
	Email  string          `json:"email"`
	Kind   policy.Audience `json:"kind"`
	// DepartmentIDs replace the member's departments.
	DepartmentIDs []string `json:"department_ids"`
	// RoleIDs, when not nil, replace the member's roles; a new member
	// without roles gets the default role (M2).
	RoleIDs []string `json:"role_ids,omitempty"`
	// Owner, when not nil, makes the member a workspace owner or not.
	Owner *bool `json:"owner,omitempty"`
}

// PutMember creates or replaces member in.UserID of workspace ws.
func (c *Client) PutMember(ctx context.Context, ws string, in MemberInput) (*Member, int64, error) {
	if in.DepartmentIDs == nil {
		in.DepartmentIDs = []string{}
	}
	return c.memberWrite(ctx, ws, &request{method: http.MethodPut, path: wsPath(ws, "members", in.UserID), body: in})
}

// Member returns member user of workspace ws; not_found if there is none.
func (c *Client) Member(ctx context.Context, ws, user string) (*Member, error) {
	var out Member
	if err := c.get(ctx, ws, wsPath(ws, "members", user), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteMember removes member user with its assignments and direct grants
// (M8).
func (c *Client) DeleteMember(ctx context.Context, ws, user string) (int64, error) {
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "members", user), ws: ws}, nil)
}

// MemberQuery filters and pages Members and RoleMembers (M7); the zero
// value is the first page of every member.
type MemberQuery struct {
	Role       string
	Department string
	// Q searches user ids, names and emails.
	Q string
	// Cursor is the NextCursor of the page before, "" for the first.
	Cursor string
	// Limit is the page size, 1 to 1000; the server's default (100) if 0.
	Limit int
}

func (q MemberQuery) values() url.Values {
	v := url.Values{}
	setNonEmpty(v, "role", q.Role)
	setNonEmpty(v, "department", q.Department)
	setNonEmpty(v, "q", q.Q)
	setNonEmpty(v, "cursor", q.Cursor)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// MemberPage is a page of members, by user id.
type MemberPage struct {
	Items []Member `json:"items"`
	// NextCursor asks for the next page; "" on the last.
	NextCursor string `json:"next_cursor"`
}

// Members returns a page of workspace ws's members (M7).
func (c *Client) Members(ctx context.Context, ws string, q MemberQuery) (*MemberPage, error) {
	return c.memberPage(ctx, ws, wsPath(ws, "members"), q)
}

// AllMembers iterates over every member matching q, page after page; q.Cursor
// is where it starts.
func (c *Client) AllMembers(ctx context.Context, ws string, q MemberQuery) iter.Seq2[Member, error] {
	return pages(q.Cursor, func(cursor string) ([]Member, string, error) {
		q.Cursor = cursor
		p, err := c.Members(ctx, ws, q)
		if err != nil {
			return nil, "", err
		}
		return p.Items, p.NextCursor, nil
	})
}

func (c *Client) memberPage(ctx context.Context, ws, p string, q MemberQuery) (*MemberPage, error) {
	var out MemberPage
	if err := c.get(ctx, ws, p, q.values(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MaxImport is the most members ImportMembers takes at once.
const MaxImport = 10_000

// ImportMembers creates or replaces up to MaxImport members at once, all
// or nothing, and returns how many it imported.
func (c *Client) ImportMembers(ctx context.Context, ws string, members []MemberInput) (int, int64, error) {
	members = slices.Clone(members) // the caller's slice is theirs
	for i := range members {
		if members[i].DepartmentIDs == nil {
			members[i].DepartmentIDs = []string{}
		}
	}
	body := struct {
		Members []MemberInput `json:"members"`
	}{members}
	var out struct {
		Imported int `json:"imported"`
	}
	rev, err := c.write(ctx, &request{method: http.MethodPost, path: wsPath(ws, "members", "import"), body: body, ws: ws}, &out)
	return out.Imported, rev, err
}

// SetMemberRoles replaces member user's roles (M2–M4, M6).
func (c *Client) SetMemberRoles(ctx context.Context, ws, user string, roleIDs []string) (*Member, int64, error) {
	if roleIDs == nil {
		roleIDs = []string{}
	}
	body := struct {
		RoleIDs []string `json:"role_ids"`
	}{roleIDs}
	return c.memberWrite(ctx, ws, &request{method: http.MethodPut, path: wsPath(ws, "members", user, "roles"), body: body})
}

// SetMemberRolesUntil replaces member user's roles and their expiry
// (T1): each role in expiresAt stops being honoured at its instant (in
// the future), every other role does not expire. Extending or removing an
// expiry is a grant: an acting member cannot extend beyond its own
// authority (T3, X3a).
func (c *Client) SetMemberRolesUntil(ctx context.Context, ws, user string, roleIDs []string, expiresAt map[string]time.Time) (*Member, int64, error) {
	if roleIDs == nil {
		roleIDs = []string{}
	}
	if expiresAt == nil {
		expiresAt = map[string]time.Time{}
	}
	body := struct {
		RoleIDs   []string             `json:"role_ids"`
		ExpiresAt map[string]time.Time `json:"expires_at"`
	}{roleIDs, expiresAt}
	return c.memberWrite(ctx, ws, &request{method: http.MethodPut, path: wsPath(ws, "members", user, "roles"), body: body})
}

// MemberGrants is a member after SetMemberGrants.
type MemberGrants struct {
	Member
	// Redundant lists the direct grants at or below what the member's
	// roles give: kept, but they add nothing (M5).
	Redundant []string `json:"redundant"`
}

// SetMemberGrants replaces member user's direct grants; policy.Grants{}
// removes them all (M5). reason is required when they raise a delete or
// export level (X4).
func (c *Client) SetMemberGrants(ctx context.Context, ws, user string, grants policy.Grants, reason string) (*MemberGrants, int64, error) {
	return c.SetMemberGrantsWhen(ctx, ws, user, grants, nil, reason)
}

// SetMemberGrantsWhen is SetMemberGrants with conditions on some of the
// grants (G1); a conditional grant counts at its level (M5, X3a).
func (c *Client) SetMemberGrantsWhen(ctx context.Context, ws, user string, grants policy.Grants, when policy.Conditions, reason string) (*MemberGrants, int64, error) {
	if grants == nil {
		grants = policy.Grants{}
	}
	body := struct {
		Grants policy.GrantValues `json:"grants"`
		Reason string             `json:"reason,omitempty"`
	}{policy.JoinGrants(grants, when), reason}
	var out MemberGrants
	rev, err := c.write(ctx, &request{method: http.MethodPut, path: wsPath(ws, "members", user, "grants"), body: body, ws: ws}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// SetMemberGrantsUntil replaces member user's direct grants and their
// expiry (T1): each grant in expiresAt stops being honoured at its
// instant (in the future), every other grant does not expire. Extending
// or removing an expiry is a grant (T3, X3a).
func (c *Client) SetMemberGrantsUntil(ctx context.Context, ws, user string, grants policy.Grants, expiresAt map[string]time.Time, reason string) (*MemberGrants, int64, error) {
	if grants == nil {
		grants = policy.Grants{}
	}
	if expiresAt == nil {
		expiresAt = map[string]time.Time{}
	}
	body := struct {
		Grants    policy.Grants        `json:"grants"`
		ExpiresAt map[string]time.Time `json:"expires_at"`
		Reason    string               `json:"reason,omitempty"`
	}{grants, expiresAt, reason}
	var out MemberGrants
	rev, err := c.write(ctx, &request{method: http.MethodPut, path: wsPath(ws, "members", user, "grants"), body: body, ws: ws}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

func (c *Client) memberWrite(ctx context.Context, ws string, rq *request) (*Member, int64, error) {
	rq.ws = ws
	var out Member
	rev, err := c.write(ctx, rq, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// Permissions are a member's effective levels with their sources (M3).
type Permissions struct {
	UserID string `json:"user_id"`
	// Revision is the workspace revision they were computed at.
	Revision int64 `json:"revision"`
	Owner    bool  `json:"owner"`
	// Permissions lists every permission above none.
	Permissions []EffectivePermission `json:"permissions"`
	// Redundant lists the direct grants that add nothing (M5).
	Redundant []string `json:"redundant_grants"`
}

// EffectivePermission is one permission of Permissions.
type EffectivePermission struct {
	Permission string       `json:"permission"`
	Level      policy.Level `json:"level"`
	DecidedBy  string       `json:"decided_by"`
	Sources    []Source     `json:"sources"`
}

// Source is a role revision or direct grant giving a level above none.
type Source struct {
	RoleID   string       `json:"role_id,omitempty"`
	Revision int64        `json:"revision,omitempty"`
	Direct   bool         `json:"direct,omitempty"`
	Level    policy.Level `json:"level"`
	// Source is "explicit", "inherited" (C6), "relation", "predefined"
	// or "direct".
	Source string `json:"source"`
	// From is the grant that gave the level.
	From string `json:"from,omitempty"`
	// ExpiresAt is when this source stops being honoured (T1); nil when
	// it does not expire.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Departments names the departments through which the member holds
	// the role (M9).
	Departments []string `json:"through_departments,omitempty"`
}

// MemberPermissions returns member user's effective permissions.
func (c *Client) MemberPermissions(ctx context.Context, ws, user string) (*Permissions, error) {
	var out Permissions
	if err := c.get(ctx, ws, wsPath(ws, "members", user, "permissions"), nil, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Revision)
	return &out, nil
}
