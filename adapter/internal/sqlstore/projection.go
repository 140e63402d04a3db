package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// The projection tables (socialrx.ProjectionTx) are written by an upsert
// of the one row of a source resource (needs, prescriptions, referrals,
// follow_ups: INSERT ... ON CONFLICT DO UPDATE, one statement, the same on
// both databases), or by delete-then-insert of its rows (findings).

var _ socialrx.ProjectionTx = (*Tx)(nil)

// exec runs a statement of the projections in the transaction,
// translating its error; where the driver can (Deferrer), it goes with the
// transaction's next statement: nothing reads its result.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) error {
	if tx.done {
		return errTxDone
	}
	if d, ok := tx.q.(Deferrer); ok {
		d.Defer(query, args...)
		return nil
	}
	if _, err := tx.q.Exec(ctx, query, args...); err != nil {
		return tx.e.translate(err)
	}
	return nil
}

// terminalStatuses is the SQL list of the terminal referral statuses
// (socialrx.ReferralStatus.Terminal), for "status NOT IN (...)".
var terminalStatuses = func() string {
	var b strings.Builder
	for _, st := range socialrx.AllReferralStatuses() {
		if !st.Terminal() {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + string(st) + "'")
	}
	return "(" + b.String() + ")"
}()

// micros is t in unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return toMicros(t)
}

// timeOf is the inverse of micros.
func timeOf(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

// jsonList encodes a list of strings as a JSON array ("[]" when empty).
func jsonList[S ~string](l []S) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // strings always marshal
	return string(b)
}

