// Package workflow is the one home of socialrx's workflow: what a write
// means for the domain, and what it causes. It runs inside a store
// transaction (socialrx.Store.Transact) and is called by adapter/httpapi
// and adapter/jobs, and by nothing else:
//
//	httpapi (REST, Bundles, $process-messages) ──┐
//	jobs (delivery, polling, hand-off Tasks) ────┤
//	                                             v
//	                      workflow.Tx: Create / Update / Delete
//	                         │  1 prepare (a ServiceRequest is read as a
//	                         │    prescription)
//	                         │  2 store the resource as sent (ResourceTx:
//	                         │    the store only stores)
//	                         │  3 project: domain rows and derived facts
//	                         │    (ProjectionTx)
//	                         │  4 follow on: a new prescription's follow-up
//	                         │    Task and jobs; a referral change's
//	                         │    message (OutboxTx), decided by the pure
//	                         │    functions of the root package (route.go,
//	                         │    followup.go)
//	                         v
//	                 one database transaction: all of it or nothing
//
// The decisions themselves are pure and live in the root package
// (NextMessage, LinkedMessage, FollowUpFor, WriteBackEMR, ...); this package
// gathers their facts through the transaction and records their answers.
// Reading and writing FHIR is mapping's. Any mapping or domain error is
// EUNPROCESSABLE with the mapping's issues (element paths, never values),
// and the caller's transaction fails with it.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// Options configure a Workflow. The zero value is the production default.
type Options struct {
	// FollowUpIntervals is the time from a prescription to its follow-up,
	// per form; socialrx.DefaultFollowUpIntervals for forms missing.
	FollowUpIntervals map[socialrx.Form]time.Duration
	// DefaultEMR says a default EMR is configured (serve --emr-endpoint):
	// referral changes whose requester has no hl7-fhir-rest Endpoint are
	// written back to it (socialrx.EMRDefaultEndpointID).
	DefaultEMR bool
	// RequireConsent gates sharing on the patient's Consent (serve
	// --require-consent; consent.go): a warm hand-off or navigator referral
	// goes to the program's platform only while a Consent permits it, and
	// is held otherwise; Consent writes release and revoke.
	RequireConsent bool
	// Reach configures reaching the patient: reminders, form links,
	// escalation (reminder.go).
	Reach ReachOptions
	// Audit writes the audit trail (audit.go): AuditEvents of writes in
	// their transaction (Tx.Audit), of delivery outcomes in
	// FinishMessage's, and of reads buffered (Auditor.Record). nil: no
	// audit trail.
	Audit *Auditor
	// ProgramStaleAfter is how long after its last verification a
	// program counts as stale (serve --stale-after): a prescription to it
	// gets a warning (program.go). 0: socialrx.DefaultProgramStaleAfter.
	ProgramStaleAfter time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Workflow runs socialrx's workflow over a store.
type Workflow struct {
	store socialrx.Store
	opts  Options
}

// New returns the workflow over store.
func New(store socialrx.Store, opts Options) *Workflow {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Workflow{store: store, opts: opts}
}

// Store returns the store the workflow runs over.
func (w *Workflow) Store() socialrx.Store { return w.store }

func (w *Workflow) now() time.Time { return w.opts.Now().UTC() }

// Transact runs fn in one store transaction (socialrx.Store.Transact: all
// or nothing, and fn may run again on a serialization failure). Writes
// through tx are ingested: their domain rows, follow-on resources, jobs and
// messages are written in the same transaction.
func (w *Workflow) Transact(ctx context.Context, fn func(tx *Tx) error) error {
	return w.store.Transact(ctx, func(stx socialrx.Tx) error {
		tx := &Tx{w: w, st: stx, read: map[string]*socialrx.Resource{}, presc: map[string]cachedPrescription{}}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.flushAudit(ctx)
	})
}

// Tx is a workflow transaction: the store's resource reads, and writes
// that carry the workflow. It satisfies socialrx.ResourceTx, so code that
// only reads or writes resources (the REST handlers) does not need to know
// what a write causes. A Tx must not be used after fn returns.
type Tx struct {
	w      *Workflow
	st     socialrx.Tx
	origin socialrx.Origin // on whose behalf writes are made (SetOrigin)
	// read caches what the workflow's own reads found in this transaction
	// (a prescription's performer, its Endpoints, the patient: read by
	// prepare, then again to route the referral), by "Type/id", and the
	// matches of conditional operations' searches (Search); a write
	// through this Tx replaces or drops its entry. Reads by callers (Read)
	// go to the store.
	read map[string]*socialrx.Resource
	// presc caches the prescriptions the workflow read in this
	// transaction, by ServiceRequest id (routing a referral Task reads its
	// prescription for the work list and again for the message); any
	// write of prescription rows through this Tx empties it.
	presc map[string]cachedPrescription
	// warnings of the writes, for the caller's response (TakeWarnings).
	warnings []socialrx.Issue
	// audits are the transaction's AuditEvents (Audit), appended together
	// when fn has succeeded: one multi-row INSERT instead of one statement
	// an event (a transaction Bundle writes one an entry).
	audits []socialrx.AuditRecord
	// minted holds "Type/id" of the resources this transaction created
	// with CreateNew: ids drawn a moment ago, which no one could have
	// named before. An id derived from one of them (FollowUpTaskID,
	// PatientTaskID) cannot have been stored before either, so its create
	// is a CreateNew too (on PostgreSQL, no round trip of its own).
	minted map[string]struct{}
	// written holds "Type/id" of what this transaction wrote: a prefetched
	// version arriving after the write must not enter the read cache.
	written map[string]struct{}
}

// isMinted reports whether typ/id was created by this transaction with
// CreateNew.
func (tx *Tx) isMinted(typ, id string) bool {
	_, ok := tx.minted[typ+"/"+id]
	return ok
}

var _ socialrx.ResourceTx = (*Tx)(nil)

// SetOrigin sets on whose behalf the following writes of the transaction
// are made (socialrx.Origin); the default is the requester over REST.
func (tx *Tx) SetOrigin(o socialrx.Origin) { tx.origin = o }

// Origin returns on whose behalf writes are made.
func (tx *Tx) Origin() socialrx.Origin { return tx.origin }

// Read returns the current version as the transaction sees it.
func (tx *Tx) Read(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	return tx.st.Read(ctx, typ, id)
}

// Search runs a search that sees the transaction's own writes. The
// matches of a conditional operation's search (SearchRequest.Match: whole
// current versions) go into the read cache, so that the workflow does not
// read again what a conditional create found (an encounter's program, its
// performer).
func (tx *Tx) Search(ctx context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	res, err := tx.st.Search(ctx, req)
	if err != nil || !req.Match {
		return res, err
	}
	tx.keepMatches(res)
	return res, nil
}

// keepMatches keeps what a conditional search found in the transaction's
// read cache (see Tx.read).
func (tx *Tx) keepMatches(res *socialrx.SearchResult) {
	for _, m := range res.Matches {
		if _, ok := tx.read[m.Type+"/"+m.ID]; !ok && !m.Deleted && len(m.Body) > 0 {
			r := m
			tx.read[m.Type+"/"+m.ID] = &r
		}
	}
}

// MatchMany runs conditional searches with one statement where the store
// can (socialrx.MatchManyTx; a nil result is the caller's to run alone),
// keeping what they found as Search does.
func (tx *Tx) MatchMany(ctx context.Context, reqs []socialrx.SearchRequest) ([]*socialrx.SearchResult, error) {
	mm, ok := tx.st.(socialrx.MatchManyTx)
	if !ok {
		return make([]*socialrx.SearchResult, len(reqs)), nil
	}
	out, err := mm.MatchMany(ctx, reqs)
	if err != nil {
		return nil, err
	}
	for _, res := range out {
		if res != nil {
			tx.keepMatches(res)
		}
	}
	return out, nil
}

// cachedRead reads typ/id for the workflow's own decisions, once per
// transaction (see Tx.read); an error is not cached.
func (tx *Tx) cachedRead(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	key := typ + "/" + id
	if r, ok := tx.read[key]; ok {
		return r, nil
	}
	r, err := tx.st.Read(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	tx.read[key] = r
	return r, nil
}

// cachedPrescription is one answer of the store's Prescription.
type cachedPrescription struct {
	p  socialrx.Prescription
	ok bool
}

// prescription reads the prescription of ServiceRequest id, once per
// transaction until a write of prescription rows (putPrescription,
// dropProjections); each caller gets its own copy.
func (tx *Tx) prescription(ctx context.Context, id string) (*socialrx.Prescription, bool, error) {
	c, hit := tx.presc[id]
	if !hit {
		p, ok, err := tx.st.Prescription(ctx, id)
		if err != nil {
			return nil, false, err
		}
		c = cachedPrescription{ok: ok}
		if ok {
			c.p = *p
		}
		tx.presc[id] = c
	}
	if !c.ok {
		return nil, false, nil
	}
	return clonePrescription(c.p), true, nil
}

// clonePrescription copies p, its slices and its follow-up, so that a
// caller changing its copy changes nothing cached.
func clonePrescription(p socialrx.Prescription) *socialrx.Prescription {
	p.Needs = slices.Clone(p.Needs)
	p.NeedRefs = slices.Clone(p.NeedRefs)
	p.Identifiers = slices.Clone(p.Identifiers)
	if p.FollowUp != nil {
		f := *p.FollowUp
		p.FollowUp = &f
	}
	return &p
}

// putPrescription writes p's projection row and forgets cached
// prescriptions.
func (tx *Tx) putPrescription(ctx context.Context, p *socialrx.Prescription) error {
	clear(tx.presc)
	return tx.st.PutPrescription(ctx, p)
}

// dropProjections removes the projection rows of typ/id and forgets
// cached prescriptions.
func (tx *Tx) dropProjections(ctx context.Context, typ, id string) error {
	clear(tx.presc)
	return tx.st.DropProjections(ctx, typ, id)
}

// wrote records in the read cache what a write of typ/id stored (nil: a
// delete).
func (tx *Tx) wrote(typ, id string, res *socialrx.Resource) {
	if tx.written == nil {
		tx.written = map[string]struct{}{}
	}
	tx.written[typ+"/"+id] = struct{}{}
	if res == nil || res.Deleted {
		delete(tx.read, typ+"/"+id)
		return
	}
	tx.read[typ+"/"+id] = res
}

// Prefetch reads refs ahead where the store can (socialrx.PrefetchTx) and
// keeps what arrives for the workflow's own reads (cachedRead: the
// Endpoint of a prescription's program, read while mapping it), unless
// the transaction has an entry for it already or wrote it; got, when not
// nil, gets every one.
func (tx *Tx) Prefetch(refs []string, got func(socialrx.Resource)) {
	pf, ok := tx.st.(socialrx.PrefetchTx)
	if !ok {
		return
	}
	pf.Prefetch(refs, func(r socialrx.Resource) {
		k := r.Type + "/" + r.ID
		_, cached := tx.read[k]
		_, written := tx.written[k]
		if !cached && !written {
			tx.read[k] = &r
		}
		if got != nil {
			got(r)
		}
	})
}

// Exists reports whether typ/id was ever stored, locking it.
func (tx *Tx) Exists(ctx context.Context, typ, id string) (bool, error) {
	return tx.st.Exists(ctx, typ, id)
}

// LockKey holds a lock on key until the transaction ends.
func (tx *Tx) LockKey(ctx context.Context, key string) error { return tx.st.LockKey(ctx, key) }

// Inbound records that a platform's message is being applied (see
// socialrx.OutboxTx.Inbound): seen is true for a redelivery or an echo.
func (tx *Tx) Inbound(ctx context.Context, endpointID, messageID string, event socialrx.MessageEvent) (bool, error) {
	return tx.st.Inbound(ctx, endpointID, messageID, event)
}

// Create stores version 1 of a new resource (socialrx.ResourceTx.Create)
// and ingests it.
func (tx *Tx) Create(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error) {
	return tx.create(ctx, typ, id, body, tx.st.Create)
}

// CreateNew is Create of a freshly minted id
// (socialrx.ResourceTx.CreateNew).
func (tx *Tx) CreateNew(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error) {
	if tx.minted == nil {
		tx.minted = map[string]struct{}{}
	}
	tx.minted[typ+"/"+id] = struct{}{} // before ingesting: its follow-on derives ids from it
	res, err := tx.create(ctx, typ, id, body, tx.st.CreateNew)
	if err != nil {
		delete(tx.minted, typ+"/"+id)
	}
	return res, err
}

// create ingests a new resource, stored by store (the store's Create or
// CreateNew).
func (tx *Tx) create(ctx context.Context, typ, id string, body []byte, store func(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error)) (*socialrx.Resource, error) {
	if _, cached := tx.presc[id]; typ == "ServiceRequest" && !cached {
		// A new ServiceRequest has no prescription row: prepare need not
		// read one (a statement, on PostgreSQL a round trip). Should the
		// id be taken after all, the create fails and the answer is
		// forgotten.
		tx.presc[id] = cachedPrescription{}
	}
	p, err := tx.prepare(ctx, typ, id, body)
	if err != nil {
		if typ == "ServiceRequest" {
			delete(tx.presc, id)
		}
		return nil, fmt.Errorf("create %s/%s: %w", typ, id, err)
	}
	res, err := store(ctx, typ, id, body)
	if err != nil {
		if typ == "ServiceRequest" {
			delete(tx.presc, id)
		}
		return nil, err
	}
	tx.wrote(typ, id, res)
	if err := tx.project(ctx, res, p); err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", typ, id, err)
	}
	if err := tx.consentWritten(ctx, typ, "", res.Body); err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", typ, id, err)
	}
	return res, nil
}

