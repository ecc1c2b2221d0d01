package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Catalog is the permission vocabulary: a tree of modules with their
// actions (C1–C9).
type Catalog struct {
	Modules []Module `json:"modules"`
}

// Module is a node of the catalog: a group, a module, an object or a
// channel.
type Module struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Kind is "scoped" or "relation" (R10).
	Kind string `json:"kind"`
	// InternalOnly modules can never be granted to a client role (M6).
	InternalOnly bool     `json:"internal_only"`
	SmartObject  bool     `json:"smart_object"`
	Actions      []Action `json:"actions"`
	// Children is empty in search results, which list matching modules
	// flat.
	Children []Module `json:"children"`
}

// Action is an action a module supports: one permission.
type Action struct {
	Name string `json:"name"`
	// Permission is the key to check, e.g. "contacts_view".
	Permission string `json:"permission"`
	// Scoped actions take all five levels, others none and all (C5).
	Scoped bool `json:"scoped"`
	// Requires lists the actions (of the same module) or permissions (of
	// another) this one depends on (C4).
	Requires    []string `json:"requires"`
	Description string   `json:"description"`
}

// Catalog returns the deployment's catalog; with q, the modules and
// permissions matching the search (C8).
func (c *Client) Catalog(ctx context.Context, q string) (*Catalog, error) {
	var out Catalog
	if err := c.get(ctx, "", path("v1", "catalog"), search(q), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WorkspaceCatalog returns the catalog of workspace ws: the deployment's
// plus the workspace's smart objects (C9); with q, a search.
func (c *Client) WorkspaceCatalog(ctx context.Context, ws, q string) (*Catalog, error) {
	var out Catalog
	if err := c.get(ctx, ws, wsPath(ws, "catalog"), search(q), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func search(q string) url.Values {
	if q == "" {
		return nil
	}
	return url.Values{"q": {q}}
}

// SmartObject is a workspace's own object type (C9).
type SmartObject struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// PutObject creates or renames smart object type o.ID of workspace ws.
func (c *Client) PutObject(ctx context.Context, ws string, o SmartObject) (*SmartObject, int64, error) {
	body := struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}{o.Name, o.Description}
	var out SmartObject
	rev, err := c.write(ctx, &request{method: http.MethodPut, path: wsPath(ws, "catalog", "objects", o.ID), body: body, ws: ws}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}

// DeleteObject deletes smart object type id of workspace ws. When roles
// still grant it, force must be true: those grants are then removed in the
// same transaction (C9).
func (c *Client) DeleteObject(ctx context.Context, ws, id string, force bool) (int64, error) {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	return c.write(ctx, &request{method: http.MethodDelete, path: wsPath(ws, "catalog", "objects", id), query: q, ws: ws}, nil)
}

// Template is a role template (R9): CreateRole with its ID makes a custom
// role pre-filled with its grants.
type Template struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Audience    policy.Audience `json:"audience"`
	Grants      policy.Grants   `json:"grants"`
}

// Templates lists the role templates, reading every page.
func (c *Client) Templates(ctx context.Context) ([]Template, error) {
	return all[Template](ctx, c, "", path("v1", "templates"), nil)
}
