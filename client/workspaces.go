package client

import (
	"context"
	"net/http"
	"time"
)

// Plan is a workspace's subscription plan (W2).
type Plan string

// The plans of W2.
const (
	PlanFree         Plan = "free"
	PlanStandard     Plan = "standard"
	PlanProfessional Plan = "professional"
)

// Workspace is a tenant (W1).
type Workspace struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Plan Plan   `json:"plan"`
	// Revision is the revision of the workspace's last committed change.
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
}

// WorkspaceInput creates a workspace.
type WorkspaceInput struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Plan is free when empty.
	Plan Plan `json:"plan,omitempty"`
}

// CreateWorkspace creates a workspace (X1: the deployment admin key only)
// and returns it with the workspace revision written.
func (c *Client) CreateWorkspace(ctx context.Context, in WorkspaceInput) (*Workspace, int64, error) {
	var out Workspace
	rev, err := c.write(ctx, &request{method: http.MethodPost, path: path("v1", "workspaces"), body: in, ws: in.ID, create: true}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// Workspaces lists every workspace, by id (the deployment admin key only).
func (c *Client) Workspaces(ctx context.Context) ([]Workspace, error) {
	return all[Workspace](ctx, c, "", path("v1", "workspaces"), nil)
}

// Workspace returns workspace ws. Returns not_found when it does not exist
// or the key is of another workspace (W1).
func (c *Client) Workspace(ctx context.Context, ws string) (*Workspace, error) {
	var out Workspace
	if err := c.get(ctx, ws, wsPath(ws), nil, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Revision)
	return &out, nil
}

// WorkspaceUpdate changes a workspace; nil fields are left as they are.
type WorkspaceUpdate struct {
	Name *string `json:"name,omitempty"`
	// Plan changes never delete roles or assignments (W3).
	Plan *Plan `json:"plan,omitempty"`
}

// UpdateWorkspace renames workspace ws or changes its plan.
func (c *Client) UpdateWorkspace(ctx context.Context, ws string, in WorkspaceUpdate) (*Workspace, int64, error) {
	var out Workspace
	rev, err := c.write(ctx, &request{method: http.MethodPatch, path: wsPath(ws), body: in, ws: ws}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// KeyScope is what a workspace API key may do (X2).
type KeyScope string

// The scopes of X2.
const (
	ScopeCheck KeyScope = "check" // decisions only
	ScopeAdmin KeyScope = "admin" // decisions and administration
)

// Key is a workspace API key. Secret is set only in CreateKey's answer:
// the server keeps a hash of it and never shows it again (X2).
type Key struct {
	ID        string    `json:"id"`
	Scope     KeyScope  `json:"scope"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Secret    string    `json:"key,omitempty"`
}

// CreateKey creates an API key of workspace ws and returns it with its
// secret (shown this once) and the workspace revision written.
func (c *Client) CreateKey(ctx context.Context, ws string, scope KeyScope, name string) (*Key, int64, error) {
	var out Key
	body := struct {
		Scope KeyScope `json:"scope"`
		Name  string   `json:"name,omitempty"`
	}{scope, name}
	rev, err := c.write(ctx, &request{method: http.MethodPost, path: wsPath(ws, "keys"), body: body, ws: ws, create: true}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// Keys lists workspace ws's API keys, without their secrets, reading every page.
func (c *Client) Keys(ctx context.Context, ws string) ([]Key, error) {
	return all[Key](ctx, c, ws, wsPath(ws, "keys"), nil)
}

// RevokeKey revokes API key id of workspace ws; it stops working at once.
func (c *Client) RevokeKey(ctx context.Context, ws, id string) (int64, error) {
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "keys", id), ws: ws}, nil)
}
