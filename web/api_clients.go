package web

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// maxImportBody bounds a CSV upload to POST /clients/import.
const maxImportBody = 20 << 20

// operatorID is the id of the operator the auth middleware let in.
func operatorID(r *http.Request) int64 {
	op, _ := operatorFrom(r.Context())
	return op.ID
}

// clientPatchBody is PATCH /clients/{id}. Absent keys leave the card as it
// is; custom_fields are merged key by key, a null value deleting its key.
type clientPatchBody struct {
	Name               *string            `json:"name"`
	Company            *string            `json:"company"`
	Tags               *[]string          `json:"tags"`
	CustomFields       map[string]*string `json:"custom_fields"`
	DoNotContact       *bool              `json:"do_not_contact"`
	DoNotContactReason *string            `json:"do_not_contact_reason"`
	Spam               *bool              `json:"spam"`
}

func (a *apiHandler) patchClient(w http.ResponseWriter, r *http.Request) {
	var b clientPatchBody
	id, ok := a.clientAndBody(w, r, &b)
	if !ok {
		return
	}
	p := inbox.ClientPatch{Name: b.Name, Company: b.Company, Tags: b.Tags, CustomFields: b.CustomFields,
		DoNotContact: b.DoNotContact, DoNotContactReason: b.DoNotContactReason, Spam: b.Spam}
	if p.Name == nil && p.Company == nil && p.Tags == nil && len(p.CustomFields) == 0 && p.DoNotContact == nil &&
		p.DoNotContactReason == nil && p.Spam == nil {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "nothing to change"))
		return
	}
	c, evs, err := a.store.UpdateClient(r.Context(), operatorID(r), id, p)
	a.answer(w, r, http.StatusOK, c, evs, err)
}

type mergeBody struct {
	From int64 `json:"from"`
}

// mergeClient: POST /clients/{id}/merge {"from": <id>} merges card "from"
// into card {id} and answers with the surviving card.
func (a *apiHandler) mergeClient(w http.ResponseWriter, r *http.Request) {
	var b mergeBody
	id, ok := idAndBody(w, r, &b)
	if !ok {
		return
	}
	if b.From <= 0 {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "from must be a client id"))
		return
	}
	c, evs, err := a.store.MergeClients(r.Context(), operatorID(r), id, b.From)
	a.answer(w, r, http.StatusOK, c, evs, err)
}

type noteBody struct {
	Text string `json:"text"`
}

func (a *apiHandler) addNote(w http.ResponseWriter, r *http.Request) {
	var b noteBody
	id, ok := a.clientAndBody(w, r, &b)
	if !ok {
		return
	}
	if strings.TrimSpace(b.Text) == "" {
		writeError(w, r, inbox.Reasonf(inbox.EINVALID, "empty_reply", nil, "text is required"))
		return
	}
	n, evs, err := a.store.AddNote(r.Context(), operatorID(r), id, b.Text)
	a.answer(w, r, http.StatusCreated, n, evs, err)
}

type consentBody struct {
	Kind        string     `json:"kind"`
	TextVersion string     `json:"text_version"`
	GivenAt     *time.Time `json:"given_at"`
	IP          string     `json:"ip"`
	Source      string     `json:"source"`
}

func (a *apiHandler) addConsent(w http.ResponseWriter, r *http.Request) {
	var b consentBody
	id, ok := a.clientAndBody(w, r, &b)
	if !ok {
		return
	}
	c := inbox.Consent{Kind: b.Kind, TextVersion: b.TextVersion, IP: b.IP, Source: b.Source}
	if b.GivenAt != nil {
		c.GivenAt = *b.GivenAt
	}
	c, evs, err := a.store.AddConsent(r.Context(), operatorID(r), id, c)
	a.answer(w, r, http.StatusCreated, c, evs, err)
}

type taskBody struct {
	Title      string         `json:"title"`
	DueAt      *time.Time     `json:"due_at"`
	AssigneeID *int64         `json:"assignee_id"`
	Kind       inbox.TaskKind `json:"kind"` // callback, meeting or follow_up (default)
}

func (a *apiHandler) createTask(w http.ResponseWriter, r *http.Request) {
	var b taskBody
	id, ok := a.clientAndBody(w, r, &b)
	if !ok {
		return
	}
	if strings.TrimSpace(b.Title) == "" {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "title is required"))
		return
	}
	t, evs, err := a.store.CreateTask(r.Context(), operatorID(r), id, inbox.Task{Title: b.Title, DueAt: b.DueAt, AssigneeID: b.AssigneeID, Kind: b.Kind})
	a.answer(w, r, http.StatusCreated, t, evs, err)
}

