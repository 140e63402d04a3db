package jobs

import (
	"context"
	"net/url"

	"github.com/riverqueue/river"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/inbound"
	"github.com/socialrx/socialrx/mapping"
)

// handoffWorker works handoff_task jobs: a fax or phone warm hand-off was
// prescribed; if no referral Task focuses its ServiceRequest once the
// prescribing transaction committed, it creates one (mapping.HandoffTask)
// for the staff work list. The Task's id is derived from the ServiceRequest
// id, so a repeat of the job creates nothing.
type handoffWorker struct {
	river.WorkerDefaults[socialrx.HandoffArgs]
	cfg Config
}

// HandoffTaskID is the id of the referral Task socialrx creates for the
// fax or phone hand-off of ServiceRequest/srID.
func HandoffTaskID(srID string) string { return inbound.DerivedID("hf-", srID) }

func (w *handoffWorker) Work(ctx context.Context, job *river.Job[socialrx.HandoffArgs]) error {
	srID := job.Args.PrescriptionID
	created := false
	err := w.cfg.Store.Transact(ctx, func(tx socialrx.Tx) error {
		created = false
		tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
		res, err := tx.Search(ctx, socialrx.SearchRequest{Type: "Task", Params: url.Values{
			"focus": {"ServiceRequest/" + srID}, "code": {"http://hl7.org/fhir/CodeSystem/task-code|fulfill"}, "_count": {"1"}}})
		if err != nil {
			return err
		}
		if len(res.Matches) > 0 {
			return nil // the EMR sent its own referral Task (tagged at ingest)
		}
		sr, err := tx.Read(ctx, "ServiceRequest", srID)
		if code := socialrx.ErrorCode(err); code == socialrx.ENOTFOUND || code == socialrx.EGONE {
			return nil // withdrawn since
		} else if err != nil {
			return err
		}
		p, err := mapping.PrescriptionFromServiceRequest(sr.Body, inbound.Resolver(ctx, tx))
		if err != nil || p.Status != "active" || p.Form != socialrx.FormWarmHandoff {
			return nil // no longer an active hand-off: nothing to do
		}
		if _, ok := mapping.HandoffCode(p.Channel); !ok {
			return nil
		}
		p.ID = srID
		id := HandoffTaskID(srID)
		if _, err := tx.Read(ctx, "Task", id); err == nil || socialrx.ErrorCode(err) == socialrx.EGONE {
			return nil
		}
		if _, err := tx.Create(ctx, "Task", id, mapping.HandoffTask(*p, id, w.cfg.Now().UTC())); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return err
	}
	if created {
		w.cfg.Logger.Info("hand-off task created", "prescription", "ServiceRequest/"+srID, "task", "Task/"+HandoffTaskID(srID))
	}
	return nil
}
