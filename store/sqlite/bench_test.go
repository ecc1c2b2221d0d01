package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
	"github.com/gatehouse-authz/gatehouse/workload"
)

// populated is the crm-medium workload written into one SQLite database,
// shared by the benchmarks of this binary: populating takes a while.
var populated struct {
	once  sync.Once
	store *sqlite.Store
	svc   *admin.Service
	eng   *engine.Engine
	w     *workload.Workload
	dir   string
}

func crmMedium(b *testing.B) (*sqlite.Store, *admin.Service, *workload.Workload) {
	b.Helper()
	p := &populated
	p.once.Do(func() {
		p.w = workload.Generate(workload.CRMMedium)
		dir, err := os.MkdirTemp("", "gatehouse-bench")
		if err != nil {
			b.Fatal(err)
		}
		p.dir = dir
		if p.store, err = sqlite.Open(context.Background(), filepath.Join(dir, "bench.db")); err != nil {
			b.Fatal(err)
		}
		p.svc, p.eng = storetest.Populate(b, p.store, p.w)
	})
	if p.svc == nil {
		b.Fatal("populating failed")
	}
	return p.store, p.svc, p.w
}

func TestMain(m *testing.M) {
	code := m.Run()
	if populated.store != nil {
		populated.store.Close()
		os.RemoveAll(populated.dir)
	}
	os.Exit(code)
}

// BenchmarkLoad: a restart loading crm-medium (100,000 members) from
// SQLite into a snapshot.
func BenchmarkLoad(b *testing.B) {
	store, _, w := crmMedium(b)
	storetest.BenchLoad(b, store, w)
}

// BenchmarkApplyEdit: an applied edit of a role held by 10,000 of
// crm-medium's members, end to end.
func BenchmarkApplyEdit(b *testing.B) {
	_, svc, w := crmMedium(b)
	storetest.BenchApplyEdit(b, svc, populated.eng, w.State.Workspace, w.State.Catalog.Permissions()[0].Key)
}

// BenchmarkImport: member imports of admin.MaxImport new members per
// call into crm-medium, each with a department and one or two roles.
func BenchmarkImport(b *testing.B) {
	_, svc, w := crmMedium(b)
	storetest.BenchImport(b, svc, w)
}

// BenchmarkUpsert: single-member upserts into crm-medium, one transaction
// each.
func BenchmarkUpsert(b *testing.B) {
	_, svc, w := crmMedium(b)
	storetest.BenchUpserts(b, svc, w.State.Workspace, w.State.Departments[0].ID)
}

// BenchmarkExpire: committing one member's expired assignment in
// crm-medium (T2), end to end, with the snapshot compiled without it.
func BenchmarkExpire(b *testing.B) {
	_, svc, w := crmMedium(b)
	user := ""
	for _, m := range w.State.Members {
		if m.Kind == policy.Internal {
			user = m.UserID
			break
		}
	}
	storetest.BenchExpire(b, svc, populated.eng, w.State.Workspace, user)
}

// BenchmarkApplyEditWithSoD: BenchmarkApplyEdit with a separation-of-
// duties rule in place (S2), every one of the 10,000 members checked and
// none refused. "roles": a rule over the edited role and a role nobody
// holds (an apply moves revisions only, so S2 skips the members without
// computing their levels); "permissions": a rule over the very
// permission the edit flips, which makes S2 compute and compare every
// member's levels before and after.
func BenchmarkApplyEditWithSoD(b *testing.B) {
	_, svc, w := crmMedium(b)
	ctx, ws := context.Background(), w.State.Workspace
	perm := w.State.Catalog.Permissions()[0].Key
	other := w.State.Catalog.Permissions()[len(w.State.Catalog.Permissions())-1].Key
	r, _, err := svc.CreateRole(ctx, ws, admin.Write{}, admin.RoleInput{Name: "SoD bench auditor"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.DeleteRole(ctx, ws, admin.Write{}, r.ID, "") })
	for _, rule := range []admin.SoDRule{
		{ID: "roles", Name: "Team vs auditor", Roles: [][]string{{storetest.TeamRole}, {r.ID}}},
		{ID: "permissions", Name: "Edited vs other", Permissions: [][]string{{perm}, {other}}},
	} {
		b.Run(rule.ID, func(b *testing.B) {
			if _, _, err := svc.PutSoDRule(ctx, ws, admin.Write{}, rule); err != nil {
				b.Fatal(err)
			}
			defer svc.DeleteSoDRule(ctx, ws, admin.Write{}, rule.ID)
			storetest.BenchApplyEdit(b, svc, populated.eng, ws, perm)
		})
	}
}
