// Package sqlite is the embedded default socialrx.Store: one SQLite file
// (pure Go, modernc.org/sqlite, no cgo), in WAL mode, with the SQL engine
// shared with adapter/postgres (adapter/internal/sqlstore).
//
// Connections: one writer connection (database/sql MaxOpenConns 1, as River's
// riversqlite asks; transactions begin IMMEDIATE, so writes serialize on it
// and Update needs no row lock) and a separate query_only pool for Read,
// VRead, History and Search outside transactions, so that reads never queue
// behind a long write: WAL readers see the last committed state. The
// buffered audit trail has a file of its own beside it (audit.go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/mapping"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite socialrx.Store.
type Store struct {
	// Engine is the shared SQL engine: socialrx.Store (reads, search,
	// transactions, projections, the outbox) comes from it.
	*sqlstore.Engine
	drv  *driver
	path string // the database file, absolute
}

var _ socialrx.Store = (*Store)(nil)

// Open opens (creating it and its parent directory if needed) the database
// file at path. It does not migrate: call Migrate. A store that cannot open
// the file returns EUNAVAILABLE.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, sqlstore.Options{})
}

func open(ctx context.Context, path string, opts sqlstore.Options) (*Store, error) {
	if opts.AuditBody == nil {
		// AuditEvents are stored as records and read as FHIR.
		opts.AuditBody = mapping.AuditEventBody
	}
	if path == "" {
		return nil, socialrx.Errorf(socialrx.EINVALID, "sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite open: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "sqlite: cannot create the database directory"), err}
	}
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	wc := &cachingConnector{drv: &sqlite.Driver{},
		dsn: u + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)" +
			"&_pragma=wal_autocheckpoint(" + strconv.Itoa(walBackstop) + ")&_pragma=journal_size_limit(" + strconv.Itoa(walSizeLimit) + ")&_txlock=immediate"}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The first connection creates the file and switches it to WAL before
	// the readers open it.
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite open: %w", translate(err))
	}
	// Readers keep their compiled statements too: a read by id compiled
	// its SELECT at every request (docs/performance.md, session 11).
	rc := &cachingConnector{drv: &sqlite.Driver{}, dsn: u + "?_pragma=busy_timeout(5000)&_pragma=query_only(1)"}
	r := sql.OpenDB(rc)
	if err := r.PingContext(ctx); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlite open: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if opts.Jobs == nil {
		j, err := newJobs(w)
		if err != nil {
			_ = r.Close()
			_ = w.Close()
			return nil, fmt.Errorf("sqlite open: %w", err)
		}
		opts.Jobs = j
	}
	alog, err := openAuditLog(ctx, abs)
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlite open: %w", err)
	}
	// The checkpointer's connection (checkpoint.go): it writes the
	// database file, so it is not query_only.
	cdb := sql.OpenDB(&cachingConnector{drv: &sqlite.Driver{}, dsn: u + "?_pragma=busy_timeout(5000)&_pragma=synchronous(FULL)"})
	cdb.SetMaxOpenConns(1)
	cdb.SetMaxIdleConns(1)
	drv := &driver{w: w, wc: wc, r: r, rc: rc, groups: newGroups(), audit: alog, ckpt: newCheckpointer(cdb, checkpointEvery)}
	return &Store{Engine: sqlstore.New(drv, opts), drv: drv, path: abs}, nil
}

// SetLogger sets where the store reports what goes wrong in its own
// background work (failed WAL checkpoints: checkpoint.go); none by
// default.
func (s *Store) SetLogger(l *slog.Logger) { s.drv.ckpt.logger.Store(l) }

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, s.drv.w, sub)
}

// Migrate applies the pending embedded migrations, then River's own
// (rivermigrate); it is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("sqlite migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("sqlite migrate: %w", translate(err))
	}
	if err := migrateRiver(ctx, s.drv.w); err != nil {
		return fmt.Errorf("sqlite migrate river: %w", translate(err))
	}
	var applied []int64
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return s.ReindexAfterMigrations(ctx, applied)
}

// MigrationStatus returns the version the database is at and the latest
// embedded migration (socialrx's own schema; River versions its tables
// separately).
func (s *Store) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite migration status: %w", err)
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite migration status: %w", translate(err))
	}
	return current, latest, nil
}

// DB returns the writer connection pool (one connection), for River's
// riversqlite driver and its migrations.
func (s *Store) DB() *sql.DB { return s.drv.w }

// Close closes both pools.
func (s *Store) Close() error {
	if err := s.Engine.Close(); err != nil && !errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("sqlite close: %w", err)
	}
	return nil
}
