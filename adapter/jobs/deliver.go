package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// deliverWorker works deliver_message jobs: one outbox message, sent once
// per attempt. The attempt's outcome is recorded with workflow.FinishMessage:
//
//	2xx                          → delivered
//	retryable (network, 408, 429, 5xx)
//	   with Retry-After          → snoozed for that long (not an attempt)
//	   otherwise                 → River retries with back-off
//	   past MaxAge or attempts   → failed (dead-lettered)
//	permanent (other 4xx)        → failed (dead-lettered), the receiver's
//	                               OperationOutcome text kept on the referral
//
// A message whose referral has an earlier message still pending waits for
// it (snoozed), so a platform sees add before update before revoke.
type deliverWorker struct {
	river.WorkerDefaults[socialrx.DeliverArgs]
	cfg       Config
	endpoints endpointCache
	m         *metrics
}

// Timeout bounds one attempt.
func (w *deliverWorker) Timeout(*river.Job[socialrx.DeliverArgs]) time.Duration {
	return w.cfg.JobTimeout
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[socialrx.DeliverArgs]) error {
	if err := w.cfg.Share.turn(ctx, w.cfg.JobTimeout/2); err != nil {
		return err
	}
	st := w.cfg.Store
	m, err := st.OutboundMessage(ctx, job.Args.MessageID)
	if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
		return river.JobCancel(err) // its transaction never committed
	} else if err != nil {
		return err
	}
	if m.State != socialrx.DeliveryPending {
		return nil // done by an earlier attempt that was cut short after recording
	}
	if blocked, err := st.Blocked(ctx, m); err != nil {
		return err
	} else if blocked {
		return river.JobSnooze(w.cfg.BlockedWait)
	}
	log := w.cfg.Logger.With("message", m.ID, "destination", m.Destination, "event", string(m.Event),
		"resource", m.ResourceType+"/"+m.ResourceID, "attempt", job.Attempt)

	start := time.Now()
	sendErr := w.send(ctx, m)
	took := time.Since(start)
	if sendErr == nil {
		w.m.attempt(m.Destination, "delivered", took)
		if _, err := w.cfg.Workflow.FinishMessage(ctx, m.ID, socialrx.DeliveryDelivered, job.Attempt, ""); err != nil {
			return err // retried: the receiver recognises the resend by its id
		}
		log.Info("message delivered")
		return nil
	}
	var se *socialrx.SendError
	if !errors.As(sendErr, &se) {
		// A store or build error on our side: retry, it may be passing.
		se = &socialrx.SendError{Retryable: true, Reason: "socialrx: " + socialrx.ErrorMessage(sendErr)}
		log.Warn("message not sent", "error", socialrx.ErrorMessage(sendErr))
	}
	if se.NotNeeded {
		// Not wanted any more (a reminder for a follow-up that ended):
		// cancelled, not a failure, nothing to retry.
		if _, err := w.cfg.Workflow.FinishMessage(ctx, m.ID, socialrx.DeliveryCancelled, job.Attempt, se.Reason); err != nil {
			return err
		}
		w.m.attempt(m.Destination, "cancelled", took)
		log.Info("message no longer needed: cancelled")
		return nil
	}
	// River does not run a job past the attempt limit it was inserted with.
	giveUp := w.cfg.Retry.GiveUp(se, job.Attempt, w.cfg.Now().Sub(m.CreatedAt)) || job.Attempt >= job.MaxAttempts
	if giveUp {
		reason := se.Reason
		if se.Retryable {
			reason = fmt.Sprintf("gave up after %d attempts: %s", job.Attempt, se.Reason)
		}
		if se.StatusCode != 0 && !strings.Contains(reason, "http ") {
			reason = fmt.Sprintf("http %d: %s", se.StatusCode, reason)
		}
		if _, err := w.cfg.Workflow.FinishMessage(ctx, m.ID, socialrx.DeliveryFailed, job.Attempt, reason); err != nil {
			return err
		}
		w.m.attempt(m.Destination, "failed", took)
		// The reason may hold the receiver's words: not logged.
		log.Warn("message failed for good", "status", se.StatusCode, "retryable", se.Retryable)
		return river.JobCancel(fmt.Errorf("dead-lettered: http %d", se.StatusCode))
	}
	if _, err := w.cfg.Workflow.FinishMessage(ctx, m.ID, socialrx.DeliveryPending, job.Attempt, se.Reason); err != nil {
		return err
	}
	w.m.attempt(m.Destination, "retried", took)
	log.Info("message will be retried", "status", se.StatusCode, "retry_after", se.RetryAfter.String())
	if se.RetryAfter > 0 {
		return river.JobSnooze(min(se.RetryAfter, w.cfg.Retry.RetryAfterCap))
	}
	return fmt.Errorf("retryable: http %d", se.StatusCode)
}

