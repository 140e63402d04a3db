package jobs

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Share bounds how fast deliveries start while the API is answering
// requests, so that a backlog draining with every worker does not take the
// API's CPU and its share of the database (issue 12: ingest p99 was 2.6x
// its idle value while 20 workers drained a backlog, on either store; the
// cost is the two cores the server, the workers and the database share,
// docs/performance.md). While any API request is in flight, and for
// shareLinger after the last one ended, deliveries start at most at
// NewShare's rate (golang.org/x/time/rate, a burst of one); when the API is idle
// they start as fast as the workers take them. (Without the linger a
// client sending one request after another left the API idle for the
// moment between two, and every waiting delivery started then.) A bound on
// how many run at once was tried first and did not help: with River's slots
// kept full by waiting jobs, four at a time still delivered hundreds a
// second (half as many as twenty) and the API's p99 was no better. A delivery never waits longer than its limit (half its attempt's
// timeout): on a server that is never idle the bound yields rather than
// spend delivery attempts on waiting.
//
// The API side calls Enter and Leave around each request (httpapi
// Config.Activity). A nil *Share bounds nothing.
type Share struct {
	limit *rate.Limiter

	mu     sync.Mutex
	api    int       // API requests in flight
	idleAt time.Time // when the API counts as idle again (api == 0)
}

// shareLinger is how long the API counts as busy after its last request
// ended; a waiting delivery looks this often whether it has fallen idle.
const shareLinger = 200 * time.Millisecond

// NewShare returns a Share that lets perSecond deliveries start a second
// while the API is busy (at least one a minute).
func NewShare(perSecond float64) *Share {
	return &Share{limit: rate.NewLimiter(rate.Limit(max(perSecond, 1.0/60)), 1)}
}

// Enter marks an API request in flight.
func (s *Share) Enter() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.api++
	s.mu.Unlock()
}

// Leave marks the end of a request Enter marked; the last one out starts
// the linger.
func (s *Share) Leave() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.api--
	if s.api == 0 {
		s.idleAt = time.Now().Add(shareLinger)
	}
	s.mu.Unlock()
}

// busy reports whether the API counts as busy.
func (s *Share) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.api > 0 || time.Now().Before(s.idleAt)
}

// turn waits until a delivery may start: at once when the API is idle,
// otherwise on its turn at the rate (one reservation, taken when it asks),
// when the API is found idle (looked at every shareLinger) or when wait
// passes (then it starts all the same). It returns ctx's error if ctx ends
// first. Waiters are not woken at each request's end: twenty of them
// cancelling and taking reservations at every request pushed the rate's
// turns ever later, and delivery stopped.
func (s *Share) turn(ctx context.Context, wait time.Duration) error {
	if s == nil || !s.busy() {
		return nil
	}
	r := s.limit.Reserve()
	delay := r.Delay()
	if delay <= 0 {
		return nil
	}
	clipped := wait < delay
	if clipped {
		delay = wait
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	look := time.NewTicker(shareLinger)
	defer look.Stop()
	for {
		select {
		case <-t.C:
			if clipped {
				r.Cancel() // started on the wait's end, not on the rate's turn
			}
			return nil
		case <-look.C:
			if !s.busy() {
				r.Cancel()
				return nil
			}
		case <-ctx.Done():
			r.Cancel()
			return ctx.Err()
		}
	}
}
