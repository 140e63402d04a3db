package sqlite

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// newJobs returns the River job inserter of this store (sqlstore.RiverJobs
// over its driver), which inserts on the engine's own transaction.
func newJobs(w *sql.DB) (*sqlstore.RiverJobs[*sql.Tx], error) {
	return sqlstore.NewRiverJobs(riversqlite.New(w), func(d sqlstore.DriverTx) (*sql.Tx, bool) {
		t, ok := d.(tx)
		return t.tx, ok
	})
}

// migrateRiver applies River's own migrations (after the project's).
func migrateRiver(ctx context.Context, w *sql.DB) error {
	return sqlstore.MigrateRiver(ctx, riversqlite.New(w))
}

// JobCount returns the number of River jobs of kind, in any state.
func (s *Store) JobCount(ctx context.Context, kind string) (int, error) {
	return s.e.JobCount(ctx, kind)
}

// Projection returns the domain rows derived from a patient's resources.
func (s *Store) Projection(ctx context.Context, patientID string) (*socialrx.PatientProjection, error) {
	return s.e.Projection(ctx, patientID)
}

// OutboundMessage returns one outbox message.
func (s *Store) OutboundMessage(ctx context.Context, id string) (*socialrx.OutboundMessage, error) {
	return s.e.OutboundMessage(ctx, id)
}

// Blocked reports whether an earlier message of m's referral is pending.
func (s *Store) Blocked(ctx context.Context, m *socialrx.OutboundMessage) (bool, error) {
	return s.e.Blocked(ctx, m)
}

// FinishMessage records the end of a delivery attempt.
func (s *Store) FinishMessage(ctx context.Context, id, state string, attempts int, reason string) (bool, error) {
	return s.e.FinishMessage(ctx, id, state, attempts, reason)
}

// OutboundMessages lists outbox messages, newest first.
func (s *Store) OutboundMessages(ctx context.Context, state string, limit int) ([]socialrx.OutboundMessage, error) {
	return s.e.OutboundMessages(ctx, state, limit)
}

// PollTargets lists the Endpoints of open referrals with their poll marks.
func (s *Store) PollTargets(ctx context.Context) ([]socialrx.PollTarget, error) {
	return s.e.PollTargets(ctx)
}

// SetPollMark records where the poll of an Endpoint ended.
func (s *Store) SetPollMark(ctx context.Context, endpointID, since string) error {
	return s.e.SetPollMark(ctx, endpointID, since)
}

// ReadMany returns the current versions of the resources refs name.
func (s *Store) ReadMany(ctx context.Context, refs []string) ([]socialrx.Resource, error) {
	return s.e.ReadMany(ctx, refs)
}
