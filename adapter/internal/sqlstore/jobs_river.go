package sqlstore

import (
	"context"
	"fmt"

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
	// River talks to it directly: with a Deferrer, it must send what is
	// deferred before anything of River's (adapter/postgres riverTx).
	txOf func(DriverTx) (TTx, bool)
	// fast inserts with InsertManyFastTx (see UseFastInsert).
	fast bool
}

// UseFastInsert makes Insert use River's InsertManyFastTx, which returns
// nothing: on SQLite one INSERT ... ON CONFLICT (unique_key) DO NOTHING
// over the jobs, which skips a unique job that exists as InsertManyTx
// does, without InsertManyTx's RETURNING * of every row and River's
// decoding of it (a third of River's insert: docs/performance.md issue
// 12). Not on PostgreSQL, where it is a COPY that fails on a unique job
// that exists.
func (j *RiverJobs[TTx]) UseFastInsert() { j.fast = true }

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

// Insert inserts jobs with one InsertManyTx in the engine's transaction.
func (j *RiverJobs[TTx]) Insert(ctx context.Context, dtx DriverTx, jobs []river.InsertManyParams) error {
	t, ok := j.txOf(dtx)
	if !ok {
		return socialrx.Errorf(socialrx.EINTERNAL, "foreign transaction handed to the job queue")
	}
	var err error
	if j.fast {
		_, err = j.client.InsertManyFastTx(ctx, t, jobs)
	} else {
		_, err = j.client.InsertManyTx(ctx, t, jobs)
	}
	if err != nil {
		return fmt.Errorf("enqueue %d jobs: %w", len(jobs), err)
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
