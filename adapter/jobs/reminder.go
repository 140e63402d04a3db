package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/socialrx/socialrx"
)

// reminderWorker works followup_reminder jobs: the follow-up of a
// prescription fell due. workflow.RemindFollowUp picks the channel and
// records, in one transaction, the outbox message (email, text: sent by a
// deliver_message job through a Notifier, retried and dead-lettered like
// any delivery), or the staff Task (phone, letter), and schedules the
// escalation. It logs ids and the channel only.
type reminderWorker struct {
	river.WorkerDefaults[reminderArgs]
	cfg Config
}

func (w *reminderWorker) Work(ctx context.Context, job *river.Job[reminderArgs]) error {
	out, err := w.cfg.Workflow.RemindFollowUp(ctx, job.Args.PrescriptionID)
	if err != nil {
		return err
	}
	log := w.cfg.Logger.With("prescription", "ServiceRequest/"+job.Args.PrescriptionID, "job", job.ID)
	switch {
	case out.Channel == "":
		log.Info("follow-up due: nothing to remind (answered, closed or gone)")
	case out.Message != "":
		log.Info("follow-up due: reminder queued", "channel", string(out.Channel), "message", out.Message)
	default:
		log.Info("follow-up due: staff task", "channel", string(out.Channel), "task", out.Task)
	}
	return nil
}

// escalationWorker works followup_escalation jobs: EscalateAfter the
// reminder, a follow-up still open and unanswered becomes a call-patient
// Task (workflow.EscalateFollowUp).
type escalationWorker struct {
	river.WorkerDefaults[socialrx.EscalationArgs]
	cfg Config
}

func (w *escalationWorker) Work(ctx context.Context, job *river.Job[socialrx.EscalationArgs]) error {
	escalated, err := w.cfg.Workflow.EscalateFollowUp(ctx, job.Args.PrescriptionID)
	if err != nil {
		return err
	}
	if escalated {
		w.cfg.Logger.Info("follow-up overdue: call task created", "prescription", "ServiceRequest/"+job.Args.PrescriptionID)
	}
	return nil
}

// sendReminder makes one attempt to send the reminder m carries through
// the Notifier of its channel.
func (w *deliverWorker) sendReminder(ctx context.Context, m *socialrx.OutboundMessage) error {
	n := w.cfg.Notifiers[socialrx.ContactChannel(m.EndpointID)]
	if n == nil {
		return &socialrx.SendError{Reason: "socialrx: no notifier configured for " + m.EndpointID}
	}
	r, err := w.cfg.Workflow.Reminder(ctx, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, max(w.cfg.JobTimeout-time.Second, time.Second))
	defer cancel()
	return n.Send(ctx, r)
}
