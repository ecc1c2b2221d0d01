package scale

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// auditEntry is an audit row as stored: times in Unix microseconds, JSON
// as text ("" for none).
type auditEntry struct {
	seq, time, revision                          int64
	actor, action, target, before, after, reason string
	prevHash, hash                               string
}

// auditColumns are the audit table's columns in auditEntry.row's order.
var auditColumns = []string{"workspace_id", "seq", "time", "revision", "actor", "action", "target", "before", "after", "reason", "prev_hash", "hash"}

func (e *auditEntry) row(ws string) []any {
	return []any{ws, e.seq, e.time, e.revision, e.actor, e.action, e.target, e.before, e.after, e.reason, e.prevHash, e.hash}
}

// readAudit returns a workspace's audit chain in order.
func readAudit(ctx context.Context, tx pgx.Tx, ws string) ([]auditEntry, error) {
	// A write's reason may be stored once, in audit_reasons (X4); the
	// clones get it inline in each entry, which reads the same.
	rows, err := tx.Query(ctx, `SELECT a.seq, a.time, a.revision, a.actor, a.action, a.target, a.before, a.after,
			CASE WHEN a.reason <> '' THEN a.reason ELSE COALESCE(r.reason, '') END, a.prev_hash, a.hash
		FROM audit a LEFT JOIN audit_reasons r ON r.workspace_id = a.workspace_id AND r.revision = a.revision
		WHERE a.workspace_id = $1 ORDER BY a.seq`, ws)
	if err != nil {
		return nil, fmt.Errorf("template audit: %w", err)
	}
	var out []auditEntry
	for rows.Next() {
		var e auditEntry
		if err := rows.Scan(&e.seq, &e.time, &e.revision, &e.actor, &e.action, &e.target, &e.before, &e.after, &e.reason, &e.prevHash, &e.hash); err != nil {
			rows.Close()
			return nil, fmt.Errorf("template audit: %w", err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("template audit: %w", err)
	}
	for i := range out {
		if h := hashEntry(&out[i]); h != out[i].hash {
			// The stored row does not round-trip through auditEntry:
			// clones would fail `gatehouse audit verify`.
			return nil, fmt.Errorf("template audit entry %d: hash %s, recomputed %s", out[i].seq, out[i].hash, h)
		}
	}
	return out, nil
}

// rechain returns the chain with every occurrence of the template's id in
// its texts replaced by ws, each entry re-hashed and linked to the new
// hash of the one before.
func rechain(chain []auditEntry, tmpl, ws string) []auditEntry {
	out := make([]auditEntry, len(chain))
	prev := ""
	for i, e := range chain {
		e.actor = strings.ReplaceAll(e.actor, tmpl, ws)
		e.target = strings.ReplaceAll(e.target, tmpl, ws)
		e.before = strings.ReplaceAll(e.before, tmpl, ws)
		e.after = strings.ReplaceAll(e.after, tmpl, ws)
		e.reason = strings.ReplaceAll(e.reason, tmpl, ws)
		e.prevHash = prev
		e.hash = hashEntry(&e)
		prev = e.hash
		out[i] = e
	}
	return out
}

// auditHead is the newest entry of a chain, as the workspace row records it.
func auditHead(chain []auditEntry) admin.AuditHead {
	if len(chain) == 0 {
		return admin.AuditHead{}
	}
	e := chain[len(chain)-1]
	return admin.AuditHead{Seq: e.seq, Hash: e.hash}
}

// hashEntry is admin's audit hash (X4) over a stored entry.
func hashEntry(e *auditEntry) string {
	t := time.Time{}
	if e.time != 0 {
		t = time.UnixMicro(e.time).UTC()
	}
	return admin.HashAuditEntry(&admin.AuditEntry{PrevHash: e.prevHash, Seq: e.seq, Time: t, Revision: e.revision,
		Actor: e.actor, Action: e.action, Target: e.target, Before: []byte(e.before), After: []byte(e.after), Reason: e.reason})
}
