package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// This file is Gatehouse as an OpenID AuthZEN Authorization API 1.0 policy
// decision point (Z1, Z2): the evaluation and evaluations endpoints. Every
// decision is check's (Engine.CheckIn): AuthZEN is another way to ask, not
// another way to decide. Search is in authzen_search.go, the metadata
// document in authzen_meta.go.
//
// The specification's transport rules that differ from the rest of the
// API: unknown fields are ignored (forward compatibility, §12.1.1), errors
// are a message string (§12.1.2; here text/plain, with the Gatehouse code
// in the Gatehouse-Error-Code header), and X-Request-ID is echoed.

// azEntity is an AuthZEN subject or resource (§5.1, §5.2).
type azEntity struct {
	Type       string         `json:"type"`
	ID         string         `json:"id,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// azAction is an AuthZEN action (§5.3).
type azAction struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// azEvaluation is one access evaluation request (§6.1); in an evaluations
// request, each key it omits takes the top-level value (§7.1.1).
type azEvaluation struct {
	Subject  *azEntity      `json:"subject"`
	Action   *azAction      `json:"action"`
	Resource *azEntity      `json:"resource"`
	Context  map[string]any `json:"context"`
}

// azRequest is the body of every AuthZEN endpoint: an evaluation, an
// evaluations request, or a search (§7.1, §8).
type azRequest struct {
	azEvaluation
	Evaluations []azEvaluation `json:"evaluations"`
	Options     map[string]any `json:"options"`
	Page        *azPageRequest `json:"page"`
}

// azDecision is an AuthZEN decision (§5.5).
type azDecision struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// decodeAuthZEN reads an AuthZEN body: a JSON object of at most MaxBody
// bytes, valid UTF-8, whose unknown fields are ignored as §12.1.1
// requires. Duplicate keys are refused like everywhere else, so that a
// proxy and Gatehouse cannot read one body two ways.
func decodeAuthZEN(w http.ResponseWriter, r *http.Request, dst *azRequest) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return policy.Errorf(policy.CodePayloadTooLarge, "the body is larger than %d bytes", MaxBody)
		}
		return policy.Errorf(policy.CodeInvalidArgument, "cannot read the body: %v", err)
	}
	if !utf8.Valid(body) {
		return policy.Errorf(policy.CodeInvalidArgument, "the body is not valid UTF-8")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return policy.Errorf(policy.CodeInvalidArgument, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return policy.Errorf(policy.CodeInvalidArgument, "the body is not a valid request: %s", excerpt(err.Error()))
	}
	if dec.More() {
		return policy.Errorf(policy.CodeInvalidArgument, "the body holds more than one JSON value")
	}
	// A key twice, or a field spelled in another case, is refused as for
	// every body (W1): unknown fields are ignored, ambiguous ones are not.
	return strictKeysIgnoringUnknown(body, reflect.TypeOf(*dst))
}

// azQuestion is one AuthZEN evaluation mapped to a check (Z2).
type azQuestion struct {
	user, permission string
	record           *policy.Resource
}

// question maps an evaluation to check's terms: subject.id is the user id;
// the action is a permission key, or <resource.type>_<action.name>, or a
// workspace action alias; resource.properties carry owner_id (or ownerID,
// a user id or a member's email), department_id (or departmentID) and
// relations, and any other property is a record attribute for grant
// conditions (G1), with the evaluation context as their request. A
// resource without properties asks D1's question (may the
// member do this at all), as a check without a record does. A permission
// that maps to nothing is returned as the error to put in the decision's
// context: it denies, never silently.
func (s *Server) azQuestion(snap *policy.Snapshot, e *azEvaluation) (azQuestion, error) {
	q := azQuestion{user: e.Subject.ID}
	perm, err := azPermission(snap, e.Action.Name, e.Resource.Type)
	if err != nil {
		return q, err
	}
	q.permission = perm
	q.record, err = azRecord(snap, e.Resource.Properties)
	return q, err
}

// azPermission resolves an action name (Z2).
func azPermission(snap *policy.Snapshot, action, resourceType string) (string, error) {
	cat := snap.Catalog()
	if _, ok := cat.Lookup(action); ok {
		return action, nil
	}
	if resourceType != "" {
		if key := resourceType + "_" + action; validKey(cat, key) {
			return key, nil
		}
	}
	if key, ok := snap.Alias(action); ok {
		return key, nil
	}
	_, err := cat.PermissionByKey(action)
	return "", err
}

func validKey(cat *policy.Catalog, key string) bool {
	_, ok := cat.Lookup(key)
	return ok
}

// azRecord builds the record of D2 from resource properties, or nil.
func azRecord(snap *policy.Snapshot, props map[string]any) (*policy.Resource, error) {
	var rec policy.Resource
	found := false
	str := func(keys ...string) (string, error) {
		for _, k := range keys {
			v, ok := props[k]
			if !ok || v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok {
				return "", policy.Errorf(policy.CodeInvalidArgument, "resource.properties.%s must be a string", k)
			}
			found = true
			return s, nil
		}
		return "", nil
	}
	var err error
	if rec.OwnerID, err = str("owner_id", "ownerID"); err != nil {
		return nil, err
	}
	if rec.DepartmentID, err = str("department_id", "departmentID"); err != nil {
		return nil, err
	}
	if rel, ok := props["relations"]; ok && rel != nil {
		b, _ := json.Marshal(rel)
		if err := json.Unmarshal(b, &rec.Relations); err != nil {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "resource.properties.relations must map creator, responsible, participant and observer to lists of user ids")
		}
		found = true
	}
	// Every other property is an attribute of the record, which grant
	// conditions read as record.<name> (Z2, G1).
	for k, v := range props {
		switch k {
		case "owner_id", "ownerID", "department_id", "departmentID", "relations":
			continue
		}
		if v == nil {
			continue
		}
		if rec.Attributes == nil {
			rec.Attributes = map[string]any{}
		}
		rec.Attributes[k] = v
		found = true
	}
	if !found {
		return nil, nil
	}
	if rec.OwnerID != "" && !snap.HasMember(rec.OwnerID) {
		if u, ok := snap.MemberByEmail(rec.OwnerID); ok {
			rec.OwnerID = u
		}
	}
	return &rec, nil
}

// merged returns evaluation e with the request's top-level values for the
// keys it omits (§7.1.1), or invalid_argument naming what is missing.
func (in *azRequest) merged(e azEvaluation, i int) (azEvaluation, error) {
	if e.Subject == nil {
		e.Subject = in.Subject
	}
	if e.Action == nil {
		e.Action = in.Action
	}
	if e.Resource == nil {
		e.Resource = in.Resource
	}
	if e.Context == nil {
		e.Context = in.Context
	}
	where := ""
	if i >= 0 {
		where = fmt.Sprintf("evaluations[%d]: ", i)
	}
	switch {
	case e.Subject == nil || e.Subject.Type == "" || e.Subject.ID == "":
		return e, policy.Errorf(policy.CodeInvalidArgument, "%ssubject with type and id is required", where)
	case e.Action == nil || e.Action.Name == "":
		return e, policy.Errorf(policy.CodeInvalidArgument, "%saction with a name is required", where)
	case e.Resource == nil || e.Resource.Type == "" || e.Resource.ID == "":
		return e, policy.Errorf(policy.CodeInvalidArgument, "%sresource with type and id is required", where)
	}
	return e, nil
}

// minRevision reads context.min_revision (D8), 0 when absent.
func minRevision(ctx map[string]any) (int64, error) {
	v, ok := ctx["min_revision"]
	if !ok || v == nil {
		return 0, nil
	}
	f, ok := v.(float64)
	if !ok || f < 0 || f != float64(int64(f)) {
		return 0, policy.Errorf(policy.CodeInvalidArgument, "context.min_revision must be a non-negative integer")
	}
	return int64(f), nil
}

// azDecide answers one merged evaluation on snap. A question that cannot
// be decided is a deny carrying its error in the context (§7.2.1).
func (s *Server) azDecide(snap *policy.Snapshot, e *azEvaluation) azDecision {
	q, err := s.azQuestion(snap, e)
	if err == nil {
		var d policy.Decision
		if d, err = s.cfg.Engine.CheckInContext(snap, q.user, q.permission, q.record, e.Context); err == nil {
			s.metrics.decisions(d.Allowed, 1)
			s.metrics.conditions(d.ConditionEvaluations())
			out := azDecision{Decision: d.Allowed, Context: map[string]any{"reason": d.Reason, "level": d.Level,
				"permission": q.permission, "revision": d.Revision}}
			if d.Conditional {
				out.Context["conditional"] = true // G3
			}
			return out
		}
	}
	var pe *policy.Error
	if !errors.As(err, &pe) {
		pe = &policy.Error{Code: policy.CodeInternal, Message: "internal error"}
	}
	e2 := map[string]any{"status": status(pe.Code), "code": pe.Code, "message": pe.Message}
	if sug, ok := pe.Details["suggestions"]; ok {
		e2["suggestions"] = sug
	}
	return azDecision{Decision: false, Context: map[string]any{"reason": string(pe.Code), "error": e2, "revision": snap.Revision()}}
}

// azEvaluate answers POST …/access/v1/evaluation (§6).
func (s *Server) azEvaluate(w http.ResponseWriter, r *http.Request, c *call) error {
	var in azRequest
	if err := decodeAuthZEN(w, r, &in); err != nil {
		return err
	}
	return s.azEvaluateOne(w, r, c, &in)
}

// azEvaluateOne answers the request's top-level evaluation.
func (s *Server) azEvaluateOne(w http.ResponseWriter, r *http.Request, c *call, in *azRequest) error {
	e, err := in.merged(in.azEvaluation, -1)
	if err != nil {
		return err
	}
	min, err := minRevision(e.Context)
	if err != nil {
		return err
	}
	snap, err := s.snapshot(r.Context(), c.ws, min)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.azDecide(snap, &e))
	return nil
}

// The evaluations semantics of §7.1.2.
const (
	semExecuteAll          = "execute_all"
	semDenyOnFirstDeny     = "deny_on_first_deny"
	semPermitOnFirstPermit = "permit_on_first_permit"
)

// azEvaluations answers POST …/access/v1/evaluations (§7): every
// evaluation at one revision, in order, stopping early as the semantic
// asks. Without evaluations it is a single evaluation.
func (s *Server) azEvaluations(w http.ResponseWriter, r *http.Request, c *call) error {
	var in azRequest
	if err := decodeAuthZEN(w, r, &in); err != nil {
		return err
	}
	if len(in.Evaluations) == 0 {
		return s.azEvaluateOne(w, r, c, &in)
	}
	if len(in.Evaluations) > MaxBatch {
		return policy.Errorf(policy.CodeInvalidArgument, "at most %d evaluations per request, got %d", MaxBatch, len(in.Evaluations))
	}
	sem := semExecuteAll
	if v, ok := in.Options["evaluations_semantic"]; ok {
		sem, _ = v.(string)
		if sem != semExecuteAll && sem != semDenyOnFirstDeny && sem != semPermitOnFirstPermit {
			return policy.Errorf(policy.CodeInvalidArgument, "options.evaluations_semantic must be execute_all, deny_on_first_deny or permit_on_first_permit")
		}
	}
	evals := make([]azEvaluation, len(in.Evaluations))
	var min int64
	for i, e := range in.Evaluations {
		m, err := in.merged(e, i)
		if err != nil {
			return err
		}
		n, err := minRevision(m.Context)
		if err != nil {
			return fmt.Errorf("evaluations[%d]: %w", i, err)
		}
		evals[i], min = m, max(min, n)
	}
	snap, err := s.snapshot(r.Context(), c.ws, min)
	if err != nil {
		return err
	}
	out := struct {
		Evaluations []azDecision `json:"evaluations"`
	}{Evaluations: make([]azDecision, 0, len(evals))}
	for i := range evals {
		d := s.azDecide(snap, &evals[i])
		if (sem == semDenyOnFirstDeny && !d.Decision) || (sem == semPermitOnFirstPermit && d.Decision) {
			d.Context["semantic"] = sem
			out.Evaluations = append(out.Evaluations, d)
			break
		}
		out.Evaluations = append(out.Evaluations, d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeAuthZENError answers an AuthZEN endpoint's errors as §12.1.2 says:
// the status, and a message string (text/plain), with the Gatehouse code
// in Gatehouse-Error-Code.
func (s *Server) writeAuthZENError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *policy.Error
	if !errors.As(err, &pe) {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		pe = &policy.Error{Code: policy.CodeInternal, Message: "internal error; the server log has the cause"}
	}
	st := status(pe.Code)
	h := w.Header()
	switch st {
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Gatehouse-Error-Code", string(pe.Code))
	h.Set("X-Content-Type-Options", "nosniff")
	msg := pe.Message + "\n"
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(st)
	io.WriteString(w, msg)
}

// echoRequestID copies a well-formed X-Request-ID to the answer (§12.1.3).
func echoRequestID(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-ID")
	if id == "" || len(id) > 200 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
		return
	}
	w.Header().Set("X-Request-ID", id)
}
