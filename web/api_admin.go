package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	// CanSend says operators' replies can go out through the channel (a
	// site form's cannot).
	CanSend bool `json:"can_send"`
	// Health is filled in at request time from Options.Health.
	Health inbox.ChannelHealth `json:"health"`
	// Details says GET /channels/{id}/details asks the channel's
	// provider about it (a Telegram webhook's state); filled in at
	// request time.
	Details bool `json:"details"`
}

// colleague is what every operator may know of another: who they are,
// not their teams or sign-in details.
type colleague struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Role     inbox.Role `json:"role"`
	Disabled bool       `json:"disabled"`
}

// listColleagues: GET /directory: every operator's id and name, so that
// the page names assignees and authors instead of showing numbers.
func (a *apiHandler) listColleagues(w http.ResponseWriter, r *http.Request) {
	ops, err := a.store.ListOperators(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]colleague, len(ops))
	for i, o := range ops {
		name := o.Name
		if name == "" {
			name = o.Email
		}
		out[i] = colleague{ID: o.ID, Name: name, Role: o.Role, Disabled: o.Disabled}
	}
	writeJSON(w, r, http.StatusOK, newList(out, ""))
}

func (a *apiHandler) listOperators(w http.ResponseWriter, r *http.Request) {
	ops, err := a.store.ListOperators(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(ops, ""))
}

// unlockBody says whether an unlock had anything to forget.
type unlockBody struct {
	Unlocked bool `json:"unlocked"`
}

// unlockOperator: POST /operators/{id}/unlock ends the operator's login
// lockout (the failures counted against their email); audited.
func (a *apiHandler) unlockOperator(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	cleared, err := a.store.UnlockOperator(r.Context(), p.op.ID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, unlockBody{Unlocked: cleared})
}

// unlockAddress: DELETE /login-locks?ip=ADDR ends a client address's
// login lockout; audited.
func (a *apiHandler) unlockAddress(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	ip := r.URL.Query().Get("ip")
	if ip == "" {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "ip is required: DELETE /api/v1/login-locks?ip=203.0.113.7"))
		return
	}
	cleared, err := a.store.UnlockAddress(r.Context(), p.op.ID, ip)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, unlockBody{Unlocked: cleared})
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
	op, generated, evs, err := a.admin.AddOperator(r.Context(), operatorID(r),
		inbox.NewOperator{Email: b.Email, Name: b.Name, Role: b.Role, Password: b.Password, Teams: b.Teams})
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
	change := inbox.OperatorChange{Name: b.Name, Role: b.Role, Disabled: b.Disabled, Teams: b.Teams, Password: b.Password}
	op, evs, err := a.admin.UpdateOperator(r.Context(), operatorID(r), id, change)
	if err != nil {
		writeError(w, r, err)
		return
	}
	switch {
	case op.Disabled:
		a.hub.disconnect(func(c *wsClient) bool { return c.operatorID == id })
	case b.Password != nil:
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
	out := make([]ChannelInfo, len(a.channels))
	for i, ch := range a.channels {
		out[i] = ch
		out[i].Health = a.health.Get(ch.ID)
		out[i].Details = a.status[ch.ID] != nil
	}
	writeJSON(w, r, http.StatusOK, newList(out, ""))
}

// detailsTimeout bounds asking a provider for Settings → Channels: the
// admin gets "could not ask" rather than a page that waits on a provider
// that does not answer.
const detailsTimeout = 5 * time.Second

// channelDetailsView is the answer of GET /channels/{id}/details: what the
// provider said (Details) or why it could not be asked (Error).
type channelDetailsView struct {
	Channel string            `json:"channel"`
	Type    inbox.ChannelType `json:"type"`
	Details any               `json:"details,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// channelDetails: GET /channels/{id}/details: admins only, and only when
// they look, the channel's provider is asked about it (for Telegram,
// getWebhookInfo: the webhook URL it has, its pending updates and last
// error). Unlike the operators' /status, a failure's reason is shown:
// the connectors keep their secrets out of their errors.
func (a *apiHandler) channelDetails(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	fn, ok := a.status[id]
	if !ok {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "the channel has no details to ask for"))
		return
	}
	out := channelDetailsView{Channel: id}
	for _, ch := range a.channels {
		if ch.ID == id {
			out.Type = ch.Type
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), detailsTimeout)
	defer cancel()
	st, err := fn(ctx)
	if err != nil {
		out.Error = err.Error()
	} else {
		out.Details = st
	}
	writeJSON(w, r, http.StatusOK, out)
}

// listChannelHealth: GET /channels/health: every configured channel's
// health, for every operator: the page warns that replies through a
// channel that is down will wait.
func (a *apiHandler) listChannelHealth(w http.ResponseWriter, r *http.Request) {
	out := make([]inbox.ChannelHealth, len(a.channels))
	for i, ch := range a.channels {
		out[i] = a.health.Get(ch.ID)
	}
	writeJSON(w, r, http.StatusOK, newList(out, ""))
}
