package web

import (
	"net/http"

	"github.com/leadhub/leadhub/inbox"
)

// listCanned: GET /canned-replies: the replies the operator may insert.
func (a *apiHandler) listCanned(w http.ResponseWriter, r *http.Request) {
	op, _ := operatorFrom(r.Context())
	items, err := a.store.CannedReplies(r.Context(), op.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(nonNil(items), ""))
}

type cannedBody struct {
	Title *string           `json:"title"`
	Text  *string           `json:"text"`
	Scope inbox.CannedScope `json:"scope"`
	Team  string            `json:"team"`
}

// createCanned: POST /canned-replies {"title", "text", "scope", "team"}.
func (a *apiHandler) createCanned(w http.ResponseWriter, r *http.Request) {
	var body cannedBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	c := inbox.CannedReply{Scope: body.Scope, Team: body.Team}
	if body.Title != nil {
		c.Title = *body.Title
	}
	if body.Text != nil {
		c.Text = *body.Text
	}
	if c.Scope == "" {
		c.Scope = inbox.CannedPersonal
	}
	op, _ := operatorFrom(r.Context())
	out, err := a.store.CreateCannedReply(r.Context(), op.ID, op.Role, c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, out)
}

// patchCanned: PATCH /canned-replies/{id} {"title", "text"}.
func (a *apiHandler) patchCanned(w http.ResponseWriter, r *http.Request) {
	var body cannedBody
	id, ok := idAndBody(w, r, &body)
	if !ok {
		return
	}
	if body.Scope != "" || body.Team != "" {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "who shares a reply cannot change; create a new one"))
		return
	}
	op, _ := operatorFrom(r.Context())
	out, err := a.store.UpdateCannedReply(r.Context(), op.ID, op.Role, id, inbox.CannedPatch{Title: body.Title, Text: body.Text})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, out)
}

// deleteCanned: DELETE /canned-replies/{id}.
func (a *apiHandler) deleteCanned(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	op, _ := operatorFrom(r.Context())
	if err := a.store.DeleteCannedReply(r.Context(), op.ID, op.Role, id); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
