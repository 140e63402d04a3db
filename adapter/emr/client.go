// Package emr is the socialrx.EMR adapter: it writes referral updates back to
// the practice's EMR through its FHIR R4 REST API, as conditional writes
// keyed by business identifier so that a repeat changes nothing:
// a conditional update (PUT {address}/{type}?identifier=system|value) and a
// conditional create (POST {address}/{type} with If-None-Exist).
//
// Calls carry an OAuth2 client-credentials bearer token from the Endpoint's
// credentials. Each call is one attempt (a 401 is answered by one repeat
// with a fresh token, which is not a retry); any 2xx is success, and a
// failure is a *socialrx.SendError classified by socialrx's retry policy
// (retry.go): no answer, timeout, 408, 429 and 5xx are retryable
// (Retry-After kept), every other status is permanent, 412
// included (a conditional update whose identifier matched several
// resources). The reason carries the EMR's OperationOutcome text.
package emr

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc"
)

var _ socialrx.EMR = (*Client)(nil)

// fhirJSON is the FHIR JSON media type, sent and asked for.
const fhirJSON = "application/fhir+json"

// Options configure a Client (timeout, response bound, user agent,
// clock); the zero value is usable.
type Options = oauthcc.Options

// Client writes to EMR FHIR APIs. It is safe for concurrent use and holds
// one connection pool and one token cache.
type Client struct {
	caller *oauthcc.Caller
	now    func() time.Time
}

// New returns a Client that takes Endpoint credentials from creds.
func New(creds socialrx.CredentialSource, opts Options) *Client {
	caller, now := oauthcc.Setup(creds, opts)
	return &Client{caller: caller, now: now}
}

// UpdateByIdentifier is a FHIR conditional update: it PUTs body to
// {ep.Address}/{typ}?identifier={system}|{value}, system and value escaped
// as a FHIR token search parameter and the query URL-encoded. The EMR
// updates the one resource with that identifier, creates it when there is
// none, and answers 412 when there are several (a permanent failure).
//
// It returns nil on any 2xx and otherwise a *socialrx.SendError. A typ
// that is not a resource type name, or an empty value, is a permanent
// failure without a call.
func (c *Client) UpdateByIdentifier(ctx context.Context, ep socialrx.Endpoint, typ, system, value string, body []byte) error {
	if err := checkTarget(typ, value); err != nil {
		return err
	}
	return c.write(ctx, ep, http.MethodPut, typ+"?"+identifierQuery(system, value), nil, body)
}

// CreateIfNoneExist is a FHIR conditional create: it POSTs body to
// {ep.Address}/{typ} with If-None-Exist: identifier={system}|{value},
// escaped as UpdateByIdentifier's query is. The EMR creates the resource
// unless one with that identifier exists, so a repeat creates nothing.
//
// It returns nil on any 2xx (201 created, 200 already there) and
// otherwise a *socialrx.SendError, with the same checks as
// UpdateByIdentifier.
func (c *Client) CreateIfNoneExist(ctx context.Context, ep socialrx.Endpoint, typ, system, value string, body []byte) error {
	if err := checkTarget(typ, value); err != nil {
		return err
	}
	h := make(http.Header)
	h.Set("If-None-Exist", identifierQuery(system, value))
	return c.write(ctx, ep, http.MethodPost, typ, h, body)
}

// write sends body to {ep.Address}/{path} and classifies the answer; the
// body of a 2xx answer is not looked at.
func (c *Client) write(ctx context.Context, ep socialrx.Endpoint, method, path string, h http.Header, body []byte) error {
	if h == nil {
		h = make(http.Header)
	}
	h.Set("Content-Type", fhirJSON)
	h.Set("Accept", fhirJSON)
	h.Set("Prefer", "return=minimal") // the answer's body is not used
	resp, err := c.caller.Do(ctx, ep.ID, oauthcc.Request{
		Method: method,
		URL:    strings.TrimRight(ep.Address, "/") + "/" + path,
		Header: h,
		Body:   body,
	})
	if err != nil {
		return err
	}
	if e := oauthcc.Classify(resp, c.now()); e != nil {
		return e
	}
	return nil
}

// resourceType is the shape of a FHIR resource type name.
var resourceType = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}$`)

func checkTarget(typ, value string) error {
	if !resourceType.MatchString(typ) {
		return &socialrx.SendError{Reason: "invalid resource type"}
	}
	if value == "" {
		// identifier=system| would match every identifier of the system.
		return &socialrx.SendError{Reason: "empty identifier value"}
	}
	return nil
}
