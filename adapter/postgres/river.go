package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// newJobs returns the River job inserter of this store (sqlstore.RiverJobs
// over its driver), which inserts on the engine's own transaction.
func newJobs(pool *pgxpool.Pool) (*sqlstore.RiverJobs[pgx.Tx], error) {
	return sqlstore.NewRiverJobs(riverpgxv5.New(pool), func(d sqlstore.DriverTx) (pgx.Tx, bool) {
		t, ok := d.(tx)
		return t.tx, ok
	})
}

// migrateRiver applies River's own migrations (after the project's).
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	return sqlstore.MigrateRiver(ctx, riverpgxv5.New(pool))
}
