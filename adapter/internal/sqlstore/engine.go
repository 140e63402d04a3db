// Package sqlstore is the SQL engine shared by the SQLite and PostgreSQL
// stores: it implements socialrx.Store and socialrx.Tx once, in plain SQL,
// over a small Driver abstraction (queries inside a transaction, begin,
// commit, rollback, error translation and the few dialect differences).
//
// Tables (created by each adapter's migrations):
//
//	resources         current version of each resource, PK (type, id)
//	resource_versions every version incl. delete markers, PK (type, id, version)
//	search_index      one row per search.IndexEntry of each current, live resource
//	findings, needs, prescriptions, referrals, follow_ups
//	                  the domain rows the workflow derives (projection.go)
//	outbox, inbox, poll_marks
//	                  messages to send, platform messages applied, poll
//	                  positions (outbox.go)
//
// The engine only stores: what a write means for the domain is decided by
// adapter/workflow, which records its decisions through the projection and
// outbox methods of the same Tx. This package does not import mapping.
//
// Every written version takes the next value of one global sequence (seq),
// which orders history newest first and positions history cursors.
// Timestamps are stored as int64 unix microseconds in both databases.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// Page sizes for search and history.
const (
	DefaultCount = 20   // _count when none is given
	MaxCount     = 1000 // larger _count values are lowered to this
	// MaxPageBytes is the default of Options.MaxPageBytes.
	MaxPageBytes = 32 << 20
)

// Options tunes an Engine. The zero value is the production setting.
type Options struct {
	DefaultCount int // page size when none is asked; DefaultCount if 0
	MaxCount     int // largest page; MaxCount if 0
	// MaxPageBytes bounds the memory of a search or history page: the
	// matches (versions) of a page stop (next link to the rest) before
	// their bodies pass it, one at least; included resources past it fail
	// the search with ETOOLARGE. MaxPageBytes if 0.
	MaxPageBytes int
	// Index extracts index entries from a stamped body; search.IndexPacked
	// if nil.
	Index func(typ string, body []byte) (*search.Entries, error)
	// ParseQuery parses search parameters; search.ParseQuery if nil.
	ParseQuery func(typ string, params url.Values, strict bool) (*search.Query, []fhir.Issue)
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Retries is how many times Transact runs fn again after a retryable
	// failure; 4 if 0.
	Retries int
	// Jobs enqueues the jobs the workflow schedules (OutboxTx), in their
	// transaction; none if nil.
	Jobs Jobs
	// AuditBody builds the FHIR AuditEvent of a stored audit record
	// (mapping.AuditEventBody, set by the stores: this package does not
	// import mapping); the record's body as stored if nil.
	AuditBody func(socialrx.AuditRecord) ([]byte, error)
	// AuditKeyEvery is how many buffered AuditEvents the audit blocks
	// written without keys hold before an append writes their keys
	// (auditblocks.go); AuditKeyEvery if 0.
	AuditKeyEvery int
}

// Engine implements socialrx.Store over a Driver.
type Engine struct {
	drv  Driver
	d    Dialect
	opts Options
}

var _ socialrx.Store = (*Engine)(nil)

