package engine_test

import (
	"fmt"
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
