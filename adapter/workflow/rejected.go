package workflow

import (
	"context"
	"net/url"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// The rejected-referral work list (roles-walk finding 11):
// Task?work-list=rejected-unhandled lists the outgoing referrals a program
// rejected while nobody has re-referred the prescription.
//
//	referral Task rejected ──> on rejected-unhandled
//	   │
//	   v
//	a new outgoing referral Task for the same prescription (the EMR's, or
//	socialrx's hand-off Task after a program change), or the prescription
//	revoked or entered in error ──> off the list; the rejected Task itself
//	stays rejected (terminal)
//
// A later version of a rejected Task (a note added) keeps its place.

// WorkListRejectedUnhandled is the work list of rejected referrals not
// re-referred (socialrx task-code).
const WorkListRejectedUnhandled = "rejected-unhandled"

// rejectedUnhandled reports whether r, the referral of Task id about to
// replace prev, belongs on the rejected-unhandled work list: a rejected
// outgoing referral, just rejected or listed before. Call it before the
// previous version's facts are dropped.
func (tx *Tx) rejectedUnhandled(ctx context.Context, id string, prev, r *socialrx.Referral) (bool, error) {
	if r.Incoming || r.Status != socialrx.ReferralRejected {
		return false, nil
	}
	if prev == nil || prev.Status != socialrx.ReferralRejected {
		return true, nil
	}
	q := url.Values{"_id": {id}, FactWorkList: {WorkListRejectedUnhandled}, "_count": {"1"}, "_total": {"none"}}
	page, err := tx.st.Search(ctx, socialrx.SearchRequest{Type: "Task", Params: q})
	if err != nil {
		return false, err
	}
	return len(page.Matches) > 0, nil
}

// reReferred takes the rejected referrals of r's prescription off the
// rejected-unhandled work list when r is a new outgoing referral Task of
// it (prev nil).
func (tx *Tx) reReferred(ctx context.Context, prev, r *socialrx.Referral) error {
	if prev != nil || r.Incoming || r.PrescriptionID == "" {
		return nil
	}
	return tx.clearRejected(ctx, r.PrescriptionID, r.ID)
}

// clearRejected takes the rejected referrals of prescription prescriptionID
// (but Task except) off the rejected-unhandled work list: it was
// re-referred, or revoked or entered in error (nobody needs another
// program for it).
func (tx *Tx) clearRejected(ctx context.Context, prescriptionID, except string) error {
	rs, err := tx.st.ReferralsOf(ctx, prescriptionID)
	if err != nil {
		return err
	}
	for i := range rs {
		o := &rs[i]
		if o.ID == except || o.Incoming || o.Status != socialrx.ReferralRejected {
			continue
		}
		facts, err := tx.workListFacts(ctx, o, false)
		if err != nil {
			return err
		}
		if err := tx.st.PutFacts(ctx, "Task", o.ID, facts); err != nil {
			return err
		}
	}
	return nil
}

// WorkLists returns every code of the work-list search parameter
// (Task?work-list=...), as SearchParameter/Task-work-list must list them.
func WorkLists() []string {
	return []string{mapping.TaskSendFax, mapping.TaskCallToConfirm, WorkListConsentNeeded, WorkListRejectedUnhandled, mapping.TaskCallPatient, mapping.TaskPrintLetter}
}
