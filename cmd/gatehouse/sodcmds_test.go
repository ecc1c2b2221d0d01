package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLI_S1_S3_SoDRules: "gatehouse sod" puts a rule that a member
// already breaks, lists it and its violation, records an exception, and
// deletes it; bad input is a usage error (2), a refusal an API error (1).
func TestCLI_S1_S3_SoDRules(t *testing.T) {
	w := newRemoteWorld(t)
	// bob's Sales rep role (template sales) holds deals; give ann nothing new.
	out := w.run(t, "", nil, "sod", "put", "deals-vs-contacts", "--name", "Deals vs contacts", "--set", "deals_edit", "--set", "contacts_view")
	if out.status != 0 || !strings.Contains(out.stdout, "put rule deals-vs-contacts") {
		t.Fatalf("put: %+v", out)
	}
	out = w.run(t, "", nil, "sod", "list")
	if out.status != 0 || !strings.Contains(out.stdout, "deals_edit | contacts_view") {
		t.Fatalf("list: %+v", out)
	}
	out = w.run(t, "", nil, "sod", "violations", "deals-vs-contacts", "--json")
	var vs []struct {
		UserID string     `json:"user_id"`
		Held   [][]string `json:"held"`
	}
	if out.status != 0 || json.Unmarshal([]byte(out.stdout), &vs) != nil {
		t.Fatalf("violations: %+v", out)
	}
	for _, v := range vs {
		if v.UserID == "joe" {
			t.Error("an owner is listed as breaking a rule")
		}
	}
	out = w.run(t, "", nil, "sod", "put", "deals-vs-contacts", "--name", "Deals vs contacts", "--set", "deals_edit", "--set", "contacts_view",
		"--except", "ann=covers the desk, for now@2099-01-01T00:00:00Z")
	if out.status != 0 {
		t.Fatalf("put with an exception: %+v", out)
	}
	out = w.run(t, "", nil, "sod", "get", "deals-vs-contacts")
	if out.status != 0 || !strings.Contains(out.stdout, "ann: covers the desk, for now until 2099-01-01T00:00:00Z") {
		t.Fatalf("get: %+v", out)
	}
	out = w.run(t, "", nil, "sod", "put", "bad", "--name", "Bad", "--set", "deals_edit", "--set", "contact_view")
	if out.status != 1 || !strings.Contains(out.stderr, "unknown_permission") {
		t.Errorf("unknown permission: %+v", out)
	}
	out = w.run(t, "", nil, "sod", "frobnicate")
	if out.status != 2 {
		t.Errorf("unknown subcommand: %+v", out)
	}
	out = w.run(t, "", nil, "sod", "delete", "deals-vs-contacts")
	if out.status != 0 || !strings.Contains(out.stdout, "deleted rule deals-vs-contacts") {
		t.Fatalf("delete: %+v", out)
	}
}
