package workflow

import (
	"context"
	crand "crypto/rand"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// The audit trail (socialrx audit.go) is written two ways:
//
//	a write (REST, Bundle entry, delivery outcome)
//	    └─> Tx.Audit: the AuditEvent is appended in the write's own store
//	        transaction: both commit, or neither
//	a read, a search, a failed request, an export
//	    └─> Auditor.Record ──> bounded buffer ──> one goroutine gathers
//	        events for up to Linger (100ms) or MaxBatch, writes them in one
//	        transaction (socialrx.AuditLog when the store has one: SQLite's
//	        audit file), then gathers the next batch
//
// Buffer full: Record waits up to BlockFor for room (the reads slow down to
// the pace the audit trail is written: back-pressure, nothing lost); past
// that the event is dropped, counted (AuditStats.Dropped, the metric
// socialrx_audit_dropped_total) and logged as an error with its request id,
// so a loss is never silent. A batch whose transaction fails is tried again
// (up to 5 times, backing off, while the database is unavailable; any other
// error: its events are written one by one, so that one the database
// refuses does not take the others with it); what cannot be written is
// counted as failed and logged.
// Close writes what is buffered before it returns (on shutdown).

// AuditorOptions configure an Auditor; zero fields take the defaults.
type AuditorOptions struct {
	// Buffer is how many events wait to be written (default 16384).
	Buffer int
	// MaxBatch is the most events one transaction writes (default 1000).
	MaxBatch int
	// BlockFor is how long Record waits for room in a full buffer before
	// it drops the event (default 1s).
	BlockFor time.Duration
	// Linger is how long the writer waits for more events after the
	// first of a batch (default 100ms): batches grow with the load, and
	// each costs one transaction, whose fixed cost (and, on SQLite, its
	// index pages written) is shared by fewer events when batches are
	// small: at 20ms an audited read cost about 10% more CPU than at
	// 100ms (docs/performance.md, issue 13). A read's AuditEvent is
	// searchable about this much later.
	Linger time.Duration
	Logger *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// AuditStats are an Auditor's counts since it started.
type AuditStats struct {
	Written, Dropped, Failed uint64
	Queued                   int
}

// Auditor writes AuditEvents: in a write's transaction (Tx.Audit) and
// buffered (Record). One per process; safe for concurrent use.
type Auditor struct {
	store socialrx.Store
	opts  AuditorOptions
	ch    chan auditItem
	mu    sync.RWMutex // Record holds it shared while sending; Close exclusively to close ch
	shut  bool
	done  chan struct{}
	// kick cuts the writer's linger short: a Flush or Close is waiting.
	kick chan struct{}

	written, dropped, failed atomic.Uint64

	// patients are the patients of resource versions read (patientOf;
	// the writer goroutine's own).
	patients map[patientKey]string

	idMu   sync.Mutex
	idRand *rand.ChaCha8 // the random bits of ids (stamp)
}

// auditItem is a buffered event, or a flush marker (flushed set). The
// event goes by pointer: copied by value into the channel's ring (16,384
// slots of a ~350-byte struct with pointers, so with write barriers, into
// memory no cache holds), each send cost about 3 µs, 1-2% of a read.
type auditItem struct {
	ev      *socialrx.AuditEvent
	flushed chan struct{}
}

// NewAuditor returns an Auditor over store and starts its writer; Close
// stops it.
func NewAuditor(store socialrx.Store, opts AuditorOptions) *Auditor {
	if opts.Buffer <= 0 {
		opts.Buffer = 16384
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.BlockFor <= 0 {
		opts.BlockFor = time.Second
	}
	if opts.Linger <= 0 {
		opts.Linger = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails on Linux (Go 1.24+)
	a := &Auditor{store: store, opts: opts, ch: make(chan auditItem, opts.Buffer), done: make(chan struct{}), kick: make(chan struct{}, 1),
		patients: map[patientKey]string{}, idRand: rand.NewChaCha8(seed)}
	go a.run()
	return a
}

// Stats returns the counts.
func (a *Auditor) Stats() AuditStats {
	return AuditStats{Written: a.written.Load(), Dropped: a.dropped.Load(), Failed: a.failed.Load(), Queued: len(a.ch)}
}

// stamp gives ev its id and time when it has none. The id is a UUID
// version 7, which begins with the time: the audit table's unique index
// on id then grows at its end, like the table, instead of taking a new
// random page for each event (with version 4 ids each batch's commit
// wrote a page of that index per event, about a fifth of the audit
// writer's CPU).
func (a *Auditor) stamp(ev *socialrx.AuditEvent) {
	if ev.ID == "" {
		var id uuid.UUID
		var err error
		if a.idRand != nil {
			a.idMu.Lock()
			id, err = uuid.NewV7FromReader(a.idRand)
			a.idMu.Unlock()
		} else {
			id, err = uuid.NewV7()
		}
		if err != nil {
			id = uuid.New()
		}
		ev.ID = id.String()
	}
	if ev.Recorded.IsZero() {
		ev.Recorded = a.opts.Now().UTC()
	}
}

// Record buffers ev to be written in the next batch (see the comment at
// the top of this file for a full buffer). After Close it drops and logs.
func (a *Auditor) Record(ctx context.Context, ev socialrx.AuditEvent) {
	if a == nil {
		return
	}
	a.stamp(&ev)
	it := auditItem{ev: &ev}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.shut {
		select {
		case a.ch <- it:
			return
		default:
		}
		t := time.NewTimer(a.opts.BlockFor)
		defer t.Stop()
		select {
		case a.ch <- it:
			return
		case <-t.C:
		}
	}
	a.dropped.Add(1)
	a.opts.Logger.ErrorContext(ctx, "audit event dropped: the audit buffer is full or closed",
		"audit_event", ev.ID, "request_id", ev.RequestID, "subtype", ev.Subtype, "entity_type", typeOf(ev.Entity))
}

// typeOf is the type of a "Type/id" reference, for logs (ids of patients'
// resources are not PHI, but the type is all a log needs).
func typeOf(ref string) string {
	for i := 0; i < len(ref); i++ {
		if ref[i] == '/' {
			return ref[:i]
		}
	}
	return ref
}

// Flush returns once every event Recorded before the call is written (or
// counted as failed), or when ctx ends.
func (a *Auditor) Flush(ctx context.Context) error {
	done := make(chan struct{})
	a.mu.RLock()
	if a.shut {
		a.mu.RUnlock()
		return nil
	}
	select {
	case a.ch <- auditItem{flushed: done}:
	case <-ctx.Done():
		a.mu.RUnlock()
		return ctx.Err()
	}
	a.mu.RUnlock()
	a.wake()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking events, writes those buffered and returns when they
// are written or ctx ends.
func (a *Auditor) Close(ctx context.Context) error {
	a.mu.Lock()
	if !a.shut {
		a.shut = true
		close(a.ch)
	}
	a.mu.Unlock()
	a.wake()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer: it takes what has gathered, up to MaxBatch, and
// writes it in one transaction. After the first event of a batch it sleeps
// for Linger (a Flush or Close wakes it) and then takes what is buffered,
// rather than waking for each event as it comes: with many clients a
// wakeup per event cost more CPU than writing the event. It does not sleep
// when a whole batch is already buffered.
func (a *Auditor) run() {
	defer close(a.done)
	batch := make([]*socialrx.AuditEvent, 0, a.opts.MaxBatch)
	var flushed []chan struct{}
	add := func(it auditItem) {
		if it.flushed != nil {
			flushed = append(flushed, it.flushed)
			return
		}
		batch = append(batch, it.ev)
	}
	linger := time.NewTimer(0)
	<-linger.C
	for it := range a.ch {
		batch, flushed = batch[:0], flushed[:0]
		add(it)
		if len(flushed) == 0 && len(a.ch) < a.opts.MaxBatch-1 {
			linger.Reset(a.opts.Linger)
			select {
			case <-linger.C:
			case <-a.kick:
				if !linger.Stop() {
					select {
					case <-linger.C:
					default:
					}
				}
			}
		}
		// Take what is buffered, until the batch is full or a flush is
		// asked.
	gather:
		for len(batch) < a.opts.MaxBatch && len(flushed) == 0 {
			select {
			case it, ok := <-a.ch:
				if !ok {
					break gather
				}
				add(it)
			default:
				break gather
			}
		}
		a.write(batch)
		for _, f := range flushed {
			close(f)
		}
	}
}

// wake cuts the writer's linger short (Flush, Close).
func (a *Auditor) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// write appends batch in one transaction, trying again on failure.
func (a *Auditor) write(batch []*socialrx.AuditEvent) {
	if len(batch) == 0 {
		return
	}
	recs := make([]socialrx.AuditRecord, 0, len(batch))
	for _, ev := range batch {
		if ev.Patient == "" && ev.Read != nil {
			ev.Patient = a.patientOf(*ev)
		}
		rec, err := mapping.AuditRecordOf(*ev)
		if err != nil {
			a.failed.Add(1)
			a.opts.Logger.Error("audit event not built", "audit_event", ev.ID, "error", err.Error())
			continue
		}
		recs = append(recs, rec)
	}
	ctx := context.Background()
	appendAll := func(recs []socialrx.AuditRecord) error {
		if l, ok := a.store.(socialrx.AuditLog); ok {
			return l.AppendAuditLog(ctx, recs)
		}
		return a.store.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, recs) })
	}
	wait := 100 * time.Millisecond
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if err = appendAll(recs); err == nil {
			a.written.Add(uint64(len(recs)))
			return
		}
		a.opts.Logger.Warn("audit batch not written; trying again", "events", len(recs), "attempt", attempt, "error", socialrx.ErrorMessage(err))
		if socialrx.ErrorCode(err) != socialrx.EUNAVAILABLE && len(recs) > 1 {
			break // not the database being away: one event may be refused, write them one by one
		}
		time.Sleep(wait)
		wait = min(wait*4, 5*time.Second)
	}
	if socialrx.ErrorCode(err) == socialrx.EUNAVAILABLE || len(recs) == 1 {
		a.failed.Add(uint64(len(recs)))
		a.opts.Logger.Error("audit events lost: the audit batch could not be written", "events", len(recs), "error", socialrx.ErrorMessage(err))
		return
	}
	// One by one, so that an event the database refuses does not take the
	// others with it.
	for _, rec := range recs {
		if err := appendAll([]socialrx.AuditRecord{rec}); err != nil {
			a.failed.Add(1)
			a.opts.Logger.Error("audit event lost: the database refused it", "audit_event", rec.ID, "error", socialrx.ErrorMessage(err))
			continue
		}
		a.written.Add(1)
	}
}

// patientCacheSize bounds Auditor.patients.
const patientCacheSize = 4096

// patientOf returns the patient of the resource version ev read
// (mapping.AuditPatient). A version never changes, so its patient is
// kept, by "Type/id" and version, for the next read of it: the same
// resources are read again and again (work lists, a patient's chart), and
// decoding the body was a tenth of the writer's CPU. The cache is the
// writer goroutine's own; it is emptied when full.
func (a *Auditor) patientOf(ev socialrx.AuditEvent) string {
	typ, id := splitRef(ev.Entity)
	if ev.Version <= 0 || id == "" {
		return mapping.AuditPatient(typ, id, ev.Read)
	}
	key := patientKey{ev.Entity, ev.Version}
	if p, ok := a.patients[key]; ok {
		return p
	}
	p := mapping.AuditPatient(typ, id, ev.Read)
	if len(a.patients) >= patientCacheSize {
		clear(a.patients)
	}
	a.patients[key] = p
	return p
}

// patientKey is a resource version: "Type/id" and version.
type patientKey struct {
	ref     string
	version int64
}

// splitRef splits "Type/id".
func splitRef(ref string) (typ, id string) {
	for i := 0; i < len(ref); i++ {
		if ref[i] == '/' {
			return ref[:i], ref[i+1:]
		}
	}
	return ref, ""
}

// Audit adds ev to the transaction (nothing when auditing is off,
// Options.Audit nil): the transaction's events are appended together once
// its fn has succeeded (flushAudit), and commit with its writes or not at
// all. Its patient is read from read (the resource written) when ev has
// none.
func (tx *Tx) Audit(ctx context.Context, ev socialrx.AuditEvent) error {
	a := tx.w.opts.Audit
	if a == nil {
		return nil
	}
	a.stamp(&ev)
	if ev.Patient == "" && ev.Read != nil {
		typ, id := splitRef(ev.Entity)
		ev.Patient = mapping.AuditPatient(typ, id, ev.Read)
	}
	rec, err := mapping.AuditRecordOf(ev)
	if err != nil {
		return err
	}
	tx.audits = append(tx.audits, rec)
	return nil
}

// flushAudit appends the transaction's AuditEvents, in the order Audit
// was called, to the store transaction that commits them with its writes.
func (tx *Tx) flushAudit(ctx context.Context) error {
	if len(tx.audits) == 0 {
		return nil
	}
	recs := tx.audits
	tx.audits = nil
	return tx.st.AppendAudit(ctx, recs)
}

// Auditor returns the workflow's Auditor, nil when auditing is off.
func (w *Workflow) Auditor() *Auditor { return w.opts.Audit }

// auditTransmit records one delivery attempt of m (an eReferral message
// or an EMR write-back) in the transaction that records its outcome:
// delivered 0, to be retried 4, failed for good 8.
func (tx *Tx) auditTransmit(ctx context.Context, m *socialrx.OutboundMessage, state, reason string) error {
	if tx.w.opts.Audit == nil {
		return nil
	}
	ev := socialrx.AuditEvent{
		Kind:        socialrx.AuditTransmit,
		Action:      socialrx.AuditRead,
		Outcome:     socialrx.AuditSuccess,
		Entity:      m.ResourceType + "/" + m.ResourceID,
		Version:     m.Version,
		Destination: m.Destination + " " + string(m.Event),
		EndpointID:  m.EndpointID,
		Operation:   "message " + m.ID,
	}
	switch state {
	case socialrx.DeliveryPending:
		ev.Outcome, ev.OutcomeDesc = socialrx.AuditMinorFailure, "not delivered, will be retried: "+reason
	case socialrx.DeliveryFailed:
		ev.Outcome, ev.OutcomeDesc = socialrx.AuditSeriousFail, "failed for good: "+reason
	case socialrx.DeliveryCancelled:
		ev.OutcomeDesc = "cancelled, no longer needed: " + reason
	}
	if r, err := tx.st.Read(ctx, m.ResourceType, m.ResourceID); err == nil {
		ev.Read = r.Body
	}
	return tx.Audit(ctx, ev)
}
