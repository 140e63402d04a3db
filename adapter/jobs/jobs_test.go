package jobs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river/rivertype"

	"github.com/socialrx/socialrx"
)

// TestRetryPolicy: River's next retry is base·2^(attempt-1) from now,
// capped at max, within ±20% (socialrx.RetryPolicy.Backoff with a random
// draw).
func TestRetryPolicy(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	r := &retryPolicy{policy: socialrx.DefaultRetryPolicy(), now: func() time.Time { return now }}
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, 2 * time.Second}, {2, 4 * time.Second}, {5, 32 * time.Second}, {9, 512 * time.Second}, {10, 10 * time.Minute}, {25, 10 * time.Minute}} {
		for range 50 {
			d := r.NextRetry(&rivertype.JobRow{Attempt: c.attempt}).Sub(now)
			lo, hi := time.Duration(float64(c.want)*0.8), time.Duration(float64(c.want)*1.2)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: delay %s, want within [%s, %s]", c.attempt, d, lo, hi)
			}
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{JobTimeout: 5 * time.Second, RescueAfter: time.Second, Retry: socialrx.RetryPolicy{BackoffBase: 50 * time.Millisecond}}
	c.defaults()
	if c.RescueAfter <= c.JobTimeout {
		t.Errorf("RescueAfter %s must exceed JobTimeout %s (River refuses otherwise)", c.RescueAfter, c.JobTimeout)
	}
	if c.Workers != 20 || c.Logger == nil || c.Now == nil {
		t.Errorf("defaults not applied: %+v", c)
	}
	want := socialrx.DefaultRetryPolicy()
	want.BackoffBase = 50 * time.Millisecond
	if diff := cmp.Diff(want, c.Retry); diff != "" {
		t.Errorf("Retry after defaults (-want +got):\n%s", diff)
	}
}
