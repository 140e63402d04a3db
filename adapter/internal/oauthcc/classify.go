package oauthcc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/socialrx/socialrx"
)

const (
	// MaxReason is the most bytes a SendError.Reason holds.
	MaxReason = 500
	// maxRetryAfter caps a Retry-After: a receiver does not park the queue
	// for longer.
	maxRetryAfter = time.Hour
)

// RetryableStatus reports whether an answer with status code may succeed
// when sent again: 408, 429 and 5xx.
func RetryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || (code >= 500 && code <= 599)
}

// Classify returns nil for a 2xx answer and otherwise the *socialrx.SendError
// it means: retryable for 408, 429 and 5xx, with RetryAfter from the
// Retry-After header read against now; permanent for every other status
// (1xx, 3xx, other 4xx, a 401 that a fresh token did not cure). The reason
// is the status text and the receiver's OperationOutcome text, if any.
func Classify(resp *Response, now time.Time) *socialrx.SendError {
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return nil
	}
	words := statusText(code)
	if code == http.StatusUnauthorized && resp.Refreshed {
		words += " after token refresh"
	}
	e := &socialrx.SendError{StatusCode: code, Reason: Reason(words, OperationOutcomeText(resp.Body))}
	if RetryableStatus(code) {
		e.Retryable = true
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return e
}

// NetworkError is the retryable *socialrx.SendError of a call that got no
// answer, StatusCode 0. Its reason names the kind of failure ("network
// error: timeout", "network error: connection refused") and never the URL.
func NetworkError(err error) *socialrx.SendError {
	reason := "network error"
	if kind := networkKind(err); kind != "" {
		reason += ": " + kind
	}
	return &socialrx.SendError{Retryable: true, Reason: reason}
}

func networkKind(err error) string {
	var (
		netErr  net.Error
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host"
		}
		return "dns lookup failed"
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return "tls certificate not accepted"
	case errors.As(err, &record):
		return "tls handshake failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return ""
}

// RetryAfter reads a Retry-After header value (RFC 9110 §10.2.3), either
// delta-seconds or an HTTP-date taken against now. It returns 0 for an
// empty, malformed or past value and at most one hour.
func RetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	var d time.Duration
	if strings.Trim(value, "0123456789") == "" { // delta-seconds
		secs, err := strconv.ParseUint(value, 10, 64)
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter // only too many digits fail
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(value); err == nil {
		d = t.Sub(now)
	} else {
		return 0
	}
	return max(0, min(d, maxRetryAfter))
}

// outcome is the part of a FHIR OperationOutcome a reason is made of.
type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Diagnostics string `json:"diagnostics"`
		Details     struct {
			Text string `json:"text"`
		} `json:"details"`
	} `json:"issue"`
}

// OperationOutcomeText is the text of the OperationOutcome in body: the
// body itself, or the first OperationOutcome entry of a Bundle (the
// response message of $process-messages, whose MessageHeader.response
// details reference it). It is each issue's diagnostics, or its
// details.text when it has none, joined with "; ", whitespace collapsed;
// "" when body holds no OperationOutcome.
func OperationOutcomeText(body []byte) string {
	var top struct {
		outcome
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if len(body) == 0 || json.Unmarshal(body, &top) != nil {
		return ""
	}
	switch top.ResourceType {
	case "OperationOutcome":
		return top.outcome.text()
	case "Bundle":
		for _, e := range top.Entry {
			var oo outcome
			if json.Unmarshal(e.Resource, &oo) == nil && oo.ResourceType == "OperationOutcome" {
				return oo.text()
			}
		}
	}
	return ""
}

func (o outcome) text() string {
	var parts []string
	n := 0
	for _, is := range o.Issue {
		t := is.Diagnostics
		if strings.TrimSpace(t) == "" {
			t = is.Details.Text
		}
		if t = strings.Join(strings.Fields(t), " "); t != "" {
			parts = append(parts, t)
			n += len(t) + 2
		}
		if n > MaxReason { // the rest would be cut anyway
			break
		}
	}
	return strings.Join(parts, "; ")
}

// Reason is words, then ": " and the receiver's text when there is one,
// cut to MaxReason bytes on a UTF-8 boundary.
func Reason(words, text string) string {
	if text != "" {
		words += ": " + text
	}
	return truncate(words, MaxReason)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// statusText is "too many requests": the text of an HTTP status, lower case.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strings.ToLower(t)
	}
	return "unexpected status"
}

// statusWords is "401 unauthorized".
func statusWords(code int) string {
	return strconv.Itoa(code) + " " + statusText(code)
}
