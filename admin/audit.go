package admin

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Audit returns a page of a workspace's audit log (X4), as who may read it
// (X3): the whole log needs settings_roles_view at all; below it, only the
// history of one member in who's span, asked for by target.
//
// The target filter takes a typed target ("role:sales") or a bare id
// ("sales"), which matches every kind of target with that id (X5).
func (s *Service) Audit(ctx context.Context, ws string, who Actor, f AuditFilter) ([]AuditEntry, error) {
	if _, err := s.space(ctx, ws); err != nil {
		return nil, err
	}
	a, err := s.Authority(ctx, ws, who)
	if err != nil {
		return nil, err
	}
	if err := a.Can(AreaReports); err != nil {
		if err := a.Can(AreaPeopleRead); err != nil {
			return nil, err
		}
		user, ok := strings.CutPrefix(f.Target, "member:")
		if !ok && strings.Contains(f.Target, ":") {
			user = "" // another kind of target: the whole log's
		}
		if user == "" {
			return nil, err
		}
		mb, merr := s.Member(ctx, ws, who, user)
		if merr != nil {
			return nil, merr
		}
		f.Target = "member:" + mb.UserID
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
	// Legacy counts the entries at the start of the chain written
	// without an audit key (a plain SHA-256 chain): whoever can write the
	// database could have rewritten them and recomputed their hashes.
	Legacy int64
	// KeyIDs are the audit keys the keyed entries are signed with.
	KeyIDs []string
	// Head is the newest entry. Recorded outside the database, it lets a
	// later verify detect a log cut short together with the workspace
	// (a restored backup), which nothing inside the database can.
	Head AuditHead
}

// VerifyAudit walks a workspace's audit chain from the first entry and
// checks that every entry's hash covers its fields and its predecessor's
// hash, that sequence numbers have no gap, and that the chain ends at the
// head stored with the workspace: an altered, removed, inserted or
// reordered entry anywhere is found (X4).
//
// Keyed entries (see auditkeys.go) are checked with the Service's audit
// keys: changing the database alone never produces one that verifies.
// Unkeyed (legacy) entries are accepted only before the first keyed one,
// and counted in Legacy. From the first keyed entry on, every revision
// has entries and the last is the workspace's revision: a write that
// committed without an entry, or entries removed at the end, show.
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
	var last AuditEntry // the newest entry read, as far as the chain holds
	// atHead is the entry the workspace records as its newest. Entries
	// after it were committed while the chain was read (a write, an expiry
	// or a review closing in the background): they are verified like the
	// others, and the stored head must lie on the chain.
	var atHead *AuditEntry
	keyed := false // a keyed entry was seen
	keys := map[string]bool{}
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
			case e.KeyID == "" && keyed:
				return fail(e.Seq, "entry %d is unkeyed but follows keyed entries: it was written without the audit key, or the chain was rewritten from it on", e.Seq)
			}
			problem, isKeyed := s.audit.checkEntry(e)
			if problem != "" {
				return fail(e.Seq, "%s", problem)
			}
			if isKeyed && keyed && e.Revision != last.Revision && e.Revision != last.Revision+1 {
				return fail(e.Seq, "entry %d is of revision %d, after entries of revision %d: revisions %d–%d have no audit entry",
					e.Seq, e.Revision, last.Revision, last.Revision+1, e.Revision-1)
			}
			if isKeyed {
				keyed = true
				keys[e.KeyID] = true
			} else {
				rep.Legacy++
			}
			prev, last = AuditHead{Seq: e.Seq, Hash: e.Hash}, *e
			if e.Seq == head.Seq {
				c := *e
				atHead = &c
			}
			rep.Entries++
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Seq
	}
	rep.KeyIDs = slices.Sorted(maps.Keys(keys))
	rep.Head = prev
	switch {
	case prev.Seq <= head.Seq && prev != head:
		return fail(prev.Seq, "the chain ends at entry %d but the workspace records entry %d as the newest: entries were removed", prev.Seq, head.Seq)
	case prev.Seq > head.Seq && head.Seq > 0 && (atHead == nil || atHead.Hash != head.Hash):
		return fail(head.Seq, "the workspace records entry %d as the newest, which is not on the chain: entries were replaced", head.Seq)
	}
	headRev := last.Revision
	switch {
	case atHead != nil:
		headRev = atHead.Revision
	case prev.Seq > head.Seq: // the workspace had no entry when loaded
		headRev = d.Workspace.Revision
	}
	if keyed && headRev != d.Workspace.Revision {
		return fail(head.Seq, "the audit log ends at revision %d but the workspace is at revision %d: entries were removed, or revisions committed without one", headRev, d.Workspace.Revision)
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

// targetKinds are the kinds of audit targets ("role:sales").
var targetKinds = []string{"department", "key", "member", "object", "role", "workspace"}

// TargetsOf returns the audit targets a target filter matches (X5): a
// typed target ("role:sales") matches itself, a bare id ("sales") that id
// under every kind, "" everything (nil). Stores call it.
func TargetsOf(filter string) []string {
	if filter == "" {
		return nil
	}
	if strings.Contains(filter, ":") {
		return []string{filter}
	}
	out := make([]string, len(targetKinds))
	for i, k := range targetKinds {
		out[i] = k + ":" + filter
	}
	return out
}
