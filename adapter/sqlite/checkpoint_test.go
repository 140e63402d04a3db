package sqlite

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestCheckpointerCopiesTheLog: commits wake the checkpointer, which copies
// the log into the database file from its own connection while the writer
// goes on, so the writer's own (backstop) checkpoint finds little or
// nothing to copy, and a reopened file holds every committed write.
func TestCheckpointerCopiesTheLog(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	path := s.path
	ctx := t.Context()
	const n = 300
	for i := range n {
		err := s.Transact(ctx, func(tx socialrx.Tx) error {
			_, err := tx.Create(ctx, "Patient", fmt.Sprintf("ck-%d", i), []byte(fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":"F%d"}]}`, i)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The commits themselves woke the checkpointer.
	for start := time.Now(); s.drv.ckpt.runs.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no checkpoint after %d commits", n)
		}
	}
	// A checkpoint after the last commit copies the whole log.
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, log, copied := s.drv.ckpt.runs.Load(), s.drv.ckpt.log.Load(), s.drv.ckpt.copied.Load()
		if runs > 0 && log > 0 && copied == log {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d commits: %d checkpoints, the last copied %d of %d frames", n, runs, copied, log)
		}
		s.drv.ckpt.committed()
		time.Sleep(20 * time.Millisecond)
	}
	// The database file itself (not only the log) holds the pages.
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 64<<10 {
		t.Errorf("database file %d bytes after %d creates: the log was not copied", st.Size(), n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	for _, i := range []int{0, n / 2, n - 1} {
		if _, err := again.Read(ctx, "Patient", fmt.Sprintf("ck-%d", i)); err != nil {
			t.Errorf("Patient ck-%d after reopening: %v", i, err)
		}
	}
}
