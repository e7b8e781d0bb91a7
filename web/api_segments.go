package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// SegmentStore is what the clients page needs of the store: counting,
// listing and exporting the cards a filter picks, and saved segments.
type SegmentStore interface {
	CountClients(ctx context.Context, f inbox.ClientFilter) (int, error)
	ListClientsByFilter(ctx context.Context, f inbox.ClientFilter, cursor string, limit int) ([]inbox.SegmentClient, string, error)
	// WriteFilteredClientsCSV writes the cards f picks as WriteClientsCSV
	// writes them all.
	WriteFilteredClientsCSV(ctx context.Context, w io.Writer, sep rune, f inbox.ClientFilter) error
	Segments(ctx context.Context, operatorID int64, role inbox.Role) ([]inbox.Segment, error)
	Segment(ctx context.Context, operatorID int64, role inbox.Role, id int64) (inbox.Segment, error)
	CreateSegment(ctx context.Context, operatorID int64, role inbox.Role, g inbox.Segment) (inbox.Segment, error)
	UpdateSegment(ctx context.Context, operatorID int64, role inbox.Role, id int64, p inbox.SegmentPatch) (inbox.Segment, error)
	DeleteSegment(ctx context.Context, operatorID int64, role inbox.Role, id int64) error
}

// The clients page reads the whole base, as the CSV export does: every
// route here is for supervisors and admins (see routes.go). A filter comes
// as query parameters named as inbox.ClientFilter's JSON keys; an unknown
// one is a 400 naming it.

// countClients: GET /clients/count?<filter> → {"count": n}.
func (a *apiHandler) countClients(w http.ResponseWriter, r *http.Request) {
	f, err := inbox.ParseClientFilter(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	n, err := a.store.CountClients(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]int{"count": n})
}

// filterClients: GET /clients/filter?<filter>&cursor=&limit= → a page of
// the cards, oldest first, with their campaign marks and last contact.
func (a *apiHandler) filterClients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := inbox.ParseClientFilter(q, "cursor", "limit")
	if err != nil {
		writeError(w, r, err)
		return
	}
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, next, err := a.store.ListClientsByFilter(r.Context(), f, q.Get("cursor"), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(nonNil(items), next))
}

// exportFilterCSV: GET /clients/filter.csv?<filter>&sep= streams the
// cards the filter picks in the format of GET /clients.csv.
func (a *apiHandler) exportFilterCSV(w http.ResponseWriter, r *http.Request) {
	f, err := inbox.ParseClientFilter(r.URL.Query(), "sep")
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.filteredCSV(w, r, f, 0, map[string]any{"filter": f}, "clients.csv")
}

// exportSegmentCSV: GET /segments/{id}/clients.csv?sep= streams a saved
// segment's cards, its filter read as of now.
func (a *apiHandler) exportSegmentCSV(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	if _, err := inbox.ParseClientFilter(r.URL.Query(), "sep"); err != nil {
		writeError(w, r, err) // only sep belongs here
		return
	}
	op, _ := operatorFrom(r.Context())
	g, err := a.store.Segment(r.Context(), op.ID, op.Role, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	detail := map[string]any{"segment": g.ID, "name": g.Name, "filter": g.Filter}
	a.filteredCSV(w, r, g.Filter, g.ID, detail, fmt.Sprintf("segment-%d.csv", g.ID))
}

// filteredCSV checks the filter and the separator, puts the export on
// record ("clients.export", with what was exported in detail) and streams
// the file as exportClientsCSV does.
func (a *apiHandler) filteredCSV(w http.ResponseWriter, r *http.Request, f inbox.ClientFilter, segmentID int64, detail map[string]any, name string) {
	sep, ok := csvSeparators[r.URL.Query().Get("sep")]
	if !ok {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "sep must be semicolon, comma or tab"))
		return
	}
	// A filter that does not check is a 400, not a broken download.
	if _, err := f.Resolve(time.Now()); err != nil {
		writeError(w, r, err)
		return
	}
	detail["sep"] = string(sep)
	entity := "client"
	if segmentID != 0 {
		entity = "segment"
	}
	if err := a.store.Audit(r.Context(), operatorID(r), "clients.export", entity, segmentID, detail); err != nil {
		writeError(w, r, err)
		return
	}
	streamCSV(w, r, name, func(out io.Writer) error {
		return a.store.WriteFilteredClientsCSV(r.Context(), out, sep, f)
	})
}

// segmentBody is POST and PATCH /segments: absent keys stay as they are.
type segmentBody struct {
	Name   *string             `json:"name"`
	Filter *inbox.ClientFilter `json:"filter"`
	Team   *string             `json:"team"`
}

// listSegments: GET /segments → the caller's segments and their teams'.
func (a *apiHandler) listSegments(w http.ResponseWriter, r *http.Request) {
	op, _ := operatorFrom(r.Context())
	items, err := a.store.Segments(r.Context(), op.ID, op.Role)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(nonNil(items), ""))
}

// createSegment: POST /segments {"name", "filter", "team"} ("" or absent:
// private).
func (a *apiHandler) createSegment(w http.ResponseWriter, r *http.Request) {
	var b segmentBody
	if err := decodeJSON(w, r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	var g inbox.Segment
	if b.Name != nil {
		g.Name = *b.Name
	}
	if b.Filter != nil {
		g.Filter = *b.Filter
	}
	if b.Team != nil {
		g.Team = *b.Team
	}
	op, _ := operatorFrom(r.Context())
	out, err := a.store.CreateSegment(r.Context(), op.ID, op.Role, g)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, out)
}

// patchSegment: PATCH /segments/{id} {"name", "filter", "team"}.
func (a *apiHandler) patchSegment(w http.ResponseWriter, r *http.Request) {
	var b segmentBody
	id, ok := idAndBody(w, r, &b)
	if !ok {
		return
	}
	if b.Name == nil && b.Filter == nil && b.Team == nil {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "nothing to change"))
		return
	}
	op, _ := operatorFrom(r.Context())
	out, err := a.store.UpdateSegment(r.Context(), op.ID, op.Role, id, inbox.SegmentPatch{Name: b.Name, Filter: b.Filter, Team: b.Team})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, out)
}

// deleteSegment: DELETE /segments/{id}.
func (a *apiHandler) deleteSegment(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	op, _ := operatorFrom(r.Context())
	if err := a.store.DeleteSegment(r.Context(), op.ID, op.Role, id); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
