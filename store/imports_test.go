package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestImportJobsSQLite(t *testing.T) { testImportJobs(t, storetest.Open(t, store.DialectSQLite)) }
func TestImportJobsPostgres(t *testing.T) {
	testImportJobs(t, storetest.Open(t, store.DialectPostgres))
}

// testImportJobs: a background import records its progress and outcome,
// keeps its rejected rows for download, and one left running by a stopped
// process is failed at the next start.
func testImportJobs(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := addOperator(t, s, "boss@example.com", inbox.RoleSupervisor)
	job, err := s.StartImport(ctx, op.ID)
	if err != nil || job.State != inbox.ImportRunning || job.ID == 0 {
		t.Fatalf("start: %+v %v", job, err)
	}
	file := "phone;name\n+79180000101;Ада\n+79180000102;Борис\nне телефон;Вера\n"
	evs, err := s.RunImport(ctx, job.ID, strings.NewReader(file), inbox.ImportOptions{OperatorID: op.ID})
	if err != nil {
		t.Fatal(err)
	}
	_ = evs
	got, err := s.ImportJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != inbox.ImportDone || got.Imported != 2 || got.Rejected != 1 || got.Done != 3 || got.Total != 3 || got.FinishedAt == nil {
		t.Errorf("finished job = %+v", got)
	}
	rej, err := s.RejectedRows(ctx, job.ID)
	if err != nil || !strings.Contains(rej, "line;reason") || !strings.Contains(rej, "4;") {
		t.Errorf("rejected rows %q %v", rej, err)
	}
	// A file without a usable header fails the job with the reason.
	bad, _ := s.StartImport(ctx, op.ID)
	if _, err := s.RunImport(ctx, bad.ID, strings.NewReader("nothing useful\n"), inbox.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ImportJob(ctx, bad.ID); got.State != inbox.ImportFailed || !strings.Contains(got.Error, "header") {
		t.Errorf("failed job = %+v", got)
	}
	// Interrupted by a stop; a live one (another instance's) is left alone.
	left, _ := s.StartImport(ctx, op.ID)
	if err := s.InterruptImports(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ImportJob(ctx, left.ID); got.State != inbox.ImportRunning {
		t.Errorf("a live import was interrupted: %+v", got)
	}
	if err := s.InterruptImports(ctx, -time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ImportJob(ctx, left.ID); got.State != inbox.ImportFailed || got.Error == "" {
		t.Errorf("interrupted job = %+v", got)
	}
	if got, _ := s.ImportJob(ctx, job.ID); got.State != inbox.ImportDone {
		t.Errorf("a finished job was touched: %+v", got)
	}
	if _, err := s.ImportJob(ctx, 999); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("unknown job: %v", err)
	}
}
