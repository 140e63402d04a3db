package workflow

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// What referral platforms report (their copies of referral Tasks) is
// applied to socialrx's referrals the same way whether the report came
// pushed ($process-messages) or polled (ApplyPolledTask).

// FindReferral finds the local referral Task a platform's Task (body, with
// its id as the platform wrote it) is about, trying in order: the same id
// (the platform kept socialrx's), the id socialrx gives that platform's
// Task (ID), each of its identifiers, and its focus ServiceRequest (focus
// maps the focus reference to a local ServiceRequest id; nil takes
// "ServiceRequest/<id>" as it is, and also tries ID of it). nil when none.
func (tx *Tx) FindReferral(ctx context.Context, endpointID string, body []byte, focus func(ref string) string) (*socialrx.Resource, error) {
	var t struct {
		ID         string `json:"id"`
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
		Focus struct {
			Reference string `json:"reference"`
		} `json:"focus"`
	}
	_ = json.Unmarshal(body, &t)
	isReferral := func(r *socialrx.Resource) bool {
		_, ok, err := mapping.ReferralFromTask(r.Body)
		return ok && err == nil
	}
	var ids []string
	if t.ID != "" && fhir.ValidID(t.ID) {
		ids = append(ids, t.ID)
	}
	if t.ID != "" {
		ids = append(ids, InboundID(endpointID, "Task", t.ID))
	}
	for _, id := range ids {
		r, err := tx.Read(ctx, "Task", id)
		if err == nil && isReferral(r) {
			return r, nil
		} else if err != nil && !missing(err) {
			return nil, err
		}
	}
	for _, id := range t.Identifier {
		if id.System == "" || id.Value == "" {
			continue
		}
		r, err := searchOne(ctx, tx, "Task", url.Values{"identifier": {id.System + "|" + id.Value}, "code": {taskCodeFulfill}})
		if err != nil || r != nil {
			return r, err
		}
	}
	var srIDs []string
	if focus != nil {
		if id := focus(t.Focus.Reference); id != "" {
			srIDs = append(srIDs, id)
		}
	} else if typ, id, ok := strings.Cut(t.Focus.Reference, "/"); ok && typ == "ServiceRequest" && id != "" {
		srIDs = append(srIDs, id, InboundID(endpointID, "ServiceRequest", id))
	}
	for _, id := range srIDs {
		if !fhir.ValidID(id) {
			continue
		}
		r, err := ReferralTaskOf(ctx, tx, id)
		if err != nil || r != nil {
			return r, err
		}
	}
	return nil, nil
}

// ApplyPlatformTask applies a platform's Task to the local referral Task
// (status, businessStatus, statusReason, output; mapping.ApplyTaskUpdate)
// and stores it, with the transaction's origin (the platform's); changed is
// false, and nothing is written, when it already says so. Errors of the
// incoming Task are EUNPROCESSABLE with Task paths.
func (tx *Tx) ApplyPlatformTask(ctx context.Context, local *socialrx.Resource, incoming []byte) (bool, error) {
	return tx.updateTask(ctx, local, incoming)
}

// updateTask applies update, a partial Task (mapping.ApplyTaskUpdate:
// status, businessStatus, statusReason, output), to the Task local and
// stores the result through the workflow; changed is false, and nothing is
// written, when local already says so.
func (tx *Tx) updateTask(ctx context.Context, local *socialrx.Resource, update []byte) (changed bool, err error) {
	out, changed, err := mapping.ApplyTaskUpdate(local.Body, update, tx.w.now())
	if err != nil || !changed {
		return false, err
	}
	if _, _, err := tx.Update(ctx, "Task", local.ID, out, 0); err != nil {
		return false, err
	}
	return true, nil
}
