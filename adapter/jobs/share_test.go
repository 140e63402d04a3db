package jobs

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestShare: with the API idle deliveries start at once; while a request
// is in flight, and for shareLinger after, they start at the Share's rate,
// a waiting one starts when the API has been idle for the linger or when
// its wait ends, and a cancelled one gives up.
func TestShare(t *testing.T) {
	ctx := t.Context()
	timed := func(s *Share, wait time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		if err := s.turn(ctx, wait); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	s := NewShare(10) // one start every 100 ms while busy
	for i := range 5 {
		if d := timed(s, time.Hour); d > 50*time.Millisecond {
			t.Fatalf("idle API: start %d waited %v", i, d)
		}
	}
	s.Enter()
	start := time.Now()
	for range 5 {
		timed(s, time.Hour)
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("busy API at 10 a second: five starts took %v, want at least 400ms (the first at once)", d)
	}
	s.Leave()
	if d := timed(s, time.Hour); d < 50*time.Millisecond {
		t.Errorf("just after the last request: a start took %v, want the rate's 100ms (the linger)", d)
	}
	time.Sleep(shareLinger)
	if d := timed(s, time.Hour); d > 50*time.Millisecond {
		t.Errorf("idle API after the linger: a start waited %v", d)
	}

	slow := NewShare(1.0 / 60) // one a minute
	slow.Enter()
	timed(slow, time.Hour) // the burst's one
	if d := timed(slow, 150*time.Millisecond); d < 150*time.Millisecond || d > time.Second {
		t.Errorf("busy, no turn for a minute: a start with a 150ms limit came after %v", d)
	}
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		if err := slow.turn(ctx, time.Hour); err != nil {
			t.Error(err)
		}
		done <- time.Since(start)
	}()
	time.Sleep(50 * time.Millisecond)
	slow.Leave() // idle: the waiter starts once the linger has passed
	select {
	case d := <-done:
		if d < shareLinger {
			t.Errorf("a waiting start came %v after it asked, before the linger ended", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the API fell idle and the waiting start did not come")
	}

	slow.Enter()
	defer slow.Leave()
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- slow.turn(cctx, time.Hour) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled wait: %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Error("a cancelled start kept waiting")
	}

	var none *Share // bounds nothing
	none.Enter()
	if err := none.turn(ctx, 0); err != nil {
		t.Fatal(err)
	}
	none.Leave()
}
