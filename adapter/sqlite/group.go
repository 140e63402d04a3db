package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/socialrx/socialrx"
)

// Group commit. SQLite has one writer and, in WAL mode with
// synchronous=FULL, one fsync per commit: with concurrent writers the disk,
// not the work, sets the pace (one encounter Bundle per fsync). So
// concurrent transactions share one database transaction and one commit:
//
//	writer A: BEGIN ── SAVEPOINT a ── fn ── RELEASE a ─┐ (B is waiting: A
//	                                                    │  hands over, keeps
//	writer B:          SAVEPOINT b ── fn ── RELEASE b ─┤  waiting for the
//	                                                    │  commit)
//	                          nobody waits: COMMIT ─────┴─> A and B return
//
// A writer's transaction can be a savepoint: its fn's error rolls back
// only its own writes (ROLLBACK TO). Savepoints cost the writer about a
// tenth of its time (below), so by default a joining writer takes none: its
// failure, rare, rolls back the whole group, the writers released into it
// fail with a retryable error and Engine.Transact runs them again, and for
// savepointWindow after that every joiner takes a savepoint, so that a run
// of failures costs one group, not many, and the writers retried then
// cannot be taken down again. Each writer reports success only once the
// shared COMMIT is durable. A writer that finishes hands the open transaction to
// the next one waiting (Begin) instead of committing, up to maxGroup
// writers; the last one, finding nobody waiting, commits for all. With no
// concurrency a transaction commits at once, as before. Members read each
// other's released writes; if the shared commit fails they all fail
// together (and one that failed because of another is told to retry, which
// Engine.Transact does), so no caller is ever told "stored" for data that
// was not. River's own work on the writer connection waits for the commit
// like any other use of the connection.

// maxGroup bounds how many transactions share one commit, so that the first
// one's latency and River's wait for the writer connection stay bounded.
const maxGroup = 32

// groupWait is how long a writer that handed the transaction on waits
// before it commits the group itself (should the writer it handed to have
// given up before taking it).
const groupWait = 20 * time.Millisecond

// group is one shared database transaction.
type group struct {
	tx      *sql.Tx
	members int           // transactions released (committed) into it
	done    chan struct{} // closed when the transaction ended
	err     error         // how it ended: nil committed
	cancel  func()        // releases the transaction's context once it ended
}

// member is one caller's transaction within a group. The writer that
// opened the group is alone in the transaction while it works (it holds
// the token until it releases), so rolling back the transaction is rolling
// back its writes: it needs no savepoint. A joiner takes one only during a
// savepointWindow; otherwise its failure aborts the group (rollback).
// Inside a savepoint SQLite first copies every existing page a write
// touches to a sub-journal: for a batch of appends alone in its
// transaction, half its CPU; for an encounter Bundle joining a group,
// ~0.3 ms of the writer's ~3.5, most of it the memory journal's 1 KiB
// chunks allocated and freed (docs/performance.md, session 11).
type member struct {
	g      *group
	opener bool
	sp     string // the savepoint, "" for none
	ended  bool
}

// savepointWindow is how long after a joiner without a savepoint failed
// (aborting its group) joiners take savepoints again.
const savepointWindow = 5 * time.Second

// groups is the group commit state of a driver.
type groups struct {
	token   chan struct{} // capacity 1: holding it = using the open group
	waiting atomic.Int32  // Begins waiting for the token
	cur     *group        // the open group (guarded by token)
	seq     int64         // savepoint names (guarded by token)
	// spUntil is when joiners stop taking savepoints (guarded by token);
	// window is how long after a failure they take them (savepointWindow;
	// tests shorten it).
	spUntil time.Time
	window  time.Duration

	// commits and committed count shared commits and the transactions
	// they carried, aborts the groups a joiner without a savepoint rolled
	// back (tests and benchmarks read them).
	commits, committed, aborts atomic.Int64
}

func newGroups() *groups { return &groups{token: make(chan struct{}, 1), window: savepointWindow} }

// errMemberFailed is why a group is aborted when a joiner without a
// savepoint fails.
var errMemberFailed = fmt.Errorf("a transaction of the group failed and had no savepoint")

// errGroupFailed is what a transaction that did nothing wrong gets when
// the group it was in could not commit: retryable (see driver.Retryable),
// as its fn has no effect outside the transaction.
func errGroupFailed(cause error) error {
	return &wrapped{socialrx.Errorf(socialrx.EUNAVAILABLE, "database is busy: a transaction committed with this one failed"), cause}
}

