package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestREADME_ClientSnippet runs the README's Go client example, line for
// line, against a fresh server.
func TestREADME_ClientSnippet(t *testing.T) {
	env := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	admin := client.New(env.URL, apitest.AdminKey)
	if _, _, err := admin.CreateWorkspace(ctx, client.WorkspaceInput{ID: "acme", Name: "Acme", Plan: "professional"}); err != nil {
		t.Fatal(err)
	}
	key := apitest.AdminKey

	// README: begin
	c := client.New(env.URL, key, client.WithConsistency()) // decisions read this client's own writes (D8)
	_, _, err := c.PutMember(ctx, "acme", client.MemberInput{UserID: "ana", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Check(ctx, "acme", client.CheckRequest{User: "ana", Permission: "contacts_view",
		Resource: &policy.Resource{OwnerID: "bo"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Filter(ctx, "acme", client.FilterRequest{User: "ana", Permission: "contacts_view"})
	if err != nil {
		t.Fatal(err)
	}
	where, args := f.SQL(client.Postgres, client.Columns{Owner: "owner_id", Department: "department_id"})
	// README: end

	if d.Allowed || where == "" {
		t.Fatalf("decision %+v, where %q %v", d, where, args)
	}
	_, err = c.Check(ctx, "acme", client.CheckRequest{User: "ana", Permission: "contact_view"})
	if client.ErrorCode(err) != policy.CodeUnknownPermission || !strings.Contains(err.Error(), "contacts_view") {
		t.Fatalf("unknown permission: %v", err)
	}
}
