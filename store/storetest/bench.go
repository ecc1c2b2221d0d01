package storetest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/workload"
)

// TeamRole is the role Populate gives the first TeamSize members on top of
// their own: an edit of it affects exactly that many members.
const (
	TeamRole = "team"
	TeamSize = 10_000
)

// Populate writes a workload into a new workspace of store through the
// admin operations (policy import, member imports of admin.MaxImport),
// as a real deployment would be filled, and returns the service, which
// publishes to an engine as the server's does.
func Populate(tb testing.TB, store admin.Store, w *workload.Workload) (*admin.Service, *engine.Engine) {
	tb.Helper()
	ctx := context.Background()
	eng := engine.New(engine.Options{})
	svc := admin.New(store, admin.Options{Catalog: w.State.Catalog, Publisher: eng})
	ws := w.State.Workspace
	if _, err := svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: ws, Name: w.Config.Name, Plan: admin.PlanProfessional}); err != nil {
		tb.Fatal(err)
	}
	f := admin.PolicyFile{Version: 1}
	for _, r := range w.State.Roles {
		f.Roles = append(f.Roles, admin.PolicyRole{ID: r.RoleID, Name: r.Name, Audience: r.Audience, Grants: policy.JoinGrants(r.Grants, r.When)})
	}
	f.Roles = append(f.Roles, admin.PolicyRole{ID: TeamRole, Name: "Team", Audience: policy.Internal, Grants: policy.GrantValues{}})
	for _, d := range w.State.Departments {
		f.Departments = append(f.Departments, admin.PolicyDept{ID: d.ID, Name: d.Name, Parent: d.ParentID})
	}
	if _, err := svc.ImportPolicy(ctx, ws, admin.Write{Reason: "benchmark"}, f.Marshal()); err != nil {
		tb.Fatal(err)
	}
	// The predefined roles of the plan stay; the workload's members hold
	// only its own roles.
	for start := 0; start < len(w.State.Members); start += admin.MaxImport {
		var batch []admin.MemberInput
		for i, m := range w.State.Members[start:min(start+admin.MaxImport, len(w.State.Members))] {
			in := admin.MemberInput{UserID: m.UserID, Name: "Member " + m.UserID, Kind: m.Kind, DepartmentIDs: m.DepartmentIDs}
			for _, r := range m.Roles {
				in.RoleIDs = append(in.RoleIDs, r.RoleID)
			}
			if start+i < TeamSize {
				in.RoleIDs = append(in.RoleIDs, TeamRole)
			}
			batch = append(batch, in)
		}
		if _, err := svc.ImportMembers(ctx, ws, admin.Write{}, batch); err != nil {
			tb.Fatal(err)
		}
	}
	return svc, eng
}

// collect is a Publisher keeping the last snapshot.
type collect struct{ last *policy.Snapshot }

func (c *collect) Publish(s *policy.Snapshot) { c.last = s }

// BenchLoad measures a restart: loading a populated workspace from the
// store into a model and a snapshot. It reports the heap the loaded
// workspace holds per member.
func BenchLoad(b *testing.B, store admin.Store, w *workload.Workload) {
	ctx := context.Background()
	var c collect
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		svc := admin.New(store, admin.Options{Catalog: w.State.Catalog, Publisher: &c})
		if err := svc.Open(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		// Twice: pooled driver buffers survive one collection (found by
		// internal/scale: one GC under-reported by ~20%).
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(svc)
		b.StartTimer()
	}
	if c.last == nil || c.last.NumMembers() != len(w.State.Members) {
		b.Fatalf("loaded %v members", c.last)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(w.State.Members)), "heap-B/member")
}

// BenchApplyEdit measures an applied edit of a role that TeamSize members
// hold, end to end: validation, epochs, commit, model merge and the
// snapshot published to the engine. Each edit flips one grant between own
// and all; the members whose other roles already give all keep their
// levels and epochs (A1), the others move.
func BenchApplyEdit(b *testing.B, svc *admin.Service, eng *engine.Engine, ws string, perm string) {
	ctx := context.Background()
	lv := []policy.Level{policy.LevelOwn, policy.LevelAll}
	i := 0
	for b.Loop() {
		i++
		_, _, err := svc.UpdateRole(ctx, ws, admin.Write{Reason: "benchmark"}, TeamRole, admin.RoleUpdate{Grants: policy.Grants{perm: lv[i%2]}})
		if err != nil {
			b.Fatal(err)
		}
	}
	r, err := svc.Role(ctx, ws, TeamRole)
	if err != nil {
		b.Fatal(err)
	}
	snap, _ := eng.Snapshot(ws)
	ms, _ := svc.Members(ctx, ws, admin.Actor{}, admin.MemberFilter{Role: TeamRole, Limit: 1000})
	if r.MemberCount != TeamSize || len(ms) == 0 || ms[0].Roles[len(ms[0].Roles)-1].Revision != r.Revision {
		b.Fatalf("the edit did not reach the %d members: %d members, revision %d", TeamSize, r.MemberCount, r.Revision)
	}
	ws2, _ := svc.Workspace(ctx, ws)
	if snap.Revision() != ws2.Revision {
		b.Fatalf("engine at revision %d, workspace at %d", snap.Revision(), ws2.Revision)
	}
	ch, _ := svc.Changes(ctx, ws, ws2.Revision-1, 1)
	b.ReportMetric(float64(len(ch[0].Epochs)), "epochs/op")
}

