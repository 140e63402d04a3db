package socialrx

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is socialrx's one retry policy: which failures of an outbound
// call are worth sending again, how long to wait before each try, when to
// give up, and how much of a failure's reason is kept. The outbound clients
// (adapter/ereferral, adapter/emr, through adapter/internal/oauthcc)
// classify with it, the job queue (adapter/jobs, adapter/internal/sqlstore)
// retries and gives up with it, and the CLI's defaults come from it.
//
//	failure                                    retryable
//	no answer: network error, timeout          yes
//	408, 429, 5xx                              yes, Retry-After honoured (capped)
//	2xx whose body cannot be read              yes (the resend carries the same id)
//	response message transient-error           yes
//	1xx, 3xx, other 4xx, fatal-error, our own  no: dead-lettered at once
//	problems building the message
//
// A retryable failure is tried again after Backoff, or after its
// Retry-After when the receiver sent one (a snooze, not an attempt), until
// GiveUp: MaxAttempts attempts, or MaxAge since the message was queued.

// MaxReason is the most bytes of a SendError.Reason, and of the reason a
// failed message keeps (TruncateReason).
const MaxReason = 1000

// RetryPolicy is how a failed delivery is retried.
type RetryPolicy struct {
	// MaxAttempts is how many times a delivery is tried before it is
	// dead-lettered (River's attempt limit of the delivery job).
	MaxAttempts int
	// MaxAge is how long after it was queued a message is still retried.
	MaxAge time.Duration
	// BackoffBase is the delay after the first failed attempt; each further
	// one doubles it, up to BackoffMax.
	BackoffBase, BackoffMax time.Duration
	// Jitter spreads each delay by up to ±Jitter of it (0.2: ±20%), so
	// that messages failed together are not retried together.
	Jitter float64
	// RetryAfterCap is the longest Retry-After honoured: a receiver does
	// not park the queue for longer.
	RetryAfterCap time.Duration
}

// DefaultRetryPolicy returns the production policy: 25 attempts or 72
// hours, back-off from 2 s doubling to 10 min with ±20% jitter (25
// attempts take about a day and a half), Retry-After honoured up to an
// hour.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:   25,
		MaxAge:        72 * time.Hour,
		BackoffBase:   2 * time.Second,
		BackoffMax:    10 * time.Minute,
		Jitter:        0.2,
		RetryAfterCap: time.Hour,
	}
}

// Backoff is the delay before the retry that follows failed attempt
// (counted from 1): BackoffBase·2^(attempt-1), at most BackoffMax, then
// spread by Jitter. u is a uniform random number in [0, 1) (rand.Float64):
// 0 gives the shortest delay, 0.5 the unspread one.
func (p RetryPolicy) Backoff(attempt int, u float64) time.Duration {
	d := p.BackoffBase
	for i := 1; i < attempt && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	return d + time.Duration(float64(d)*p.Jitter*(2*u-1))
}

// GiveUp reports whether a delivery that failed with e on attempt (counted
// from 1), age after it was queued, is dead-lettered: e is permanent,
// attempt is the MaxAttempts-th, or age is past MaxAge.
func (p RetryPolicy) GiveUp(e *SendError, attempt int, age time.Duration) bool {
	return !e.Retryable || attempt >= p.MaxAttempts || age > p.MaxAge
}

// RetryableStatus reports whether an answer with HTTP status code may
// succeed when sent again: 408 Request Timeout, 429 Too Many Requests and
// every 5xx.
func RetryableStatus(code int) bool {
	return code == 408 || code == 429 || (code >= 500 && code <= 599)
}

// StatusError returns nil for a 2xx status and otherwise the *SendError
// an answer with status code means: retryable when RetryableStatus, with
// RetryAfter read from retryAfter (the Retry-After header's value) against
// now; permanent for every other status. reason is cut by TruncateReason.
func (p RetryPolicy) StatusError(code int, reason, retryAfter string, now time.Time) *SendError {
	if code >= 200 && code <= 299 {
		return nil
	}
	e := &SendError{StatusCode: code, Reason: TruncateReason(reason)}
	if RetryableStatus(code) {
		e.Retryable = true
		e.RetryAfter = p.RetryAfter(retryAfter, now)
	}
	return e
}

// NoAnswer is the retryable *SendError of a call that got no answer,
// StatusCode 0: "network error", then ": " and kind ("timeout",
// "connection refused") when kind is not empty.
func NoAnswer(kind string) *SendError {
	reason := "network error"
	if kind != "" {
		reason += ": " + kind
	}
	return &SendError{Retryable: true, Reason: TruncateReason(reason)}
}

// UnreadableAnswer is the retryable *SendError of a 2xx answer with status
// code whose body cannot be read: "unreadable response", then ": " and
// detail ("too large") when detail is not empty. The receiver recognises
// the resend by its id.
func UnreadableAnswer(code int, detail string) *SendError {
	reason := "unreadable response"
	if detail != "" {
		reason += ": " + detail
	}
	return &SendError{Retryable: true, StatusCode: code, Reason: TruncateReason(reason)}
}

// RetryAfter reads a Retry-After header value (RFC 9110 §10.2.3), either
// delta-seconds or an HTTP-date taken against now. It returns 0 for an
// empty, malformed or past value and at most RetryAfterCap.
func (p RetryPolicy) RetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	var d time.Duration
	if strings.Trim(value, "0123456789") == "" { // delta-seconds
		secs, err := strconv.ParseUint(value, 10, 64)
		if err != nil || secs > uint64(p.RetryAfterCap/time.Second) {
			return p.RetryAfterCap // only too many digits fail
		}
		d = time.Duration(secs) * time.Second
	} else if t, ok := parseHTTPDate(value); ok {
		d = t.Sub(now)
	} else {
		return 0
	}
	return max(0, min(d, p.RetryAfterCap))
}

// parseHTTPDate reads an HTTP-date (RFC 9110 §5.6.7) in any of its three
// forms, IMF-fixdate and the obsolete RFC 850 and asctime, as
// net/http.ParseTime does.
func parseHTTPDate(s string) (time.Time, bool) {
	for _, layout := range [...]string{"Mon, 02 Jan 2006 15:04:05 GMT", time.RFC850, time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// TruncateReason cuts s to at most MaxReason bytes, on a UTF-8 boundary.
func TruncateReason(s string) string {
	n := MaxReason
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
