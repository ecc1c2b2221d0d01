package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestX4_FinishRefusesAnUnauditedCommit: a write that changed state but
// recorded no audit entry is a bug in admin; finish refuses to build its
// Commit, so that no operation, present or future, commits a revision
// the audit log does not show.
func TestX4_FinishRefusesAnUnauditedCommit(t *testing.T) {
	m, err := newModel(policy.DefaultCatalog(), &Dataset{Workspace: Workspace{ID: "w", Name: "W", Plan: PlanFree, Revision: 3}}, time.Now, 0)
	if err != nil {
		t.Fatal(err)
	}
	v := newView(m, time.Now(), Actor{})
	v.auth = Authority{unlimited: true, owner: true}
	v.action = "workspace.update"
	v.ws.Name, v.wsDirty = "Renamed", true
	if _, err := v.finish(); err == nil || !strings.Contains(err.Error(), "without an audit entry") {
		t.Fatalf("finish of a change without an audit entry: %v", err)
	}
	v.record("workspace.update", "workspace:w", nil, map[string]any{"name": "Renamed"})
	c, err := v.finish()
	if err != nil || len(c.Audit) != 1 || c.Revision != 4 {
		t.Fatalf("finish of an audited change: %+v, %v", c, err)
	}
}
