package sqlite

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// newJobs returns the River job inserter of this store (sqlstore.RiverJobs
// over its driver), which inserts on the engine's own transaction.
func newJobs(w *sql.DB) (*sqlstore.RiverJobs[*sql.Tx], error) {
	j, err := sqlstore.NewRiverJobs(riversqlite.New(w), func(d sqlstore.DriverTx) (*sql.Tx, bool) {
		t, ok := d.(tx)
		return t.tx, ok
	})
	if err != nil {
		return nil, err
	}
	j.UseFastInsert()
	return j, nil
}

// migrateRiver applies River's own migrations (after the project's).
func migrateRiver(ctx context.Context, w *sql.DB) error {
	return sqlstore.MigrateRiver(ctx, riversqlite.New(w))
}
