package socialrx

import "context"

// PatientProjection is what was derived from a patient's FHIR resources
// (see Store.Projection): the domain rows the workflow writes, in the same
// transaction as the resources, through ProjectionTx. Each list is sorted
// deterministically by its source: Findings by Source (then question code),
// Needs by Source, Prescriptions by ID, Referrals by ID, FollowUps by
// PrescriptionID. Prescriptions carry no FollowUp: follow-ups are listed in
// FollowUps.
type PatientProjection struct {
	Findings      []Finding
	Needs         []Need
	Prescriptions []Prescription
	Referrals     []Referral
	FollowUps     []FollowUp
	// Results are the answered follow-ups of the patient's prescriptions,
	// by prescription, then answered first to last.
	Results []FollowUpResult
}

// PrescriptionRecord is one prescription with what followed it: its
// follow-up Tasks, referrals and answered follow-ups (what
// ServiceRequest/[id]/$prescription and the export's facts show).
type PrescriptionRecord struct {
	Prescription
	FollowUps []FollowUp
	Referrals []Referral
	Results   []FollowUpResult // answered first to last
}

// Outcome is the latest answered follow-up of the record; ok is false when
// none was answered.
func (r PrescriptionRecord) Outcome() (res FollowUpResult, ok bool) {
	if len(r.Results) == 0 {
		return res, false
	}
	return r.Results[len(r.Results)-1], true
}

// Fact sources: the resource types, beyond the ServiceRequest, that the
// facts of a PrescriptionRecord are derived from (Readable).
const (
	// FactSourceTask gives FollowUps (the follow-up Tasks) and Referrals
	// (the referral Tasks).
	FactSourceTask = "Task"
	// FactSourceResponse gives Results (the answered follow-up
	// QuestionnaireResponses).
	FactSourceResponse = "QuestionnaireResponse"
)

// FactSources returns FactSourceTask and FactSourceResponse; the slice is
// new on every call.
func FactSources() []string { return []string{FactSourceTask, FactSourceResponse} }

// Readable returns r without the facts derived from a resource type that
// may says may not be read: without FactSourceTask, no FollowUps and no
// Referrals; without FactSourceResponse, no Results. The prescription's
// own facts (form, channel, need domains, status, target) are facts of
// the ServiceRequest and always stay. Scopes work this way: a client
// allowed to read ServiceRequests only learns nothing of Tasks or
// answers through ServiceRequest/[id]/$prescription or the export's facts.
func (r PrescriptionRecord) Readable(may func(resourceType string) bool) PrescriptionRecord {
	if !may(FactSourceTask) {
		r.FollowUps, r.Referrals = nil, nil
	}
	if !may(FactSourceResponse) {
		r.Results = nil
	}
	return r
}

// Record returns the record of the prescription ServiceRequest/id; ok is
// false when the patient has no such prescription.
func (pp *PatientProjection) Record(id string) (rec PrescriptionRecord, ok bool) {
	for _, p := range pp.Prescriptions {
		if p.ID != id {
			continue
		}
		rec.Prescription, ok = p, true
		break
	}
	if !ok {
		return rec, false
	}
	for _, f := range pp.FollowUps {
		if f.PrescriptionID == id {
			rec.FollowUps = append(rec.FollowUps, f)
		}
	}
	for _, r := range pp.Referrals {
		if r.PrescriptionID == id {
			rec.Referrals = append(rec.Referrals, r)
		}
	}
	for _, r := range pp.Results {
		if r.PrescriptionID == id {
			rec.Results = append(rec.Results, r)
		}
	}
	return rec, true
}

// ProjectionTx keeps the domain rows derived from resources, in a store
// transaction. Rows are keyed by the resource they come from: each Put
// replaces the rows of its source resource (none when given nil or an
// empty list), so writing a new version of a resource replaces what its
// old version gave. Rows are plain data: writing them has no other effect.
type ProjectionTx interface {
	// PutFindings replaces the findings of Observation or
	// QuestionnaireResponse typ/id.
	PutFindings(ctx context.Context, typ, id string, fs []Finding) error
	// PutNeed replaces the need of Condition/conditionID (none when n is nil).
	PutNeed(ctx context.Context, conditionID string, n *Need) error
	// PutPrescription replaces the prescription of ServiceRequest/p.ID.
	PutPrescription(ctx context.Context, p *Prescription) error
	// PutReferral replaces the referral of Task/r.ID, with its delivery
	// fields. The referral's first contact (the LastChanged of the first
	// status FirstContact accepts) is kept once recorded, also when
	// DropProjections dropped the Task's rows earlier in the same
	// transaction (a new version of the Task).
	PutReferral(ctx context.Context, r *Referral) error
	// PutFollowUp replaces the follow-up of Task/taskID (none when f is nil).
	PutFollowUp(ctx context.Context, taskID string, f *FollowUp) error
	// PutFacts replaces the derived facts of typ/id: values socialrx
	// derived (a prescription's form, channel and need domains; the work
	// list of a referral Task) that the client did not write, kept beside
	// the resource so that its body stays as sent, and found by socialrx's
	// derived search parameters (ServiceRequest?prescription-form=...).
	// Writing a new version of the resource, or deleting it, drops its
	// facts: put them again after each write.
	PutFacts(ctx context.Context, typ, id string, facts []Fact) error
	// PutFollowUpResult replaces the result of the answered follow-up
	// QuestionnaireResponse/responseID (none when r is nil).
	PutFollowUpResult(ctx context.Context, responseID string, r *FollowUpResult) error
	// PutBilledVisit replaces the billed visit of ChargeItem/chargeItemID
	// (none when v is nil).
	PutBilledVisit(ctx context.Context, chargeItemID string, v *BilledVisit) error
	// DropProjections removes every row derived from typ/id (a deleted
	// resource, or one that is no longer what it was: a ServiceRequest that
	// is not a social prescription any more, a Task that changed kind).
	DropProjections(ctx context.Context, typ, id string) error

	// Prescription returns the prescription row of ServiceRequest/id; ok
	// is false when there is none.
	Prescription(ctx context.Context, id string) (p *Prescription, ok bool, err error)
	// Referral returns the referral row of Task/id; ok is false when
	// there is none.
	Referral(ctx context.Context, id string) (r *Referral, ok bool, err error)
	// ReferralsOf returns the referrals of a prescription (Task.focus),
	// in Task id order.
	ReferralsOf(ctx context.Context, prescriptionID string) ([]Referral, error)
	// MarkReferralDelivery records how delivery of a referral's platform
	// messages stands: DeliveryFailed with reason sets it; DeliveryDelivered
	// sets it only when no platform message of the referral is still
	// pending and an earlier failure is not on record (a failure stays
	// visible until a new change is sent).
	MarkReferralDelivery(ctx context.Context, referralID, state, reason string) error
}

// Fact is one value socialrx derived about a resource, searchable as the
// token search parameter Param (System|Code).
type Fact struct {
	Param  string // a derived search parameter of the resource's type: "prescription-form"
	System string // the code system: CodeSystemBase+"prescription-form"
	Code   string
}