// send makes one attempt to deliver m.
func (w *deliverWorker) send(ctx context.Context, m *socialrx.OutboundMessage) error {
	if m.Destination == socialrx.DestinationPatient {
		return w.sendReminder(ctx, m)
	}
	ep, err := w.endpoint(ctx, m)
	if err != nil {
		return err
	}
	res, err := w.cfg.Store.VRead(ctx, m.ResourceType, m.ResourceID, m.Version)
	if err != nil {
		if code := socialrx.ErrorCode(err); code == socialrx.ENOTFOUND || code == socialrx.EGONE {
			return &socialrx.SendError{Reason: "socialrx: " + m.ResourceType + " version to send is gone"}
		}
		return err
	}
	pf := newPrefetcher(ctx, w.cfg.Store)
	pf.seed(m.ResourceType+"/"+m.ResourceID, res.Body)
	resolve := pf.resolver()
	switch m.Destination {
	case socialrx.DestinationPlatform:
		if w.cfg.Platform == nil {
			return &socialrx.SendError{Reason: "socialrx: no platform client configured"}
		}
		// A referral message carries the referral Task and what it
		// references; a message about an Appointment or Communication
		// carries the same, with that resource added.
		task := res.Body
		if m.ResourceType != "Task" {
			b, ok := resolve("Task/" + m.ReferralID)
			if !ok {
				return &socialrx.SendError{Reason: "socialrx: the referral Task/" + m.ReferralID + " is gone"}
			}
			task = b
		}
		resources, err := mapping.MessageResources(task, resolve)
		if err == nil && m.ResourceType != "Task" {
			resources = append(resources, res.Body)
		}
		if err != nil {
			return &socialrx.SendError{Reason: "socialrx: cannot build the message: " + socialrx.ErrorMessage(err)}
		}
		bundle, err := mapping.MessageBundle(mapping.OutMessage{
			ID: m.ID, Event: m.Event, Timestamp: m.CreatedAt, Source: w.cfg.SourceURL,
			Destination: ep.Address, Resources: resources,
		})
		if err != nil {
			return &socialrx.SendError{Reason: "socialrx: cannot build the message: " + socialrx.ErrorMessage(err)}
		}
		_, err = w.cfg.Platform.Send(ctx, ep, bundle)
		return err
	case socialrx.DestinationEMR:
		if w.cfg.EMR == nil {
			return &socialrx.SendError{Reason: "socialrx: no EMR client configured"}
		}
		system, value := mapping.ResourceIdentifier(m.ResourceType, m.ResourceID, res.Body)
		src := res.Body
		if m.Event == socialrx.WriteBackWithdraw {
			if src, _, err = mapping.WithStatus(src, "entered-in-error"); err != nil {
				return &socialrx.SendError{Reason: "socialrx: cannot build the write-back: " + socialrx.ErrorMessage(err)}
			}
		}
		body, err := mapping.WriteBackBody(src, resolve, system, value)
		if err != nil {
			return &socialrx.SendError{Reason: "socialrx: cannot build the write-back: " + socialrx.ErrorMessage(err)}
		}
		if m.Event == socialrx.WriteBackTask || m.Event == socialrx.WriteBackUpdate || m.Event == socialrx.WriteBackWithdraw {
			return w.cfg.EMR.UpdateByIdentifier(ctx, ep, m.ResourceType, system, value, body)
		}
		return w.cfg.EMR.CreateIfNoneExist(ctx, ep, m.ResourceType, system, value, body)
	}
	return &socialrx.SendError{Reason: "socialrx: unknown destination " + m.Destination}
}

// endpoint reads where m goes. An Endpoint that is gone, inactive or of
// the wrong kind is a permanent failure: it needs a person to fix it.
func (w *deliverWorker) endpoint(ctx context.Context, m *socialrx.OutboundMessage) (socialrx.Endpoint, error) {
	if m.EndpointID == socialrx.EMRDefaultEndpointID {
		if w.cfg.EMRAddress == "" {
			return socialrx.Endpoint{}, &socialrx.SendError{Reason: "socialrx: no default EMR endpoint configured (--emr-endpoint)"}
		}
		return socialrx.Endpoint{ID: m.EndpointID, ConnectionType: socialrx.ConnectionFHIRREST, Address: w.cfg.EMRAddress}, nil
	}
	body, err := w.endpoints.read(ctx, w.cfg.Store, m.EndpointID)
	if err != nil {
		if code := socialrx.ErrorCode(err); code == socialrx.ENOTFOUND || code == socialrx.EGONE {
			return socialrx.Endpoint{}, &socialrx.SendError{Reason: "socialrx: Endpoint/" + m.EndpointID + " is gone"}
		}
		return socialrx.Endpoint{}, err
	}
	ep, ok := mapping.EndpointOf(body)
	if !ok {
		return socialrx.Endpoint{}, &socialrx.SendError{Reason: "socialrx: Endpoint/" + m.EndpointID + " is not active or has no address"}
	}
	ep.ID = m.EndpointID
	return ep, nil
}
