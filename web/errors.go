package web

import (
	"encoding/json"
	"net/http"

	"github.com/leadhub/leadhub/inbox"
)

// statusOf maps an inbox error code to its HTTP status. It is the only such
// map in leadhub; everything else speaks in error codes.
func statusOf(code string) int {
	switch code {
	case inbox.EINVALID:
		return http.StatusBadRequest
	case inbox.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case inbox.EFORBIDDEN:
		return http.StatusForbidden
	case inbox.ENOTFOUND:
		return http.StatusNotFound
	case inbox.ECONFLICT:
		return http.StatusConflict
	case inbox.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case inbox.ERATELIMIT:
		return http.StatusTooManyRequests
	case inbox.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is every error answer: the message, the code, and for errors
// the page translates their reason and its params.
type errorBody struct {
	Error  string            `json:"error"`
	Code   string            `json:"code"`
	Reason string            `json:"reason,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// writeError answers with err's status and caller-safe message. Internal and
// unavailable errors are logged in full with the request's attributes, since
// the caller only sees "internal error" or a short reason.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := inbox.ErrorCode(err)
	if status := statusOf(code); status >= 500 {
		loggerFrom(r.Context()).Error("request failed", "status", status, "code", code, "err", err)
	}
	answerError(w, r, err)
}

// answerError is writeError without the log line, for callers that log
// the failure their own way (the webhook handler's outageLog).
func answerError(w http.ResponseWriter, r *http.Request, err error) {
	code := inbox.ErrorCode(err)
	status := statusOf(code)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	reason, params := inbox.ErrorReason(err)
	writeJSON(w, r, status, errorBody{Error: inbox.ErrorMessage(err), Code: code, Reason: reason, Params: params})
}

// writeJSON answers with v as JSON. v is marshalled before anything is
// written, so a value that cannot be encoded still gets a clean 500.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		loggerFrom(r.Context()).Error("encode response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
