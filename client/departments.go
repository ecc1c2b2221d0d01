package client

import (
	"context"
	"net/http"
)

// Department is a node of a workspace's org tree; ParentID is "" for a
// root.
type Department struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
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

// DeleteDepartment deletes department id of workspace ws.
func (c *Client) DeleteDepartment(ctx context.Context, ws, id string) (int64, error) {
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "departments", id), ws: ws}, nil)
}
