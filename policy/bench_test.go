package policy_test

import (
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/workload"
)

// crmMedium is generated once per test binary: it takes about a second.
var crmMedium = sync.OnceValue(func() *workload.Workload { return workload.Generate(workload.CRMMedium) })

func compiled(b *testing.B) (*workload.Workload, *policy.Snapshot) {
	w := crmMedium()
	s, err := policy.Compile(w.State)
	if err != nil {
		b.Fatal(err)
	}
	return w, s
}

// BenchmarkCheck is a check without a record (D1) on crm-medium, resolving
// the user id and the permission key from strings.
func BenchmarkCheck(b *testing.B) {
	w, s := compiled(b)
	qs := w.Queries
	b.ReportAllocs()
	b.ResetTimer()
	allowed := 0
	for i := 0; b.Loop(); i++ {
		q := &qs[i&(len(qs)-1)]
		d, err := s.Check(q.User, q.Permission)
		if err != nil || d.Allowed != q.Allowed {
			b.Fatalf("check %v: %+v, %v", q, d, err)
		}
		if d.Allowed {
			allowed++
		}
	}
}

// BenchmarkCheckParallel runs BenchmarkCheck's queries on every core at once:
// the snapshot is shared without locks.
func BenchmarkCheckParallel(b *testing.B) {
	w, s := compiled(b)
	qs := w.Queries
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			q := &qs[i&(len(qs)-1)]
			if d, _ := s.Check(q.User, q.Permission); d.Allowed != q.Allowed {
				b.Errorf("check %v: %+v", q, d)
				return
			}
			i++
		}
	})
}

// BenchmarkCheckRecord checks records at department and subdepartments
// scope (D2), the costliest record check.
func BenchmarkCheckRecord(b *testing.B) {
	w, s := compiled(b)
	qs := w.Records
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := &qs[i&(len(qs)-1)]
		d, err := s.CheckRecord(q.User, q.Permission, q.Record)
		if err != nil || d.Allowed != q.Allowed {
			b.Fatalf("check %v: %+v, %v", q, d, err)
		}
	}
}

// BenchmarkFilter builds the record filter of D5 for a user and permission.
func BenchmarkFilter(b *testing.B) {
	w, s := compiled(b)
	qs := w.Records
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := &qs[i&(len(qs)-1)]
		if _, err := s.Filter(q.User, q.Permission); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile compiles the whole crm-medium workspace into a snapshot,
// and reports the heap the snapshot retains per member.
func BenchmarkCompile(b *testing.B) {
	w := crmMedium()
	b.ReportAllocs()
	var keep *policy.Snapshot
	for b.Loop() {
		s, err := policy.Compile(w.State)
		if err != nil {
			b.Fatal(err)
		}
		keep = s
	}
	b.StopTimer()
	b.ReportMetric(float64(retained(func() any { s, _ := policy.Compile(w.State); return s }))/float64(w.Config.Members), "heap-B/member")
	b.ReportMetric(float64(keep.NumAccessVectors()), "vectors")
}

// BenchmarkUpdate is a chain of writes, each a Snapshot.Update of the
// last, on crm-medium (100,000 members): one member's roles changed, or
// one member added. A write's cost follows what it changes, not the
// workspace's size (issue 17; see paged.go and Snapshot.tail).
func BenchmarkUpdate(b *testing.B) {
	w, base := compiled(b)
	changed := w.State.Members[len(w.State.Members)/2]
	changed.Roles = slices.Clone(w.State.Members[0].Roles)
	added := policy.Member{Kind: policy.Internal, Roles: changed.Roles, DepartmentIDs: changed.DepartmentIDs}
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = "newcomer" + strconv.Itoa(i)
	}
	for _, name := range []string{"change", "add"} {
		b.Run(name, func(b *testing.B) {
			s := base
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d := policy.Delta{Revision: s.Revision() + 1, Members: []policy.Member{changed}}
				if name == "add" {
					added.UserID = ids[i%len(ids)]
					d.Members[0] = added
				}
				var err error
				if s, err = s.Update(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// retained measures the live heap that the value built by f keeps.
func retained(f func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return after.HeapAlloc - before.HeapAlloc
}

// conditionalWorkload is crm-medium with 10% of its role grants made
// conditional (every tenth key of each role, in key order) and amount and
// stage attributes on every record query, half of which meet the condition.
var conditionalWorkload = sync.OnceValue(func() *workload.Workload {
	w := *crmMedium()
	const when = "record.amount <= 10000 && record.stage != 'closed'"
	roles := make([]policy.RoleRevision, len(w.State.Roles))
	for i, r := range w.State.Roles {
		r.When = policy.Conditions{}
		keys := make([]string, 0, len(r.Grants))
		for k, l := range r.Grants {
			if l > policy.LevelNone {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for j, k := range keys {
			if j%10 == 0 {
				r.When[k] = when
			}
		}
		roles[i] = r
	}
	w.State.Roles = roles
	recs := make([]workload.Query, len(w.Records))
	for i, q := range w.Records {
		r := *q.Record
		r.Attributes = map[string]any{"amount": float64(i%4) * 6000, "stage": []string{"new", "closed"}[i%3/2]}
		q.Record = &r
		recs[i] = q
	}
	w.Records = recs
	return &w
})

// BenchmarkCheckConditional checks records (department scopes) on
// crm-medium with 10% of grants conditional, keeping only the queries whose
// member holds a conditional grant of the permission that must be
// evaluated: the cost of a condition on the check path (G6).
func BenchmarkCheckConditional(b *testing.B) {
	w := conditionalWorkload()
	s, err := policy.Compile(w.State)
	if err != nil {
		b.Fatal(err)
	}
	var qs []workload.Query
	for _, q := range w.Records {
		d, _ := s.CheckRecord(q.User, q.Permission, q.Record)
		if n, _ := d.ConditionEvaluations(); n > 0 {
			qs = append(qs, q)
		}
	}
	if len(qs) < 100 {
		b.Fatalf("only %d conditional queries", len(qs))
	}
	b.ReportMetric(float64(len(qs)), "queries")
	b.ReportAllocs()
	b.ResetTimer()
	allowed := 0
	for i := 0; b.Loop(); i++ {
		q := &qs[i%len(qs)]
		d, err := s.CheckRecord(q.User, q.Permission, q.Record)
		if err != nil {
			b.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
}

// BenchmarkCompileConditional compiles crm-medium with 10% of grants
// conditional: the conditions compile once per role revision (G6).
func BenchmarkCompileConditional(b *testing.B) {
	w := conditionalWorkload()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.Compile(w.State); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileCondition compiles one condition: what a write pays per
// conditional grant (G1).
func BenchmarkCompileCondition(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.CompileCondition("record.amount <= 10000 && record.stage != 'closed'"); err != nil {
			b.Fatal(err)
		}
	}
}
