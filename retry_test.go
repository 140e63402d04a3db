package socialrx_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

func TestDefaultRetryPolicy(t *testing.T) {
	want := socialrx.RetryPolicy{
		MaxAttempts:   25,
		MaxAge:        72 * time.Hour,
		BackoffBase:   2 * time.Second,
		BackoffMax:    10 * time.Minute,
		Jitter:        0.2,
		RetryAfterCap: time.Hour,
	}
	if diff := cmp.Diff(want, socialrx.DefaultRetryPolicy()); diff != "" {
		t.Errorf("DefaultRetryPolicy (-want +got):\n%s", diff)
	}
}

// TestBackoff: base·2^(attempt-1) capped at max, spread ±20% by u.
func TestBackoff(t *testing.T) {
	p := socialrx.DefaultRetryPolicy()
	tests := []struct {
		attempt int
		u       float64
		want    time.Duration
	}{
		{1, 0.5, 2 * time.Second},
		{2, 0.5, 4 * time.Second},
		{5, 0.5, 32 * time.Second},
		{9, 0.5, 512 * time.Second},
		{10, 0.5, 10 * time.Minute}, // 1024 s: capped
		{25, 0.5, 10 * time.Minute},
		{0, 0.5, 2 * time.Second}, // River counts from 1; 0 is the first too
		{1, 0, 1600 * time.Millisecond},
		{1, 1, 2400 * time.Millisecond}, // the bound u never reaches
		{25, 0, 8 * time.Minute},
		{25, 0.75, 11 * time.Minute},
	}
	for _, tt := range tests {
		if got := p.Backoff(tt.attempt, tt.u); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.attempt, tt.u, got, tt.want)
		}
	}
	short := socialrx.RetryPolicy{BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second}
	if got, want := short.Backoff(10, 0.9), time.Second; got != want {
		t.Errorf("Backoff without jitter = %v, want %v", got, want)
	}
}

