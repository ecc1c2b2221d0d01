package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/session"
)

// subjectRequest names whom a decision is about: a user id, or a session
// token (A2) that carries one. Requests spell the two fields out rather
// than embed this type, so that decoding errors name "user", not a Go
// type's path.
type subjectRequest struct {
	User, Session string
}

type checkRequest struct {
	User        string           `json:"user"`
	Session     string           `json:"session"`
	Permission  string           `json:"permission"`
	Resource    *policy.Resource `json:"resource"`
	Context     policy.Context   `json:"context"` // what grant conditions read as request (G1)
	MinRevision int64            `json:"min_revision"`
}

type checkJSON struct {
	Allowed  bool          `json:"allowed"`
	Level    policy.Level  `json:"level"`
	Reason   policy.Reason `json:"reason"`
	Revision int64         `json:"revision"`
	// Conditional is set when only conditional grants allow (G3).
	Conditional bool `json:"conditional,omitempty"`
}

func toCheck(d policy.Decision) checkJSON {
	return checkJSON{Allowed: d.Allowed, Level: d.Level, Reason: d.Reason, Revision: d.Revision, Conditional: d.Conditional}
}

// snapshot returns the workspace's snapshot, at min_revision or later
// when one is asked for (D8).
func (s *Server) snapshot(ctx context.Context, ws string, min int64) (*policy.Snapshot, error) {
	if min < 0 {
		return nil, invalid("min_revision", "min_revision must not be negative")
	}
	if min > 0 {
		return s.cfg.Engine.WaitFor(ctx, ws, min)
	}
	return s.cfg.Engine.Snapshot(ws)
}

var errReauth = &policy.Error{Code: policy.CodeReauthenticationRequired,
	Message: "the member's permissions changed after this session was issued; sign in again for a new session"}

// subject resolves the user a decision is about. A session must be of
// this workspace and of the member's current epoch (A2): Gatehouse never
// decides on permissions older than the member's.
func (s *Server) subject(snap *policy.Snapshot, ws string, in subjectRequest) (string, error) {
	if in.Session == "" {
		if in.User == "" {
			return "", invalid("user", "user (or session) is required")
		}
		return in.User, nil
	}
	if s.cfg.Sessions == nil {
		return "", policy.Errorf(policy.CodeUnauthenticated, "sessions are not enabled on this server")
	}
	cl, err := s.cfg.Sessions.Verify(in.Session, s.now())
	if err != nil || cl.Workspace != ws {
		return "", &policy.Error{Code: policy.CodeUnauthenticated, Message: session.ErrInvalid.Error()}
	}
	if in.User != "" && in.User != cl.User {
		return "", invalid("user", "user %q differs from the session's user", in.User)
	}
	epoch, ok := snap.Epoch(cl.User)
	if !ok || epoch > cl.Epoch {
		return "", errReauth
	}
	return cl.User, nil
}

func (s *Server) check(w http.ResponseWriter, r *http.Request, c *call) error {
	var in checkRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	snap, err := s.snapshot(r.Context(), c.ws, in.MinRevision)
	if err != nil {
		return err
	}
	d, err := s.decide(snap, c.ws, &in)
	if err != nil {
		return err
	}
	s.metrics.decisions(d.Allowed, 1)
	writeJSON(w, http.StatusOK, toCheck(d))
	return nil
}

// question resolves what a filter or explain is asked on: the snapshot
// (at min_revision, D8), the user (or session, A2), and a permission.
func (s *Server) question(ctx context.Context, ws string, minRevision int64, who subjectRequest, permission string) (*policy.Snapshot, string, error) {
	snap, err := s.snapshot(ctx, ws, minRevision)
	if err != nil {
		return nil, "", err
	}
	user, err := s.subject(snap, ws, who)
	if err != nil {
		return nil, "", err
	}
	if permission == "" {
		return nil, "", invalid("permission", "permission is required, e.g. contacts_view")
	}
	return snap, user, nil
}

