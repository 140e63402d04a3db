package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// The outbox (socialrx.Outbox, ../../../delivery.go): a referral change is
// turned into an outbound message in the transaction that writes it.
//
//	referral Task written ──requester (EMR, REST)──> platform message, if the
//	   │                                             prescription's target has
//	   │                                             an active hl7-fhir-msg Endpoint
//	   └──performer (platform message)────────────> write-back to the EMR, if
//	                                                 the requester's Organization
//	                                                 has an hl7-fhir-rest Endpoint
//	                                                 or a default EMR is set
//	Appointment / Communication linked to a referral ──> from a platform:
//	   write-back (conditional create) to the EMR; written here: to the
//	   referral's platform (a practice's note: send-communication-from-
//	   requester; on a referral socialrx received, the program's note or
//	   booking: send-communication-from-provider, notify-add-appointment)
//
// Each message gets a row in table outbox and a unique River job
// (socialrx.DeliverArgs) in the same transaction. Its id is a UUID derived
// from what it carries (destination, resource version, event), so the same
// change never makes two messages, and a retry resends the same id.

// deliveryNamespace is the UUID namespace of outbox message ids.
var deliveryNamespace = uuid.MustParse("5b0c8f53-7f0e-4a55-9d77-3a1f1f6f1c02")

// MessageID returns the id of the message that carries version of typ/id
// to destination for event.
func MessageID(destination, typ, id string, version int64, event socialrx.MessageEvent) string {
	key := destination + "|" + typ + "/" + id + "/_history/" + strconv.FormatInt(version, 10) + "|" + string(event)
	return uuid.NewSHA1(deliveryNamespace, []byte(key)).String()
}

// SetOrigin sets on whose behalf the following writes are made.
func (tx *Tx) SetOrigin(o socialrx.Origin) { tx.origin = o }

// Inbound records a platform message as applied (see socialrx.Tx).
func (tx *Tx) Inbound(ctx context.Context, endpointID, messageID string, event socialrx.MessageEvent) (bool, error) {
	if tx.done {
		return false, errTxDone
	}
	var n int64
	if err := tx.q.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE id = $1`, messageID).Scan(&n); err != nil {
		return false, tx.e.translate(err)
	}
	if n > 0 {
		return true, nil // an echo of a message socialrx sent
	}
	added, err := tx.q.Exec(ctx, `INSERT INTO inbox (endpoint_id, message_id, event, received_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (endpoint_id, message_id) DO NOTHING`, endpointID, messageID, string(event), micros(tx.e.opts.Now()))
	if err != nil {
		return false, tx.e.translate(err)
	}
	return added == 0, nil
}

// enqueue records m in the outbox (ID, Seq, State and times are set here)
// and its delivery job. A message with the same id already there is left as
// it is.
func (tx *Tx) enqueue(ctx context.Context, m socialrx.OutboundMessage) error {
	m.ID = MessageID(m.Destination, m.ResourceType, m.ResourceID, m.Version, m.Event)
	var seq int64
	if err := tx.q.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox WHERE referral_id = $1 AND destination = $2`,
		m.ReferralID, m.Destination).Scan(&seq); err != nil {
		return tx.e.translate(err)
	}
	now := micros(tx.e.opts.Now())
	added, err := tx.q.Exec(ctx, `INSERT INTO outbox (id, destination, endpoint_id, event, res_type, res_id, version, referral_id, seq, state, attempts, error, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, '', $11, $11) ON CONFLICT (id) DO NOTHING`,
		m.ID, m.Destination, m.EndpointID, string(m.Event), m.ResourceType, m.ResourceID, m.Version, m.ReferralID, seq, socialrx.DeliveryPending, now)
	if err != nil {
		return tx.e.translate(err)
	}
	if added == 0 || tx.e.opts.Jobs == nil {
		return nil
	}
	if err := tx.e.opts.Jobs.Deliver(ctx, tx.q, m.ID); err != nil {
		return tx.e.translate(err)
	}
	return nil
}

// prescriptionRow is what delivery needs of a prescription.
type prescriptionRow struct {
	form, target, requester, channel string
}

func (tx *Tx) prescriptionRow(ctx context.Context, srID string) (prescriptionRow, bool, error) {
	var p prescriptionRow
	err := tx.q.QueryRow(ctx, `SELECT form, target, requester, channel FROM prescriptions WHERE service_request_id = $1`, srID).
		Scan(&p.form, &p.target, &p.requester, &p.channel)
	if err != nil {
		err = tx.e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return p, false, nil
		}
		return p, false, err
	}
	return p, true, nil
}

