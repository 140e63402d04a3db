package socialrx

import "context"

// MigrateProgress is told how far a migration's rewrite of stored data
// has got: done of total resources (a migration that adds or changes
// search parameters rewrites the index rows of the types they are on;
// adapter/internal/sqlstore reindexAfter). It is called with (0, total)
// before the first batch and after each batch, from the migrating
// goroutine.
type MigrateProgress func(done, total int)

type migrateProgressKey struct{}

// WithMigrateProgress returns ctx carrying p, for a store's Migrate.
func WithMigrateProgress(ctx context.Context, p MigrateProgress) context.Context {
	return context.WithValue(ctx, migrateProgressKey{}, p)
}

// MigrateProgressFrom returns the MigrateProgress of ctx, a no-op when it
// has none.
func MigrateProgressFrom(ctx context.Context) MigrateProgress {
	if p, ok := ctx.Value(migrateProgressKey{}).(MigrateProgress); ok && p != nil {
		return p
	}
	return func(int, int) {}
}