// New returns an Engine over drv. The engine owns drv: Close closes it.
func New(drv Driver, opts Options) *Engine {
	if opts.DefaultCount <= 0 {
		opts.DefaultCount = DefaultCount
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = MaxCount
	}
	if opts.MaxPageBytes <= 0 {
		opts.MaxPageBytes = MaxPageBytes
	}
	if opts.Index == nil {
		opts.Index = search.IndexPacked
	}
	if opts.ParseQuery == nil {
		opts.ParseQuery = search.ParseQuery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Retries <= 0 {
		opts.Retries = 4
	}
	if opts.AuditKeyEvery <= 0 {
		opts.AuditKeyEvery = AuditKeyEvery
	}
	return &Engine{drv: drv, d: drv.Dialect(), opts: opts}
}

// Ping checks that the database answers; EUNAVAILABLE if not.
func (e *Engine) Ping(ctx context.Context) error {
	if err := e.drv.Ping(ctx); err != nil {
		return fmt.Errorf("store ping: %w", e.translate(err))
	}
	return nil
}

// Close closes the driver.
func (e *Engine) Close() error { return e.drv.Close() }

// Read returns the current version of a resource (see socialrx.Store).
func (e *Engine) Read(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	return e.read(ctx, e.drv.Reader(), typ, id)
}

// ReadMany returns the current versions of the resources refs name (see
// socialrx.Store), 100 per statement.
func (e *Engine) ReadMany(ctx context.Context, refs []string) ([]socialrx.Resource, error) {
	seen := make(map[string]bool, len(refs))
	var args []any
	var out []socialrx.Resource
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		query, qargs := e.readManyQuery(args)
		rows, err := e.drv.Reader().Query(ctx, query, qargs...)
		if err != nil {
			return e.translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r socialrx.Resource
			var lu int64
			if err := rows.Scan(&r.Type, &r.ID, &r.VersionID, &lu, &r.Deleted, &r.Body); err != nil {
				return e.translate(err)
			}
			if !r.Deleted {
				r.LastUpdated = fromMicros(lu)
				out = append(out, r)
			}
		}
		args = args[:0]
		return e.translate(rows.Err())
	}
	for _, ref := range refs {
		typ, id, ok := fhir.SplitRef(ref)
		if !ok || seen[ref] {
			continue
		}
		seen[ref] = true
		args = append(args, typ, id)
		if len(args) == 200 && e.d.ReadMany == "" {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("read many: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("read many: %w", err)
	}
	return out, nil
}

// readManyQuery is the query of ReadMany for args (type, id, type, id...):
// the dialect's, over two arrays, or (type = $1 AND id = $2) OR ...
func (e *Engine) readManyQuery(args []any) (string, []any) {
	if e.d.ReadMany != "" {
		types, ids := make([]string, 0, len(args)/2), make([]string, 0, len(args)/2)
		for i := 0; i < len(args); i += 2 {
			types, ids = append(types, args[i].(string)), append(ids, args[i+1].(string))
		}
		return e.d.ReadMany, []any{types, ids}
	}
	var where strings.Builder
	for i := 0; i < len(args); i += 2 {
		if i > 0 {
			where.WriteString(" OR ")
		}
		fmt.Fprintf(&where, "(type = $%d AND id = $%d)", i+1, i+2)
	}
	return `SELECT type, id, version, last_updated, deleted, body FROM resources WHERE ` + where.String(), args
}

// VRead returns one version of a resource (see socialrx.Store).
func (e *Engine) VRead(ctx context.Context, typ, id string, version int64) (*socialrx.Resource, error) {
	if typ == auditType {
		// An AuditEvent has one version and never changes.
		r, err := e.readAudit(ctx, e.drv.Reader(), id)
		if err == nil && version != 1 {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "%s/%s/_history/%d not found", typ, id, version)
		}
		return r, err
	}
	var r socialrx.Resource
	var lu int64
	err := e.drv.Reader().QueryRow(ctx,
		KeyLookup+`SELECT type, id, version, last_updated, deleted, body FROM resource_versions WHERE type = $1 AND id = $2 AND version = $3`,
		typ, id, version).Scan(&r.Type, &r.ID, &r.VersionID, &lu, &r.Deleted, &r.Body)
	if err != nil {
		err = e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "%s/%s/_history/%d not found", typ, id, version)
		}
		return nil, fmt.Errorf("vread %s/%s: %w", typ, id, err)
	}
	r.LastUpdated = fromMicros(lu)
	if r.Deleted {
		return nil, socialrx.Errorf(socialrx.EGONE, "%s/%s/_history/%d is deleted", typ, id, version)
	}
	return &r, nil
}

// Search runs a FHIR search outside a transaction (see socialrx.Store).
func (e *Engine) Search(ctx context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	return e.search(ctx, e.drv.Reader(), req)
}