// BenchUpserts measures single-member upserts, each its own transaction,
// into workspace ws; it reports upserts per second.
func BenchUpserts(b *testing.B, svc *admin.Service, ws string, dept string) {
	ctx := context.Background()
	i := 0
	start := time.Now()
	for b.Loop() {
		i++
		in := admin.MemberInput{UserID: fmt.Sprintf("bench-%d-%d", start.UnixNano(), i), Name: "Bench", DepartmentIDs: []string{dept}}
		if _, _, err := svc.UpsertMember(ctx, ws, admin.Write{}, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "upserts/s")
}

// BenchExpire measures committing one expired assignment (T2) in
// workspace ws, end to end: the member is given TeamRole's neighbour,
// the employee role, until a millisecond ahead (not timed), then
// ExpireDue's write is timed: finding what expired, the commit by system
// with its audit entry and epoch move, and the snapshot compiled without
// it and swapped (an expiry compiles the workspace, as the node's own
// timer does when it masks the expired access).
func BenchExpire(b *testing.B, svc *admin.Service, eng *engine.Engine, ws, user string) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		if _, err := svc.AddRoleMembersUntil(ctx, ws, admin.Write{}, admin.RoleEmployee, []string{user}, time.Now().Add(time.Millisecond)); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		b.StartTimer()
		if _, err := svc.ExpireDue(ctx, ws); err != nil {
			b.Fatal(err)
		}
	}
	m, err := svc.Member(ctx, ws, admin.Actor{}, user)
	if err != nil || slices.ContainsFunc(m.Roles, func(a admin.Assignment) bool { return a.RoleID == admin.RoleEmployee }) {
		b.Fatalf("the expired role is still held: %+v %v", m.Roles, err)
	}
	if snap, _ := eng.Snapshot(ws); snap == nil {
		b.Fatal("no snapshot")
	}
}

// ImportBatch returns admin.MaxImport new members for workspace w, with
// ids unique to call n of the process (prefix tells benchmarks apart),
// each in one of the workload's departments and holding one or two of its
// internal roles, as a platform syncing its users sends them.
func ImportBatch(w *workload.Workload, prefix string, n int) []admin.MemberInput {
	var roles []string
	for _, r := range w.State.Roles {
		if r.Audience == policy.Internal {
			roles = append(roles, r.RoleID)
		}
	}
	in := make([]admin.MemberInput, admin.MaxImport)
	for i := range in {
		m := admin.MemberInput{
			UserID:        fmt.Sprintf("%s-%d-%d", prefix, n, i),
			Name:          fmt.Sprintf("Imported %d", i),
			DepartmentIDs: []string{w.State.Departments[i%len(w.State.Departments)].ID},
			RoleIDs:       []string{roles[i%len(roles)]},
		}
		if i%2 == 1 {
			m.RoleIDs = append(m.RoleIDs, roles[(i+1)%len(roles)])
		}
		in[i] = m
	}
	return in
}

// BenchImport measures importing admin.MaxImport new members per call
// through admin.Service.ImportMembers (validation, one commit, the
// snapshot published), into the workspace of w; it reports members per
// second. Every call adds 10,000 members to the workspace.
func BenchImport(b *testing.B, svc *admin.Service, w *workload.Workload) {
	ctx := context.Background()
	prefix := fmt.Sprintf("imp%d", time.Now().UnixNano())
	n := 0
	var spent time.Duration
	for b.Loop() {
		n++
		b.StopTimer()
		batch := ImportBatch(w, prefix, n)
		b.StartTimer()
		start := time.Now()
		if _, err := svc.ImportMembers(ctx, w.State.Workspace, admin.Write{Reason: "benchmark"}, batch); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
	}
	m, err := svc.Member(ctx, w.State.Workspace, admin.Actor{}, fmt.Sprintf("%s-%d-%d", prefix, n, admin.MaxImport-1))
	if err != nil || len(m.Roles) != 2 || len(m.DepartmentIDs) != 1 {
		b.Fatalf("the last imported member: %+v, %v", m, err)
	}
	b.ReportMetric(float64(n*admin.MaxImport)/spent.Seconds(), "members/s")
}
