package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/socialrx/socialrx"
)

// The outbox (socialrx.Outbox and socialrx.OutboxTx, ../../../delivery.go):
// the workflow records each message a change causes, with a unique River
// job (socialrx.DeliverArgs), in the transaction that writes the change;
// the delivery jobs read it and record each attempt's end. Table inbox
// holds the platform messages applied (endpoint, MessageHeader.id), so a
// redelivery or an echo changes nothing; poll_marks where each polled
// platform was read up to.

var _ socialrx.OutboxTx = (*Tx)(nil)

// Inbound records a platform message as applied (see socialrx.Tx).
func (tx *Tx) Inbound(ctx context.Context, endpointID, messageID string, event socialrx.MessageEvent) (bool, error) {
	if tx.done {
		return false, errTxDone
	}
	var n int64
	if err := tx.q.QueryRow(ctx, KeyLookup+`SELECT count(*) FROM outbox WHERE id = $1`, messageID).Scan(&n); err != nil {
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

// Enqueue records m in the outbox (Seq, State and times are set here) and
// its delivery job (see socialrx.OutboxTx). The message's place among
// those of its referral and destination (seq) is taken in the INSERT
// itself. Where the driver defers (PostgreSQL: Deferrer), the INSERT goes
// with the transaction's next statement and the delivery job is scheduled
// whether or not the id was new: a repeat is skipped by the job's
// uniqueness, or finds its message no longer pending and ends.
func (tx *Tx) Enqueue(ctx context.Context, m socialrx.OutboundMessage) error {
	if tx.done {
		return errTxDone
	}
	if m.ID == "" {
		return socialrx.Errorf(socialrx.EINTERNAL, "enqueue: message without id")
	}
	now := micros(tx.e.opts.Now())
	args := []any{m.ID, m.Destination, m.EndpointID, string(m.Event), m.ResourceType, m.ResourceID, m.Version, m.ReferralID, socialrx.DeliveryPending, now}
	if d, ok := tx.q.(Deferrer); ok {
		d.Defer(enqueueSQL, args...)
		tx.jobs = append(tx.jobs, DeliverJob(m.ID))
		return nil
	}
	added, err := tx.q.Exec(ctx, enqueueSQL, args...)
	if err != nil {
		return tx.e.translate(err)
	}
	if added > 0 {
		tx.jobs = append(tx.jobs, DeliverJob(m.ID))
	}
	return nil
}

// enqueueSQL records an outbox message, unless its id is recorded.
const enqueueSQL = `INSERT INTO outbox (id, destination, endpoint_id, event, res_type, res_id, version, referral_id, seq, state, attempts, error, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox WHERE referral_id = $8 AND destination = $2), $9, 0, '', $10, $10)
ON CONFLICT (id) DO NOTHING`

// ScheduleFollowUpReminder enqueues the follow-up reminder job of a
// prescription (see socialrx.OutboxTx).
func (tx *Tx) ScheduleFollowUpReminder(ctx context.Context, prescriptionID string, due time.Time) error {
	if tx.done {
		return errTxDone
	}
	tx.jobs = append(tx.jobs, FollowUpReminderJob(prescriptionID, due))
	return nil
}

// ScheduleHandoffTask enqueues the hand-off Task job of a prescription (see
// socialrx.OutboxTx).
func (tx *Tx) ScheduleHandoffTask(ctx context.Context, prescriptionID string, moved int64) error {
	if tx.done {
		return errTxDone
	}
	tx.jobs = append(tx.jobs, HandoffTaskJob(prescriptionID, moved))
	return nil
}

// ScheduleFollowUpEscalation enqueues the escalation job of a
// prescription's follow-up at at (see socialrx.OutboxTx).
func (tx *Tx) ScheduleFollowUpEscalation(ctx context.Context, prescriptionID string, at time.Time) error {
	if tx.done {
		return errTxDone
	}
	tx.jobs = append(tx.jobs, EscalationJob(prescriptionID, at))
	return nil
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
	m, err := scanOutbound(e.drv.Reader().QueryRow(ctx, KeyLookup+`SELECT `+outboxCols+` FROM outbox WHERE id = $1`, id))
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

// FinishOutbound records the end of a delivery attempt of a pending
// message (see socialrx.OutboxTx): one statement, so only a pending message
// is finished.
func (tx *Tx) FinishOutbound(ctx context.Context, id, state string, attempts int, reason string) (*socialrx.OutboundMessage, bool, error) {
	if tx.done {
		return nil, false, errTxDone
	}
	switch state {
	case socialrx.DeliveryPending, socialrx.DeliveryDelivered, socialrx.DeliveryFailed, socialrx.DeliveryCancelled:
	default:
		return nil, false, socialrx.Errorf(socialrx.EINVALID, "finish message: state %q", state)
	}
	m, err := scanOutbound(tx.q.QueryRow(ctx, `UPDATE outbox SET state = $1, attempts = $2, error = $3, updated_at = $4
WHERE id = $5 AND state = $6 RETURNING `+outboxCols,
		state, attempts, reason, micros(tx.e.opts.Now()), id, socialrx.DeliveryPending))
	if err != nil {
		if err = tx.e.translate(err); socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, false, nil // not pending any more (or never was): left as it is
		}
		return nil, false, fmt.Errorf("finish message %s: %w", id, err)
	}
	return m, true, nil
}

// CancelOutbound cancels the pending messages of a referral to a
// destination (see socialrx.OutboxTx).
func (tx *Tx) CancelOutbound(ctx context.Context, referralID, destination, reason string) (int, error) {
	if tx.done {
		return 0, errTxDone
	}
	n, err := tx.q.Exec(ctx, `UPDATE outbox SET state = $1, error = $2, updated_at = $3
WHERE referral_id = $4 AND destination = $5 AND state = $6`,
		socialrx.DeliveryCancelled, reason, micros(tx.e.opts.Now()), referralID, destination, socialrx.DeliveryPending)
	if err != nil {
		return 0, fmt.Errorf("cancel messages of %s: %w", referralID, tx.e.translate(err))
	}
	return int(n), nil
}

// PollTargets lists the Endpoints of open outgoing referrals with their
// poll marks (see socialrx.Outbox).
func (e *Engine) PollTargets(ctx context.Context) ([]socialrx.PollTarget, error) {
	rows, err := e.drv.Reader().Query(ctx, `SELECT DISTINCT r.endpoint_id, COALESCE(m.since, '') FROM referrals r
LEFT JOIN poll_marks m ON m.endpoint_id = r.endpoint_id
WHERE r.endpoint_id <> '' AND r.incoming = $1 AND r.status NOT IN `+terminalStatuses+`
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
		return stx.(*Tx).exec(ctx, `INSERT INTO poll_marks (endpoint_id, since) VALUES ($1, $2)
ON CONFLICT (endpoint_id) DO UPDATE SET since = excluded.since`, endpointID, since)
	})
}
