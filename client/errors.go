package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Error is an error answer of the API: its HTTP status and the code,
// message and details of its body (DESIGN §3). Switch on Code, never on
// Message:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == policy.CodeRevisionConflict { … }
//
// When an answer is not one of Gatehouse's (a proxy's 502 page, say), Code
// is derived from the status: see CodeForStatus.
type Error struct {
	Status  int
	Code    policy.Code
	Message string
	Details map[string]any
	// RetryAfter is the wait the server asked for (Retry-After), if any.
	RetryAfter time.Duration
}

// Error returns "gatehouse: <code>: <message>".
func (e *Error) Error() string {
	return fmt.Sprintf("gatehouse: %s: %s", e.Code, e.Message)
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &client.Error{Code: policy.CodeNotFound}) tests a code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// ErrorCode returns the API code of err: the Code of the first *Error in
// its chain, "" for nil, and policy.CodeInternal for any other error (a
// network failure, say), after policy.ErrorCode.
func ErrorCode(err error) policy.Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return policy.CodeInternal
}

// CodeForStatus is the code of an error answer whose body is not
// Gatehouse's: the one code DESIGN §3 gives the status when it gives one,
// unavailable for the gateway errors a proxy answers, internal otherwise.
// It is the reverse of the server's code → status table where that is a
// function.
func CodeForStatus(status int) policy.Code {
	switch status {
	case http.StatusBadRequest:
		return policy.CodeInvalidArgument
	case http.StatusUnauthorized:
		return policy.CodeUnauthenticated
	case http.StatusForbidden:
		return policy.CodeForbidden
	case http.StatusNotFound:
		return policy.CodeNotFound
	case http.StatusPreconditionFailed:
		return policy.CodeRevisionConflict
	case http.StatusRequestEntityTooLarge:
		return policy.CodePayloadTooLarge
	case http.StatusTooManyRequests:
		return policy.CodeRateLimited
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return policy.CodeUnavailable
	}
	return policy.CodeInternal
}

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error *struct {
		Code    policy.Code    `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// errorFrom reads an error answer.
func errorFrom(status int, body []byte) *Error {
	var b errorBody
	if json.Unmarshal(body, &b) == nil && b.Error != nil && b.Error.Code != "" {
		return &Error{Status: status, Code: b.Error.Code, Message: b.Error.Message, Details: b.Error.Details}
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = fmt.Sprintf("HTTP status %d", status)
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		msg += ": " + s
	}
	return &Error{Status: status, Code: CodeForStatus(status), Message: msg}
}
