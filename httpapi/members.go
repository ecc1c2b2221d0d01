package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.membersPage(w, r, c, r.URL.Query().Get("role"))
}

// membersPage answers a page of members (M7), by user id.
func (s *Server) membersPage(w http.ResponseWriter, r *http.Request, c *call, role string) error {
	after, err := decodeCursor(r, "members")
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ms, err := s.cfg.Admin.Members(r.Context(), c.ws, c.write.Actor, admin.MemberFilter{Role: role, Department: q.Get("department"),
		Query: q.Get("q"), After: after, Limit: limit + 1})
	if err != nil {
		return err
	}
	out := page[memberJSON]{Items: make([]memberJSON, 0, min(len(ms), limit))}
	for i, m := range ms {
		if i == limit {
			out.NextCursor = encodeCursor("members", ms[i-1].UserID)
			break
		}
		out.Items = append(out.Items, toMember(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type memberRequest struct {
	UserID        string          `json:"user_id"`
	Name          string          `json:"name"`
	Email         string          `json:"email"`
	Kind          policy.Audience `json:"kind"`
	DepartmentIDs []string        `json:"department_ids"`
	RoleIDs       []string        `json:"role_ids"`
	Owner         *bool           `json:"owner"`
}

func (in memberRequest) input() admin.MemberInput {
	return admin.MemberInput{UserID: in.UserID, Name: in.Name, Email: in.Email, Kind: in.Kind,
		DepartmentIDs: in.DepartmentIDs, RoleIDs: in.RoleIDs, Owner: in.Owner}
}

func (s *Server) putMember(w http.ResponseWriter, r *http.Request, c *call) error {
	var in memberRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	user := r.PathValue("user")
	if in.UserID != "" && in.UserID != user {
		return invalid("user_id", "user_id %q in the body differs from %q in the path", excerpt(in.UserID), excerpt(user))
	}
	in.UserID = user
	m, rev, err := s.cfg.Admin.UpsertMember(r.Context(), c.ws, c.write, in.input())
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, toMember(m), rev)
	return nil
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := s.cfg.Admin.Member(r.Context(), c.ws, c.write.Actor, r.PathValue("user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMember(m))
	return nil
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request, c *call) error {
	rev, err := s.cfg.Admin.RemoveMember(r.Context(), c.ws, c.write, r.PathValue("user"))
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}

type importRequest struct {
	Members []memberRequest `json:"members"`
}

// importBodyLimit admits 10,000 members with long names and a few roles
// and departments each; the 1 MiB limit of other requests would not.
const importBodyLimit = 16 << 20

func (s *Server) importMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	var in importRequest
	if err := decodeLimit(w, r, &in, importBodyLimit); err != nil {
		return err
	}
	if len(in.Members) == 0 {
		return invalid("members", "members must list at least one member")
	}
	if len(in.Members) > admin.MaxImport {
		return &policy.Error{Code: policy.CodeInvalidArgument,
			Message: "at most 10000 members per import; split the list into several calls",
			Details: map[string]any{"field": "members", "limit": admin.MaxImport, "got": len(in.Members)}}
	}
	inputs := make([]admin.MemberInput, len(in.Members))
	for i, m := range in.Members {
		if m.UserID == "" {
			f := fmt.Sprintf("members[%d].user_id", i)
			return invalid(f, "%s is required: every imported member needs its user id", f)
		}
		inputs[i] = m.input()
	}
	rev, err := s.cfg.Admin.ImportMembers(r.Context(), c.ws, c.write, inputs)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, map[string]int{"imported": len(inputs)}, rev)
	return nil
}

type memberRolesRequest struct {
	RoleIDs []string `json:"role_ids"`
	// ExpiresAt, when present, is when each role given expires (T1): a
	// role it does not name (or names with null) does not expire.
	ExpiresAt map[string]*time.Time `json:"expires_at"`
}

func (s *Server) setMemberRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	var in memberRolesRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.RoleIDs == nil {
		return invalid("role_ids", "role_ids is required")
	}
	var until map[string]time.Time
	if in.ExpiresAt != nil {
		until = make(map[string]time.Time, len(in.ExpiresAt))
		for id, t := range in.ExpiresAt {
			until[id] = derefTime(t)
		}
	}
	m, rev, err := s.cfg.Admin.SetMemberRolesUntil(r.Context(), c.ws, c.write, r.PathValue("user"), in.RoleIDs, until)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, toMember(m), rev)
	return nil
}

type memberGrantsRequest struct {
	Grants policy.GrantValues `json:"grants"`
	Reason string             `json:"reason"`
	// ExpiresAt is when the grants given expire (T1): one instant for
	// all, or {permission: instant}.
	ExpiresAt grantsExpiry `json:"expires_at"`
}

// grantsExpiry is expires_at of PUT …/grants: an RFC 3339 instant that
// every grant given expires at, or an object naming some grants' instants
// (null: no expiry). Absent, grants kept at the same level keep theirs.
type grantsExpiry struct {
	set  bool
	all  time.Time
	each map[string]*time.Time
}

func (g *grantsExpiry) UnmarshalJSON(b []byte) error {
	g.set = true
	switch {
	case string(b) == "null":
		g.set = false
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &g.all)
	default:
		return json.Unmarshal(b, &g.each)
	}
}