// decide answers one check on snap; the engine counts it for usage (U1),
// the caller for metrics.
func (s *Server) decide(snap *policy.Snapshot, ws string, in *checkRequest) (policy.Decision, error) {
	user, err := s.subject(snap, ws, subjectRequest{User: in.User, Session: in.Session})
	if err != nil {
		return policy.Decision{}, err
	}
	if in.Permission == "" {
		return policy.Decision{}, invalid("permission", "permission is required, e.g. contacts_view")
	}
	d, err := s.cfg.Engine.CheckInContext(snap, user, in.Permission, in.Resource, in.Context)
	s.metrics.conditions(d.ConditionEvaluations())
	return d, err
}

// MaxBatch is the most checks one batch takes (D4).
const MaxBatch = 1000

type batchRequest struct {
	Checks      []batchCheck `json:"checks"`
	MinRevision int64        `json:"min_revision"`
}

// batchCheck is one check of a batch: a check with the caller's
// correlation id, echoed in its result so that a caller need not rely on
// positions alone.
type batchCheck struct {
	CorrelationID string `json:"correlation_id"`
	checkRequest
}

// maxCorrelationID bounds a correlation id: it is echoed, not stored.
const maxCorrelationID = 200

type batchItemJSON struct {
	CorrelationID string `json:"correlation_id,omitempty"`
	checkJSON
	Error *errorJSON `json:"error,omitempty"`
}

type batchJSON struct {
	Results  []batchItemJSON `json:"results"`
	Revision int64           `json:"revision"`
}

