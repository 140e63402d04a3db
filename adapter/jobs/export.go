package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
)

// exportWorker works bulk_export jobs: one time slice of a Bulk Data export
// (export.Runner) per run. A slice that ends before the export does snoozes
// the job (no attempt counted), so no run outlives the job timeout and a
// process that stops leaves the job to be resumed, by itself or another
// process, from its last checkpoint. A failed run is retried (River's
// back-off) and resumes the same way; the last attempt's failure marks the
// export failed, which its status then reports.
type exportWorker struct {
	river.WorkerDefaults[socialrx.ExportArgs]
	cfg    Config
	runner *export.Runner
}

func (w *exportWorker) Work(ctx context.Context, job *river.Job[socialrx.ExportArgs]) error {
	if w.cfg.ExportDir == "" {
		return errors.New("export: no export directory configured")
	}
	done, err := w.runner.Run(ctx, job.Args.ExportID, job.Attempt >= job.MaxAttempts)
	if err != nil && ctx.Err() != nil && job.Attempt < job.MaxAttempts {
		// Stopped (shutdown or the job timeout): resume soon, not as a
		// failed attempt.
		return river.JobSnooze(0)
	}
	if err != nil {
		return err
	}
	if !done {
		return river.JobSnooze(0)
	}
	return nil
}

// KindExportCleanup is the periodic job that removes expired exports.
const KindExportCleanup = "export_cleanup"

type exportCleanupArgs struct{}

func (exportCleanupArgs) Kind() string { return KindExportCleanup }

// exportCleanupWorker removes expired export jobs (record and files), and
// directories under the export directory that no job record names (left by
// a job deleted while it ran) once they are older than orphanAge.
type exportCleanupWorker struct {
	river.WorkerDefaults[exportCleanupArgs]
	cfg Config
}

// orphanAge is how old a directory without a job record must be before the
// cleanup removes it: a job being created writes its record first, but a
// directory may be made just after a DELETE removed the record.
const orphanAge = 10 * time.Minute

func (w *exportCleanupWorker) Work(ctx context.Context, _ *river.Job[exportCleanupArgs]) error {
	return CleanExports(ctx, w.cfg.Store, w.cfg.ExportDir, w.cfg.Now())
}

// CleanExports removes the export jobs expired at now, with their files,
// and the directories under dir named like export ids (export.IsJobID)
// and older than orphanAge that no job record names; nothing else in dir
// is touched. It is what the periodic export_cleanup job does.
func CleanExports(ctx context.Context, store socialrx.Store, dir string, now time.Time) error {
	if dir == "" {
		return nil
	}
	for {
		expired, err := store.ExpiredExports(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, j := range expired {
			if err := os.RemoveAll(export.JobDir(dir, j.ID)); err != nil {
				return err
			}
			if _, err := store.DeleteExport(ctx, j.ID); err != nil {
				return err
			}
		}
		if len(expired) < 100 {
			break
		}
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ids, err := store.ExportIDs(ctx)
	if err != nil {
		return err
	}
	known := make(map[string]bool, len(ids))
	for _, id := range ids {
		known[id] = true
	}
	for _, e := range entries {
		if !e.IsDir() || known[e.Name()] || !export.IsJobID(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < orphanAge {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