// referralOut decides what a referral Task version written on the
// requester's side sends to the performer's platform, and records it: r is
// the referral about to be stored (its delivery fields are updated), prev
// the row before (nil for a new referral).
func (tx *Tx) referralOut(ctx context.Context, res *socialrx.Resource, r, prev *socialrx.Referral) error {
	if r.Status == socialrx.ReferralDraft || (prev != nil && prev.Status == r.Status) {
		return nil
	}
	neverSent := prev == nil || prev.DeliveryState == ""
	if neverSent && r.Status.Terminal() {
		return nil // cancelled (or ended) before it was ever sent: nothing to tell
	}
	p, ok, err := tx.prescriptionRow(ctx, r.PrescriptionID)
	if err != nil || !ok {
		return err
	}
	if p.form != string(socialrx.FormWarmHandoff) && p.form != string(socialrx.FormNavigator) {
		return nil
	}
	ep, ok := mapping.EndpointFor(tx.resolver(ctx), socialrx.ConnectionFHIRMessaging, p.target, r.Performer)
	if !ok {
		// A platform read by polling (hl7-fhir-rest): no message, but the
		// referral names it so the poller watches it. Fax, phone, in
		// person: nothing.
		if rest, ok := mapping.EndpointFor(tx.resolver(ctx), socialrx.ConnectionFHIRREST, p.target, r.Performer); ok && r.EndpointID == "" {
			r.EndpointID = rest.ID
		}
		return nil
	}
	event := socialrx.EventAddServiceRequest
	if !neverSent {
		event = socialrx.EventNotifyUpdateServiceRequest
		if r.Status == socialrx.ReferralCancelled || r.Status == socialrx.ReferralEnteredInError {
			event = socialrx.EventRevokeServiceRequest
		}
	}
	r.EndpointID, r.DeliveryState, r.DeliveryError = ep.ID, socialrx.DeliveryPending, ""
	return tx.enqueue(ctx, socialrx.OutboundMessage{
		Destination: socialrx.DestinationPlatform, EndpointID: ep.ID, Event: event,
		ResourceType: res.Type, ResourceID: res.ID, Version: res.VersionID, ReferralID: r.ID,
	})
}

// statusBack sends the status of a referral socialrx received (Incoming)
// back to the platform it came from, when it changed: notify-add-process-request
// the first time (the program received it), notify-update-process-request
// after.
func (tx *Tx) statusBack(ctx context.Context, res *socialrx.Resource, r, prev *socialrx.Referral) error {
	if r.EndpointID == "" || (prev != nil && prev.Status == r.Status && prev.BusinessStatus == r.BusinessStatus && prev.StatusReason == r.StatusReason) {
		return nil
	}
	event := socialrx.EventNotifyAddProcessRequest
	if prev != nil && prev.DeliveryState != "" {
		event = socialrx.EventNotifyUpdateProcessRequest
	}
	r.DeliveryState, r.DeliveryError = socialrx.DeliveryPending, ""
	return tx.enqueue(ctx, socialrx.OutboundMessage{
		Destination: socialrx.DestinationPlatform, EndpointID: r.EndpointID, Event: event,
		ResourceType: res.Type, ResourceID: res.ID, Version: res.VersionID, ReferralID: r.ID,
	})
}

// emrEndpoint returns the EMR a referral's changes are written back to: an
// active hl7-fhir-rest Endpoint of the requester (its PractitionerRole's
// Organization, or the Organization), else the default EMR when one is
// configured.
func (tx *Tx) emrEndpoint(ctx context.Context, refs ...string) (string, bool) {
	if ep, ok := mapping.EndpointFor(tx.resolver(ctx), socialrx.ConnectionFHIRREST, refs...); ok {
		return ep.ID, true
	}
	if tx.e.opts.DefaultEMR {
		return socialrx.EMRDefaultEndpointID, true
	}
	return "", false
}

// writeBack queues the write-back of res (a version written on the
// performer's side) to the EMR of referral r.
func (tx *Tx) writeBack(ctx context.Context, res *socialrx.Resource, r *socialrx.Referral, op socialrx.MessageEvent) error {
	refs := []string{r.Requester}
	if p, ok, err := tx.prescriptionRow(ctx, r.PrescriptionID); err != nil {
		return err
	} else if ok && p.requester != r.Requester {
		refs = append(refs, p.requester)
	}
	epID, ok := tx.emrEndpoint(ctx, refs...)
	if !ok {
		return nil
	}
	return tx.enqueue(ctx, socialrx.OutboundMessage{
		Destination: socialrx.DestinationEMR, EndpointID: epID, Event: op,
		ResourceType: res.Type, ResourceID: res.ID, Version: res.VersionID, ReferralID: r.ID,
	})
}

