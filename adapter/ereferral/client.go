// Package ereferral is the socialrx.Platform adapter: it delivers eReferral
// message Bundles (Ontario eReferral, Ocean-style FHIR messaging) to a
// referral platform by POSTing them to the platform's
// {Endpoint.address}/$process-messages, with an OAuth2 client-credentials
// bearer token from the Endpoint's credentials.
//
// Each Send is one attempt (a 401 is answered by one repeat with a fresh
// token, which is not a retry) and a failure is a *socialrx.SendError
// saying whether the job queue should try again, by socialrx's retry
// policy (retry.go in the root package):
//
//	no answer, timeout, 408, 429, 5xx      retryable (Retry-After kept)
//	other status (1xx, 3xx, 4xx)           permanent
//	2xx, response message fatal-error      permanent
//	2xx, response message transient-error  retryable
//	2xx, body not JSON or too large        retryable ("unreadable response";
//	                                       the platform knows a resend by
//	                                       its MessageHeader.id)
//	2xx, ok, no response element, empty    delivered
package ereferral

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc"
)

var _ socialrx.Platform = (*Client)(nil)

// fhirJSON is the FHIR JSON media type, sent and asked for.
const fhirJSON = "application/fhir+json"

// Options configure a Client (timeout, response bound, user agent,
// clock); the zero value is usable.
type Options = oauthcc.Options

// Client sends eReferral messages to referral platforms. It is safe for
// concurrent use and holds one connection pool and one token cache.
type Client struct {
	caller *oauthcc.Caller
	now    func() time.Time
}

// New returns a Client that takes Endpoint credentials from creds.
func New(creds socialrx.CredentialSource, opts Options) *Client {
	caller, now := oauthcc.Setup(creds, opts)
	return &Client{caller: caller, now: now}
}

// Send POSTs message, a FHIR message Bundle, unchanged to
// {ep.Address}/$process-messages as application/fhir+json, with
// Authorization: Bearer and a token when ep's credentials have a token
// URL. It makes one attempt, repeated once with a fresh token after a 401.
//
// It returns the body of a 2xx answer (empty when there was none) when the
// platform accepted the message, and otherwise a *socialrx.SendError
// classified as the package comment says; the error's Reason carries the
// platform's OperationOutcome text when it sent one.
func (c *Client) Send(ctx context.Context, ep socialrx.Endpoint, message []byte) ([]byte, error) {
	h := make(http.Header)
	h.Set("Content-Type", fhirJSON)
	h.Set("Accept", fhirJSON)
	resp, err := c.caller.Do(ctx, ep.ID, oauthcc.Request{
		Method: http.MethodPost,
		URL:    strings.TrimRight(ep.Address, "/") + "/$process-messages",
		Header: h,
		Body:   message,
	})
	if err != nil {
		return nil, err
	}
	now := c.now()
	if e := oauthcc.Classify(resp, now); e != nil {
		return nil, e
	}
	if e := classifyResponse(resp, now); e != nil {
		return nil, e
	}
	return resp.Body, nil
}
