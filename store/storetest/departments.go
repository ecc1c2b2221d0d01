package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testDepartmentDepth: the department tree is at most
// admin.MaxDepartmentDepth levels deep, on every path that builds it (a
// PUT, a move, a policy import), with a clear invalid_argument; and
// importing a large tree costs time linear in its size: 20,000 nested
// departments once took 8 s under the workspace's lock.
func testDepartmentDepth(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	const max = admin.MaxDepartmentDepth
	chain := func(prefix string, n int, parent string) []admin.PolicyDept {
		var ds []admin.PolicyDept
		for i := range n {
			ds = append(ds, admin.PolicyDept{ID: fmt.Sprintf("%s%d", prefix, i), Name: "D", Parent: parent})
			parent = ds[i].ID
		}
		return ds
	}
	file := func(ds []admin.PolicyDept) []byte {
		data, err := e.svc.ExportPolicy(e.ctx, "w")
		must(t, err)
		f, err := admin.ParsePolicy(data)
		must(t, err)
		f.Departments = ds
		return f.Marshal()
	}

	// 20,000 nested departments: refused at once, naming the limit.
	nested := file(chain("n", 20_000, ""))
	start := time.Now()
	_, err := e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, nested)
	pe := wantCode(t, err, policy.CodeInvalidArgument)
	if !strings.Contains(pe.Message, fmt.Sprint(max)) {
		t.Errorf("the error does not name the limit: %v", pe)
	}
	// Not a timing assert (speed belongs in benchmarks): a hang
	// detector for a refusal that walks the chain quadratically.
	if d := time.Since(start); d > 60*time.Second && !raceEnabled {
		t.Errorf("refusing 20,000 nested departments took %v", d)
	}
	t.Logf("refused 20,000 nested departments in %v", time.Since(start))

	// The deepest tree allowed imports; one level more does not.
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, file(chain("c", max+1, "")))
	wantCode(t, err, policy.CodeInvalidArgument)
	_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, file(chain("c", max, "")))
	must(t, err)

	// PUT below the deepest, and a move that would put a subtree too deep.
	_, _, err = e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "x", Name: "X", ParentID: fmt.Sprintf("c%d", max-1)})
	wantCode(t, err, policy.CodeInvalidArgument)
	_, _, err = e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "top", Name: "Top"})
	must(t, err)
	_, _, err = e.svc.PutDepartment(e.ctx, "w", admin.Write{}, admin.Department{ID: "c0", Name: "D", ParentID: "top"})
	wantCode(t, err, policy.CodeInvalidArgument)

	// A wide tree of 20,000 departments, 50 levels deep, imports in time
	// linear in its size; replacing it with another one too. (4,000 under
	// the race detector, which only logs the times.)
	chains := 400
	if raceEnabled {
		chains = 80
	}
	wide := func(prefix string) []admin.PolicyDept {
		var ds []admin.PolicyDept
		for c := range chains {
			ds = append(ds, chain(fmt.Sprintf("%s%d.", prefix, c), 50, "")...)
		}
		return ds
	}
	for _, prefix := range []string{"a", "b"} {
		data := file(wide(prefix))
		start = time.Now()
		_, err = e.svc.ImportPolicy(e.ctx, "w", admin.Write{}, data)
		must(t, err)
		if d := time.Since(start); d > 5*time.Minute && !raceEnabled { // a hang detector, as above
			t.Errorf("importing %d departments 50 deep took %v", chains*50, d)
		}
		t.Logf("imported %d departments 50 deep (%s) in %v", chains*50, prefix, time.Since(start))
	}
	ds, err := e.svc.Departments(e.ctx, "w")
	must(t, err)
	if len(ds) != chains*50 {
		t.Fatalf("%d departments after the import", len(ds))
	}
}
