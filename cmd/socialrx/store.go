package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schollz/progressbar/v3"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/postgres"
	"github.com/socialrx/socialrx/adapter/sqlite"
	"golang.org/x/term"
)

// Store is what the commands need of a backend: the socialrx.Store port plus
// schema management.
type Store interface {
	socialrx.Store
	Migrate(ctx context.Context) error
	MigrationStatus(ctx context.Context) (current, latest int64, err error)
}

var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
)

// OpenStore opens the database named by a --database value.
func OpenStore(ctx context.Context, database string) (Store, error) {
	kind, target, err := ParseDatabase(database)
	if err != nil {
		return nil, err
	}
	switch kind {
	case KindPostgres:
		s, err := postgres.Open(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", redactDSN(target), err)
		}
		return s, nil
	default:
		s, err := sqlite.Open(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", target, err)
		}
		return s, nil
	}
}

// OpenExistingStore opens the database named by a --database value for a
// command that only reads it (report programs, programs, jobs, export):
// it never creates one. A SQLite file that does not exist is an error
// naming the path (a typo in --database would otherwise make an empty
// database and an all-zero report), and so is a database without
// socialrx's schema or at another version than this binary's.
func OpenExistingStore(ctx context.Context, database string) (Store, error) {
	kind, target, err := ParseDatabase(database)
	if err != nil {
		return nil, err
	}
	if kind == KindSQLite {
		st, err := os.Stat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("database sqlite:%s does not exist (check --database; `socialrx migrate` creates one)", target)
		case err != nil:
			return nil, fmt.Errorf("open sqlite %s: %w", target, err)
		case st.Size() == 0:
			// Opening it would write SQLite's header (WAL mode).
			return nil, fmt.Errorf("database sqlite:%s has no socialrx schema (an empty file: check --database; `socialrx migrate` sets one up)", target)
		}
	}
	// Opening the store and asking goose for the version would write:
	// goose creates its version table when it is missing, and the SQLite
	// store switches the file to WAL and makes its audit file beside it.
	// A database that is not socialrx's is refused on a plain read first.
	if ok, err := hasSchemaTable(ctx, kind, target); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("database %s has no socialrx schema (check --database; `socialrx migrate` sets one up)", displayDatabase(kind, target))
	}
	s, err := OpenStore(ctx, database)
	if err != nil {
		return nil, err
	}
	if err := requireSchema(ctx, s, kind, target); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// gooseTable is the table goose keeps the schema version in (its default).
const gooseTable = "goose_db_version"

// hasSchemaTable reports, reading only, whether the database holds goose's
// version table: database/sql on SQLite without the store's pragmas, one
// pgx connection on PostgreSQL.
func hasSchemaTable(ctx context.Context, kind, target string) (bool, error) {
	var ok bool
	if kind == KindPostgres {
		conn, err := pgx.Connect(ctx, target)
		if err != nil {
			return false, fmt.Errorf("open postgres %s: %w", redactDSN(target), err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, gooseTable).Scan(&ok); err != nil {
			return false, fmt.Errorf("read schema of %s: %w", redactDSN(target), err)
		}
		return ok, nil
	}
	db, err := sql.Open("sqlite", target)
	if err != nil {
		return false, fmt.Errorf("open sqlite %s: %w", target, err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`, gooseTable).Scan(&ok); err != nil {
		return false, fmt.Errorf("read schema of sqlite:%s (not a SQLite database?): %w", target, err)
	}
	return ok, nil
}

// displayDatabase names a database in messages (a PostgreSQL URL without
// its password).
func displayDatabase(kind, target string) string {
	if kind == KindPostgres {
		return redactDSN(target)
	}
	return "sqlite:" + target
}

// requireSchema refuses a database whose schema is not this binary's,
// without migrating it.
func requireSchema(ctx context.Context, s Store, kind, target string) error {
	name := displayDatabase(kind, target)
	cur, latest, err := s.MigrationStatus(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("read schema version of %s: %w", name, err)
	case cur == 0:
		return fmt.Errorf("database %s has no socialrx schema (an empty database: check --database; `socialrx migrate` sets one up)", name)
	case cur > latest:
		return fmt.Errorf("database %s schema is at version %d, newer than this binary knows (%d): upgrade socialrx", name, cur, latest)
	case cur < latest:
		return fmt.Errorf("database %s schema is at version %d, this binary needs %d: run `socialrx migrate`", name, cur, latest)
	}
	return nil
}

// prepareSchema sets up an empty database, and refuses to serve on a schema
// that is behind this binary unless autoMigrate is set (so that an upgrade of
// a production database is a deliberate step: socialrx migrate).
func prepareSchema(ctx context.Context, s Store, autoMigrate bool, log *slog.Logger) error {
	cur, latest, err := s.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case cur == latest:
		return nil
	case cur > latest:
		return fmt.Errorf("database schema is at version %d, newer than this binary knows (%d): upgrade socialrx", cur, latest)
	case cur == 0 || autoMigrate:
		log.Info("migrating database schema", "from", cur, "to", latest)
		return s.Migrate(socialrx.WithMigrateProgress(ctx, migrateProgress(log, io.Discard, time.Now)))
	default:
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run `socialrx migrate` (or serve --auto-migrate)", cur, latest)
	}
}

// MigrateCmd creates or upgrades the schema.
type MigrateCmd struct {
	DatabaseFlag
	LogFlags
}

// Run migrates the database and reports the versions.
func (c *MigrateCmd) Run(ctx context.Context) error {
	log := newLogger(c.LogLevel, c.LogFormat)
	s, err := OpenStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer s.Close()
	before, latest, err := s.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if before > latest {
		return fmt.Errorf("database schema is at version %d, newer than this binary knows (%d)", before, latest)
	}
	var bar io.Writer = io.Discard
	if term.IsTerminal(int(os.Stderr.Fd())) {
		bar = os.Stderr
	}
	if err := s.Migrate(socialrx.WithMigrateProgress(ctx, migrateProgress(log, bar, time.Now))); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log.Info("database schema up to date", "from", before, "to", latest)
	fmt.Printf("schema version %d (was %d)\n", latest, before)
	return nil
}

// migrateProgressEvery is how often a migration's rewrite logs how far it
// has got (on a terminal the bar shows it instead).
const migrateProgressEvery = 5 * time.Second

// migrateProgress reports a migration's rewrite of stored data (the
// search index rows of the types a new search parameter is on: on a large
// database the first start of a new version can take minutes): a progress
// bar on bar when it is a terminal, else a log line when it starts, every
// migrateProgressEvery and when it ends.
func migrateProgress(log *slog.Logger, bar io.Writer, now func() time.Time) socialrx.MigrateProgress {
	var pb *progressbar.ProgressBar
	var start, last time.Time
	first, ended := true, false
	return func(done, total int) {
		if ended {
			return
		}
		t := now()
		if first {
			first = false
			start, last = t, t
			log.Info("migration: rewriting the search index of stored resources", "resources", total)
			if bar != io.Discard {
				pb = newProgressBar(bar, int64(total), "reindex")
			}
		}
		if pb != nil {
			_ = pb.Set(done)
		}
		switch {
		case done == total:
			ended = true // a last empty batch reports (total, total) again
			log.Info("migration: search index rewritten", "resources", total, "took", t.Sub(start).Round(time.Millisecond).String())
		case pb == nil && t.Sub(last) >= migrateProgressEvery:
			last = t
			log.Info("migration: rewriting the search index", "done", done, "resources", total)
		}
	}
}
