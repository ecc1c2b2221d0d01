// Package client is the Go SDK of Gatehouse's HTTP API (DESIGN.md §3): a
// typed method for every endpoint, errors carrying the API's codes,
// retries of idempotent calls, read-your-writes revisions (D8), and the
// rendering of a filter plan (D5) as an SQL WHERE clause.
//
//	c := client.New("http://127.0.0.1:8470", key, client.WithConsistency())
//	role, rev, err := c.CreateRole(ctx, "acme", client.RoleInput{Name: "Sales rep", Template: "sales"})
//	d, err := c.Check(ctx, "acme", client.CheckRequest{User: "u1", Permission: "contacts_view",
//		Resource: &policy.Resource{OwnerID: "u2"}})
//	f, err := c.Filter(ctx, "acme", client.FilterRequest{User: "u1", Permission: "contacts_view"})
//	where, args := f.SQL(client.Postgres, client.Columns{Owner: "owner_id", Department: "department_id"})
//
// The package imports policy for the domain's value types (levels, grants,
// resources, plans) and nothing else of Gatehouse: it must never import
// admin, engine, httpapi or a store.
package client