// begin joins the open group, or opens one, and starts a savepoint.
func (d *driver) begin(ctx context.Context) (*sql.Tx, *member, error) {
	gs := d.groups
	gs.waiting.Add(1)
	select {
	case gs.token <- struct{}{}:
		gs.waiting.Add(-1)
	case <-ctx.Done():
		gs.waiting.Add(-1)
		return nil, nil, ctx.Err()
	}
	g := gs.cur
	opener := g == nil
	if opener {
		// The shared transaction outlives the request that opened it, so it
		// gets a context of its own (database/sql rolls a transaction back
		// when its context ends); the request's deadline still interrupts
		// the wait for the database lock in BEGIN.
		gctx, cancel := context.WithCancel(context.Background())
		stop := context.AfterFunc(ctx, cancel)
		t, err := d.w.BeginTx(gctx, nil) // BEGIN IMMEDIATE (_txlock in the DSN)
		if !stop() {
			// ctx ended during BEGIN: gctx is cancelled, and the
			// transaction (if any) with it.
			if err == nil {
				_ = t.Rollback()
			}
			err = ctx.Err()
		}
		if err != nil {
			cancel()
			<-gs.token
			return nil, nil, err
		}
		g = &group{tx: t, done: make(chan struct{}), cancel: cancel}
		gs.cur = g
	}
	m := &member{g: g, opener: opener}
	if !opener && time.Now().Before(gs.spUntil) {
		gs.seq++
		m.sp = "m" + strconv.FormatInt(gs.seq, 10)
		if _, err := g.tx.ExecContext(context.WithoutCancel(ctx), "SAVEPOINT "+m.sp); err != nil {
			d.abort(g, err)
			return nil, nil, err
		}
	}
	return g.tx, m, nil
}

// commit releases m's savepoint into its group and returns once the group
// committed (or failed).
func (d *driver) commit(ctx context.Context, m *member) error {
	if m.ended {
		return sql.ErrTxDone
	}
	m.ended = true
	g := m.g
	if m.sp != "" {
		if _, err := g.tx.ExecContext(context.WithoutCancel(ctx), "RELEASE "+m.sp); err != nil {
			d.abort(g, err)
			return err
		}
	}
	g.members++
	if d.groups.waiting.Load() > 0 && g.members < maxGroup {
		<-d.groups.token // hand the open transaction to the next writer
		return d.await(g)
	}
	return d.end(g)
}

// rollback undoes m's savepoint; the group goes on without it.
func (d *driver) rollback(ctx context.Context, m *member) error {
	if m.ended {
		return nil
	}
	m.ended = true
	g := m.g
	if m.opener {
		// The opener, alone in the transaction: roll it all back.
		_ = d.end(g)
		return nil
	}
	if m.sp == "" {
		// A joiner without a savepoint: the members before it fail with
		// the group, told to retry; joiners take savepoints for a while.
		d.groups.spUntil = time.Now().Add(d.groups.window)
		d.groups.aborts.Add(1)
		d.abort(g, errMemberFailed)
		return nil
	}
	_, err := g.tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO "+m.sp)
	if err == nil {
		_, err = g.tx.ExecContext(context.WithoutCancel(ctx), "RELEASE "+m.sp)
	}
	if err != nil {
		// SQLite ended the whole transaction (an interrupt, a full disk):
		// the members before this one failed with it.
		d.abort(g, err)
		return err
	}
	if g.members > 0 && d.groups.waiting.Load() > 0 {
		<-d.groups.token // the members before it wait for the commit
		return nil
	}
	_ = d.end(g)
	return nil
}

// await waits for g to end. Should the writer it was handed to give up
// without taking it, the group is committed here after groupWait.
func (d *driver) await(g *group) error {
	timer := time.NewTimer(groupWait)
	defer timer.Stop()
	select {
	case <-g.done:
		return g.err
	case <-timer.C:
	}
	d.groups.token <- struct{}{}
	if d.groups.cur == g {
		return d.end(g)
	}
	<-d.groups.token
	<-g.done
	return g.err
}

// end commits g (rolls it back when no member released into it), holding
// the token, and releases the token.
func (d *driver) end(g *group) error {
	d.groups.cur = nil
	var err error
	if g.members > 0 {
		if err = g.tx.Commit(); err != nil {
			// Every member fails with it; none caused it alone, so each is
			// told to retry (its fn has no effect outside the transaction).
			err = errGroupFailed(fmt.Errorf("group commit of %d transactions: %w", g.members, err))
		} else {
			d.groups.commits.Add(1)
			d.groups.committed.Add(int64(g.members))
			d.ckpt.committed()
		}
	} else {
		_ = g.tx.Rollback()
	}
	g.err = err
	g.cancel()
	close(g.done)
	<-d.groups.token
	return err
}

// abort ends g after an error that broke its transaction, holding the
// token: every member that released into it fails, told to retry.
func (d *driver) abort(g *group, cause error) {
	d.groups.cur = nil
	_ = g.tx.Rollback()
	g.err = errGroupFailed(cause)
	g.cancel()
	close(g.done)
	<-d.groups.token
}
