package admin

import (
	"context"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Audit returns a page of a workspace's audit log (X4).
func (s *Service) Audit(ctx context.Context, ws string, f AuditFilter) ([]AuditEntry, error) {
	if _, err := s.space(ctx, ws); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return s.store.Audit(ctx, ws, f)
}

// AuditReport is the result of verifying an audit chain.
type AuditReport struct {
	Entries int64
	OK      bool
	// Problem says what is wrong, and Seq where, when OK is false.
	Problem string
	Seq     int64
}

// VerifyAudit walks a workspace's audit chain from the first entry and
// checks that every entry's hash covers its fields and its predecessor's
// hash, that sequence numbers have no gap, and that the chain ends at the
// head stored with the workspace: an altered, removed, inserted or
// reordered entry anywhere is found (X4).
func (s *Service) VerifyAudit(ctx context.Context, ws string) (AuditReport, error) {
	// The stored head, not the cached one: the database is what is verified.
	d, err := s.store.Load(ctx, ws)
	if err != nil {
		return AuditReport{}, err
	}
	head := d.AuditHead
	rep := AuditReport{OK: true}
	fail := func(seq int64, format string, args ...any) (AuditReport, error) {
		rep.OK, rep.Seq, rep.Problem = false, seq, fmt.Sprintf(format, args...)
		return rep, nil
	}
	prev := AuditHead{}
	for after := int64(0); ; {
		page, err := s.store.Audit(ctx, ws, AuditFilter{After: after, Limit: 1000})
		if err != nil {
			return AuditReport{}, err
		}
		for i := range page {
			e := &page[i]
			switch {
			case e.Seq != prev.Seq+1:
				return fail(e.Seq, "entry %d follows entry %d: entries are missing or out of order", e.Seq, prev.Seq)
			case e.PrevHash != prev.Hash:
				return fail(e.Seq, "entry %d does not link to entry %d's hash", e.Seq, prev.Seq)
			case hashEntry(e) != e.Hash:
				return fail(e.Seq, "entry %d was altered: its hash does not match its contents", e.Seq)
			}
			prev = AuditHead{Seq: e.Seq, Hash: e.Hash}
			rep.Entries++
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Seq
	}
	if prev != head {
		return fail(prev.Seq, "the chain ends at entry %d but the workspace records entry %d as the newest: entries were removed", prev.Seq, head.Seq)
	}
	return rep, nil
}

// Changes returns the changelog after a revision (A3).
func (s *Service) Changes(ctx context.Context, ws string, after int64, limit int) ([]Change, error) {
	if _, err := s.space(ctx, ws); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	if after < 0 {
		return nil, policy.Errorf(policy.CodeInvalidArgument, "after must not be negative")
	}
	return s.store.Changes(ctx, ws, after, limit)
}
