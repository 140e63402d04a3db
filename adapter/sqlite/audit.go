package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sync"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// The audit log (socialrx.AuditLog): the buffered audit trail, the
// AuditEvents of reads, searches and failed requests, goes to a database
// file of its own, <database>.audit beside the main file, with its own
// writer connection outside the group commit. Written to the main file,
// every audit batch's commit changed the database the reads read: each
// reader connection then dropped its whole page cache at its next read
// transaction and read its pages again, which cost a read about as much
// as writing its AuditEvent (docs/performance.md, issue 13). A write's
// own AuditEvent stays in the main file, in the write's transaction
// (socialrx.AuditTx): it commits with the write or not at all. Read and
// Search of AuditEvent answer from both files.
//
// Durability: the audit log runs in WAL mode with synchronous=NORMAL: a
// committed batch survives a crash of the process; a power loss or an
// operating system crash may lose the batches of the last moments (those
// since the last WAL checkpoint's sync). The events of a batch are in
// memory until it commits anyway (up to the Auditor's Linger, 100 ms, and
// its queue), so an fsync per batch would not make the trail complete.
// Back the two files up together (see README, "Audit trail").

//go:embed auditmigrations/*.sql
var auditMigrations embed.FS

// The audit log's buffered AuditEvents are kept in blocks (audit_blocks,
// audit_block_keys: adapter/internal/sqlstore/auditblocks.go), written in
// transactions of the writer connection (AuditBlockTx). The log's first
// tables (migration 00009), audit_events and audit_tail, are no longer
// written; the records they hold are read and searched as one
// (AuditLogFrom, one statement, so one snapshot). Before the blocks, a
// batch was appended to audit_tail and moved to audit_events a few
// thousand records at a time (keeping seq), because appending to the
// indexes of audit_events batch by batch wrote two random index pages
// per event per commit; the blocks keep that idea for their keys.

// auditLogFrom is the audit log's records of before the blocks, both
// tables.
const auditLogFrom = `(SELECT seq, id, recorded, agent, entity, patient, subtype, action, outcome, body FROM audit_events
UNION ALL SELECT seq, id, recorded, agent, entity, patient, subtype, action, outcome, body FROM audit_tail) AS a`

// auditLog is the audit log database: one writer connection and a
// read-only pool.
type auditLog struct {
	w, r *sql.DB

	mu sync.Mutex // serializes appends (one Auditor writes; tests may add)
}

// openAuditLog opens (creating it if needed) the audit log of the
// database file at abs and brings its schema up to date: the file belongs
// to the store, which keeps it in step itself.
func openAuditLog(ctx context.Context, abs string) (*auditLog, error) {
	u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs + ".audit")}).String()
	w := sql.OpenDB(&cachingConnector{drv: &sqlite.Driver{},
		dsn: u + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(10000)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)&_txlock=immediate"})
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, translate(err)
	}
	sub, err := fs.Sub(auditMigrations, "auditmigrations")
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, w, sub)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	if _, err := p.Up(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("audit log schema: %w", translate(err))
	}
	// Readers keep their compiled statements too: a read by id compiled
	// its SELECT at every request (docs/performance.md, session 11).
	r := sql.OpenDB(&cachingConnector{drv: &sqlite.Driver{}, dsn: u + "?_pragma=busy_timeout(5000)&_pragma=query_only(1)"})
	if err := r.PingContext(ctx); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(2)
	r.SetMaxIdleConns(2)
	return &auditLog{w: w, r: r}, nil
}

func (l *auditLog) close() error { return errors.Join(l.r.Close(), l.w.Close()) }

// AuditLogReader runs reads on the audit log (sqlstore.AuditLogDriver).
func (d *driver) AuditLogReader() sqlstore.Querier { return querier{d.audit.r} }

// AuditLogFrom is the audit log's records (sqlstore.AuditLogDriver).
func (d *driver) AuditLogFrom() string { return auditLogFrom }

// AuditBlockReader runs reads on the audit log (sqlstore.AuditBlockDriver).
func (d *driver) AuditBlockReader() sqlstore.Querier { return querier{d.audit.r} }

// AuditBlockTx runs fn in a transaction (BEGIN IMMEDIATE) of the audit
// log's writer connection, one at a time (sqlstore.AuditBlockDriver).
func (d *driver) AuditBlockTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	l := d.audit
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer func() { _ = t.Rollback() }()
	if err := fn(querier{t}); err != nil {
		return err
	}
	return t.Commit()
}
