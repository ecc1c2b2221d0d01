package policy_test

import (
	"runtime"
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
