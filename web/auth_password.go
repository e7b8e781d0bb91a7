package web

import (
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

type passwordBody struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// changePassword: POST /password {"current", "new"}: an operator changes
// their own password. The current one must be right; the new one follows
// the same rules as everywhere (inbox.CheckPassword). Like any new
// password it ends every session of the operator, this one included: the
// page signs in again.
func (a *authHandler) changePassword(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	var body passwordBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	_, hash, err := a.store.OperatorByEmail(r.Context(), p.op.Email)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(body.Current)) != nil {
		writeError(w, r, inbox.Reasonf(inbox.EFORBIDDEN, "wrong_password", nil, "the current password is wrong"))
		return
	}
	_, evs, err := a.admin.UpdateOperator(r.Context(), p.op.ID, p.op.ID, inbox.OperatorChange{Password: &body.New})
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.after(r.Context(), evs, func(c *wsClient) bool { return c.operatorID == p.op.ID && c.sessionID != 0 })
	if p.cred == credSession {
		a.clearCookie(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
}
