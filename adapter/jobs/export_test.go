package jobs

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/adapter/sqlite"
)

// TestCleanExports: expired exports lose their record and files; a
// directory named like an export id without a record goes once it is old
// enough; nothing else in the directory is touched.
func TestCleanExports(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	now := time.Now().UTC()
	mkJob := func(expires time.Time) string {
		j := &socialrx.ExportJob{ID: export.NewJobID(), Level: socialrx.ExportSystem, Types: []string{"Patient"}, TransactionTime: now, CreatedAt: now}
		if err := s.CreateExport(ctx, j); err != nil {
			t.Fatal(err)
		}
		if !expires.IsZero() {
			j.Status, j.ExpiresAt = socialrx.ExportCompleted, expires
			if ok, err := s.SaveExport(ctx, j); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, j.ID), 0o750); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	expired := mkJob(now.Add(-time.Minute))
	kept := mkJob(now.Add(time.Hour))
	running := mkJob(time.Time{})
	oldOrphan, newOrphan := export.NewJobID(), export.NewJobID()
	for _, d := range []string{oldOrphan, newOrphan, "not-an-export"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	old := now.Add(-time.Hour)
	for _, d := range []string{oldOrphan, "not-an-export", running} {
		if err := os.Chtimes(filepath.Join(dir, d), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := CleanExports(ctx, s, dir, now); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{expired: false, kept: true, running: true, oldOrphan: false, newOrphan: true, "not-an-export": true} {
		_, err := os.Stat(filepath.Join(dir, d))
		if exists := err == nil; exists != want {
			t.Errorf("directory %s exists %v, want %v", d, exists, want)
		}
	}
	if _, err := s.Export(ctx, expired); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("expired export's record: %v, want ENOTFOUND", err)
	}
	if _, err := s.Export(ctx, kept); err != nil {
		t.Errorf("unexpired export's record: %v", err)
	}
	if err := CleanExports(ctx, s, filepath.Join(dir, "missing"), now); err != nil {
		t.Errorf("missing directory: %v", err)
	}
}
