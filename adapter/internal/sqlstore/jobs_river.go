package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/socialrx/socialrx"
)

// RiverJobs is the Jobs of a store whose transactions are TTx (*sql.Tx on
// SQLite, pgx.Tx on PostgreSQL): it inserts through River's InsertTx on the
// write's own transaction. Its client is insert-only: no queues, no workers.
type RiverJobs[TTx any] struct {
	client *river.Client[TTx]
	// txOf returns the driver transaction under a DriverTx of this store.
	txOf func(DriverTx) (TTx, bool)
}

var _ Jobs = (*RiverJobs[any])(nil)

// NewRiverJobs returns an insert-only River client over driver; txOf gives
// the driver transaction of the store's DriverTx.
func NewRiverJobs[TTx any](driver riverdriver.Driver[TTx], txOf func(DriverTx) (TTx, bool)) (*RiverJobs[TTx], error) {
	c, err := river.NewClient(driver, &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return &RiverJobs[TTx]{client: c, txOf: txOf}, nil
}

// FollowUpReminder inserts the unique followup_reminder job of a
// prescription, scheduled at due, in the engine's transaction.
func (j *RiverJobs[TTx]) FollowUpReminder(ctx context.Context, dtx DriverTx, prescriptionID string, due time.Time) error {
	t, ok := j.txOf(dtx)
	if !ok {
		return socialrx.Errorf(socialrx.EINTERNAL, "foreign transaction handed to the job queue")
	}
	if _, err := j.client.InsertTx(ctx, t, FollowUpReminderArgs{PrescriptionID: prescriptionID}, FollowUpReminderOpts(due)); err != nil {
		return fmt.Errorf("enqueue %s: %w", KindFollowUpReminder, err)
	}
	return nil
}

// Deliver inserts the unique delivery job of an outbox message in the
// engine's transaction.
func (j *RiverJobs[TTx]) Deliver(ctx context.Context, dtx DriverTx, messageID string) error {
	t, ok := j.txOf(dtx)
	if !ok {
		return socialrx.Errorf(socialrx.EINTERNAL, "foreign transaction handed to the job queue")
	}
	if _, err := j.client.InsertTx(ctx, t, socialrx.DeliverArgs{MessageID: messageID}, DeliverOpts()); err != nil {
		return fmt.Errorf("enqueue %s: %w", socialrx.KindDeliver, err)
	}
	return nil
}

// HandoffTask inserts the unique handoff_task job of a prescription in the
// engine's transaction.
func (j *RiverJobs[TTx]) HandoffTask(ctx context.Context, dtx DriverTx, prescriptionID string) error {
	t, ok := j.txOf(dtx)
	if !ok {
		return socialrx.Errorf(socialrx.EINTERNAL, "foreign transaction handed to the job queue")
	}
	opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
	if _, err := j.client.InsertTx(ctx, t, socialrx.HandoffArgs{PrescriptionID: prescriptionID}, opts); err != nil {
		return fmt.Errorf("enqueue %s: %w", socialrx.KindHandoffTask, err)
	}
	return nil
}

// MigrateRiver applies River's own migrations (run after the project's).
func MigrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}
