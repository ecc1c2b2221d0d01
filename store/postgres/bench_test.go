package postgres_test

import (
	"os"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
	"github.com/gatehouse-authz/gatehouse/workload"
)

// populated is the crm-medium workload written into one PostgreSQL database,
// shared by the benchmarks of this binary: populating takes a while.
var populated struct {
	once  sync.Once
	store admin.Store
	svc   *admin.Service
	eng   *engine.Engine
	w     *workload.Workload
}

func crmMedium(b *testing.B) (admin.Store, *admin.Service, *workload.Workload) {
	b.Helper()
	p := &populated
	p.once.Do(func() {
		p.w = workload.Generate(workload.CRMMedium)
		p.store = openStore(b, func(f func()) { cleanups = append([]func(){f}, cleanups...) })
		p.svc, p.eng = storetest.Populate(b, p.store, p.w)
	})
	if p.svc == nil {
		b.Fatal("populating failed")
	}
	return p.store, p.svc, p.w
}

// cleanups run after every test and benchmark of the binary: the
// populated store outlives each benchmark.
var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	os.Exit(code)
}

// BenchmarkLoad: a restart loading crm-medium (100,000 members) from
// PostgreSQL into a snapshot.
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
