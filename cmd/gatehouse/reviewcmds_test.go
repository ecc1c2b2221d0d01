package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLI_V1_V2_Reviews: "gatehouse review" opens a campaign over a role,
// lists it, lists its items, revokes one, and closes it, the
// revocation applied; bad input is a usage error (2), a refusal an API
// error (1).
func TestCLI_V1_V2_Reviews(t *testing.T) {
	w := newRemoteWorld(t)
	out := w.run(t, "", nil, "review", "open", "--name", "Deal editors", "--deadline", "168h", "--roles", "sales_rep", "--json")
	var opened struct {
		Review struct {
			ID    string `json:"id"`
			Items int    `json:"items"`
		} `json:"review"`
	}
	if out.status != 0 || json.Unmarshal([]byte(out.stdout), &opened) != nil || opened.Review.ID == "" || opened.Review.Items == 0 {
		t.Fatalf("open: %+v", out)
	}
	id := opened.Review.ID
	out = w.run(t, "", nil, "review", "list")
	if out.status != 0 || !strings.Contains(out.stdout, id) || !strings.Contains(out.stdout, "Deal editors") {
		t.Fatalf("list: %+v", out)
	}
	out = w.run(t, "", nil, "review", "items", id, "--open", "--json")
	var items []struct {
		ID     int    `json:"id"`
		UserID string `json:"user_id"`
		RoleID string `json:"role_id"`
	}
	if out.status != 0 || json.Unmarshal([]byte(out.stdout), &items) != nil || len(items) == 0 {
		t.Fatalf("items: %+v", out)
	}
	target := items[0]
	for _, it := range items {
		if it.UserID == "bob" && it.RoleID != "employee" { // bob keeps a role: M4 refuses nothing
			target = it
		}
	}
	out = w.run(t, "", nil, "review", "decide", id, "1x", "--decision", "keep")
	if out.status != 2 {
		t.Errorf("a bad item id: %+v", out)
	}
	out = w.run(t, "", nil, "review", "decide", id, jsonInt(target.ID), "--decision", "maybe")
	if out.status != 1 || !strings.Contains(out.stderr, "invalid_argument") {
		t.Errorf("a bad decision: %+v", out)
	}
	out = w.run(t, "", nil, "review", "decide", id, jsonInt(target.ID), "--decision", "revoke", "--reason", "moved teams")
	if out.status != 0 || !strings.Contains(out.stdout, "decided 1 items revoke") {
		t.Fatalf("decide: %+v", out)
	}
	out = w.run(t, "", nil, "review", "items", id)
	if out.status != 0 || !strings.Contains(out.stdout, "revoke by ") {
		t.Fatalf("items after the decision: %+v", out)
	}
	out = w.run(t, "", nil, "review", "close", id)
	if out.status != 0 || !strings.Contains(out.stdout, "closed review "+id) {
		t.Fatalf("close: %+v", out)
	}
	if !strings.Contains(out.stdout, "1 revoked, 0 refused") {
		t.Errorf("close report: %+v", out)
	}
	out = w.run(t, "", nil, "review", "open", "--name", "No deadline")
	if out.status != 2 {
		t.Errorf("open without a deadline: %+v", out)
	}
	out = w.run(t, "", nil, "review", "frobnicate")
	if out.status != 2 {
		t.Errorf("unknown subcommand: %+v", out)
	}
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