func (a *apiHandler) listClientDuplicates(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	if _, err := a.access.client(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	a.duplicates(w, r, id)
}

func (a *apiHandler) listDuplicates(w http.ResponseWriter, r *http.Request) {
	a.duplicates(w, r, 0)
}

func (a *apiHandler) duplicates(w http.ResponseWriter, r *http.Request, clientID int64) {
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, next, err := a.store.ListDuplicates(r.Context(), clientID, q.Get("cursor"), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(items, next))
}

func (a *apiHandler) dismissDuplicate(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	d, err := a.store.DismissDuplicate(r.Context(), operatorID(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, d)
}

// exportClient answers with everything stored about a client, as a file.
func (a *apiHandler) exportClient(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	e, err := a.store.ExportClient(r.Context(), operatorID(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="client-%d.json"`, id))
	writeJSON(w, r, http.StatusOK, e)
}

func (a *apiHandler) eraseClient(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	c, evs, err := a.store.EraseClient(r.Context(), operatorID(r), id)
	a.answer(w, r, http.StatusOK, c, evs, err)
}

// csvSeparators are the ?sep= values of GET /clients.csv. The default is
// what Excel expects in Russian locales.
var csvSeparators = map[string]rune{"": ';', "semicolon": ';', "comma": ',', "tab": '\t'}

// exportClientsCSV streams every card as CSV. Once the first byte is out the
// status is sent; a failure after that aborts the connection, so that the
// download fails visibly instead of ending in a silently short file.
func (a *apiHandler) exportClientsCSV(w http.ResponseWriter, r *http.Request) {
	sep, ok := csvSeparators[r.URL.Query().Get("sep")]
	if !ok {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "sep must be semicolon, comma or tab"))
		return
	}
	// A bulk export of personal data is on record before the first byte.
	if err := a.store.Audit(r.Context(), operatorID(r), "client.export_csv", "client", 0, map[string]any{"sep": string(sep)}); err != nil {
		writeError(w, r, err)
		return
	}
	streamCSV(w, r, "clients.csv", func(out io.Writer) error {
		return a.store.WriteClientsCSV(r.Context(), out, sep)
	})
}

// streamCSV answers with the CSV file write writes, as an attachment
// called name. Once the first byte is out the status is sent; a failure
// after that aborts the connection, so that the download fails visibly
// instead of ending in a silently short file.
func streamCSV(w http.ResponseWriter, r *http.Request, name string, write func(io.Writer) error) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, name))
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		loggerFrom(r.Context()).Error("export clients CSV", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// importClients reads a CSV file from the request body (any content type)
// and answers with the per-row report.
func (a *apiHandler) importClients(w http.ResponseWriter, r *http.Request) {
	rep, evs, err := a.store.ImportClients(r.Context(), r.Body, inbox.ImportOptions{OperatorID: operatorID(r), MaxBytes: maxImportBody})
	a.publish(r.Context(), evs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, rep)
}

func (a *apiHandler) acceptConversation(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	if _, err := a.access.checkConversation(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	c, evs, err := a.store.AcceptConversation(r.Context(), operatorID(r), id)
	a.answer(w, r, http.StatusOK, c, evs, err)
}

type linkBody struct {
	ClientID int64 `json:"client_id"`
}

// linkConversation: POST /conversations/{id}/link {"client_id": X} merges
// the conversation's card into card X.
func (a *apiHandler) linkConversation(w http.ResponseWriter, r *http.Request) {
	var b linkBody
	id, ok := idAndBody(w, r, &b)
	if !ok {
		return
	}
	if b.ClientID <= 0 {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "client_id must be a client id"))
		return
	}
	if _, err := a.access.checkConversation(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	// Linking merges the conversation's card into the other one, which
	// would show that card to whoever sees the conversation: only a card
	// the operator sees already may be linked to.
	if _, err := a.access.client(r, b.ClientID); err != nil {
		writeError(w, r, err)
		return
	}
	c, evs, err := a.store.LinkConversation(r.Context(), operatorID(r), id, b.ClientID)
	a.answer(w, r, http.StatusOK, c, evs, err)
}

func (a *apiHandler) rejectConversation(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	if _, err := a.access.checkConversation(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	c, evs, err := a.store.RejectConversation(r.Context(), operatorID(r), id)
	a.answer(w, r, http.StatusOK, c, evs, err)
}

// answer publishes the events a change wrote and answers with v, or with
// the change's error.
func (a *apiHandler) answer(w http.ResponseWriter, r *http.Request, status int, v any, evs []inbox.Event, err error) {
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.publish(r.Context(), evs)
	writeJSON(w, r, status, v)
}
