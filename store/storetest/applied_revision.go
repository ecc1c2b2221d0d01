package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// testR6AssignmentsFollowAppliedRevision: an applied edit moves a role's
// assignees by moving the role's applied revision, not by rewriting each
// assignment (R6). Through saves, late assignments and applies, every
// read of the store — Load, LoadRange, ReadPart and a restarted service —
// gives each member exactly the revision R6 says: the applied one for
// those assigned before a save, the newest for those assigned after it,
// the newest for all after an apply. An apply leaves no assignment of the
// role pinned, and a role that assignments follow cannot be deleted from
// under them.
func testR6AssignmentsFollowAppliedRevision(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const ws = "w"
	e.workspace(ws, admin.PlanProfessional)
	// More roles than a load resolves followers by scanning (sqlstore
	// followers): the many-roles path is the one under test here, the
	// other suites' small workspaces take the other.
	for i := range 14 {
		e.role(ws, fmt.Sprintf("Filler %02d", i), policy.Internal, policy.Grants{"contacts_view": own})
	}
	r := e.role(ws, "Rep", policy.Internal, policy.Grants{"deals_view": own})
	for _, u := range []string{"a", "b"} {
		e.member(ws, admin.MemberInput{UserID: u, RoleIDs: []string{r.ID}})
	}
	pinned := func() int64 {
		return h.QueryInt(t, e.store, "SELECT count(*) FROM assignments WHERE workspace_id = '"+ws+"' AND role_id = '"+r.ID+"' AND revision IS NOT NULL")
	}
	update := func(g policy.Grants, apply bool) {
		t.Helper()
		_, _, err := e.svc.UpdateRole(e.ctx, ws, admin.Write{}, r.ID, admin.RoleUpdate{Grants: g, Apply: ptr(apply)})
		must(t, err)
	}
	// want checks every read against the revision each member holds and
	// the level it gives deals_view.
	want := func(step string, revs map[string]int64, levels map[string]policy.Level) {
		t.Helper()
		reads := map[string]func() ([]admin.Member, error){
			"Load": func() ([]admin.Member, error) {
				d, err := e.store.Load(e.ctx, ws)
				if err != nil {
					return nil, err
				}
				return d.Members, nil
			},
			"LoadRange": func() ([]admin.Member, error) {
				ds, err := e.store.(admin.BulkLoader).LoadRange(e.ctx, "", 10)
				if err != nil || len(ds) != 1 {
					return nil, fmt.Errorf("%d workspaces, %v", len(ds), err)
				}
				return ds[0].Members, nil
			},
			"ReadPart": func() ([]admin.Member, error) {
				p, err := e.store.(admin.PartReader).ReadPart(e.ctx, ws, 0, 1_000_000, func(int64, []admin.Change) ([]string, []string, bool) {
					return nil, []string{r.ID}, true
				})
				if err != nil {
					return nil, err
				}
				return p.Members, nil
			},
		}
		for name, read := range reads {
			ms, err := read()
			if err != nil {
				t.Fatalf("%s: %s: %v", step, name, err)
			}
			got := map[string]int64{}
			for _, m := range ms {
				for _, a := range m.Roles {
					if a.RoleID == r.ID {
						got[m.UserID] = a.Revision
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(revs) {
				t.Errorf("%s: %s gives the holders revisions %v, want %v", step, name, got, revs)
			}
		}
		restarted, snaps := e.service()
		must(t, restarted.Open(e.ctx))
		for u, rev := range revs {
			m, err := restarted.Member(e.ctx, ws, admin.Actor{}, u)
			must(t, err)
			i := slices.IndexFunc(m.Roles, func(a admin.Assignment) bool { return a.RoleID == r.ID })
			if i < 0 || m.Roles[i].Revision != rev {
				t.Errorf("%s: after a restart %s holds %+v, want revision %d", step, u, m.Roles, rev)
			}
			d, err := snaps.get(ws).Check(u, "deals_view")
			must(t, err)
			if d.Level != levels[u] || e.level(ws, u, "deals_view") != levels[u] {
				t.Errorf("%s: %s has deals_view %s after a restart, %s on the writer, want %s", step, u, d.Level, e.level(ws, u, "deals_view"), levels[u])
			}
		}
	}

	update(policy.Grants{"deals_view": dept}, true) // revision 2, applied
	if n := pinned(); n != 0 {
		t.Errorf("an apply left %d assignments of the role pinned, want 0", n)
	}
	want("apply", map[string]int64{"a": 2, "b": 2}, map[string]policy.Level{"a": dept, "b": dept})

	update(policy.Grants{"deals_view": all}, false) // revision 3, saved
	e.member(ws, admin.MemberInput{UserID: "late", RoleIDs: []string{r.ID}})
	want("save, then a late assignment", map[string]int64{"a": 2, "b": 2, "late": 3}, map[string]policy.Level{"a": dept, "b": dept, "late": all})

	update(nil, true) // apply revision 3 to everyone
	if n := pinned(); n != 0 {
		t.Errorf("an apply left %d assignments of the role pinned, want 0", n)
	}
	want("apply of the saved revision", map[string]int64{"a": 3, "b": 3, "late": 3}, map[string]policy.Level{"a": all, "b": all, "late": all})

	// A Commit deleting the role while assignments follow it fails whole.
	d, err := e.store.Load(e.ctx, ws)
	must(t, err)
	c := commitFor(d, d.Workspace.Revision, 0, "")
	c.Ops = append(c.Ops, admin.DeleteRole{RoleID: r.ID})
	if err := e.store.Commit(e.ctx, c); err == nil || errors.Is(err, admin.ErrStale) {
		t.Fatalf("deleting a role its assignments follow: got %v, want a failed Commit", err)
	}
	want("a refused deletion", map[string]int64{"a": 3, "b": 3, "late": 3}, map[string]policy.Level{"a": all, "b": all, "late": all})

	// Deleting it through the service moves its holders first.
	other := e.role(ws, "Other", policy.Internal, policy.Grants{"deals_view": own})
	_, err = e.svc.DeleteRole(e.ctx, ws, admin.Write{}, r.ID, other.ID)
	must(t, err)
	if n := h.QueryInt(t, e.store, "SELECT count(*) FROM assignments WHERE workspace_id = '"+ws+"' AND role_id = '"+r.ID+"'"); n != 0 {
		t.Errorf("%d assignments of the deleted role remain", n)
	}
}
