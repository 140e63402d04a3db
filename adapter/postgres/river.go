package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// jobs enqueues the jobs of a write through River's InsertTx on the write's
// own pgx.Tx (sqlstore.Jobs). Its client is insert-only: no queues, no
// workers.
type jobs struct {
	client *river.Client[pgx.Tx]
}

func newJobs(pool *pgxpool.Pool) (*jobs, error) {
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return &jobs{client: c}, nil
}

// FollowUpReminder inserts the unique followup_reminder job of a
// prescription, scheduled at due, in the engine's transaction.
func (j *jobs) FollowUpReminder(ctx context.Context, dtx sqlstore.DriverTx, prescriptionID string, due time.Time) error {
	t, ok := dtx.(tx)
	if !ok {
		return socialrx.Errorf(socialrx.EINTERNAL, "postgres: foreign transaction handed to the job queue")
	}
	if _, err := j.client.InsertTx(ctx, t.tx, sqlstore.FollowUpReminderArgs{PrescriptionID: prescriptionID}, sqlstore.FollowUpReminderOpts(due)); err != nil {
		return fmt.Errorf("enqueue %s: %w", sqlstore.KindFollowUpReminder, err)
	}
	return nil
}

// migrateRiver applies River's own migrations (after the project's).
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// JobCount returns the number of River jobs of kind, in any state.
func (s *Store) JobCount(ctx context.Context, kind string) (int, error) {
	return s.e.JobCount(ctx, kind)
}

// Projection returns the domain rows derived from a patient's resources.
func (s *Store) Projection(ctx context.Context, patientID string) (*socialrx.PatientProjection, error) {
	return s.e.Projection(ctx, patientID)
}
