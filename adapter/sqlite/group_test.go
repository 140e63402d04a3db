package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestGroupCommit: concurrent writers share commits, and each one's
// outcome is its own: every transaction reported committed is there after a
// reopen of the file, every one that failed (its fn returned an error, or
// its context ended) left nothing, and the writers that failed did not take
// the others with them: a joiner without a savepoint that fails aborts its
// group, and the transactions released into it are run again
// (Engine.Transact), so none of them fails. With the default window most
// failures after the first roll back a savepoint; with a short one more
// abort their group (how many depends on the interleaving:
// TestGroupAbortRetried makes one happen).
func TestGroupCommit(t *testing.T) {
	for _, c := range []struct {
		name   string
		window time.Duration
	}{{"DefaultWindow", savepointWindow}, {"ShortWindow", time.Millisecond}} {
		t.Run(c.name, func(t *testing.T) { testGroupCommit(t, c.window) })
	}
}

func testGroupCommit(t *testing.T, window time.Duration) {
	s := openTest(t, sqlstore.Options{})
	s.drv.groups.window = window
	path := s.path
	const writers, each = 8, 40
	errBoom := errors.New("boom")
	type outcome struct {
		id string
		ok bool
	}
	var mu sync.Mutex
	var outcomes []outcome
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				txCtx := ctx
				var stop context.CancelFunc
				if i%13 == 5 {
					txCtx, stop = context.WithCancel(ctx) // cancelled mid-transaction
				}
				err := s.Transact(txCtx, func(tx socialrx.Tx) error {
					if _, err := tx.Create(txCtx, "Patient", id, []byte(`{"resourceType":"Patient","active":true}`)); err != nil {
						return err
					}
					switch {
					case i%7 == 3:
						return errBoom // this one rolls back
					case stop != nil:
						stop()
						return txCtx.Err()
					}
					return nil
				})
				if stop != nil {
					stop()
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{id, err == nil})
				mu.Unlock()
				if err != nil && !errors.Is(err, errBoom) && !errors.Is(err, context.Canceled) {
					t.Errorf("%s: unexpected error %v", id, err)
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("writers did not finish in time: a group was left open")
	}
	commits, committed, aborts := s.drv.groups.commits.Load(), s.drv.groups.committed.Load(), s.drv.groups.aborts.Load()
	t.Logf("%d transactions committed in %d commits; %d groups aborted by a failed joiner", committed, commits, aborts)
	if commits >= committed {
		t.Errorf("%d commits for %d transactions: no commit was shared", commits, committed)
	}

	// Reopen the file: what was reported committed is durable.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var okN int64
	for _, o := range outcomes {
		_, err := s2.Read(t.Context(), "Patient", o.id)
		switch {
		case o.ok && err != nil:
			t.Errorf("%s was reported committed but reads %v", o.id, err)
		case !o.ok && socialrx.ErrorCode(err) != socialrx.ENOTFOUND:
			t.Errorf("%s failed but reads %v, want ENOTFOUND", o.id, err)
		}
		if o.ok {
			okN++
		}
	}
	if okN != committed {
		t.Errorf("%d transactions reported committed, %d counted in commits", okN, committed)
	}
	if okN == 0 || okN == int64(len(outcomes)) {
		t.Errorf("%d of %d committed: the mix of failures did not happen", okN, len(outcomes))
	}
}

// TestGroupAbortRetried: a joiner without a savepoint that fails aborts
// its group; the transaction released into the group before it is run
// again and commits, the failed one leaves nothing, and for the window
// after that a joiner's failure rolls back its savepoint alone.
func TestGroupAbortRetried(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := t.Context()
	errBoom := errors.New("boom")
	create := func(tx socialrx.Tx, id string) error {
		_, err := tx.Create(ctx, "Patient", id, []byte(`{"resourceType":"Patient"}`))
		return err
	}
	// pair runs a transaction creating first, which waits until a second
	// one waits for the writer (so that it hands the open group to it), and
	// the second, creating second and then failing. It returns how many
	// times the first one's fn ran.
	pair := func(first, second string) int {
		t.Helper()
		var runs int
		started := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.Transact(ctx, func(tx socialrx.Tx) error {
				runs++
				if err := create(tx, first); err != nil {
					return err
				}
				if runs == 1 {
					close(started)
					for s.drv.groups.waiting.Load() == 0 {
						time.Sleep(time.Millisecond)
					}
				}
				return nil
			})
		}()
		<-started
		err := s.Transact(ctx, func(tx socialrx.Tx) error {
			if err := create(tx, second); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("the failing transaction: %v, want its own error", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the transaction released before the failure: %v", err)
		}
		if _, err := s.Read(ctx, "Patient", first); err != nil {
			t.Errorf("%s: %v", first, err)
		}
		if _, err := s.Read(ctx, "Patient", second); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
			t.Errorf("%s of the failed transaction: %v, want ENOTFOUND", second, err)
		}
		return runs
	}
	if runs := pair("a1", "b1"); runs != 2 {
		t.Errorf("without a savepoint: the first transaction ran %d times, want 2 (aborted with the group, run again)", runs)
	}
	if n := s.drv.groups.aborts.Load(); n != 1 {
		t.Errorf("%d groups aborted, want 1", n)
	}
	if runs := pair("a2", "b2"); runs != 1 {
		t.Errorf("within the window: the first transaction ran %d times, want 1 (the failure rolled back its savepoint)", runs)
	}
	if n := s.drv.groups.aborts.Load(); n != 1 {
		t.Errorf("%d groups aborted after the second pair, want still 1", n)
	}
}
