package admin

import (
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestA1_OneInstantPerWrite: a write judges the levels before and after
// at one instant, its own. A save-and-apply that moves a member's
// expiring role to a revision granting more, with the clock passing the
// expiry between the two comparisons, must still see the raise; the
// stress test found the epoch left behind when each side read the clock
// afresh.
func TestA1_OneInstantPerWrite(t *testing.T) {
	t.Parallel()
	expiry := time.Date(2026, 12, 4, 10, 53, 51, 0, time.UTC)
	d := &Dataset{Workspace: Workspace{ID: "w", Name: "W", Plan: PlanFree, Revision: 5},
		Roles: []Role{{ID: "manager", Name: "Manager", Audience: policy.Internal, Revision: 10}},
		Revisions: []RoleRevision{
			{RoleID: "manager", Revision: 8, Grants: policy.Grants{"deals_view": policy.LevelOwn}},
			{RoleID: "manager", Revision: 10, Grants: policy.Grants{"deals_view": policy.LevelAll}},
		},
		Members: []Member{{UserID: "u", Kind: policy.Internal, Epoch: 1,
			Roles: []Assignment{{RoleID: "manager", Revision: 8, ExpiresAt: expiry}}}}}
	m, err := newModel(policy.DefaultCatalog(), d, time.Now, 0)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	m.now = func() time.Time { // every read after the first is past the expiry
		reads++
		if reads == 1 {
			return expiry.Add(-time.Second)
		}
		return expiry.Add(time.Second)
	}
	v := newView(m, expiry.Add(-2*time.Second), Actor{})
	old := m.member("u")
	moved := old.clone()
	moved.Roles[0].Revision = 10
	before, after := v.baseEffective(old), v.effective(moved)
	p, _ := v.cat.Lookup("deals_view")
	if before[p] != policy.LevelOwn || after[p] != policy.LevelAll {
		t.Fatalf("deals_view before %v, after %v: want own → all, judged at the write's instant", before[p], after[p])
	}
}
