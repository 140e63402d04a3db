// Package inbound applies what referral platforms report (their copies of
// referral Tasks) to socialrx's referrals, the same way whether the report
// came pushed ($process-messages, adapter/httpapi) or polled (adapter/jobs).
// It works inside a store transaction whose Origin the caller set to the
// platform (performer side, with its Endpoint id).
package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// ID is the local id of resource typ/id received from platform endpointID
// (socialrx stores what platforms send under ids of its own, so that two
// platforms never collide and a resend lands on the same resource).
func ID(endpointID, typ, id string) string {
	return DerivedID("in-", endpointID+"|"+typ+"|"+id)
}

// DerivedID is prefix + 40 hex digits of SHA-256(key): a valid FHIR id.
func DerivedID(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:])[:40]
}

// fulfill is the code of SDOH CC referral Tasks.
const fulfill = "http://hl7.org/fhir/CodeSystem/task-code|fulfill"

// FindReferral finds the local referral Task a platform's Task (body, with
// its id as the platform wrote it) is about, trying in order: the same id
// (the platform kept socialrx's), the id socialrx gives that platform's
// Task (ID), each of its identifiers, and its focus ServiceRequest (focus
// maps the focus reference to a local ServiceRequest id; nil takes
// "ServiceRequest/<id>" as it is, and also tries ID of it). nil when none.
func FindReferral(ctx context.Context, tx socialrx.Tx, endpointID string, body []byte, focus func(ref string) string) (*socialrx.Resource, error) {
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
		ids = append(ids, ID(endpointID, "Task", t.ID))
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
		r, err := SearchOne(ctx, tx, "Task", url.Values{"identifier": {id.System + "|" + id.Value}, "code": {fulfill}})
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
		srIDs = append(srIDs, id, ID(endpointID, "ServiceRequest", id))
	}
	for _, id := range srIDs {
		if !fhir.ValidID(id) {
			continue
		}
		r, err := SearchOne(ctx, tx, "Task", url.Values{"focus": {"ServiceRequest/" + id}, "code": {fulfill}})
		if err != nil || r != nil {
			return r, err
		}
	}
	return nil, nil
}

// ApplyTask applies a platform's Task to the local referral Task (status,
// businessStatus, statusReason, output; mapping.ApplyTaskUpdate) and stores
// it; changed is false, and nothing is written, when it already says so.
// Errors of the incoming Task are EUNPROCESSABLE with Task paths.
func ApplyTask(ctx context.Context, tx socialrx.Tx, local *socialrx.Resource, incoming []byte, now time.Time) (bool, error) {
	out, changed, err := mapping.ApplyTaskUpdate(local.Body, incoming, now)
	if err != nil || !changed {
		return false, err
	}
	if _, _, err := tx.Update(ctx, "Task", local.ID, out, 0); err != nil {
		return false, err
	}
	return true, nil
}

// SearchOne returns the first match of a search in the transaction, nil
// when none.
func SearchOne(ctx context.Context, tx socialrx.Tx, typ string, q url.Values) (*socialrx.Resource, error) {
	q.Set("_count", "1")
	res, err := tx.Search(ctx, socialrx.SearchRequest{Type: typ, Params: q})
	if err != nil {
		return nil, err
	}
	if len(res.Matches) == 0 {
		return nil, nil
	}
	r := res.Matches[0]
	return &r, nil
}

func missing(err error) bool {
	c := socialrx.ErrorCode(err)
	return c == socialrx.ENOTFOUND || c == socialrx.EGONE
}

// Resolver is a mapping.Resolver reading "Type/id" through the
// transaction; what cannot be read is not resolved.
func Resolver(ctx context.Context, tx socialrx.Tx) mapping.Resolver {
	return func(ref string) ([]byte, bool) {
		typ, id, ok := strings.Cut(ref, "/")
		if !ok || typ == "" || id == "" || strings.Contains(id, "/") {
			return nil, false
		}
		r, err := tx.Read(ctx, typ, id)
		if err != nil {
			return nil, false
		}
		return r.Body, true
	}
}
