package web

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

// ChannelInfo is what admins see of a configured channel: never its
// secrets.
type ChannelInfo struct {
	ID   string            `json:"id"`
	Type inbox.ChannelType `json:"type"`
	// Team is the team whose operators see the channel's new
	// conversations; "" is everyone.
	Team   string `json:"team"`
	Status string `json:"status"`
}

// Password bounds: bcrypt reads at most 72 bytes.
const (
	minPasswordLen = 8
	maxPasswordLen = 72
)

func checkPassword(p string) error {
	if utf8.RuneCountInString(p) < minPasswordLen || len(p) > maxPasswordLen {
		return inbox.Errorf(inbox.EINVALID, "a password has at least %d characters and at most %d bytes", minPasswordLen, maxPasswordLen)
	}
	return nil
}

func hashPassword(p string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// generatePassword makes a password for an operator created without one;
// it is shown once, in the answer.
func generatePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (a *apiHandler) listOperators(w http.ResponseWriter, r *http.Request) {
	ops, err := a.store.ListOperators(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(ops, ""))
}

func (a *apiHandler) getOperator(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	op, err := a.store.Operator(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, op)
}

type operatorBody struct {
	Email    string     `json:"email"`
	Name     string     `json:"name"`
	Role     inbox.Role `json:"role"`
	Password string     `json:"password"`
	Teams    []string   `json:"teams"`
}

type newOperatorView struct {
	inbox.OperatorDetail
	// Password is set only when the server generated it; it is shown once.
	Password string `json:"password,omitempty"`
}

// createOperator: POST /operators {"email", "name", "role", "password",
// "teams"}; without a password one is generated and shown once.
func (a *apiHandler) createOperator(w http.ResponseWriter, r *http.Request) {
	var b operatorBody
	if err := decodeJSON(w, r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	if b.Role == "" {
		b.Role = inbox.RoleOperator
	}
	if !b.Role.Valid() {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "role must be admin, supervisor or operator"))
		return
	}
	generated := ""
	if b.Password == "" {
		generated = generatePassword()
		b.Password = generated
	}
	if err := checkPassword(b.Password); err != nil {
		writeError(w, r, err)
		return
	}
	hash, err := hashPassword(b.Password, a.passwordCost)
	if err != nil {
		writeError(w, r, err)
		return
	}
	op, evs, err := a.store.AddOperator(r.Context(), operatorID(r),
		inbox.Operator{Email: b.Email, Name: b.Name, Role: b.Role}, hash, b.Teams)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.publish(r.Context(), evs)
	writeJSON(w, r, http.StatusCreated, newOperatorView{OperatorDetail: op, Password: generated})
}

type operatorPatchBody struct {
	Name     *string     `json:"name"`
	Role     *inbox.Role `json:"role"`
	Disabled *bool       `json:"disabled"`
	Teams    *[]string   `json:"teams"`
	Password *string     `json:"password"`
}

// patchOperator: PATCH /operators/{id} changes name, role, teams,
// password or disabled. Disabling ends the operator's sessions, tokens and
// websockets at once.
func (a *apiHandler) patchOperator(w http.ResponseWriter, r *http.Request) {
	var b operatorPatchBody
	id, ok := idAndBody(w, r, &b)
	if !ok {
		return
	}
	p := inbox.OperatorPatch{Name: b.Name, Role: b.Role, Disabled: b.Disabled, Teams: b.Teams}
	if b.Role != nil && !b.Role.Valid() {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "role must be admin, supervisor or operator"))
		return
	}
	if b.Password != nil {
		if err := checkPassword(*b.Password); err != nil {
			writeError(w, r, err)
			return
		}
		hash, err := hashPassword(*b.Password, a.passwordCost)
		if err != nil {
			writeError(w, r, err)
			return
		}
		p.PasswordHash = &hash
	}
	if p.Name == nil && p.Role == nil && p.Disabled == nil && p.Teams == nil && p.PasswordHash == nil {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "nothing to change"))
		return
	}
	op, evs, err := a.store.UpdateOperator(r.Context(), operatorID(r), id, p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	switch {
	case op.Disabled:
		a.hub.disconnect(func(c *wsClient) bool { return c.operatorID == id })
	case p.PasswordHash != nil:
		a.hub.disconnect(func(c *wsClient) bool { return c.operatorID == id && c.sessionID != 0 })
	}
	a.publish(r.Context(), evs)
	writeJSON(w, r, http.StatusOK, op)
}

func (a *apiHandler) listTeams(w http.ResponseWriter, r *http.Request) {
	teams, err := a.store.ListTeams(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(teams, ""))
}

type teamBody struct {
	Name string `json:"name"`
}

func (a *apiHandler) createTeam(w http.ResponseWriter, r *http.Request) {
	var b teamBody
	if err := decodeJSON(w, r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	t, evs, err := a.store.CreateTeam(r.Context(), operatorID(r), strings.TrimSpace(b.Name))
	a.answer(w, r, http.StatusCreated, t, evs, err)
}

func (a *apiHandler) deleteTeam(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	evs, err := a.store.DeleteTeam(r.Context(), operatorID(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.publish(r.Context(), evs)
	w.WriteHeader(http.StatusNoContent)
}

// listAudit: GET /audit?entity=&entity_id=&operator=&action=&cursor=&limit=.
func (a *apiHandler) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f := inbox.AuditFilter{Entity: q.Get("entity"), Action: q.Get("action"), Cursor: q.Get("cursor"), Limit: limit}
	for name, dst := range map[string]*int64{"entity_id": &f.EntityID, "operator": &f.OperatorID} {
		if s := q.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				writeError(w, r, inbox.Errorf(inbox.EINVALID, "%s must be an id", name))
				return
			}
			*dst = n
		}
	}
	items, next, err := a.store.ListAudit(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(items, next))
}

// listChannels: GET /channels: id, type, team and status of every
// configured channel; secrets stay in the configuration.
func (a *apiHandler) listChannels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, newList(a.channels, ""))
}
