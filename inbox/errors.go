package inbox

import (
	"errors"
	"fmt"
)

// Error codes. They say what went wrong in domain terms; web/errors.go is the
// only place that turns them into HTTP statuses.
const (
	EINVALID      = "invalid"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	ETOOLARGE     = "too_large"
	ERATELIMIT    = "rate_limited"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
)

// Error is a domain error: a code for machines and a short message that is
// safe to show to the caller (it must never carry a secret). Errors an
// operator meets in the page also carry a Reason, a stable snake_case key
// the page translates, and Params that fill the translation in.
type Error struct {
	Code    string
	Message string
	Reason  string
	Params  map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Reasonf is Errorf with a reason the page translates and its params
// (never secrets).
func Reasonf(code, reason string, params map[string]string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Reason: reason, Params: params}
}

// ErrorReason returns the reason and params of the first *Error in err's
// chain; "" when it has none.
func ErrorReason(err error) (string, map[string]string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason, e.Params
	}
	return "", nil
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain; anything else becomes "internal error" so internals never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
