package jobs

import (
	"testing"
	"time"
)

// TestBackoff: base·2^(attempt-1) capped at max, within ±20%.
func TestBackoff(t *testing.T) {
	b := &backoff{base: 2 * time.Second, max: 10 * time.Minute, now: time.Now}
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, 2 * time.Second}, {2, 4 * time.Second}, {5, 32 * time.Second}, {9, 512 * time.Second}, {10, 10 * time.Minute}, {25, 10 * time.Minute}} {
		for range 50 {
			d := b.delay(c.attempt)
			lo, hi := time.Duration(float64(c.want)*0.8), time.Duration(float64(c.want)*1.2)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: delay %s, want within [%s, %s]", c.attempt, d, lo, hi)
			}
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{JobTimeout: 5 * time.Second, RescueAfter: time.Second}
	c.defaults()
	if c.RescueAfter <= c.JobTimeout {
		t.Errorf("RescueAfter %s must exceed JobTimeout %s (River refuses otherwise)", c.RescueAfter, c.JobTimeout)
	}
	if c.Workers != 20 || c.MaxAge != 72*time.Hour || c.Logger == nil || c.Now == nil {
		t.Errorf("defaults not applied: %+v", c)
	}
}
