package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMigrateProgress: without a terminal, a migration's reindex logs its
// start, how far it got every migrateProgressEvery, and its end; on a
// terminal the bar shows it (no periodic lines).
func TestMigrateProgress(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		bar  bool
		want []string
	}{
		{"log", false, []string{
			"migration: rewriting the search index of stored resources resources=1200",
			"migration: rewriting the search index done=1000 resources=1200",
			"migration: search index rewritten resources=1200 took=7s",
		}},
		{"bar", true, []string{
			"migration: rewriting the search index of stored resources resources=1200",
			"migration: search index rewritten resources=1200 took=7s",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
					return slog.Attr{}
				}
				return a
			}}))
			var bar io.Writer = io.Discard
			var barOut bytes.Buffer
			if tc.bar {
				bar = &barOut
			}
			now := t0
			p := migrateProgress(log, bar, func() time.Time { return now })
			for _, step := range []struct {
				at         time.Duration
				done, tota int
			}{{0, 0, 1200}, {2 * time.Second, 500, 1200}, {6 * time.Second, 1000, 1200}, {7 * time.Second, 1200, 1200}, {8 * time.Second, 1200, 1200}} {
				now = t0.Add(step.at)
				p(step.done, step.tota)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				got = append(got, strings.ReplaceAll(strings.TrimPrefix(l, "msg="), `"`, ""))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("log lines (-want +got):\n%s", diff)
			}
			if tc.bar && !strings.Contains(barOut.String(), "1200/1200") {
				t.Errorf("progress bar output %q, want it to reach 1200/1200", barOut.String())
			}
		})
	}
}
