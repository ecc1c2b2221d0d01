package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	pos, err := decodeCursor(r, "audit")
	if err != nil {
		return err
	}
	var after int64
	if pos != "" {
		if after, err = strconv.ParseInt(pos, 10, 64); err != nil {
			return invalid("cursor", "the cursor is not one this list returned")
		}
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := admin.AuditFilter{Target: q.Get("target"), Actor: q.Get("actor"), After: after, Limit: limit + 1}
	if v := q.Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			return invalid("since", "since must be an RFC 3339 time such as 2026-11-24T09:00:00Z, not %q", excerpt(v))
		}
	}
	entries, err := s.cfg.Admin.Audit(r.Context(), c.ws, c.write.Actor, f)
	if err != nil {
		return err
	}
	out := page[auditJSON]{Items: make([]auditJSON, 0, min(limit, len(entries)))}
	for i, e := range entries {
		if i == limit {
			out.NextCursor = encodeCursor("audit", strconv.FormatInt(entries[i-1].Seq, 10))
			break
		}
		out.Items = append(out.Items, auditJSON{Seq: e.Seq, Time: e.Time, Revision: e.Revision, Actor: e.Actor, ActorName: e.ActorName, Action: e.Action,
			Target: e.Target, Before: rawOrNull(e.Before), After: rawOrNull(e.After), Reason: e.Reason, Hash: e.Hash, KeyID: e.KeyID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func rawOrNull(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

type auditReportJSON struct {
	OK       bool     `json:"ok"`
	Entries  int64    `json:"entries"`
	Problem  string   `json:"problem,omitempty"`
	Seq      int64    `json:"seq,omitempty"`
	Legacy   int64    `json:"legacy"`
	KeyIDs   []string `json:"key_ids"`
	HeadSeq  int64    `json:"head_seq"`
	HeadHash string   `json:"head_hash"`
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	rep, err := s.cfg.Admin.VerifyAudit(r.Context(), c.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditReportJSON{OK: rep.OK, Entries: rep.Entries, Problem: rep.Problem, Seq: rep.Seq,
		Legacy: rep.Legacy, KeyIDs: nonNil(rep.KeyIDs), HeadSeq: rep.Head.Seq, HeadHash: rep.Head.Hash})
	return nil
}

type usageJSON struct {
	Usage  []usageRowJSON  `json:"usage"`
	Unused []unusedRowJSON `json:"unused"`
	// UnusedDays is the window the unused list was computed for.
	UnusedDays int64 `json:"unused_days"`
}

type usageRowJSON struct {
	RoleID     string    `json:"role_id"`
	Permission string    `json:"permission"`
	Count      int64     `json:"count"`
	LastUsed   time.Time `json:"last_used"`
}

type unusedRowJSON struct {
	RoleID     string       `json:"role_id"`
	Permission string       `json:"permission"`
	Level      policy.Level `json:"level"`
	LastUsed   *time.Time   `json:"last_used"`
}

// usage answers the usage report (U1): counts per (role, permission) and
// the grants no allowed decision used within unused_days (30 by default).
func (s *Server) usage(w http.ResponseWriter, r *http.Request, c *call) error {
	days, err := intParam(r, "unused_days", 30, 3650)
	if err != nil {
		return err
	}
	us, err := s.cfg.Admin.Usage(r.Context(), c.ws)
	if err != nil {
		return err
	}
	unused, err := s.cfg.Admin.UnusedGrants(r.Context(), c.ws, int(days))
	if err != nil {
		return err
	}
	out := usageJSON{Usage: make([]usageRowJSON, 0, len(us)), Unused: make([]unusedRowJSON, 0, len(unused)), UnusedDays: days}
	for _, u := range us {
		out.Usage = append(out.Usage, usageRowJSON{RoleID: u.RoleID, Permission: u.Permission, Count: u.Count, LastUsed: u.LastUsed})
	}
	for _, u := range unused {
		row := unusedRowJSON{RoleID: u.RoleID, Permission: u.Permission, Level: u.Level}
		if !u.LastUsed.IsZero() {
			t := u.LastUsed
			row.LastUsed = &t
		}
		out.Unused = append(out.Unused, row)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) exportPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	data, err := s.cfg.Admin.ExportPolicy(r.Context(), c.ws)
	if err != nil {
		return err
	}
	w.Header().Add("Vary", "Accept")
	if negotiate(r.Header.Get("Accept"), "application/yaml", "application/json") == "application/json" {
		// The same file as a JSON object: generated clients of the API
		// read JSON, and PUT takes it back as it is (JSON is YAML).
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("export policy of %s as JSON: %w", c.ws, err)
		}
		writeJSON(w, http.StatusOK, doc)
		return nil
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	return nil
}

// importPolicy makes the workspace match a policy file (YAML body); the
// X4 reason comes from the Gatehouse-Reason header or ?reason=.
func (s *Server) importPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		return decodeError(err)
	}
	c.reason(r.URL.Query().Get("reason"))
	rev, err := s.cfg.Admin.ImportPolicy(r.Context(), c.ws, c.write, data)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}
