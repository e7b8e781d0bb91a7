package store

import (
	"database/sql"

	"github.com/leadhub/leadhub/inbox"
)

// importQueries are the statements about background CSV imports.
type importQueries struct {
	InsertImportJob   string
	ImportJobProgress string
	FinishImportJob   namedQuery[importFinish]
	ImportJobByID     string
	RejectedOfImport  string
	InterruptImports  string
}

const importJobCols = `id, operator_id, state, total, done, imported, merged, rejected, error, created_at, finished_at`

func baseImportQueries() importQueries {
	return importQueries{
		InsertImportJob: `INSERT INTO import_jobs (operator_id, state, created_at, updated_at) VALUES (?, 'running', ?, ?)
			RETURNING ` + importJobCols,
		ImportJobProgress: `UPDATE import_jobs SET done = ?, total = ?, updated_at = ? WHERE id = ? AND state = 'running'`,
		FinishImportJob: named[importFinish](`UPDATE import_jobs SET state = :state, done = :done, total = :total,
				imported = :imported, merged = :merged, rejected = :rejected, rejected_csv = :rejected_csv,
				error = :error, finished_at = :at
			WHERE id = :id`),
		ImportJobByID:    `SELECT ` + importJobCols + ` FROM import_jobs WHERE id = ?`,
		RejectedOfImport: `SELECT rejected_csv FROM import_jobs WHERE id = ?`,
		// Parameters: the reason, now, the oldest sign of life of a job
		// still alive. Jobs of a process that stopped mid-import will never
		// finish; another instance's running import shows progress often.
		InterruptImports: `UPDATE import_jobs SET state = 'failed', error = ?, finished_at = ?
			WHERE state = 'running' AND updated_at < ?`,
	}
}

// importFinish is the end of an import.
type importFinish struct {
	ID          int64  `db:"id"`
	State       string `db:"state"`
	Done        int    `db:"done"`
	Total       int    `db:"total"`
	Imported    int    `db:"imported"`
	Merged      int    `db:"merged"`
	Rejected    int    `db:"rejected"`
	RejectedCSV string `db:"rejected_csv"`
	Error       string `db:"error"`
	At          string `db:"at"`
}

// importJobRow is an import job as read.
type importJobRow struct {
	ID         int64         `db:"id"`
	OperatorID sql.NullInt64 `db:"operator_id"`
	State      string        `db:"state"`
	Total      int           `db:"total"`
	Done       int           `db:"done"`
	Imported   int           `db:"imported"`
	Merged     int           `db:"merged"`
	Rejected   int           `db:"rejected"`
	Error      string        `db:"error"`
	CreatedAt  sqlTime       `db:"created_at"`
	FinishedAt sqlTime       `db:"finished_at"` // zero: running
}

func (r importJobRow) job() inbox.ImportJob {
	j := inbox.ImportJob{ID: r.ID, OperatorID: nullID(r.OperatorID), State: r.State, Total: r.Total, Done: r.Done,
		Imported: r.Imported, Merged: r.Merged, Rejected: r.Rejected, Error: r.Error, CreatedAt: r.CreatedAt.Time}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt.Time
		j.FinishedAt = &t
	}
	return j
}
