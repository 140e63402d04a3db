package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Statistics. PostgreSQL plans every search from its statistics, and
// autovacuum gathers them only once a minute at best (autovacuum_naptime):
// a new database, or one that just took a large import or a burst of
// encounters, is planned for the rows it had before. Measured
// (docs/performance.md, session 11): socialrx-bench's searches right after
// 2,000 encounters into a fresh database, p99 2.8-3.1 s (the follow-up work
// list 1.1 s: without statistics the planner takes its token clause for one
// row and runs it once per Task) against 93 ms once analysed. So the store
// analyses its own tables when they changed by as much as autovacuum waits
// for (analyzeBase rows plus analyzeScale of the table), checked every
// StatsEvery by serve and once at the end of an import.

const (
	analyzeBase  = 500
	analyzeScale = 0.1
	// statsLock is the advisory lock that keeps two processes sharing the
	// database from analysing at once.
	statsLock = 0x736f6369616c7278 // "socialrx"
	// StatsEvery is how often KeepStatistics checks.
	StatsEvery = 15 * time.Second
)

// Analyze analyses the store's tables that changed enough since they were
// last analysed (by anyone), and returns their names. Another process
// analysing at the time makes it return none.
func (s *Store) Analyze(ctx context.Context) ([]string, error) {
	var out []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(statsLock)).Scan(&got); err != nil || !got {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND n_mod_since_analyze > $1 + $2 * greatest(n_live_tup, 0)
ORDER BY relname`, analyzeBase, analyzeScale)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := tx.Exec(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
				return fmt.Errorf("analyze %s: %w", t, err)
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres statistics: %w", err)
	}
	return out, nil
}

// KeepStatistics runs Analyze now and every interval until stop is called
// (stop waits for a run in progress). Failures are logged, not fatal: autovacuum
// still gathers the statistics, later.
func (s *Store) KeepStatistics(every time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for first := true; ; first = false {
			// The first check at once: a server started on a database that
			// just took an import is searched at once.
			if !first {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
			start := time.Now()
			tables, err := s.Analyze(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("statistics not updated", "err", err)
			case len(tables) > 0:
				log.Info("statistics updated", "tables", tables, "duration_ms", time.Since(start).Milliseconds())
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