// linkedReferral finds the referral an Appointment or Communication is
// about: a ServiceRequest in basedOn (the referral of that prescription),
// or a Task in partOf or about (that referral).
func (tx *Tx) linkedReferral(ctx context.Context, body []byte) (*socialrx.Referral, bool, error) {
	var doc struct {
		BasedOn []struct {
			Reference string `json:"reference"`
		} `json:"basedOn"`
		PartOf []struct {
			Reference string `json:"reference"`
		} `json:"partOf"`
		About []struct {
			Reference string `json:"reference"`
		} `json:"about"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil, false, nil
	}
	for _, l := range [][]struct {
		Reference string `json:"reference"`
	}{doc.PartOf, doc.About} {
		for _, ref := range l {
			if id, ok := strings.CutPrefix(ref.Reference, "Task/"); ok {
				if r, ok, err := tx.referral(ctx, id); err != nil || ok {
					return r, ok, err
				}
			}
		}
	}
	for _, ref := range doc.BasedOn {
		if id, ok := strings.CutPrefix(ref.Reference, "ServiceRequest/"); ok {
			var taskID string
			err := tx.q.QueryRow(ctx, `SELECT task_id FROM referrals WHERE prescription_id = $1 ORDER BY task_id LIMIT 1`, id).Scan(&taskID)
			if err != nil {
				if err = tx.e.translate(err); socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
					continue
				}
				return nil, false, err
			}
			return tx.referral(ctx, taskID)
		}
	}
	return nil, false, nil
}

const outboxCols = `id, destination, endpoint_id, event, res_type, res_id, version, referral_id, seq, state, attempts, error, created_at, updated_at`

func scanOutbound(row Row) (*socialrx.OutboundMessage, error) {
	var m socialrx.OutboundMessage
	var event string
	var attempts, created, updated int64
	if err := row.Scan(&m.ID, &m.Destination, &m.EndpointID, &event, &m.ResourceType, &m.ResourceID, &m.Version, &m.ReferralID,
		&m.Seq, &m.State, &attempts, &m.Error, &created, &updated); err != nil {
		return nil, err
	}
	m.Event, m.Attempts, m.CreatedAt, m.UpdatedAt = socialrx.MessageEvent(event), int(attempts), timeOf(created), timeOf(updated)
	return &m, nil
}

// OutboundMessage returns one outbox message (see socialrx.Outbox).
func (e *Engine) OutboundMessage(ctx context.Context, id string) (*socialrx.OutboundMessage, error) {
	m, err := scanOutbound(e.drv.Reader().QueryRow(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = $1`, id))
	if err != nil {
		err = e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "outbound message %s not found", id)
		}
		return nil, fmt.Errorf("outbound message: %w", err)
	}
	return m, nil
}