func parseList[S ~string](s string) ([]S, error) {
	var l []S
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// PutFindings replaces the findings of typ/id (see socialrx.ProjectionTx).
func (tx *Tx) PutFindings(ctx context.Context, typ, id string, fs []socialrx.Finding) error {
	tx.touched(typ, id)
	if err := tx.exec(ctx, `DELETE FROM findings WHERE res_type = $1 AND res_id = $2`, typ, id); err != nil {
		return err
	}
	for i, f := range fs {
		if err := tx.exec(ctx, `INSERT INTO findings (res_type, res_id, ord, source, patient_id, domain, instrument, item_code, answer_code, positive, effective_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			typ, id, i, f.Source, f.PatientID, string(f.Domain), string(f.Instrument), f.ItemCode, f.AnswerCode, f.Positive, micros(f.EffectiveAt)); err != nil {
			return err
		}
	}
	return nil
}

// PutNeed replaces the need of Condition/id by n (none when nil).
func (tx *Tx) PutNeed(ctx context.Context, id string, n *socialrx.Need) error {
	tx.touched("Condition", id)
	if n == nil {
		return tx.exec(ctx, `DELETE FROM needs WHERE condition_id = $1`, id)
	}
	return tx.exec(ctx, `INSERT INTO needs (condition_id, patient_id, domain, system, code, display, status, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (condition_id) DO UPDATE SET patient_id = excluded.patient_id, domain = excluded.domain, system = excluded.system, code = excluded.code, display = excluded.display, status = excluded.status, recorded_at = excluded.recorded_at`,
		id, n.PatientID, string(n.Domain), n.Code.System, n.Code.Code, n.Code.Display, n.Status, micros(n.RecordedAt))
}

// PutPrescription replaces the prescription of ServiceRequest/p.ID.
func (tx *Tx) PutPrescription(ctx context.Context, p *socialrx.Prescription) error {
	tx.touched("ServiceRequest", p.ID)
	if tx.rx == nil {
		tx.rx = map[string]*socialrx.Prescription{}
	}
	tx.rx[p.ID] = storedPrescription(p)
	return tx.exec(ctx, `INSERT INTO prescriptions (service_request_id, patient_id, form, form_derived, needs, need_refs, code_system, code, code_display, target, channel, status, requester, authored_on)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (service_request_id) DO UPDATE SET patient_id = excluded.patient_id, form = excluded.form, form_derived = excluded.form_derived, needs = excluded.needs, need_refs = excluded.need_refs, code_system = excluded.code_system, code = excluded.code, code_display = excluded.code_display, target = excluded.target, channel = excluded.channel, status = excluded.status, requester = excluded.requester, authored_on = excluded.authored_on`,
		p.ID, p.PatientID, string(p.Form), p.FormDerived, jsonList(p.Needs), jsonList(p.NeedRefs), p.Code.System, p.Code.Code, p.Code.Display,
		p.Target, string(p.Channel), p.Status, p.RequesterID, micros(p.AuthoredOn))
}

// PutReferral replaces the referral of Task/r.ID. Its first contact
// (Referral.AnsweredByProgram: the first status the program set, for the
// program report) is kept once recorded, also across DropProjections of
// the Task earlier in the transaction (a new version of it): a referral
// reaching such a status for the first time gets r.LastChanged.
func (tx *Tx) PutReferral(ctx context.Context, r *socialrx.Referral) error {
	tx.touched("Task", r.ID)
	if tx.refs == nil {
		tx.refs = map[string]socialrx.Referral{}
	}
	c := *r // the row as the upsert leaves it (every column read back is set)
	c.LastChanged = timeOf(micros(r.LastChanged))
	tx.refs[r.ID] = c
	var contact int64
	if kept := tx.contacts[r.ID]; kept > 0 {
		contact = kept // a new version of the Task: its old row was dropped
	} else if r.AnsweredByProgram() {
		contact = micros(r.LastChanged)
	}
	if err := tx.exec(ctx, `INSERT INTO referrals (task_id, prescription_id, patient_id, requester, performer, status, business_status, status_reason, last_changed, delivery_state, delivery_error, endpoint_id, flag, incoming, first_contact)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (task_id) DO UPDATE SET prescription_id = excluded.prescription_id, patient_id = excluded.patient_id, requester = excluded.requester, performer = excluded.performer, status = excluded.status, business_status = excluded.business_status, status_reason = excluded.status_reason, last_changed = excluded.last_changed, delivery_state = excluded.delivery_state, delivery_error = excluded.delivery_error, endpoint_id = excluded.endpoint_id, flag = excluded.flag, incoming = excluded.incoming,
first_contact = CASE WHEN referrals.first_contact > 0 THEN referrals.first_contact ELSE excluded.first_contact END`,
		r.ID, r.PrescriptionID, r.PatientID, r.Requester, r.Performer, string(r.Status), r.BusinessStatus, r.StatusReason, micros(r.LastChanged), r.DeliveryState, r.DeliveryError, r.EndpointID, r.Flag, r.Incoming, contact); err != nil {
		return err
	}
	return tx.refreshReferralReport(ctx, r.PrescriptionID)
}

// PutFollowUpResult replaces the result of the answered follow-up
// QuestionnaireResponse/id by r (none when nil).
func (tx *Tx) PutFollowUpResult(ctx context.Context, id string, r *socialrx.FollowUpResult) error {
	tx.touched("QuestionnaireResponse", id)
	old, err := tx.prescriptionOf(ctx, `SELECT prescription_id FROM follow_up_results WHERE response_id = $1`, id)
	if err != nil {
		return err
	}
	if r == nil {
		if err := tx.exec(ctx, `DELETE FROM follow_up_results WHERE response_id = $1`, id); err != nil {
			return err
		}
	} else if err := tx.exec(ctx, `INSERT INTO follow_up_results (response_id, prescription_id, patient_id, pursued, satisfaction, wellbeing, next_step, answered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (response_id) DO UPDATE SET prescription_id = excluded.prescription_id, patient_id = excluded.patient_id, pursued = excluded.pursued, satisfaction = excluded.satisfaction, wellbeing = excluded.wellbeing, next_step = excluded.next_step, answered_at = excluded.answered_at`,
		id, r.PrescriptionID, r.PatientID, string(r.Pursued), r.Satisfaction, string(r.Wellbeing), string(r.NextStep), micros(r.AnsweredAt)); err != nil {
		return err
	}
	if old != "" && (r == nil || old != r.PrescriptionID) {
		if err := tx.refreshResultReport(ctx, old); err != nil {
			return err
		}
	}
	if r == nil {
		return nil
	}
	return tx.refreshResultReport(ctx, r.PrescriptionID)
}

// prescriptionOf runs query (a SELECT of one prescription id by $1) and
// returns its answer, "" when there is no row.
func (tx *Tx) prescriptionOf(ctx context.Context, query, arg string) (string, error) {
	if tx.done {
		return "", errTxDone
	}
	var id string
	if err := tx.q.QueryRow(ctx, query, arg).Scan(&id); err != nil {
		err = tx.e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return "", nil
		}
		return "", err
	}
	return id, nil
}

// refreshReferralReport recomputes the referral side of the report
// rows of a prescription from its referrals: its referral_report rows,
// one per program its referrals were sent to (referrals.performer), and
// the referral columns of its prescription_report row, their sums (the
// earliest first contact). Entered-in-error referrals count nowhere. A
// referral socialrx holds for consent (delivery_state held, on-hold by
// socialrx) counts as accepted only when the program had answered it
// before (a first contact: Referral.AnsweredByProgram).
func (tx *Tx) refreshReferralReport(ctx context.Context, prescriptionID string) error {
	if err := tx.exec(ctx, `DELETE FROM referral_report WHERE prescription_id = $1`, prescriptionID); err != nil {
		return err
	}
	if err := tx.exec(ctx, `INSERT INTO referral_report (prescription_id, program, referrals, accepted, rejected, completed, first_contact)
SELECT $1, performer, count(*),
  sum(CASE WHEN status IN ('accepted', 'on-hold', 'in-progress', 'completed') AND (delivery_state <> 'held' OR first_contact > 0) THEN 1 ELSE 0 END),
  sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END),
  sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),
  coalesce(min(CASE WHEN first_contact > 0 THEN first_contact END), 0)
FROM referrals WHERE prescription_id = $1 AND status <> 'entered-in-error' GROUP BY performer`, prescriptionID); err != nil {
		return err
	}
	return tx.exec(ctx, `INSERT INTO prescription_report (prescription_id, referrals, accepted, rejected, completed, first_contact)
SELECT $1, coalesce(sum(referrals), 0), coalesce(sum(accepted), 0), coalesce(sum(rejected), 0), coalesce(sum(completed), 0),
  coalesce(min(CASE WHEN first_contact > 0 THEN first_contact END), 0)
FROM referral_report WHERE prescription_id = $1
ON CONFLICT (prescription_id) DO UPDATE SET referrals = excluded.referrals, accepted = excluded.accepted, rejected = excluded.rejected,
  completed = excluded.completed, first_contact = excluded.first_contact`, prescriptionID)
}

// refreshResultReport recomputes the follow-up side of the
// prescription_report row of a prescription: its latest answered
// follow-up (by answered_at, then response id), or none.
func (tx *Tx) refreshResultReport(ctx context.Context, prescriptionID string) error {
	if err := tx.exec(ctx, `UPDATE prescription_report SET followed_up = 0, pursued = '', satisfaction = 0, wellbeing = '' WHERE prescription_id = $1`,
		prescriptionID); err != nil {
		return err
	}
	return tx.exec(ctx, `INSERT INTO prescription_report (prescription_id, followed_up, pursued, satisfaction, wellbeing)
SELECT prescription_id, 1, pursued, satisfaction, wellbeing FROM follow_up_results WHERE prescription_id = $1
ORDER BY answered_at DESC, response_id DESC LIMIT 1
ON CONFLICT (prescription_id) DO UPDATE SET followed_up = 1, pursued = excluded.pursued, satisfaction = excluded.satisfaction, wellbeing = excluded.wellbeing`,
		prescriptionID)
}

// PutBilledVisit replaces the billed visit of ChargeItem/id by v (none
// when nil).
func (tx *Tx) PutBilledVisit(ctx context.Context, id string, v *socialrx.BilledVisit) error {
	tx.touched("ChargeItem", id)
	if v == nil {
		return tx.exec(ctx, `DELETE FROM billed_visits WHERE charge_item_id = $1`, id)
	}
	return tx.exec(ctx, `INSERT INTO billed_visits (charge_item_id, patient_id, encounter_id, code, status, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (charge_item_id) DO UPDATE SET patient_id = excluded.patient_id, encounter_id = excluded.encounter_id, code = excluded.code, status = excluded.status, occurred_at = excluded.occurred_at`,
		id, v.PatientID, v.EncounterID, v.Code, v.Status, micros(v.OccurredAt))
}

// PutFollowUp replaces the follow-up of Task/taskID by f (none when nil).
func (tx *Tx) PutFollowUp(ctx context.Context, taskID string, f *socialrx.FollowUp) error {
	tx.touched("Task", taskID)
	if f == nil {
		return tx.exec(ctx, `DELETE FROM follow_ups WHERE task_id = $1`, taskID)
	}
	return tx.exec(ctx, `INSERT INTO follow_ups (task_id, prescription_id, patient_id, due, channel, owner, status)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (task_id) DO UPDATE SET prescription_id = excluded.prescription_id, patient_id = excluded.patient_id, due = excluded.due, channel = excluded.channel, owner = excluded.owner, status = excluded.status`,
		taskID, f.PrescriptionID, f.PatientID, micros(f.Due), string(f.Channel), f.Owner, f.Status)
}

const referralCols = `task_id, prescription_id, patient_id, requester, performer, status, business_status, status_reason, last_changed, delivery_state, delivery_error, endpoint_id, flag, incoming`

func scanReferral(row Row) (*socialrx.Referral, error) {
	var r socialrx.Referral
	var status string
	var lc int64
	if err := row.Scan(&r.ID, &r.PrescriptionID, &r.PatientID, &r.Requester, &r.Performer, &status, &r.BusinessStatus, &r.StatusReason, &lc, &r.DeliveryState, &r.DeliveryError, &r.EndpointID, &r.Flag, &r.Incoming); err != nil {
		return nil, err
	}
	r.Status, r.LastChanged = socialrx.ReferralStatus(status), timeOf(lc)
	return &r, nil
}

// Referral reads the referral row of Task/id in the transaction.
func (tx *Tx) Referral(ctx context.Context, id string) (*socialrx.Referral, bool, error) {
	if tx.done {
		return nil, false, errTxDone
	}
	if tx.isFresh("Task", id) {
		return nil, false, nil
	}
	r, err := scanReferral(tx.q.QueryRow(ctx, KeyLookup+`SELECT `+referralCols+` FROM referrals WHERE task_id = $1`, id))
	if err != nil {
		err = tx.e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, false, nil
		}
		return nil, false, err
	}
	return r, true, nil
}

// Projection returns the domain rows of a patient (see socialrx.Store).
func (e *Engine) Projection(ctx context.Context, patientID string) (*socialrx.PatientProjection, error) {
	pp, err := e.projection(ctx, e.drv.Reader(), patientID)
	if err != nil {
		return nil, fmt.Errorf("projection: %w", e.translate(err))
	}
	return pp, nil
}

// each runs query and calls scan for every row.
func each(ctx context.Context, q Querier, query string, arg any, scan func(Rows) error) error {
	rows, err := q.Query(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (e *Engine) projection(ctx context.Context, q Querier, patientID string) (*socialrx.PatientProjection, error) {
	pp := &socialrx.PatientProjection{}
	err := each(ctx, q, `SELECT source, patient_id, domain, instrument, item_code, answer_code, positive, effective_at FROM findings
WHERE patient_id = $1 ORDER BY source, res_type, res_id, ord`, patientID, func(r Rows) error {
		var f socialrx.Finding
		var domain, instrument string
		var at int64
		if err := r.Scan(&f.Source, &f.PatientID, &domain, &instrument, &f.ItemCode, &f.AnswerCode, &f.Positive, &at); err != nil {
			return err
		}
		f.Domain, f.Instrument, f.EffectiveAt = socialrx.NeedDomain(domain), socialrx.Instrument(instrument), timeOf(at)
		pp.Findings = append(pp.Findings, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, q, `SELECT condition_id, patient_id, domain, system, code, display, status, recorded_at FROM needs
WHERE patient_id = $1 ORDER BY condition_id`, patientID, func(r Rows) error {
		var n socialrx.Need
		var id, domain string
		var at int64
		if err := r.Scan(&id, &n.PatientID, &domain, &n.Code.System, &n.Code.Code, &n.Code.Display, &n.Status, &at); err != nil {
			return err
		}
		n.Source, n.Domain, n.RecordedAt = "Condition/"+id, socialrx.NeedDomain(domain), timeOf(at)
		pp.Needs = append(pp.Needs, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, q, `SELECT `+prescriptionCols+` FROM prescriptions WHERE patient_id = $1 ORDER BY service_request_id`, patientID, func(r Rows) error {
		p, err := scanPrescription(r)
		if err != nil {
			return err
		}
		pp.Prescriptions = append(pp.Prescriptions, *p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, q, `SELECT `+referralCols+` FROM referrals WHERE patient_id = $1 ORDER BY task_id`, patientID, func(r Rows) error {
		ref, err := scanReferral(r)
		if err != nil {
			return err
		}
		pp.Referrals = append(pp.Referrals, *ref)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each(ctx, q, `SELECT prescription_id, patient_id, due, channel, owner, status FROM follow_ups
WHERE patient_id = $1 ORDER BY prescription_id, task_id`, patientID, func(r Rows) error {
		var f socialrx.FollowUp
		var channel string
		var due int64
		if err := r.Scan(&f.PrescriptionID, &f.PatientID, &due, &channel, &f.Owner, &f.Status); err != nil {
			return err
		}
		f.Due, f.Channel = timeOf(due), socialrx.ContactChannel(channel)
		pp.FollowUps = append(pp.FollowUps, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// By prescription (follow_up_results is indexed by prescription, not
	// by patient).
	err = each(ctx, q, `SELECT response_id, prescription_id, patient_id, pursued, satisfaction, wellbeing, next_step, answered_at FROM follow_up_results
WHERE prescription_id IN (SELECT service_request_id FROM prescriptions WHERE patient_id = $1) ORDER BY prescription_id, answered_at, response_id`, patientID, func(r Rows) error {
		var res socialrx.FollowUpResult
		var pursued, wellbeing, next string
		var at int64
		if err := r.Scan(&res.ResponseID, &res.PrescriptionID, &res.PatientID, &pursued, &res.Satisfaction, &wellbeing, &next, &at); err != nil {
			return err
		}
		res.Pursued, res.Wellbeing, res.NextStep, res.AnsweredAt = socialrx.Pursued(pursued), socialrx.Wellbeing(wellbeing), socialrx.NextStep(next), timeOf(at)
		pp.Results = append(pp.Results, res)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pp, nil
}

const prescriptionCols = `service_request_id, patient_id, form, form_derived, needs, need_refs, code_system, code, code_display, target, channel, status, requester, authored_on`

func scanPrescription(row Row) (*socialrx.Prescription, error) {
	var p socialrx.Prescription
	var form, needs, refs, channel string
	var at int64
	if err := row.Scan(&p.ID, &p.PatientID, &form, &p.FormDerived, &needs, &refs, &p.Code.System, &p.Code.Code, &p.Code.Display,
		&p.Target, &channel, &p.Status, &p.RequesterID, &at); err != nil {
		return nil, err
	}
	var err error
	if p.Needs, err = parseList[socialrx.NeedDomain](needs); err != nil {
		return nil, err
	}
	if p.NeedRefs, err = parseList[string](refs); err != nil {
		return nil, err
	}
	p.Form, p.Channel, p.AuthoredOn = socialrx.Form(form), socialrx.Channel(channel), timeOf(at)
	return &p, nil
}

// storedPrescription is p as Prescription reads it back from its row:
// what the row keeps (not Identifiers or FollowUp), lists through their
// JSON and the time in microseconds.
func storedPrescription(p *socialrx.Prescription) *socialrx.Prescription {
	out := socialrx.Prescription{ID: p.ID, PatientID: p.PatientID, Form: p.Form, FormDerived: p.FormDerived,
		Code: p.Code, Target: p.Target, Channel: p.Channel, Status: p.Status, RequesterID: p.RequesterID,
		AuthoredOn: timeOf(micros(p.AuthoredOn))}
	out.Needs, _ = parseList[socialrx.NeedDomain](jsonList(p.Needs))
	out.NeedRefs, _ = parseList[string](jsonList(p.NeedRefs))
	return &out
}

// clonePrescription copies p and its lists.
func clonePrescription(p *socialrx.Prescription) *socialrx.Prescription {
	c := *p
	c.Needs, c.NeedRefs = slices.Clone(p.Needs), slices.Clone(p.NeedRefs)
	return &c
}

// Prescription reads the prescription row of ServiceRequest/id in the
// transaction (see socialrx.ProjectionTx); what the transaction wrote or
// created is answered without a statement (Tx.rx, Tx.fresh).
func (tx *Tx) Prescription(ctx context.Context, id string) (*socialrx.Prescription, bool, error) {
	if tx.done {
		return nil, false, errTxDone
	}
	if p, known := tx.rx[id]; known {
		if p == nil {
			return nil, false, nil
		}
		return clonePrescription(p), true, nil
	}
	if tx.isFresh("ServiceRequest", id) {
		return nil, false, nil
	}
	p, err := scanPrescription(tx.q.QueryRow(ctx, KeyLookup+`SELECT `+prescriptionCols+` FROM prescriptions WHERE service_request_id = $1`, id))
	if err != nil {
		err = tx.e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, false, nil
		}
		return nil, false, err
	}
	return p, true, nil
}

// DropProjections removes every row derived from typ/id (see
// socialrx.ProjectionTx).
func (tx *Tx) DropProjections(ctx context.Context, typ, id string) error {
	if typ == "ServiceRequest" {
		if tx.rx == nil {
			tx.rx = map[string]*socialrx.Prescription{}
		}
		tx.rx[id] = nil
	}
	if tx.isFresh(typ, id) {
		return nil // created by this transaction, nothing projected yet
	}
	switch typ {
	case "Observation":
		return tx.PutFindings(ctx, typ, id, nil)
	case "QuestionnaireResponse":
		if err := tx.PutFindings(ctx, typ, id, nil); err != nil {
			return err
		}
		return tx.PutFollowUpResult(ctx, id, nil)
	case "ChargeItem":
		return tx.PutBilledVisit(ctx, id, nil)
	case "Condition":
		return tx.PutNeed(ctx, id, nil)
	case "ServiceRequest":
		return tx.exec(ctx, `DELETE FROM prescriptions WHERE service_request_id = $1`, id)
	case "Task":
		if tx.done {
			return errTxDone
		}
		var rx string
		var contact int64
		if err := tx.q.QueryRow(ctx, KeyLookup+`SELECT prescription_id, first_contact FROM referrals WHERE task_id = $1`, id).Scan(&rx, &contact); err != nil {
			if err = tx.e.translate(err); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
				return err
			}
		}
		if contact > 0 {
			if tx.contacts == nil {
				tx.contacts = map[string]int64{}
			}
			tx.contacts[id] = contact
		}
		delete(tx.refs, id)
		if rx != "" {
			if err := tx.exec(ctx, `DELETE FROM referrals WHERE task_id = $1`, id); err != nil {
				return err
			}
			if err := tx.refreshReferralReport(ctx, rx); err != nil {
				return err
			}
		}
		return tx.exec(ctx, `DELETE FROM follow_ups WHERE task_id = $1`, id)
	}
	return nil
}

// ReferralsOf lists the referrals of a prescription (see
// socialrx.ProjectionTx). Those of a prescription whose ServiceRequest this
// transaction created with CreateNew are the ones it wrote itself (Tx.refs):
// answered without a statement (on PostgreSQL a round trip an encounter).
func (tx *Tx) ReferralsOf(ctx context.Context, prescriptionID string) ([]socialrx.Referral, error) {
	if tx.done {
		return nil, errTxDone
	}
	if _, ok := tx.minted["ServiceRequest/"+prescriptionID]; ok && !tx.refsStale {
		var out []socialrx.Referral
		for _, r := range tx.refs {
			if r.PrescriptionID == prescriptionID {
				out = append(out, r)
			}
		}
		slices.SortFunc(out, func(a, b socialrx.Referral) int { return strings.Compare(a.ID, b.ID) }) // ORDER BY task_id (byte order)
		return out, nil
	}
	var out []socialrx.Referral
	// A prescription has a few referrals, found through an index: the
	// plan does not depend on the value (KeyLookup), so on PostgreSQL
	// the statement stays prepared and rides with the deferred ones.
	err := each(ctx, tx.q, KeyLookup+`SELECT `+referralCols+` FROM referrals WHERE prescription_id = $1 ORDER BY task_id`, prescriptionID, func(r Rows) error {
		ref, err := scanReferral(r)
		if err != nil {
			return err
		}
		out = append(out, *ref)
		return nil
	})
	if err != nil {
		return nil, tx.e.translate(err)
	}
	return out, nil
}

// MarkReferralDelivery records the delivery state of a referral (see
// socialrx.ProjectionTx).
func (tx *Tx) MarkReferralDelivery(ctx context.Context, referralID, state, reason string) error {
	tx.touched("Task", referralID)
	tx.refsStale = true // a conditional UPDATE: Tx.refs cannot tell its outcome
	switch state {
	case socialrx.DeliveryDelivered:
		// Delivered once none is pending, unless an earlier change failed
		// for good (kept visible): one statement.
		// A referral held for consent stays held.
		return tx.exec(ctx, `UPDATE referrals SET delivery_state = $1, delivery_error = '' WHERE task_id = $2 AND delivery_state <> $3
AND delivery_state <> $6 AND NOT EXISTS (SELECT 1 FROM outbox WHERE referral_id = $2 AND destination = $4 AND state = $5)`,
			socialrx.DeliveryDelivered, referralID, socialrx.DeliveryFailed, socialrx.DestinationPlatform, socialrx.DeliveryPending, socialrx.DeliveryHeld)
	case socialrx.DeliveryFailed:
		return tx.exec(ctx, `UPDATE referrals SET delivery_state = $1, delivery_error = $2 WHERE task_id = $3 AND delivery_state <> $4`,
			socialrx.DeliveryFailed, reason, referralID, socialrx.DeliveryHeld)
	}
	return socialrx.Errorf(socialrx.EINVALID, "mark referral delivery: state %q", state)
}

// derivedParams returns the names of typ's derived search parameters
// (search.SearchParam.Derived): their index rows are written by PutFacts,
// not computed from the body.
func derivedParams(typ string) []string {
	var out []string
	for _, p := range search.SearchParams(typ) {
		if p.Derived {
			out = append(out, p.Name)
		}
	}
	return out
}

// PutFacts replaces the derived facts of typ/id (see socialrx.ProjectionTx):
// they are search_index rows of typ's derived parameters.
func (tx *Tx) PutFacts(ctx context.Context, typ, id string, facts []socialrx.Fact) error {
	// A resource this transaction created has no derived rows to drop
	// unless this transaction wrote some (before or after the create).
	k := typ + "/" + id
	_, created := tx.created[k]
	_, faceted := tx.faceted[k]
	if tx.faceted == nil {
		tx.faceted = map[string]struct{}{}
	}
	tx.faceted[k] = struct{}{}
	tx.touched(typ, id)
	if tx.done {
		return errTxDone
	}
	derived := derivedParams(typ)
	for _, f := range facts {
		if !slices.Contains(derived, f.Param) {
			return socialrx.Errorf(socialrx.EINTERNAL, "put facts: %s is not a derived search parameter of %s", f.Param, typ)
		}
	}
	if len(derived) == 0 {
		return nil
	}
	if !created || faceted {
		if err := tx.dropFacts(ctx, typ, id, derived); err != nil {
			return err
		}
	}
	if len(facts) == 0 {
		return nil
	}
	rows := make([]IndexRow, len(facts))
	for i, f := range facts {
		rows[i] = IndexRow{ResType: typ, ResID: id, Param: f.Param, System: f.System, Code: f.Code, Kind: KindToken}
	}
	if err := tx.q.InsertIndex(ctx, rows); err != nil {
		return tx.e.translate(err)
	}
	return nil
}

// dropFacts removes the index rows of the derived parameters params of
// typ/id.
func (tx *Tx) dropFacts(ctx context.Context, typ, id string, params []string) error {
	args := []any{typ, id}
	var in strings.Builder
	for i, p := range params {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, p)
		fmt.Fprintf(&in, "$%d", len(args))
	}
	return tx.exec(ctx, `DELETE FROM search_index WHERE res_type = $1 AND res_id = $2 AND param IN (`+in.String()+`)`, args...)
}
