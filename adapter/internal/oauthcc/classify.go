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

	"github.com/socialrx/socialrx"
)

// Classify returns nil for a 2xx answer and otherwise the *socialrx.SendError
// it means under socialrx's retry policy (socialrx.RetryPolicy.StatusError):
// retryable for 408, 429 and 5xx, with RetryAfter from the Retry-After
// header read against now; permanent for every other status (1xx, 3xx,
// other 4xx, a 401 that a fresh token did not cure). The reason is the
// status text and the receiver's OperationOutcome text, if any.
func Classify(resp *Response, now time.Time) *socialrx.SendError {
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return nil // the body is the caller's to read
	}
	words := statusText(code)
	if code == http.StatusUnauthorized && resp.Refreshed {
		words += " after token refresh"
	}
	return socialrx.DefaultRetryPolicy().StatusError(code, Reason(words, OperationOutcomeText(resp.Body)), resp.Header.Get("Retry-After"), now)
}

// NetworkError is the retryable *socialrx.SendError of a call that got no
// answer, StatusCode 0 (socialrx.NoAnswer). Its reason names the kind of
// failure ("network error: timeout", "network error: connection refused")
// and never the URL.
func NetworkError(err error) *socialrx.SendError {
	return socialrx.NoAnswer(networkKind(err))
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
		if n > socialrx.MaxReason { // the rest would be cut anyway
			break
		}
	}
	return strings.Join(parts, "; ")
}

// Reason is words, then ": " and the receiver's text when there is one,
// cut by socialrx.TruncateReason.
func Reason(words, text string) string {
	if text != "" {
		words += ": " + text
	}
	return socialrx.TruncateReason(words)
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
