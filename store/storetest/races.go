package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// racers returns n services over the env's store: half share the env's
// service (in-process serialization), half are services of their own (as
// other processes are, serialized only by the store's compare-and-set).
func (e *env) racers(n int) []*admin.Service {
	out := make([]*admin.Service, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = e.svc
		} else {
			out[i], _ = e.service()
		}
	}
	return out
}

// race runs fn on every racer at once and returns their errors.
func race(svcs []*admin.Service, fn func(i int, s *admin.Service) error) []error {
	errs := make([]error, len(svcs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range svcs {
		wg.Go(func() {
			<-start
			errs[i] = fn(i, s)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

const rounds = 8

// wins counts the racers that succeeded; every other must have failed
// with the losing code.
func wins(t *testing.T, round int, errs []error, losing policy.Code) int {
	t.Helper()
	won := 0
	for _, err := range errs {
		switch policy.ErrorCode(err) {
		case "":
			won++
		case losing:
		default:
			t.Errorf("round %d: unexpected error %v", round, err)
		}
	}
	return won
}

func testRaceLastRole(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	a := e.role("w", "A", policy.Internal, nil)
	b := e.role("w", "B", policy.Internal, nil)
	for round := range rounds {
		u := fmt.Sprintf("u%d", round)
		e.member("w", admin.MemberInput{UserID: u, RoleIDs: []string{a.ID, b.ID}})
		svcs := e.racers(4)
		race(svcs, func(i int, s *admin.Service) error {
			_, err := s.RemoveRoleMember(e.ctx, "w", admin.Write{}, []string{a.ID, b.ID}[i%2], u)
			return err
		})
		fresh, _ := e.service()
		m, err := fresh.Member(e.ctx, "w", admin.Actor{}, u)
		must(t, err)
		if len(m.Roles) == 0 {
			t.Fatalf("round %d: member left without roles (M2)", round)
		}
		for _, r := range m.Roles {
			if r.RoleID == a.ID || r.RoleID == b.ID {
				t.Errorf("round %d: %s still holds %s after both removals", round, u, r.RoleID)
			}
		}
	}
}

func testRacePlanLimit(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for round := range rounds {
		ws := fmt.Sprintf("w%d", round)
		e.workspace(ws, admin.PlanStandard) // one custom role allowed
		errs := race(e.racers(4), func(i int, s *admin.Service) error {
			_, _, err := s.CreateRole(e.ctx, ws, admin.Write{}, admin.RoleInput{Name: fmt.Sprintf("Custom %d", i)})
			return err
		})
		won := wins(t, round, errs, policy.CodePlanLimitReached)
		fresh, _ := e.service()
		roles, _ := fresh.Roles(e.ctx, ws, "", "")
		custom := 0
		for _, r := range roles {
			if !r.Predefined {
				custom++
			}
		}
		if won != 1 || custom != 1 {
			t.Errorf("round %d: %d creations won, %d custom roles stored; want 1 and 1", round, won, custom)
		}
	}
}

func testRaceDeleteAssign(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	to := e.role("w", "Target", policy.Internal, nil)
	for round := range rounds {
		doomed := e.role("w", fmt.Sprintf("Doomed %d", round), policy.Internal, nil)
		e.member("w", admin.MemberInput{UserID: fmt.Sprintf("m%d", round), RoleIDs: []string{doomed.ID}})
		e.member("w", admin.MemberInput{UserID: fmt.Sprintf("n%d", round)})
		race(e.racers(4), func(i int, s *admin.Service) error {
			if i%2 == 0 {
				_, err := s.DeleteRole(e.ctx, "w", admin.Write{}, doomed.ID, to.ID)
				return err
			}
			_, err := s.AddRoleMembers(e.ctx, "w", admin.Write{}, doomed.ID, []string{fmt.Sprintf("n%d", round)})
			return err
		})
		fresh, _ := e.service()
		if _, err := fresh.Role(e.ctx, "w", doomed.ID); policy.ErrorCode(err) != policy.CodeNotFound {
			t.Fatalf("round %d: role survived: %v", round, err)
		}
		ms, err := fresh.Members(e.ctx, "w", admin.Actor{}, admin.MemberFilter{Role: doomed.ID})
		must(t, err)
		if len(ms) != 0 {
			t.Errorf("round %d: %d members hold the deleted role", round, len(ms))
		}
		for _, u := range []string{fmt.Sprintf("m%d", round), fmt.Sprintf("n%d", round)} {
			if m, _ := fresh.Member(e.ctx, "w", admin.Actor{}, u); len(m.Roles) == 0 {
				t.Errorf("round %d: %s has no roles", round, u)
			}
		}
	}
}

func testRaceSameRevision(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	r := e.role("w", "Rep", policy.Internal, nil)
	var views []string // every edit grants a different permission, so none is a no-op
	for _, p := range policy.DefaultCatalog().Permissions() {
		if p.Action == "view" && p.Module.Kind == policy.Scoped {
			views = append(views, p.Key)
		}
	}
	for round := range rounds {
		base := int64(round + 1)
		errs := race(e.racers(4), func(i int, s *admin.Service) error {
			_, _, err := s.UpdateRole(e.ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{
				Grants: policy.Grants{views[(round*4+i)%len(views)]: own}, IfRevision: base})
			return err
		})
		won := wins(t, round, errs, policy.CodeRevisionConflict)
		fresh, _ := e.service()
		got, _ := fresh.Role(e.ctx, "w", r.ID)
		if won != 1 || got.Revision != base+1 {
			t.Fatalf("round %d: %d edits won, role at revision %d; want 1 and %d", round, won, got.Revision, base+1)
		}
	}
}
