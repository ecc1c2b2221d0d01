package httpapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// status maps every error code of DESIGN.md §3 to its HTTP status. It is
// the one place where codes become statuses; the client package holds the
// reverse.
func status(code policy.Code) int {
	switch code {
	case policy.CodeInvalidArgument:
		return http.StatusBadRequest
	case policy.CodeUnauthenticated, policy.CodeReauthenticationRequired:
		return http.StatusUnauthorized
	case policy.CodeForbidden, policy.CodePrivilegeEscalation:
		return http.StatusForbidden
	case policy.CodeNotFound:
		return http.StatusNotFound
	case policy.CodeRoleInUse, policy.CodeNameTaken, policy.CodeLastRole, policy.CodeRoleProtected,
		policy.CodePlanLimitReached, policy.CodeAudienceMismatch, policy.CodeIdempotencyKeyInUse, policy.CodeSeparationOfDuties:
		return http.StatusConflict
	case policy.CodeRevisionConflict:
		return http.StatusPreconditionFailed
	case policy.CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case policy.CodeUnknownPermission, policy.CodeDependencyViolation, policy.CodeReasonRequired, policy.CodeInvalidCondition, policy.CodeIdempotencyKeyReused:
		return http.StatusUnprocessableEntity
	case policy.CodeRevisionUnavailable, policy.CodeUnavailable:
		return http.StatusServiceUnavailable
	case policy.CodeRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    policy.Code    `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// writeError answers with err. A domain error goes out as it is; anything
// else is logged with its cause and answered with a generic internal error,
// so no internal detail (SQL, paths, secrets) reaches a client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *policy.Error
	if !errors.As(err, &pe) && r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client hung up (or its deadline passed): not a server
		// failure, and nobody reads the answer.
		s.log.DebugContext(r.Context(), "request canceled", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorJSON{Code: policy.CodeUnavailable, Message: "the request was canceled"}})
		return
	}
	if pe == nil {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		pe = &policy.Error{Code: policy.CodeInternal, Message: "internal error; the server log has the cause"}
	}
	st := status(pe.Code)
	switch st {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusUnauthorized:
		// RFC 9110 §11.6.1: a 401 names the scheme to use. The same
		// challenge for every cause, so it tells nothing apart.
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	writeJSON(w, st, errorBody{Error: errorJSON{Code: pe.Code, Message: pe.Message, Details: pe.Details}})
	if st >= 500 && pe.Code != policy.CodeInternal {
		s.log.WarnContext(r.Context(), "request unavailable", "method", r.Method, "path", r.URL.Path, "code", pe.Code, "msg", pe.Message)
	}
}

// errNotFoundWorkspace is the one answer for a workspace that does not
// exist and for one the caller may not see (W1): they must not be told
// apart.
func errNotFoundWorkspace(ws string) error {
	return &policy.Error{Code: policy.CodeNotFound, Message: "no workspace " + quote(ws),
		Details: map[string]any{"workspace": ws}}
}

func invalid(field, format string, args ...any) error {
	e := policy.Errorf(policy.CodeInvalidArgument, format, args...)
	if field != "" {
		e.Details = map[string]any{"field": field}
	}
	return e
}
