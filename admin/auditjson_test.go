package admin

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestX4_MemberAuditJSONUnchanged: the audit log's view of a member,
// written from structs (memberJSON, assignmentList), is byte for byte
// what the maps it replaced wrote, so entries read the same before and
// after the change.
func TestX4_MemberAuditJSONUnchanged(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 4, 10, 30, 0, 123_000_000, time.UTC)
	mapView := func(m *Member) map[string]any {
		roles := make([]map[string]any, 0, len(m.Roles))
		for _, a := range m.Roles {
			r := map[string]any{"role_id": a.RoleID, "revision": a.Revision}
			if !a.ExpiresAt.IsZero() {
				r["expires_at"] = a.ExpiresAt.Format(time.RFC3339Nano)
			}
			roles = append(roles, r)
		}
		return map[string]any{"user_id": m.UserID, "name": m.Name, "email": m.Email, "kind": m.Kind, "owner": m.Owner,
			"department_ids": m.DepartmentIDs, "roles": roles, "grants": m.Grants}
	}
	for _, m := range []*Member{
		{UserID: "u1", Kind: policy.Internal},
		{UserID: "u2", Name: "Zoë <script>&\"", Email: "z@example.com", Kind: policy.Client, Owner: true,
			DepartmentIDs: []string{"sales", "ops"}, Grants: policy.Grants{"deals_view": policy.LevelAll, "leads_edit": policy.LevelOwn},
			Roles: []Assignment{{RoleID: "employee", Revision: 3}, {RoleID: "rep", Revision: 12, ExpiresAt: at}}},
		{UserID: "u3", DepartmentIDs: []string{}, Grants: policy.Grants{}, Roles: []Assignment{}},
	} {
		want, err := json.Marshal(mapView(m))
		if err != nil {
			t.Fatal(err)
		}
		got := marshal(memberJSON(m))
		if !bytes.Equal(got, want) {
			t.Errorf("member %s:\n got  %s\n want %s", m.UserID, got, want)
		}
		want, _ = json.Marshal(map[string]any{"roles": mapView(m)["roles"]})
		if got := marshal(assignmentsJSON(m)); !bytes.Equal(got, want) {
			t.Errorf("roles of %s:\n got  %s\n want %s", m.UserID, got, want)
		}
	}
	if marshal(memberJSON(nil)) != nil {
		t.Error("no member must marshal to no value")
	}
}
