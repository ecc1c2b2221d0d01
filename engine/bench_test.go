package engine_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// BenchmarkCheckManyWorkspaces: a check in a workspace of an engine
// holding 3,000, found in the index's base map or in its recent table
// (added since the last merge).
func BenchmarkCheckManyWorkspaces(b *testing.B) {
	e := engine.New(engine.Options{})
	s := snapshot(b, "w0", 1, policy.LevelAll)
	e.Publish(s)
	for i := 1; i < 3000; i++ {
		e.Publish(snapshot(b, fmt.Sprintf("w%d", i), 1, policy.LevelAll))
	}
	for _, ws := range []string{"w0", "w2999"} {
		b.Run(ws, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d, err := e.Check(ws, "rep", "deals_view", nil); err != nil || !d.Allowed {
					b.Fatal(d, err)
				}
			}
		})
	}
}

// BenchmarkCheckSpread: checks spread uniformly over the members of
// 100,000 workspaces of 10 (1M members, the scale harness's widest
// node, without its database), each on a workspace and member drawn at
// random, usage counted. Nearly every step of such a check misses the
// cache, so this measures how many dependent loads a check makes.
func BenchmarkCheckSpread(b *testing.B) {
	const workspaces, members = 100_000, 10
	e := engine.New(engine.Options{Usage: &sink{got: map[string]int64{}}})
	for w := range workspaces {
		st := policy.State{Workspace: fmt.Sprintf("ws-%d", w), Revision: 1, Catalog: policy.DefaultCatalog(),
			Roles: []policy.RoleRevision{{RoleID: "rep", Revision: 1, Audience: policy.Internal, Grants: policy.Grants{"deals_view": policy.LevelAll}}}}
		for m := range members {
			st.Members = append(st.Members, policy.Member{UserID: fmt.Sprintf("u-%d-%d", w, m), Kind: policy.Internal,
				Roles: []policy.RoleRef{{RoleID: "rep", Revision: 1}}})
		}
		s, err := policy.Compile(st)
		if err != nil {
			b.Fatal(err)
		}
		e.Publish(s)
	}
	// The ids of the checks packed in one string, as a request's are in
	// its buffer.
	rng := rand.New(rand.NewPCG(1, 2))
	type query struct{ ws, user string }
	var sb strings.Builder
	type at struct{ ws, user, end int }
	pos := make([]at, 1<<16)
	for i := range pos {
		w := rng.IntN(workspaces)
		pos[i].ws = sb.Len()
		fmt.Fprintf(&sb, "ws-%d", w)
		pos[i].user = sb.Len()
		fmt.Fprintf(&sb, "u-%d-%d", w, rng.IntN(members))
		pos[i].end = sb.Len()
	}
	ids := sb.String()
	qs := make([]query, len(pos))
	for i, p := range pos {
		qs[i] = query{ids[p.ws:p.user], ids[p.user:p.end]}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := &qs[i&(len(qs)-1)]
		if d, err := e.Check(q.ws, q.user, "deals_view", nil); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
		i++
	}
}