// Blocked reports whether an earlier message of m's referral and
// destination is still pending (see socialrx.Outbox).
func (e *Engine) Blocked(ctx context.Context, m *socialrx.OutboundMessage) (bool, error) {
	if m.ReferralID == "" || m.Seq <= 1 {
		return false, nil // nothing comes before it
	}
	var n int64
	err := e.drv.Reader().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE referral_id = $1 AND destination = $2 AND seq < $3 AND state = $4`,
		m.ReferralID, m.Destination, m.Seq, socialrx.DeliveryPending).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("outbound blocked: %w", e.translate(err))
	}
	return n > 0, nil
}

// OutboundMessages lists outbox messages newest first (see socialrx.Outbox).
func (e *Engine) OutboundMessages(ctx context.Context, state string, limit int) ([]socialrx.OutboundMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + outboxCols + ` FROM outbox`
	args := []any{}
	if state != "" {
		q += ` WHERE state = $1`
		args = append(args, state)
	}
	q += ` ORDER BY created_at DESC, id LIMIT ` + strconv.Itoa(limit)
	rows, err := e.drv.Reader().Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("outbound messages: %w", e.translate(err))
	}
	defer rows.Close()
	var out []socialrx.OutboundMessage
	for rows.Next() {
		m, err := scanOutbound(rows)
		if err != nil {
			return nil, fmt.Errorf("outbound messages: %w", e.translate(err))
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbound messages: %w", e.translate(err))
	}
	return out, nil
}

// FinishMessage records the end of a delivery attempt (see socialrx.Outbox).
func (e *Engine) FinishMessage(ctx context.Context, id, state string, attempts int, reason string) (bool, error) {
	switch state {
	case socialrx.DeliveryPending, socialrx.DeliveryDelivered, socialrx.DeliveryFailed:
	default:
		return false, socialrx.Errorf(socialrx.EINVALID, "finish message: state %q", state)
	}
	if state == socialrx.DeliveryDelivered {
		reason = ""
	}
	reason = socialrx.TruncateReason(reason)
	var finished bool
	err := e.Transact(ctx, func(stx socialrx.Tx) error {
		tx := stx.(*Tx)
		finished = false
		// One statement: only a pending message is finished, and it says
		// what the message is about.
		var dest, referralID string
		err := tx.q.QueryRow(ctx, `UPDATE outbox SET state = $1, attempts = $2, error = $3, updated_at = $4
WHERE id = $5 AND state = $6 RETURNING destination, referral_id`,
			state, attempts, reason, micros(e.opts.Now()), id, socialrx.DeliveryPending).Scan(&dest, &referralID)
		if err != nil {
			if err = e.translate(err); socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
				return nil // not pending any more (or never was): left as it is
			}
			return err
		}
		finished = true
		if dest != socialrx.DestinationPlatform || referralID == "" || state == socialrx.DeliveryPending {
			return nil
		}
		return tx.referralDelivery(ctx, referralID, state, reason)
	})
	if err != nil {
		return false, fmt.Errorf("finish message %s: %w", id, err)
	}
	return finished, nil
}

// referralDelivery sets the delivery state of a referral after one of its
// platform messages finished: failed when it failed (also written on the
// Task, so that a search finds it), else delivered once none is pending.
func (tx *Tx) referralDelivery(ctx context.Context, referralID, state, reason string) error {
	if state == socialrx.DeliveryDelivered {
		// Delivered once none is pending, unless an earlier change failed
		// for good (kept visible): one statement.
		return tx.exec(ctx, `UPDATE referrals SET delivery_state = $1, delivery_error = '' WHERE task_id = $2 AND delivery_state <> $3
AND NOT EXISTS (SELECT 1 FROM outbox WHERE referral_id = $2 AND destination = $4 AND state = $5)`,
			socialrx.DeliveryDelivered, referralID, socialrx.DeliveryFailed, socialrx.DestinationPlatform, socialrx.DeliveryPending)
	}
	if _, ok, err := tx.referral(ctx, referralID); err != nil || !ok {
		return err
	}
	if reason == "" {
		reason = "delivery failed"
	}
	cur, err := tx.Read(ctx, "Task", referralID)
	if err != nil {
		return err
	}
	body, err := mapping.MarkDelivery(cur.Body, socialrx.DeliveryFailed, reason)
	if err != nil {
		return err
	}
	tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorSystem})
	if _, _, err := tx.Update(ctx, "Task", referralID, body, 0); err != nil {
		return err
	}
	return tx.exec(ctx, `UPDATE referrals SET delivery_state = $1, delivery_error = $2 WHERE task_id = $3`, socialrx.DeliveryFailed, reason, referralID)
}

// PollTargets lists the Endpoints of open outgoing referrals with their
// poll marks (see socialrx.Outbox).
func (e *Engine) PollTargets(ctx context.Context) ([]socialrx.PollTarget, error) {
	rows, err := e.drv.Reader().Query(ctx, `SELECT DISTINCT r.endpoint_id, COALESCE(m.since, '') FROM referrals r
LEFT JOIN poll_marks m ON m.endpoint_id = r.endpoint_id
WHERE r.endpoint_id <> '' AND r.incoming = $1 AND r.status NOT IN ('rejected', 'cancelled', 'completed', 'failed', 'entered-in-error')
ORDER BY r.endpoint_id`, false)
	if err != nil {
		return nil, fmt.Errorf("poll targets: %w", e.translate(err))
	}
	defer rows.Close()
	var out []socialrx.PollTarget
	for rows.Next() {
		var t socialrx.PollTarget
		if err := rows.Scan(&t.EndpointID, &t.Since); err != nil {
			return nil, fmt.Errorf("poll targets: %w", e.translate(err))
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("poll targets: %w", e.translate(err))
	}
	return out, nil
}

// SetPollMark records where the poll of an Endpoint ended.
func (e *Engine) SetPollMark(ctx context.Context, endpointID, since string) error {
	return e.Transact(ctx, func(stx socialrx.Tx) error {
		tx := stx.(*Tx)
		return tx.exec(ctx, `INSERT INTO poll_marks (endpoint_id, since) VALUES ($1, $2)
ON CONFLICT (endpoint_id) DO UPDATE SET since = excluded.since`, endpointID, since)
	})
}
