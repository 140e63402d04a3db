// Package postgres is the production socialrx.Store on PostgreSQL (pgx v5,
// a connection pool, no database/sql in the hot path), with the SQL engine
// shared with adapter/sqlite (adapter/internal/sqlstore).
//
// Bodies are stored as json, not jsonb: jsonb would keep every member and
// decimal scale (1.50 stays 1.50) but normalize key order, whitespace and
// number notation (1e2 becomes 100), which breaks the promise to keep the
// document as received (the conformance suite checks it). json keeps the
// bytes, validated; queries cast to jsonb where they need its operators.
// Writers read the current row FOR UPDATE in READ
// COMMITTED, so concurrent updates of one resource serialize; Transact runs
// fn again on a serialization failure or deadlock.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/mapping"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL socialrx.Store.
type Store struct {
	// Engine is the shared SQL engine: socialrx.Store (reads, search,
	// transactions, projections, the outbox) comes from it.
	*sqlstore.Engine
	pool *pgxpool.Pool
}

var _ socialrx.Store = (*Store)(nil)

// Open connects a pool to dsn (a postgres:// URL or key=value string) and
// checks that the server answers (EUNAVAILABLE if not). It does not
// migrate: call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, socialrx.Errorf(socialrx.EINVALID, "postgres: invalid connection string")
	}
	return open(ctx, cfg, sqlstore.Options{})
}

func open(ctx context.Context, cfg *pgxpool.Config, opts sqlstore.Options) (*Store, error) {
	if opts.AuditBody == nil {
		// AuditEvents are stored as records and read as FHIR.
		opts.AuditBody = mapping.AuditEventBody
	}
	// Reads are planned for their parameters at every run (unnamed
	// statements: driver.go planned); writes are cached prepared
	// statements under PostgreSQL's own plan_cache_mode (auto: a generic
	// plan once it costs no more). Until session 7 every statement was
	// planned at every run (force_custom_plan), which cost the writes of an
	// encounter Bundle ~2.5 ms of planning (docs/performance.md, issue 12).
	// A plan_cache_mode in the DSN applies to the writes.
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres open: %w", translate(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres open: %w", translate(err))
	}
	if opts.Jobs == nil {
		j, err := newJobs(pool)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres open: %w", err)
		}
		opts.Jobs = j
	}
	// The audit trail's connection: the same settings, one connection,
	// none kept while idle for long.
	auditCfg := cfg.Copy()
	auditCfg.MaxConns, auditCfg.MinConns = 1, 0
	return &Store{Engine: sqlstore.New(&driver{pool: pool, auditCfg: auditCfg}, opts), pool: pool}, nil
}

func (s *Store) withProvider(fn func(p *goose.Provider) error) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(s.pool) // closing it leaves the pool open
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		return err
	}
	return fn(p)
}

// Migrate applies the pending embedded migrations, then River's own
// (rivermigrate); it is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	var applied []int64
	err := s.withProvider(func(p *goose.Provider) error {
		results, err := p.Up(ctx)
		for _, r := range results {
			applied = append(applied, r.Source.Version)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres migrate: %w", translate(err))
	}
	if err := migrateRiver(ctx, s.pool); err != nil {
		return fmt.Errorf("postgres migrate river: %w", translate(err))
	}
	return s.ReindexAfterMigrations(ctx, applied)
}

// MigrationStatus returns the version the database is at and the latest
// embedded migration (socialrx's own schema; River versions its tables
// separately).
func (s *Store) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	err = s.withProvider(func(p *goose.Provider) error {
		current, latest, err = p.GetVersions(ctx)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("postgres migration status: %w", translate(err))
	}
	return current, latest, nil
}

// Pool returns the connection pool, for River's riverpgxv5 driver.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