func TestGiveUp(t *testing.T) {
	p := socialrx.DefaultRetryPolicy()
	retryable := &socialrx.SendError{Retryable: true, StatusCode: 503}
	permanent := &socialrx.SendError{StatusCode: 400}
	tests := []struct {
		name    string
		e       *socialrx.SendError
		attempt int
		age     time.Duration
		want    bool
	}{
		{"retryable, first attempt", retryable, 1, 0, false},
		{"retryable, 24th attempt", retryable, 24, 71 * time.Hour, false},
		{"retryable, 25th attempt", retryable, 25, time.Hour, true},
		{"retryable, exactly 72h old", retryable, 3, 72 * time.Hour, false},
		{"retryable, past 72h", retryable, 3, 72*time.Hour + time.Second, true},
		{"permanent, first attempt", permanent, 1, 0, true},
	}
	for _, tt := range tests {
		if got := p.GiveUp(tt.e, tt.attempt, tt.age); got != tt.want {
			t.Errorf("%s: GiveUp = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRetryableStatus: one row per status class, and each code that
// differs from its neighbours.
func TestRetryableStatus(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{100, false}, {101, false}, {200, false}, {204, false}, {302, false}, {304, false},
		{400, false}, {401, false}, {403, false}, {404, false}, {407, false},
		{408, true},
		{409, false}, {412, false}, {422, false}, {428, false},
		{429, true},
		{430, false}, {499, false},
		{500, true}, {502, true}, {503, true}, {504, true}, {599, true},
		{600, false}, {0, false},
	}
	for _, tt := range tests {
		if got := socialrx.RetryableStatus(tt.code); got != tt.want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	p := socialrx.DefaultRetryPolicy()
	tests := []struct {
		code       int
		retryAfter string
		want       *socialrx.SendError
	}{
		{200, "", nil},
		{299, "7", nil},
		{101, "", &socialrx.SendError{StatusCode: 101, Reason: "r"}},
		{302, "", &socialrx.SendError{StatusCode: 302, Reason: "r"}},
		{400, "7", &socialrx.SendError{StatusCode: 400, Reason: "r"}}, // permanent: no RetryAfter
		{408, "", &socialrx.SendError{Retryable: true, StatusCode: 408, Reason: "r"}},
		{429, "7", &socialrx.SendError{Retryable: true, StatusCode: 429, RetryAfter: 7 * time.Second, Reason: "r"}},
		{503, "junk", &socialrx.SendError{Retryable: true, StatusCode: 503, Reason: "r"}},
		{503, "86400", &socialrx.SendError{Retryable: true, StatusCode: 503, RetryAfter: time.Hour, Reason: "r"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, p.StatusError(tt.code, "r", tt.retryAfter, now)); diff != "" {
				t.Errorf("StatusError (-want +got):\n%s", diff)
			}
		})
	}
	long := p.StatusError(500, strings.Repeat("x", 2*socialrx.MaxReason), "", now)
	if len(long.Reason) != socialrx.MaxReason {
		t.Errorf("StatusError kept a reason of %d bytes, want %d", len(long.Reason), socialrx.MaxReason)
	}
}

func TestNoAnswerAndUnreadableAnswer(t *testing.T) {
	tests := []struct {
		got, want *socialrx.SendError
	}{
		{socialrx.NoAnswer(""), &socialrx.SendError{Retryable: true, Reason: "network error"}},
		{socialrx.NoAnswer("timeout"), &socialrx.SendError{Retryable: true, Reason: "network error: timeout"}},
		{socialrx.UnreadableAnswer(200, ""), &socialrx.SendError{Retryable: true, StatusCode: 200, Reason: "unreadable response"}},
		{socialrx.UnreadableAnswer(200, "too large"), &socialrx.SendError{Retryable: true, StatusCode: 200, Reason: "unreadable response: too large"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	p := socialrx.DefaultRetryPolicy()
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"3600", time.Hour},
		{"86400", time.Hour},                   // capped
		{"99999999999999999999999", time.Hour}, // overflows: capped
		{"-5", 0},                              // not delta-seconds
		{"1.5", 0},                             // not delta-seconds
		{"soon", 0},                            // garbage
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0}, // past
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{"Sat, 01 Mar 2025 09:00:30 GMT", 30 * time.Second},
		{"Saturday, 01-Mar-25 09:00:30 GMT", 30 * time.Second}, // RFC 850
		{"Sat Mar  1 09:00:30 2025", 30 * time.Second},         // asctime
		{"Sat, 01 Mar 2025 09:00:30 UTC", 0},                   // not GMT: not an HTTP-date
	}
	for _, tt := range tests {
		if got := p.RetryAfter(tt.value, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
	short := p
	short.RetryAfterCap = time.Minute
	if got := short.RetryAfter("120", now); got != time.Minute {
		t.Errorf("RetryAfter(120) with a 1m cap = %v, want 1m", got)
	}
}

func TestTruncateReason(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int // bytes kept
	}{
		{"empty", "", 0},
		{"short", "bad request", 11},
		{"exactly MaxReason", strings.Repeat("x", socialrx.MaxReason), socialrx.MaxReason},
		{"one byte over", strings.Repeat("x", socialrx.MaxReason+1), socialrx.MaxReason},
		{"cut inside a rune", "x" + strings.Repeat("é", socialrx.MaxReason), socialrx.MaxReason - 1},
		{"cut on a rune boundary", strings.Repeat("é", socialrx.MaxReason), socialrx.MaxReason},
	}
	for _, tt := range tests {
		got := socialrx.TruncateReason(tt.in)
		if len(got) != tt.want || !utf8.ValidString(got) || !strings.HasPrefix(tt.in, got) {
			t.Errorf("%s: TruncateReason kept %d bytes (valid UTF-8 %v), want a prefix of %d bytes of valid UTF-8", tt.name, len(got), utf8.ValidString(got), tt.want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	p := socialrx.DefaultRetryPolicy()
	f.Add("7")
	f.Add("Sat, 01 Mar 2025 09:00:30 GMT")
	f.Fuzz(func(t *testing.T, v string) {
		if d := p.RetryAfter(v, now); d < 0 || d > p.RetryAfterCap {
			t.Errorf("RetryAfter(%q) = %v, want within [0, %v]", v, d, p.RetryAfterCap)
		}
		if t0, err := http.ParseTime(strings.TrimSpace(v)); err == nil && strings.Trim(strings.TrimSpace(v), "0123456789") != "" {
			want := max(0, min(t0.Sub(now), p.RetryAfterCap))
			if d := p.RetryAfter(v, now); d != want {
				t.Errorf("RetryAfter(%q) = %v, want %v as net/http reads the date", v, d, want)
			}
		}
	})
}
