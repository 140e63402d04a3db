package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// pollWorker works the periodic poll_platforms job: for each active
// hl7-fhir-rest Endpoint with open referrals (Store.PollTargets), it reads
// the Tasks changed since the last poll (Poller.ChangedTasks) and applies
// each to its referral as a platform's message would be
// (workflow.ApplyPolledTask, Origin performer from that Endpoint: checked
// against the state machine, flagged when illegal, written back to the
// EMR). Tasks that match no referral of socialrx's are skipped (a platform
// holds other practices' referrals too). The poll mark moves only after
// the Tasks up to it were applied, so a failed poll is read again.
type pollWorker struct {
	river.WorkerDefaults[socialrx.PollArgs]
	cfg Config
	m   *metrics
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[socialrx.PollArgs]) error {
	if w.cfg.Poller == nil {
		return nil
	}
	targets, err := w.cfg.Store.PollTargets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range targets {
		if err := w.poll(ctx, t); err != nil {
			// River keeps (and may log) the job's error: the platform's own
			// words (SendError.Reason) stay out of it.
			var se *socialrx.SendError
			if errors.As(err, &se) {
				err = fmt.Errorf("http %d, retryable %v", se.StatusCode, se.Retryable)
			}
			errs = append(errs, fmt.Errorf("poll Endpoint/%s: %w", t.EndpointID, err))
			w.m.polls.WithLabelValues("failed").Inc()
		} else {
			w.m.polls.WithLabelValues("ok").Inc()
		}
	}
	if len(errs) > 0 {
		w.cfg.Logger.Warn("platform poll failed", "endpoints", len(errs))
		return errors.Join(errs...)
	}
	return nil
}

func (w *pollWorker) poll(ctx context.Context, t socialrx.PollTarget) error {
	res, err := w.cfg.Store.Read(ctx, "Endpoint", t.EndpointID)
	if err != nil {
		return nil // gone: nothing to poll
	}
	ep, ok := mapping.EndpointOf(res.Body)
	if !ok || ep.ConnectionType != socialrx.ConnectionFHIRREST {
		return nil
	}
	ep.ID = t.EndpointID
	tasks, newest, err := w.cfg.Poller.ChangedTasks(ctx, ep, t.Since)
	if err != nil {
		return err
	}
	applied := 0
	for _, body := range tasks {
		if d, issues := fhir.Decode(body, "Task"); fhir.HasErrors(issues) || d == nil {
			w.cfg.Logger.Warn("polled Task not applied: not valid FHIR", "endpoint", t.EndpointID)
			continue // its status, reason and output would be copied into ours
		}
		_, changed, err := w.cfg.Workflow.ApplyPolledTask(ctx, t.EndpointID, body)
		if socialrx.ErrorCode(err) == socialrx.EUNPROCESSABLE || socialrx.ErrorCode(err) == socialrx.EINVALID {
			w.cfg.Logger.Warn("polled Task not applied", "endpoint", t.EndpointID, "error", socialrx.ErrorMessage(err))
			continue // a Task socialrx cannot read: skip it, not the poll
		} else if err != nil {
			return err
		}
		if changed {
			applied++
		}
	}
	if newest != t.Since {
		if err := w.cfg.Store.SetPollMark(ctx, t.EndpointID, newest); err != nil {
			return err
		}
	}
	if applied > 0 {
		w.cfg.Logger.Info("platform polled", "endpoint", t.EndpointID, "tasks", len(tasks), "applied", applied)
	}
	return nil
}
