package jobs

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// handoffWorker works handoff_task jobs: a fax or phone warm hand-off was
// prescribed; if no referral Task focuses its ServiceRequest once the
// prescribing transaction committed, the workflow creates one for the staff
// work list (workflow.CreateHandoffTask). The Task's id is derived from the
// ServiceRequest id, so a repeat of the job creates nothing.
type handoffWorker struct {
	river.WorkerDefaults[socialrx.HandoffArgs]
	cfg Config
}

func (w *handoffWorker) Work(ctx context.Context, job *river.Job[socialrx.HandoffArgs]) error {
	srID := job.Args.PrescriptionID
	created, err := w.cfg.Workflow.CreateHandoffTask(ctx, srID)
	if err != nil {
		return err
	}
	if created {
		w.cfg.Logger.Info("hand-off task created", "prescription", "ServiceRequest/"+srID, "task", "Task/"+workflow.HandoffTaskID(srID))
	}
	return nil
}
