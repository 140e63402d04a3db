package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
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

// TestCheckpointerReportsFailures: the first of a run of failed
// checkpoints is logged once (a warning naming the driver's error), and
// the first success after them says how many failed; commits go on
// meanwhile. The checkpointer's own connection is closed to make it fail.
func TestCheckpointerReportsFailures(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	var buf bytes.Buffer
	s.SetLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	c := s.drv.ckpt
	c.checkpoint()
	if c.failing.Load() != 0 || buf.Len() != 0 {
		t.Fatalf("a working checkpoint: %d failing, logged %q", c.failing.Load(), buf.String())
	}

	dead, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	_ = dead.Close()
	broken := newCheckpointer(dead, time.Hour)
	defer func() { _ = broken.close() }()
	broken.logger.Store(slog.New(slog.NewTextHandler(&buf, nil)))
	broken.checkpoint()
	broken.checkpoint()
	if got := broken.failing.Load(); got != 2 {
		t.Errorf("two failed checkpoints counted %d", got)
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 || !strings.Contains(buf.String(), "database is closed") {
		t.Errorf("two failed checkpoints logged %d warnings, want 1 naming the error: %q", n, buf.String())
	}

	// A success after failures says so, once.
	buf.Reset()
	c.failing.Store(3)
	if err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
		_, err := tx.Create(t.Context(), "Patient", "ck-after", []byte(`{"resourceType":"Patient"}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c.checkpoint()
	if c.failing.Load() != 0 || !strings.Contains(buf.String(), "level=INFO") || !strings.Contains(buf.String(), "failed=3") {
		t.Errorf("the first checkpoint after 3 failures: %d failing, logged %q", c.failing.Load(), buf.String())
	}
}