// of returns the expiry per grant for admin.SetDirectGrantsUntil.
func (g grantsExpiry) of(grants policy.Grants) map[string]time.Time {
	if !g.set {
		return nil
	}
	out := map[string]time.Time{}
	if g.each == nil {
		for k := range grants {
			out[k] = g.all
		}
		return out
	}
	for k, t := range g.each {
		out[k] = derefTime(t)
	}
	return out
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

type memberGrantsJSON struct {
	memberJSON
	// Redundant lists direct grants at or below what the roles give (M5).
	Redundant []string `json:"redundant"`
}

func (s *Server) setMemberGrants(w http.ResponseWriter, r *http.Request, c *call) error {
	var in memberGrantsRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Grants == nil {
		return invalid("grants", "grants is required ({} removes every direct grant)")
	}
	c.reason(in.Reason)
	grants, when := in.Grants.Split()
	m, redundant, rev, err := s.cfg.Admin.SetDirectGrantsWith(r.Context(), c.ws, c.write, r.PathValue("user"), grants, when, in.ExpiresAt.of(grants))
	if err != nil {
		return err
	}
	if redundant == nil {
		redundant = []string{}
	}
	writeWritten(w, http.StatusOK, memberGrantsJSON{memberJSON: toMember(m), Redundant: redundant}, rev)
	return nil
}

type permissionJSON struct {
	Permission string       `json:"permission"`
	Level      policy.Level `json:"level"`
	DecidedBy  string       `json:"decided_by"`
	// Sources lists every role and direct grant that gives a level above
	// none, with where it comes from (explicit or inherited, C6).
	Sources []sourceJSON `json:"sources"`
}

type sourceJSON struct {
	RoleID   string       `json:"role_id,omitempty"`
	Revision int64        `json:"revision,omitempty"`
	Direct   bool         `json:"direct,omitempty"`
	Level    policy.Level `json:"level"`
	Source   string       `json:"source"`
	From     string       `json:"from,omitempty"`
	// ExpiresAt is when this source stops being honoured (T1, T3).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Departments names the departments through which the member holds
	// the role (M9), when it does.
	Departments []string `json:"through_departments,omitempty"`
}

// holding is how a member holds one role: its own assignment, through
// departments (M9), and until when at the latest (T1; zero: no expiry).
type holding struct {
	depts   []string
	expires time.Time
}

// holdings returns how user holds each of its roles, by role id, and when
// its direct grants expire: what explain and effective permissions show
// of expiry and departments (T3, M9).
func (s *Server) holdings(r *http.Request, ws, user string) (map[string]holding, map[string]time.Time) {
	held, grants, err := s.cfg.Admin.HeldRoles(r.Context(), ws, user)
	if err != nil {
		return nil, nil
	}
	out := map[string]holding{}
	permanent := map[string]bool{}
	for _, h := range held {
		x := out[h.RoleID]
		if h.Department != "" {
			x.depts = append(x.depts, h.Department)
		}
		if h.ExpiresAt.IsZero() {
			permanent[h.RoleID] = true
		} else if h.ExpiresAt.After(x.expires) {
			x.expires = h.ExpiresAt
		}
		out[h.RoleID] = x
	}
	for id := range permanent {
		x := out[id]
		x.expires = time.Time{}
		out[id] = x
	}
	return out, grants
}

type permissionsJSON struct {
	UserID      string           `json:"user_id"`
	Revision    int64            `json:"revision"`
	Owner       bool             `json:"owner"`
	Permissions []permissionJSON `json:"permissions"`
	Redundant   []string         `json:"redundant_grants"`
}

// memberPermissions answers a member's effective levels with their
// sources (M3, M5, C6), from the snapshot decisions use.
func (s *Server) memberPermissions(w http.ResponseWriter, r *http.Request, c *call) error {
	user := r.PathValue("user")
	if _, err := s.cfg.Admin.Member(r.Context(), c.ws, c.write.Actor, user); err != nil {
		return err
	}
	snap, err := s.cfg.Engine.Snapshot(c.ws)
	if err != nil {
		return err
	}
	if !snap.HasMember(user) {
		return &policy.Error{Code: policy.CodeNotFound, Message: "no member " + quote(user) + " in this workspace",
			Details: map[string]any{"user_id": user}}
	}
	out := permissionsJSON{UserID: user, Revision: snap.Revision(), Permissions: []permissionJSON{}, Redundant: snap.Redundant(user)}
	if out.Redundant == nil {
		out.Redundant = []string{}
	}
	hold, grantExp := s.holdings(r, c.ws, user)
	perms, _ := snap.EffectivePermissions(user)
	for _, ep := range perms {
		out.Owner = ep.Owner
		pj := permissionJSON{Permission: ep.Permission, Level: ep.Level, DecidedBy: ep.DecidedBy, Sources: []sourceJSON{}}
		for _, rt := range ep.Roles {
			h := hold[rt.RoleID]
			pj.Sources = append(pj.Sources, sourceJSON{RoleID: rt.RoleID, Revision: rt.Revision, Level: rt.Level, Source: rt.Source, From: rt.From,
				ExpiresAt: timeOrNil(h.expires), Departments: h.depts})
		}
		if d := ep.Direct; d != nil {
			pj.Sources = append(pj.Sources, sourceJSON{Direct: true, Level: d.Level, Source: "direct", From: d.From, ExpiresAt: timeOrNil(grantExp[d.From])})
		}
		out.Permissions = append(out.Permissions, pj)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
