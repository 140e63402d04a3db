package oauthcc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

func TestOperationOutcomeText(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "empty", body: "", want: ""},
		{name: "not JSON", body: "<html>", want: ""},
		{name: "not an OperationOutcome", body: `{"resourceType":"Patient","issue":[{"diagnostics":"x"}]}`, want: ""},
		{
			name: "diagnostics joined",
			body: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","diagnostics":"Task.for is required"},{"diagnostics":"bad\n  code"}]}`,
			want: "Task.for is required; bad code",
		},
		{
			name: "details.text when no diagnostics",
			body: `{"resourceType":"OperationOutcome","issue":[{"details":{"text":"Unknown program"}},{"diagnostics":"x","details":{"text":"y"}}]}`,
			want: "Unknown program; x",
		},
		{name: "issue without text", body: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]}`, want: ""},
		{
			name: "first OperationOutcome entry of a response message",
			body: `{"resourceType":"Bundle","type":"message","entry":[
				{"resource":{"resourceType":"MessageHeader","response":{"code":"fatal-error","details":{"reference":"OperationOutcome/1"}}}},
				{"resource":{"resourceType":"OperationOutcome","issue":[{"diagnostics":"No such service"}]}},
				{"resource":{"resourceType":"OperationOutcome","issue":[{"diagnostics":"second"}]}}]}`,
			want: "No such service",
		},
		{name: "Bundle without one", body: `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Task"}},{}]}`, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OperationOutcomeText([]byte(tt.body)); got != tt.want {
				t.Errorf("OperationOutcomeText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReasonTruncated(t *testing.T) {
	got := Reason("bad request", strings.Repeat("é", socialrx.MaxReason))
	if len(got) > socialrx.MaxReason || len(got) < socialrx.MaxReason-1 || !utf8.ValidString(got) || !strings.HasPrefix(got, "bad request: é") {
		t.Errorf("Reason is %d bytes, valid UTF-8 %v: %.40q...; want %d bytes (or one less) of valid UTF-8", len(got), utf8.ValidString(got), got, socialrx.MaxReason)
	}
}

func TestClassify(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	oo := `{"resourceType":"OperationOutcome","issue":[{"diagnostics":"nope"}]}`
	tests := []struct {
		code      int
		refreshed bool
		body      string
		retry     string
		want      *socialrx.SendError
	}{
		{code: 200, want: nil},
		{code: 201, want: nil},
		{code: 204, want: nil},
		{code: 101, want: &socialrx.SendError{StatusCode: 101, Reason: "switching protocols"}},
		{code: 302, want: &socialrx.SendError{StatusCode: 302, Reason: "found"}},
		{code: 400, body: oo, want: &socialrx.SendError{StatusCode: 400, Reason: "bad request: nope"}},
		{code: 401, want: &socialrx.SendError{StatusCode: 401, Reason: "unauthorized"}},
		{code: 401, refreshed: true, want: &socialrx.SendError{StatusCode: 401, Reason: "unauthorized after token refresh"}},
		{code: 404, want: &socialrx.SendError{StatusCode: 404, Reason: "not found"}},
		{code: 408, want: &socialrx.SendError{Retryable: true, StatusCode: 408, Reason: "request timeout"}},
		{code: 412, body: oo, want: &socialrx.SendError{StatusCode: 412, Reason: "precondition failed: nope"}},
		{code: 422, want: &socialrx.SendError{StatusCode: 422, Reason: "unprocessable entity"}},
		{code: 429, retry: "7", want: &socialrx.SendError{Retryable: true, StatusCode: 429, RetryAfter: 7 * time.Second, Reason: "too many requests"}},
		{code: 500, body: oo, want: &socialrx.SendError{Retryable: true, StatusCode: 500, Reason: "internal server error: nope"}},
		{code: 503, retry: "junk", want: &socialrx.SendError{Retryable: true, StatusCode: 503, Reason: "service unavailable"}},
		{code: 599, want: &socialrx.SendError{Retryable: true, StatusCode: 599, Reason: "unexpected status"}},
		{code: 400, retry: "7", want: &socialrx.SendError{StatusCode: 400, Reason: "bad request"}}, // permanent: no RetryAfter
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			resp := &Response{StatusCode: tt.code, Header: http.Header{}, Body: []byte(tt.body), Refreshed: tt.refreshed}
			if tt.retry != "" {
				resp.Header.Set("Retry-After", tt.retry)
			}
			if diff := cmp.Diff(tt.want, Classify(resp, now)); diff != "" {
				t.Errorf("Classify (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNetworkError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "network error: timeout"},
		{fmt.Errorf("Post %q: %w", "https://x/y?secret=1", context.DeadlineExceeded), "network error: timeout"},
		{context.Canceled, "network error: canceled"},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "network error: connection refused"},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, "network error: connection reset"},
		{&net.DNSError{Name: "emr.example", IsNotFound: true}, "network error: no such host"},
		{errors.New("something else https://x/y?q=1"), "network error"},
	}
	for _, tt := range tests {
		want := &socialrx.SendError{Retryable: true, Reason: tt.want}
		if diff := cmp.Diff(want, NetworkError(tt.err)); diff != "" {
			t.Errorf("NetworkError(%v) (-want +got):\n%s", tt.err, diff)
		}
	}
}

func FuzzOperationOutcomeText(f *testing.F) {
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"diagnostics":"x"}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"OperationOutcome","issue":[{"details":{"text":"y"}}]}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[null,{"resource":7}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got := Reason("w", OperationOutcomeText(body))
		if len(got) > socialrx.MaxReason {
			t.Errorf("reason of %d bytes, want at most %d", len(got), socialrx.MaxReason)
		}
	})
}