// Transact runs fn in one database transaction, again (up to Options.Retries
// times) when the database reports a serialization failure or deadlock.
func (e *Engine) Transact(ctx context.Context, fn func(tx socialrx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := e.transactOnce(ctx, fn)
		if err == nil || attempt >= e.opts.Retries || !e.drv.Retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

func (e *Engine) transactOnce(ctx context.Context, fn func(tx socialrx.Tx) error) (err error) {
	dtx, err := e.drv.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store begin: %w", e.translate(err))
	}
	tx := &Tx{e: e, q: dtx}
	defer func() {
		tx.done = true
		if p := recover(); p != nil {
			_ = dtx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = dtx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if len(tx.jobs) > 0 && e.opts.Jobs != nil {
		// The insert runs to its end once begun: on SQLite an interrupt
		// in the middle of a statement rolls back the whole shared
		// transaction of a group commit, the other members' writes with
		// it (see adapter/sqlite memberCtx); a request whose context ended
		// fails here, before it. PostgreSQL's statement_timeout still
		// bounds the statement.
		if err = ctx.Err(); err != nil {
			return err
		}
		if err = e.opts.Jobs.Insert(context.WithoutCancel(ctx), dtx, uniqueJobs(tx.jobs)); err != nil {
			return e.translate(err)
		}
	}
	if err = dtx.Commit(ctx); err != nil {
		return fmt.Errorf("store commit: %w", e.translate(err))
	}
	return nil
}

// translate maps driver errors to *socialrx.Error via the driver, and
// context errors to themselves.
func (e *Engine) translate(err error) error {
	if err == nil {
		return nil
	}
	var se *socialrx.Error
	if errors.As(err, &se) {
		return err
	}
	return e.drv.Translate(err)
}

func (e *Engine) read(ctx context.Context, q Querier, typ, id string) (*socialrx.Resource, error) {
	if typ == auditType {
		return e.readAudit(ctx, q, id)
	}
	var r socialrx.Resource
	var lu int64
	err := q.QueryRow(ctx,
		KeyLookup+`SELECT type, id, version, last_updated, deleted, body FROM resources WHERE type = $1 AND id = $2`,
		typ, id).Scan(&r.Type, &r.ID, &r.VersionID, &lu, &r.Deleted, &r.Body)
	if err != nil {
		err = e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "%s/%s not found", typ, id)
		}
		return nil, fmt.Errorf("read %s/%s: %w", typ, id, err)
	}
	if r.Deleted {
		return nil, socialrx.Errorf(socialrx.EGONE, "%s/%s is deleted", typ, id)
	}
	r.LastUpdated = fromMicros(lu)
	return &r, nil
}

// Tx is a socialrx.Tx over one driver transaction.
type Tx struct {
	e    *Engine
	q    DriverTx
	done bool
	// jobs are the jobs the transaction scheduled, inserted just before it
	// commits (Jobs).
	jobs []river.InsertManyParams
	// contacts keeps the first contact of the referrals DropProjections
	// removed, for PutReferral of a new version of the same Task in this
	// transaction (projection.go).
	contacts map[string]int64
	// created holds "Type/id" of the resources this transaction created
	// (version 1: the id was never stored before, so no projection row of
	// it can exist), projected those it wrote (or dropped) projection rows
	// of; rx holds the prescription rows it wrote or dropped (nil: none), as
	// Prescription would read them. With them the workflow's reads of the
	// projections of what the same transaction created or wrote cost no
	// statement: on PostgreSQL each was a round trip, on SQLite a statement
	// on the single writer (docs/performance.md, session 11).
	created, projected map[string]struct{}
	rx                 map[string]*socialrx.Prescription
	// minted holds "Type/id" of the resources this transaction created
	// with CreateNew: ids drawn a moment ago, which no row written before
	// the transaction can name. refs holds the referral rows it wrote
	// (PutReferral) by Task id, deleted ones removed; refsStale is set once
	// a statement changed referral rows in a way refs does not follow
	// (MarkReferralDelivery). With them ReferralsOf a minted prescription
	// costs no statement: its referrals can only be the ones this
	// transaction wrote (projection.go).
	minted    map[string]struct{}
	refs      map[string]socialrx.Referral
	refsStale bool
	// faceted holds "Type/id" of the resources whose derived index rows
	// (PutFacts) this transaction wrote: those created by it and not in
	// faceted have none to drop.
	faceted map[string]struct{}
}

// markCreated records that typ/id was created by this transaction.
func (tx *Tx) markCreated(typ, id string) {
	if tx.created == nil {
		tx.created = map[string]struct{}{}
	}
	tx.created[typ+"/"+id] = struct{}{}
}

// isFresh reports whether typ/id was created by this transaction and no
// projection row of it was written in it (before or after): it has none.
func (tx *Tx) isFresh(typ, id string) bool {
	k := typ + "/" + id
	_, c := tx.created[k]
	_, p := tx.projected[k]
	return c && !p
}

// touched records that a projection row of typ/id is being written.
func (tx *Tx) touched(typ, id string) {
	if tx.projected == nil {
		tx.projected = map[string]struct{}{}
	}
	tx.projected[typ+"/"+id] = struct{}{}
}

var _ socialrx.Tx = (*Tx)(nil)

var errTxDone = socialrx.Errorf(socialrx.EINTERNAL, "store transaction used after its function returned")

// Read returns the current version as the transaction sees it.
func (tx *Tx) Read(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	if tx.done {
		return nil, errTxDone
	}
	return tx.e.read(ctx, tx.q, typ, id)
}

// maxPrefetch bounds the resources one Prefetch asks for.
const maxPrefetch = 100

// Prefetch reads the current versions of refs with the transaction's next
// statement where the driver can (ReadDeferrer, with the dialect's
// ReadMany) and hands each found one to got (see socialrx.PrefetchTx).
// AuditEvents and malformed refs are left out, and refs past the first
// maxPrefetch distinct ones.
func (tx *Tx) Prefetch(refs []string, got func(socialrx.Resource)) {
	d, ok := tx.q.(ReadDeferrer)
	if tx.done || !ok || tx.e.d.ReadMany == "" || len(refs) == 0 {
		return
	}
	seen := make(map[string]bool, len(refs))
	var types, ids []string
	for _, ref := range refs {
		typ, id, ok := fhir.SplitRef(ref)
		if !ok || typ == auditType || seen[ref] {
			continue
		}
		seen[ref] = true
		types, ids = append(types, typ), append(ids, id)
		if len(types) == maxPrefetch {
			break
		}
	}
	if len(types) == 0 {
		return
	}
	d.DeferRead(tx.e.d.ReadMany, func(rows Rows) error {
		for rows.Next() {
			var r socialrx.Resource
			var lu int64
			if err := rows.Scan(&r.Type, &r.ID, &r.VersionID, &lu, &r.Deleted, &r.Body); err != nil {
				return err
			}
			if !r.Deleted {
				r.LastUpdated = fromMicros(lu)
				got(r)
			}
		}
		return nil
	}, types, ids)
}

// Search runs a search that sees the transaction's own writes.
func (tx *Tx) Search(ctx context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	if tx.done {
		return nil, errTxDone
	}
	return tx.e.search(ctx, tx.q, req)
}

// MatchMany runs several conditional searches with one statement (see
// socialrx.MatchManyTx).
func (tx *Tx) MatchMany(ctx context.Context, reqs []socialrx.SearchRequest) ([]*socialrx.SearchResult, error) {
	if tx.done {
		return nil, errTxDone
	}
	res, err := tx.e.matchMany(ctx, tx.q, reqs)
	if err != nil {
		return nil, fmt.Errorf("match many: %w", err)
	}
	return res, nil
}

var _ socialrx.MatchManyTx = (*Tx)(nil)

// LockKey holds a lock on key until the transaction ends (see
// socialrx.Tx).
func (tx *Tx) LockKey(ctx context.Context, key string) error {
	if tx.done {
		return errTxDone
	}
	if tx.e.d.LockKey == "" {
		return nil
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	if d, ok := tx.q.(Deferrer); ok {
		// Taken with the next statement, before it runs: nothing in the
		// transaction runs after it without the lock. Locks taken one
		// after another (a Bundle's new conditions) go in one round trip.
		// A deadlock is reported by that statement and fails the
		// transaction, which Transact retries.
		d.Defer(tx.e.d.LockKey, int64(h.Sum64()))
		return nil
	}
	if _, err := tx.q.Exec(ctx, tx.e.d.LockKey, int64(h.Sum64())); err != nil {
		return fmt.Errorf("lock key: %w", tx.e.translate(err))
	}
	return nil
}

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
