package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints off the writer. In WAL mode a commit appends pages to the
// -wal file, and a checkpoint copies them back into the database file and
// syncs it. By default SQLite checkpoints in the connection that commits,
// once the log passes 1,000 pages: on the single writer, inside the write
// lock. An encounter Bundle writes ~70 pages, so every 14th encounter or so
// the writer stopped to copy ~1,000 pages and wait for two fsyncs (the log,
// then the database file) while every other writer queued behind it
// (docs/performance.md, session 12).
//
// A checkpointer of its own does that work on a connection of its own,
// beside the writer: SQLite's PASSIVE checkpoint takes no write lock, so
// commits go on while it copies. The writer keeps an automatic checkpoint
// as a backstop, at walBackstop pages: a PASSIVE checkpoint copies only
// the frames committed when it starts, so under a steady stream of commits
// the log may never be wholly copied, and the log restarts from its start
// only once it is; the writer's own checkpoint, taken while no commit can
// come in between, finishes what is left (little, since the checkpointer
// copied the rest) and the log restarts. Durability is unchanged: every
// commit still syncs the log (synchronous=FULL); a checkpoint only moves
// committed pages.

// walBackstop is the writer's wal_autocheckpoint in pages (SQLite's
// default 1,000). 250 ms and 10,000 pages measured best of 50 ms, 250 ms
// and 4,000, 10,000 (docs/performance.md, session 12).
const walBackstop = 10000

// walSizeLimit is the writer's journal_size_limit: when the log restarts,
// a file grown past it (by the backstop's 10,000 pages of 4 KiB, or a
// reader that held a checkpoint back) is cut back to it.
const walSizeLimit = 64 << 20

// checkpointEvery is the least time between two checkpoints: commits in
// between are copied together (a page written by several is copied once).
const checkpointEvery = 250 * time.Millisecond

type checkpointer struct {
	db    *sql.DB // a connection of its own on the database file
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	every time.Duration
	once  sync.Once

	// runs counts checkpoints taken; log and copied are the last one's
	// frames in the log and frames copied (tests read them).
	runs, log, copied atomic.Int64
	// failing counts the checkpoints that failed since the last one
	// taken; logger, when set (Store.SetLogger), is told when they start
	// failing and when they work again.
	failing atomic.Int64
	logger  atomic.Pointer[slog.Logger]
}

func newCheckpointer(db *sql.DB, every time.Duration) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), every: every}
	go c.loop()
	return c
}

// committed tells the checkpointer that the log grew; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		c.checkpoint()
		select {
		case <-c.stop:
			return
		case <-time.After(c.every):
		}
	}
}

// checkpoint copies what the log holds now. A failure (the disk) is left
// to the next one and to the writer's backstop: nothing is lost by a
// checkpoint not taken. But a log that is never copied by the checkpointer
// grows to the backstop's 10,000 pages and makes the writer copy them
// inside its lock, so the first failure of a run of them is logged (the
// error is SQLite's or the driver's: no data), and so is the recovery. A
// checkpoint a reader holds back (busy) is no failure.
func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var busy, log, copied int64
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied); err != nil {
		if c.failing.Add(1) == 1 {
			if l := c.logger.Load(); l != nil {
				l.Warn("sqlite: a WAL checkpoint failed; commits go on and the writer's own checkpoint copies the log past 10,000 pages, more slowly", "err", err)
			}
		}
		return
	}
	if n := c.failing.Swap(0); n > 0 {
		if l := c.logger.Load(); l != nil {
			l.Info("sqlite: WAL checkpoints work again", "failed", n)
		}
	}
	if busy != 0 {
		return
	}
	c.runs.Add(1)
	c.log.Store(log)
	c.copied.Store(copied)
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	c.once.Do(func() { close(c.stop) })
	<-c.done
	return c.db.Close()
}
