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

	"github.com/socialrx/socialrx"
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

// The audit log holds two tables of the same columns: audit_events, with
// the indexes searches use (id, recorded, agent, entity, patient), and
// audit_tail, the newest records, with an index on id only. A batch is
// appended to the tail; when the tail holds auditTailMax records or more,
// the batch's transaction also moves them all to audit_events, in seq
// order, and empties the tail. Appending to audit_events batch by batch
// cost two random index pages (entity, patient) per event per commit,
// written to the WAL and checkpointed: 60% of the writer's CPU; a move
// writes each such page once for thousands of events. Searches read the
// two tables as one (AuditLogFrom, one statement, so one snapshot: a
// record is in one of them at any time, with the same seq), scanning the
// tail's few thousand rows.
//
//	seq is the tail's AUTOINCREMENT: it keeps growing after the tail is
//	emptied, and the move keeps it, so the order of records (recorded,
//	source, seq) and the search cursors are the same before and after.

// auditTailMax is the tail's size that triggers a move to audit_events.
var auditTailMax = 8192

// auditLogFrom is the audit log's records, both tables.
const auditLogFrom = `(SELECT seq, id, recorded, agent, entity, patient, subtype, action, outcome, body FROM audit_events
UNION ALL SELECT seq, id, recorded, agent, entity, patient, subtype, action, outcome, body FROM audit_tail) AS a`

// auditMove moves the tail to audit_events (in the append's transaction).
var auditMove = []string{
	`INSERT INTO audit_events (seq, id, recorded, agent, entity, patient, subtype, action, outcome, body)
SELECT seq, id, recorded, agent, entity, patient, subtype, action, outcome, body FROM audit_tail ORDER BY seq`,
	`DELETE FROM audit_tail`,
}

// auditLog is the audit log database: one writer connection and a
// read-only pool.
type auditLog struct {
	w, r *sql.DB

	mu   sync.Mutex // serializes appends (one Auditor writes; tests may add)
	tail int        // records in audit_tail (guarded by mu)
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
	var tail int
	if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_tail`).Scan(&tail); err != nil {
		_ = w.Close()
		return nil, translate(err)
	}
	r, err := sql.Open("sqlite", u+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(2)
	r.SetMaxIdleConns(2)
	return &auditLog{w: w, r: r, tail: tail}, nil
}

func (l *auditLog) close() error { return errors.Join(l.r.Close(), l.w.Close()) }

// AuditLogReader runs reads on the audit log (sqlstore.AuditLogDriver).
func (d *driver) AuditLogReader() sqlstore.Querier { return querier{d.audit.r} }

// AuditLogFrom is the audit log's records (sqlstore.AuditLogDriver).
func (d *driver) AuditLogFrom() string { return auditLogFrom }

// AppendAuditLog appends records to the tail, and moves the tail to
// audit_events when it is full, in one transaction on the audit log's
// own connection (sqlstore.AuditLogDriver).
func (d *driver) AppendAuditLog(ctx context.Context, records []socialrx.AuditRecord) error {
	l := d.audit
	l.mu.Lock()
	defer l.mu.Unlock()
	t, err := l.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer func() { _ = t.Rollback() }()
	var last int64
	if err := t.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_tail`).Scan(&last); err != nil {
		return err
	}
	if err := sqlstore.InsertAudit(ctx, querier{t}, "audit_tail", true, records); err != nil {
		return err
	}
	// The tail's unique index covers the tail; an id already moved to
	// audit_events is refused here (it would fail the move, and every
	// batch after it).
	var taken int
	err = t.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_tail t WHERE t.seq > ? AND EXISTS (SELECT 1 FROM audit_events e WHERE e.id = t.id)`, last).Scan(&taken)
	if err != nil {
		return err
	}
	if taken > 0 {
		return socialrx.Errorf(socialrx.ECONFLICT, "already exists")
	}
	tail := l.tail + len(records)
	if tail >= auditTailMax {
		for _, stmt := range auditMove {
			if _, err := t.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		tail = 0
	}
	if err := t.Commit(); err != nil {
		return err
	}
	l.tail = tail
	return nil
}
