package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/leadhub/leadhub/inbox"
)

// startImport: POST /imports (a CSV file as the body): the import runs in
// the background; 202 with the job, whose progress GET /imports/{id} tells.
func (a *apiHandler) startImport(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, r, inbox.Errorf(inbox.ETOOLARGE, "the file is larger than %d MiB", maxImportBody>>20))
			return
		}
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "could not read the file"))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "the file is empty"))
		return
	}
	op := operatorID(r)
	job, err := a.store.StartImport(r.Context(), op)
	if err != nil {
		writeError(w, r, err)
		return
	}
	log := loggerFrom(r.Context())
	a.bg.Go(func(ctx context.Context) {
		evs, err := a.store.RunImport(ctx, job.ID, bytes.NewReader(body), inbox.ImportOptions{OperatorID: op, MaxBytes: maxImportBody})
		if err != nil {
			log.Error("import", "job", job.ID, "err", err)
		}
		a.publish(context.WithoutCancel(ctx), evs)
	})
	writeJSON(w, r, http.StatusAccepted, job)
}

// getImport: GET /imports/{id}: an import's progress and outcome.
func (a *apiHandler) getImport(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	job, err := a.store.ImportJob(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, job)
}

// rejectedRows: GET /imports/{id}/rejected.csv: the rows the import
// refused, by line, with the reason.
func (a *apiHandler) rejectedRows(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	text, err := a.store.RejectedRows(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="import-%d-rejected.csv"`, id))
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, text)
}
