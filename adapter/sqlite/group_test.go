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
// the others with them.
func TestGroupCommit(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
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
	commits, committed := s.drv.groups.commits.Load(), s.drv.groups.committed.Load()
	t.Logf("%d transactions committed in %d commits", committed, commits)
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
