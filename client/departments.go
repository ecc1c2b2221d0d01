package client

import (
	"context"
	"net/http"
	"time"
)

// Department is a node of a workspace's org tree; ParentID is "" for a
// root.
type Department struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
	// Roles are held by every member of the department while there
	// (M9), and by the members of its sub-departments when
	// IncludeSubdepartments; read-only here, set with
	// PutDepartmentRoles.
	Roles                 []Assignment `json:"roles,omitempty"`
	IncludeSubdepartments bool         `json:"include_subdepartments,omitempty"`
}

// DepartmentRoles sets a department's roles (M9).
type DepartmentRoles struct {
	// RoleIDs are the department's roles.
	RoleIDs []string `json:"role_ids"`
	// IncludeSubdepartments extends them to the members of every
	// department below.
	IncludeSubdepartments bool `json:"include_subdepartments"`
	// ExpiresAt is when each role expires (T1); a role it does not name
	// does not expire.
	ExpiresAt map[string]time.Time `json:"expires_at"`
}

// Departments lists workspace ws's departments: the whole tree, as a flat
// list linked by ParentID.
func (c *Client) Departments(ctx context.Context, ws string) ([]Department, error) {
	return all[Department](ctx, c, ws, wsPath(ws, "departments"), nil)
}

// Department returns department id of workspace ws.
func (c *Client) Department(ctx context.Context, ws, id string) (*Department, error) {
	var out Department
	if err := c.get(ctx, ws, wsPath(ws, "departments", id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutDepartment creates, renames or moves department d.ID.
func (c *Client) PutDepartment(ctx context.Context, ws string, d Department) (*Department, int64, error) {
	body := struct {
		Name     string `json:"name"`
		ParentID string `json:"parent_id,omitempty"`
	}{d.Name, d.ParentID}
	var out Department
	rev, err := c.write(ctx, &request{method: http.MethodPut, path: wsPath(ws, "departments", d.ID), body: body, ws: ws}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// PutDepartmentRoles creates, renames or moves department d.ID and sets
// its roles (M9): every member of it holds them while there. Giving a
// role is a grant to every member it reaches (X3a).
func (c *Client) PutDepartmentRoles(ctx context.Context, ws string, d Department, roles DepartmentRoles) (*Department, int64, error) {
	if roles.RoleIDs == nil {
		roles.RoleIDs = []string{}
	}
	if roles.ExpiresAt == nil {
		roles.ExpiresAt = map[string]time.Time{}
	}
	body := struct {
		Name     string `json:"name"`
		ParentID string `json:"parent_id,omitempty"`
		DepartmentRoles
	}{d.Name, d.ParentID, roles}
	var out Department
	rev, err := c.write(ctx, &request{method: http.MethodPut, path: wsPath(ws, "departments", d.ID), body: body, ws: ws}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// DeleteDepartment deletes department id of workspace ws.
func (c *Client) DeleteDepartment(ctx context.Context, ws, id string) (int64, error) {
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "departments", id), ws: ws}, nil)
}