// checkBatch decides up to MaxBatch checks at one revision, results in
// order (D4). A check that cannot be decided (an unknown permission, a
// stale session) carries its error in its place; the others are decided.
func (s *Server) checkBatch(w http.ResponseWriter, r *http.Request, c *call) error {
	var in batchRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Checks == nil {
		return invalid("checks", "checks is required: a list of up to %d checks", MaxBatch)
	}
	if len(in.Checks) > MaxBatch {
		return &policy.Error{Code: policy.CodeInvalidArgument,
			Message: "a batch takes at most 1000 checks; split it",
			Details: map[string]any{"field": "checks", "limit": MaxBatch, "got": len(in.Checks)}}
	}
	snap, err := s.snapshot(r.Context(), c.ws, in.MinRevision)
	if err != nil {
		return err
	}
	out := batchJSON{Results: make([]batchItemJSON, len(in.Checks)), Revision: snap.Revision()}
	var allowed, denied int
	defer func() { s.metrics.decisions(true, allowed); s.metrics.decisions(false, denied) }()
	for i := range in.Checks {
		if in.Checks[i].MinRevision != 0 {
			return invalid("checks", "min_revision belongs to the batch, not to check %d", i)
		}
		if utf8.RuneCountInString(in.Checks[i].CorrelationID) > maxCorrelationID {
			return invalid(fmt.Sprintf("checks[%d].correlation_id", i), "a correlation_id is at most %d characters", maxCorrelationID)
		}
		out.Results[i].CorrelationID = in.Checks[i].CorrelationID
		d, err := s.decide(snap, c.ws, &in.Checks[i].checkRequest)
		if err != nil {
			pe, ok := err.(*policy.Error)
			if !ok {
				return err
			}
			// Not decided: denied, with the error's code as its reason
			// so that a client switching on reason sees why.
			out.Results[i].Error = &errorJSON{Code: pe.Code, Message: pe.Message, Details: pe.Details}
			out.Results[i].Reason = policy.Reason(pe.Code)
			out.Results[i].Revision = snap.Revision()
			continue
		}
		if d.Allowed {
			allowed++
		} else {
			denied++
		}
		out.Results[i].checkJSON = toCheck(d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type filterRequest struct {
	User        string         `json:"user"`
	Session     string         `json:"session"`
	Permission  string         `json:"permission"`
	Context     policy.Context `json:"context"` // request values for grant conditions (G4)
	MinRevision int64          `json:"min_revision"`
}

// filterJSON is policy.Plan with every list present, so that a host can
// build its WHERE clause without nil checks (D5).
type filterJSON struct {
	Kind               policy.PlanKind `json:"kind"`
	OwnerIDs           []string        `json:"owner_ids"`
	DepartmentIDs      []string        `json:"department_ids"`
	DepartmentOwnerIDs []string        `json:"department_owner_ids"`
	RelationUser       string          `json:"relation_user,omitempty"`
	Relations          []string        `json:"relations"`
	Level              policy.Level    `json:"level"`
	Revision           int64           `json:"revision"`
	// Conditions are the conditional grants (G4): scope AND condition tree.
	Conditions []policy.PlanCondition `json:"conditions,omitempty"`
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func (s *Server) filter(w http.ResponseWriter, r *http.Request, c *call) error {
	var in filterRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	snap, user, err := s.question(r.Context(), c.ws, in.MinRevision, subjectRequest{User: in.User, Session: in.Session}, in.Permission)
	if err != nil {
		return err
	}
	p, err := snap.FilterContext(user, in.Permission, in.Context)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, filterJSON{Kind: p.Kind, OwnerIDs: nonNil(p.OwnerIDs), DepartmentIDs: nonNil(p.DepartmentIDs),
		DepartmentOwnerIDs: nonNil(p.DepartmentOwnerIDs), RelationUser: p.RelationUser, Relations: nonNil(p.Relations),
		Level: p.Level, Revision: p.Revision, Conditions: p.Conditions})
	return nil
}

type explainRequest struct {
	User        string           `json:"user"`
	Session     string           `json:"session"`
	Permission  string           `json:"permission"`
	Resource    *policy.Resource `json:"resource"`
	Context     policy.Context   `json:"context"`
	MinRevision int64            `json:"min_revision"`
}

type explainJSON struct {
	*policy.Explanation
	// MemberOf names the workspaces where a user who is not a member here
	// is one (D3). Only the deployment admin key sees it: to a workspace's
	// own keys other workspaces do not exist (W1).
	MemberOf []string `json:"member_of,omitempty"`
	// RoleExpiresAt and GrantExpiresAt say until when the member's roles
	// (by role id) and direct grants (by permission) that expire are
	// honoured (T1, T3).
	RoleExpiresAt  map[string]time.Time `json:"role_expires_at,omitempty"`
	GrantExpiresAt map[string]time.Time `json:"grant_expires_at,omitempty"`
	// RoleDepartments names, by role id, the departments through which
	// the member holds a role (M9).
	RoleDepartments map[string][]string `json:"role_departments,omitempty"`
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request, c *call) error {
	var in explainRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	snap, user, err := s.question(r.Context(), c.ws, in.MinRevision, subjectRequest{User: in.User, Session: in.Session}, in.Permission)
	if err != nil {
		return err
	}
	if c.write.Actor.UserID != "" && snap.HasMember(user) {
		if _, err := s.cfg.Admin.Member(r.Context(), c.ws, c.write.Actor, user); err != nil {
			return err
		}
	}
	ex, err := snap.ExplainContext(user, in.Permission, in.Resource, in.Context)
	if err != nil {
		return err
	}
	out := explainJSON{Explanation: ex}
	if ex.Member {
		hold, grants := s.holdings(r, c.ws, user)
		out.GrantExpiresAt = grants
		for id, h := range hold {
			if !h.expires.IsZero() {
				if out.RoleExpiresAt == nil {
					out.RoleExpiresAt = map[string]time.Time{}
				}
				out.RoleExpiresAt[id] = h.expires
			}
			if len(h.depts) > 0 {
				if out.RoleDepartments == nil {
					out.RoleDepartments = map[string][]string{}
				}
				out.RoleDepartments[id] = h.depts
			}
		}
	}
	if !ex.Member && c.deployed {
		for _, ws := range s.cfg.Engine.Workspaces() {
			if o, err := s.cfg.Engine.Snapshot(ws); err == nil && o.HasMember(user) {
				out.MemberOf = append(out.MemberOf, ws)
			}
		}
		slices.Sort(out.MemberOf)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type whoCanItemJSON struct {
	UserID string       `json:"user_id"`
	Level  policy.Level `json:"level"`
}

type whoCanJSON struct {
	page[whoCanItemJSON]
	Revision int64 `json:"revision"`
}

// whoCan lists the members whose level of a permission is at least level
// (D7; own by default: anyone who has it at all), by user id.
func (s *Server) whoCan(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	perm := q.Get("permission")
	if perm == "" {
		return invalid("permission", "query parameter permission is required")
	}
	min := policy.LevelOwn
	if v := q.Get("level"); v != "" {
		var err error
		if min, err = policy.ParseLevel(v); err != nil {
			return err
		}
	}
	after, err := decodeCursor(r, "who-can")
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	rev, err := intParam(r, "min_revision", 0, 1<<62)
	if err != nil {
		return err
	}
	snap, err := s.snapshot(r.Context(), c.ws, rev)
	if err != nil {
		return err
	}
	users, err := snap.WhoCan(perm, min)
	if err != nil {
		return err
	}
	if users, err = s.cfg.Admin.Visible(r.Context(), c.ws, c.write.Actor, users); err != nil {
		return err
	}
	slices.Sort(users)
	start, _ := slices.BinarySearch(users, after)
	if after != "" && start < len(users) && users[start] == after {
		start++
	}
	out := whoCanJSON{page: page[whoCanItemJSON]{Items: []whoCanItemJSON{}}, Revision: snap.Revision()}
	for i := start; i < len(users); i++ {
		if len(out.Items) == limit {
			out.NextCursor = encodeCursor("who-can", users[i-1])
			break
		}
		d, _ := snap.Check(users[i], perm)
		out.Items = append(out.Items, whoCanItemJSON{UserID: users[i], Level: d.Level})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type sessionRequest struct {
	User       string `json:"user"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

type sessionJSON struct {
	Token     string    `json:"token"`
	User      string    `json:"user"`
	Epoch     int64     `json:"epoch"`
	ExpiresAt time.Time `json:"expires_at"`
	Revision  int64     `json:"revision"`
}

// maxSessionTTL bounds a session's lifetime.
const maxSessionTTL = session.MaxTTL

// createSession issues a session token bound to the member's current
// epoch (A2).
func (s *Server) createSession(w http.ResponseWriter, r *http.Request, c *call) error {
	var in sessionRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if s.cfg.Sessions == nil {
		return policy.Errorf(policy.CodeUnavailable, "sessions are not enabled on this server")
	}
	if in.User == "" {
		return invalid("user", "user is required")
	}
	ttl := s.cfg.SessionTTL
	if in.TTLSeconds != 0 {
		// Bounded before it is turned into a Duration: seconds beyond
		// 9223372036 overflow int64 nanoseconds, wrapping to a lifetime
		// in the past (A2).
		if in.TTLSeconds < 1 || in.TTLSeconds > int64(maxSessionTTL/time.Second) {
			return invalid("ttl_seconds", "ttl_seconds must be from 1 to %d", int64(maxSessionTTL/time.Second))
		}
		ttl = time.Duration(in.TTLSeconds) * time.Second
	}
	snap, err := s.cfg.Engine.Snapshot(c.ws)
	if err != nil {
		return err
	}
	epoch, ok := snap.Epoch(in.User)
	if !ok {
		return &policy.Error{Code: policy.CodeNotFound, Message: "no member " + quote(in.User) + " in this workspace",
			Details: map[string]any{"user_id": in.User}}
	}
	exp := s.now().Add(ttl).UTC().Truncate(time.Second)
	tok := s.cfg.Sessions.Sign(session.Claims{Workspace: c.ws, User: in.User, Epoch: epoch, Expires: exp}, s.now())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, sessionJSON{Token: tok, User: in.User, Epoch: epoch, ExpiresAt: exp, Revision: snap.Revision()})
	return nil
}
