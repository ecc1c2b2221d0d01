package workload

import (
	"reflect"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

var small = Config{Name: "small", Seed: 7, Groups: 3, ModulesPerGroup: 2, Roles: 10, GrantFraction: 0.3,
	Members: 500, MaxRoles: 3, Departments: 12, Queries: 256, AllowedFraction: 0.5}

func TestGenerate_IsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := Generate(small), Generate(small)
	if !reflect.DeepEqual(a.State.Roles, b.State.Roles) || !reflect.DeepEqual(a.State.Members, b.State.Members) ||
		!reflect.DeepEqual(a.Queries, b.Queries) || !reflect.DeepEqual(a.Records, b.Records) {
		t.Fatal("the same config produced different workloads")
	}
	c := small
	c.Seed++
	if reflect.DeepEqual(Generate(c).State.Members, a.State.Members) {
		t.Fatal("a different seed produced the same members")
	}
}

func TestGenerate_MatchesItsConfig(t *testing.T) {
	t.Parallel()
	w := Generate(small)
	cat := w.State.Catalog
	if got, want := cat.NumPermissions(), (small.Groups*small.ModulesPerGroup+small.Groups)*5; got != want {
		t.Errorf("%d permissions, want %d", got, want)
	}
	if len(w.State.Departments) != small.Departments || len(w.State.Members) != small.Members {
		t.Errorf("%d departments, %d members", len(w.State.Departments), len(w.State.Members))
	}
	for _, r := range w.State.Roles {
		if err := cat.ValidateGrants(r.Grants, policy.Internal); err != nil {
			t.Errorf("role %s is not C4-valid: %v", r.RoleID, err)
		}
	}
	s, err := policy.Compile(w.State)
	if err != nil {
		t.Fatal(err)
	}
	for name, qs := range map[string][]Query{"queries": w.Queries, "records": w.Records} {
		allowed := 0
		for _, q := range qs {
			d, err := s.CheckRecord(q.User, q.Permission, q.Record)
			if err != nil || d.Allowed != q.Allowed {
				t.Fatalf("%s: %+v: %+v %v", name, q, d, err)
			}
			if d.Allowed {
				allowed++
			}
		}
		if len(qs) != small.Queries || allowed != small.Queries/2 {
			t.Errorf("%s: %d of %d allowed", name, allowed, len(qs))
		}
	}
}
