package jobs

import (
	"context"

	"github.com/riverqueue/river"
)

// KindStalePrograms is the daily job that puts the directory's programs not
// verified for too long (serve --stale-after) on staff's work list
// (Task?code=verify-program&status=requested; workflow.CheckStalePrograms)
// and closes the Tasks of programs verified again or gone
// (workflow.CloseVerifiedPrograms).
const KindStalePrograms = "stale_programs"

type staleProgramsArgs struct{}

func (staleProgramsArgs) Kind() string { return KindStalePrograms }

type staleProgramsWorker struct {
	river.WorkerDefaults[staleProgramsArgs]
	cfg Config
}

func (w *staleProgramsWorker) Work(ctx context.Context, _ *river.Job[staleProgramsArgs]) error {
	n, err := w.cfg.Workflow.CheckStalePrograms(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.cfg.Logger.Info("stale programs listed", "tasks", n)
	}
	closed, err := w.cfg.Workflow.CloseVerifiedPrograms(ctx)
	if err != nil {
		return err
	}
	if closed > 0 {
		w.cfg.Logger.Info("verify-program tasks closed", "tasks", closed)
	}
	return nil
}