// Update stores a new version (socialrx.ResourceTx.Update) and ingests it.
func (tx *Tx) Update(ctx context.Context, typ, id string, body []byte, ifMatch int64) (*socialrx.Resource, bool, error) {
	p, err := tx.prepare(ctx, typ, id, body)
	if err != nil {
		return nil, false, fmt.Errorf("update %s/%s: %w", typ, id, err)
	}
	was, err := tx.consentPatientBefore(ctx, typ, id)
	if err != nil {
		return nil, false, err
	}
	res, created, err := tx.st.Update(ctx, typ, id, body, ifMatch)
	if err != nil {
		return nil, false, err
	}
	tx.wrote(typ, id, res)
	if err := tx.project(ctx, res, p); err != nil {
		return nil, false, fmt.Errorf("update %s/%s: %w", typ, id, err)
	}
	if err := tx.consentWritten(ctx, typ, was, res.Body); err != nil {
		return nil, false, fmt.Errorf("update %s/%s: %w", typ, id, err)
	}
	return res, created, nil
}

// Delete marks the resource deleted (socialrx.ResourceTx.Delete) and
// removes its domain rows; an answered follow-up response's outcome is
// withdrawn (outcome_withdraw.go).
func (tx *Tx) Delete(ctx context.Context, typ, id string, ifMatch int64) (*socialrx.Resource, error) {
	if err := tx.checkDeletable(ctx, typ, id); err != nil {
		return nil, err
	}
	was, err := tx.consentPatientBefore(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	var answered *mapping.FollowUpResponse
	if typ == "QuestionnaireResponse" {
		if answered, err = tx.answeredResponse(ctx, id); err != nil {
			return nil, err
		}
	}
	res, err := tx.st.Delete(ctx, typ, id, ifMatch)
	tx.wrote(typ, id, nil)
	if err != nil || res == nil {
		return res, err
	}
	if err := tx.dropProjections(ctx, typ, id); err != nil {
		return nil, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	if answered != nil {
		if err := tx.withdrawOutcome(ctx, id, res, answered); err != nil {
			return nil, fmt.Errorf("delete %s/%s: %w", typ, id, err)
		}
	}
	if err := tx.consentWritten(ctx, typ, was, nil); err != nil {
		return nil, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	return res, nil
}

// checkDeletable refuses (ECONFLICT) to delete a referral Task that its
// program has or is about to get (sentOpen), and a ServiceRequest with
// such a referral: deleting them would tell the program nothing (no
// revoke-service-request), so it would keep the referral and the patient's
// data, and refuse its own later updates as unknown. Cancelling the Task,
// or revoking the prescription, tells it.
func (tx *Tx) checkDeletable(ctx context.Context, typ, id string) error {
	switch typ {
	case "Task":
		r, ok, err := tx.st.Referral(ctx, id)
		if err != nil || !ok || !sentOpen(r) {
			return err
		}
		return socialrx.Errorf(socialrx.ECONFLICT, "Task/%s is a referral its program has (delivery %s): it is not deleted, or the program would never know; cancel it instead (status cancelled, with a statusReason)", id, r.DeliveryState)
	case "ServiceRequest":
		rs, err := tx.st.ReferralsOf(ctx, id)
		if err != nil {
			return err
		}
		for i := range rs {
			if sentOpen(&rs[i]) {
				return socialrx.Errorf(socialrx.ECONFLICT, "ServiceRequest/%s has referral Task/%s, which its program has (delivery %s): it is not deleted, or the program would never know; revoke it instead (status revoked), and the referral is cancelled", id, rs[i].ID, rs[i].DeliveryState)
			}
		}
	}
	return nil
}

// sentOpen reports whether r is an open outgoing referral that its
// program's platform has, or is about to get: delivery pending or
// delivered, or held after the patient revoked consent (sent before).
func sentOpen(r *socialrx.Referral) bool {
	if r.Incoming || r.Status.Terminal() {
		return false
	}
	return r.DeliveredToPlatform() || (r.DeliveryState == socialrx.DeliveryHeld && r.DeliveryError == socialrx.HoldConsentRevoked)
}

// unprocessable turns a mapping or domain error into EUNPROCESSABLE, keeping
// its message and issues (paths, never values); other errors pass.
func unprocessable(err error) error {
	var se *socialrx.Error
	if errors.As(err, &se) && (se.Code == socialrx.EINVALID || se.Code == socialrx.EUNPROCESSABLE) {
		return &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: se.Message, Issues: se.Issues}
	}
	return err
}
