package workflow

import (
	"context"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// The workflow steps the background jobs (adapter/jobs) run, each in a
// transaction of its own.

// ApplyPolledTask applies a Task read from the hl7-fhir-rest platform
// endpointID to its referral, as a platform's message would be (origin
// performer from that Endpoint: checked against the state machine, flagged
// when illegal, written back to the EMR). found is false, and nothing is
// written, for a Task about no referral of socialrx's (a platform holds
// other practices' referrals too).
func (w *Workflow) ApplyPolledTask(ctx context.Context, endpointID string, body []byte) (found, changed bool, err error) {
	err = w.Transact(ctx, func(tx *Tx) error {
		found, changed = false, false
		tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorPerformer, EndpointID: endpointID})
		local, err := tx.FindReferral(ctx, endpointID, body, nil)
		if err != nil || local == nil {
			return err
		}
		found = true
		changed, err = tx.ApplyPlatformTask(ctx, local, body)
		return err
	})
	return found, changed, err
}

// CreateHandoffTask gives the fax or phone hand-off of ServiceRequest/srID
// its referral Task on the staff work list (mapping.HandoffTask, id
// HandoffTaskID; after a program change another derived id,
// nextHandoffTaskID), as socialrx's own write, unless an open referral
// Task focuses it already (the EMR sent its own, tagged at ingest), or the
// ServiceRequest is no longer an active fax or phone hand-off. A repeat
// creates nothing. created says whether it made one.
func (w *Workflow) CreateHandoffTask(ctx context.Context, srID string) (created bool, err error) {
	err = w.Transact(ctx, func(tx *Tx) error {
		created = false
		tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
		sr, err := tx.Read(ctx, "ServiceRequest", srID)
		if missing(err) {
			return nil // withdrawn since
		} else if err != nil {
			return err
		}
		p, err := mapping.PrescriptionFromServiceRequest(sr.Body, Resolver(ctx, tx))
		if err != nil || p.Status != "active" || !socialrx.NeedsHandoffTask(*p) {
			return nil // no longer an active hand-off: nothing to do
		}
		p.ID = srID
		id, open, err := tx.nextHandoffTaskID(ctx, p)
		if err != nil || open {
			return err
		}
		if exists, err := tx.Exists(ctx, "Task", id); err != nil || exists {
			return err
		}
		if _, err := tx.Create(ctx, "Task", id, mapping.HandoffTask(*p, id, w.now())); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, err
}
