package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// StartImport records a CSV import about to run in the background.
func (s *Store) StartImport(ctx context.Context, operatorID int64) (inbox.ImportJob, error) {
	var r importJobRow
	now := dbTime(s.now())
	if err := s.db.GetContext(ctx, &r, s.q.InsertImportJob, optionalID(operatorID), now, now); err != nil {
		return inbox.ImportJob{}, fmt.Errorf("store: start import: %w", err)
	}
	return r.job(), nil
}

// RunImport imports the file of job id with ImportClients, recording its
// progress as it goes and its outcome at the end, with the rejected rows
// kept for download. It returns the events the import wrote.
func (s *Store) RunImport(ctx context.Context, id int64, r io.Reader, opts inbox.ImportOptions) ([]inbox.Event, error) {
	opts.Progress = func(done, total int) {
		if _, err := s.db.ExecContext(ctx, s.q.ImportJobProgress, done, total, dbTime(s.now()), id); err != nil {
			s.log.Warn("import progress", "job", id, "err", err)
		}
	}
	rep, evs, err := s.ImportClients(ctx, r, opts)
	fin := importFinish{ID: id, State: inbox.ImportDone, Imported: rep.Imported, Merged: rep.Merged,
		Rejected: rep.Rejected, Done: len(rep.Rows), Total: len(rep.Rows), At: dbTime(s.now())}
	switch {
	case err != nil && ctx.Err() != nil:
		fin.State, fin.Error = inbox.ImportFailed, "the hub stopped during the import; import the file again"
	case err != nil:
		fin.State, fin.Error = inbox.ImportFailed, inbox.ErrorMessage(err)
	}
	if fin.RejectedCSV, err = rejectedCSV(rep); err != nil {
		return evs, fmt.Errorf("store: import %d: %w", id, err)
	}
	// The outcome is recorded even when the caller's context ended.
	if _, ferr := s.q.FinishImportJob.exec(context.WithoutCancel(ctx), s.db, fin); ferr != nil {
		return evs, fmt.Errorf("store: finish import %d: %w", id, ferr)
	}
	return evs, nil
}

// rejectedCSV is the rejected rows of an import: their line in the file and
// why.
func rejectedCSV(rep inbox.ImportReport) (string, error) {
	if rep.Rejected == 0 {
		return "", nil
	}
	var b bytes.Buffer
	b.WriteString("\\ufeff")
	w := csv.NewWriter(&b)
	w.Comma = ';'
	w.Write([]string{"line", "reason"})
	for _, r := range rep.Rows {
		if r.Outcome == inbox.ImportRejected {
			w.Write([]string{strconv.Itoa(r.Line), r.Reason})
		}
	}
	w.Flush()
	return b.String(), w.Error()
}

// ImportJob returns an import job; ENOTFOUND if there is none.
func (s *Store) ImportJob(ctx context.Context, id int64) (inbox.ImportJob, error) {
	var r importJobRow
	if err := s.db.GetContext(ctx, &r, s.q.ImportJobByID, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.ImportJob{}, fmt.Errorf("store: import %d: %w", id, inbox.Errorf(inbox.ENOTFOUND, "import not found"))
		}
		return inbox.ImportJob{}, fmt.Errorf("store: import %d: %w", id, err)
	}
	return r.job(), nil
}

// RejectedRows returns the CSV of an import's rejected rows ("" when none).
func (s *Store) RejectedRows(ctx context.Context, id int64) (string, error) {
	var text string
	if err := s.db.GetContext(ctx, &text, s.q.RejectedOfImport, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("store: import %d: %w", id, inbox.Errorf(inbox.ENOTFOUND, "import not found"))
		}
		return "", fmt.Errorf("store: import %d: %w", id, err)
	}
	return text, nil
}

// InterruptImports fails the imports left running by a process that
// stopped (no sign of life for quiet): nothing will finish them. Called at
// start; another instance's live import is left alone.
func (s *Store) InterruptImports(ctx context.Context, quiet time.Duration) error {
	now := s.now()
	if _, err := s.db.ExecContext(ctx, s.q.InterruptImports, "the hub stopped during the import; import the file again",
		dbTime(now), dbTime(now.Add(-quiet))); err != nil {
		return fmt.Errorf("store: interrupt imports: %w", err)
	}
	return nil
}
