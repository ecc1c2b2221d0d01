package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// staleLoad is a store whose Load answers what the workspace was before
// the writes that follow it: a verify whose Load ran just before a write
// committed (a member's edit, an expiry committed by system, a review
// closed at its deadline) and whose reads of the chain ran after.
type staleLoad struct {
	admin.Store
	d admin.Dataset
}

func (s staleLoad) Load(context.Context, string) (*admin.Dataset, error) {
	d := s.d
	return &d, nil
}

// testX4VerifyWhileWritesCommit: entries committed while a verify reads
// the chain are verified like the others and are not tampering (X4): the
// stored head lies on the chain. Tampering found before still is: a
// stored head that is not on the chain, and a chain cut short of it.
func testX4VerifyWhileWritesCommit(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.workspace("w", admin.PlanProfessional)
	e.role("w", "R0", policy.Internal, nil)
	loaded, err := e.store.Load(e.ctx, "w")
	must(t, err)
	before := *loaded
	for i := 1; i <= 3; i++ { // committed after the Load, before the chain is read
		e.role("w", fmt.Sprintf("R%d", i), policy.Internal, nil)
	}
	verify := func(d admin.Dataset) admin.AuditReport {
		t.Helper()
		svc := admin.New(staleLoad{Store: e.store, d: d}, admin.Options{Now: e.clock.now, AuditKeys: e.keys})
		rep, err := svc.VerifyAudit(e.ctx, "w")
		must(t, err)
		return rep
	}
	if rep := verify(before); !rep.OK {
		t.Fatalf("writes committed during a verify reported as tampering: %+v", rep)
	}

	// A head that is not on the chain (its hash replaced) is still found.
	forged := before
	forged.AuditHead.Hash = "0000" + forged.AuditHead.Hash[4:]
	if rep := verify(forged); rep.OK {
		t.Error("a stored head that is not on the chain verified")
	}
	// And a chain that ends before the stored head.
	now, err := e.store.Load(e.ctx, "w")
	must(t, err)
	ahead := *now
	ahead.AuditHead.Seq++
	if rep := verify(ahead); rep.OK {
		t.Error("a chain ending before the stored head verified")
	}
}
