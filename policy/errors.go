package policy

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. The codes are part of the
// public API (DESIGN.md §3): the HTTP layer maps each to one status, clients
// switch on them, so they never change once published.
type Code string

// The error codes of DESIGN.md §3.
const (
	CodeInternal                 Code = "internal"
	CodeInvalidArgument          Code = "invalid_argument"
	CodeUnauthenticated          Code = "unauthenticated"
	CodeReauthenticationRequired Code = "reauthentication_required"
	CodeForbidden                Code = "forbidden"
	CodePrivilegeEscalation      Code = "privilege_escalation"
	CodeNotFound                 Code = "not_found"
	CodeRoleInUse                Code = "role_in_use"
	CodeNameTaken                Code = "name_taken"
	CodeLastRole                 Code = "last_role"
	CodeRoleProtected            Code = "role_protected"
	CodePlanLimitReached         Code = "plan_limit_reached"
	CodeAudienceMismatch         Code = "audience_mismatch"
	CodeRevisionConflict         Code = "revision_conflict"
	CodePayloadTooLarge          Code = "payload_too_large"
	CodeUnknownPermission        Code = "unknown_permission"
	CodeDependencyViolation      Code = "dependency_violation"
	CodeReasonRequired           Code = "reason_required"
	CodeInvalidCondition         Code = "invalid_condition"
	CodeRevisionUnavailable      Code = "revision_unavailable"
	CodeUnavailable              Code = "unavailable"
	CodeRateLimited              Code = "rate_limited"
	CodeSeparationOfDuties       Code = "separation_of_duties"
	// CodeIdempotencyKeyReused: an Idempotency-Key sent again with
	// another request (422).
	CodeIdempotencyKeyReused Code = "idempotency_key_reused"
	// CodeIdempotencyKeyInUse: the first request with an Idempotency-Key
	// still runs (409).
	CodeIdempotencyKeyInUse Code = "idempotency_key_in_use"
)

// Error is Gatehouse's domain error: a stable code, a message written for a
// person, and optional structured details that clients can act on (for
// example the suggestions of an unknown permission, or every violation of a
// rejected grant set).
type Error struct {
	Code    Code
	Message string
	Details map[string]any
}

// Error returns the human-readable message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a nil
// error and CodeInternal for any error that is not ours: a foreign error never
// leaks a made-up code.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
