package oauthcc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/go-resty/resty/v2"

	"github.com/socialrx/socialrx"
)

// drainLimit is how much of a body past the bound is read and thrown away
// so the connection can be reused; a longer body costs its connection.
const drainLimit = 64 << 10

// Request is one outbound call.
type Request struct {
	Method string
	URL    string      // absolute http(s) URL
	Header http.Header // Content-Type, Accept and the like; never Authorization
	Body   []byte
}

// Response is the answer to a Request, its body read up to a bound.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte // at most the Caller's bound
	// Truncated says the body was longer than the bound: Body holds its
	// start only.
	Truncated bool
	// Refreshed says the first answer was 401 and this is the answer to
	// the one repeat made with a fresh token.
	Refreshed bool
}

// Caller makes calls with a bearer token from a Cache. It is safe for
// concurrent use.
type Caller struct {
	client  *resty.Client
	tokens  *Cache
	maxBody int64
}

// NewCaller returns a Caller that sends with client, gets tokens from
// tokens, and reads at most maxResponseBytes of an answer's body.
func NewCaller(client *resty.Client, tokens *Cache, maxResponseBytes int64) *Caller {
	return &Caller{client: client, tokens: tokens, maxBody: maxResponseBytes}
}

// Do makes req for the Endpoint endpointID, with Authorization: Bearer and
// a token from the Cache when its credentials have a token URL. When the
// answer is 401 and a token was sent, Do invalidates the token, gets a new
// one and makes req exactly once more; the second answer is returned
// whatever it is (Response.Refreshed set).
//
// Do returns the answer, whatever its status, for the caller to classify
// (see Classify). Its error is a *socialrx.SendError: a token fetch that
// failed (see Cache.Token), a URL that is not absolute http(s) or a
// request resty could not build (permanent, nothing sent), a network
// error or timeout (retryable, StatusCode 0), or a 2xx answer whose body
// broke off (retryable, with its StatusCode).
func (c *Caller) Do(ctx context.Context, endpointID string, req Request) (*Response, error) {
	if err := checkURL(req.URL); err != nil {
		return nil, &socialrx.SendError{Reason: "endpoint address is not an http(s) URL"}
	}
	tok, err := c.tokens.Token(ctx, endpointID)
	if err != nil {
		return nil, err
	}
	resp, err := c.once(ctx, req, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || tok == "" {
		return resp, err
	}
	c.tokens.Invalidate(endpointID, tok)
	if tok, err = c.tokens.Token(ctx, endpointID); err != nil {
		return nil, err
	}
	resp, err = c.once(ctx, req, tok)
	if resp != nil {
		resp.Refreshed = true
	}
	return resp, err
}

// once makes one HTTP exchange.
func (c *Caller) once(ctx context.Context, req Request, token string) (*Response, error) {
	r := c.client.R().SetContext(ctx).SetDoNotParseResponse(true)
	if len(req.Body) > 0 {
		r.SetBody(req.Body)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if token != "" {
		r.SetHeader("Authorization", "Bearer "+token)
	}
	resp, err := r.Execute(req.Method, req.URL)
	if err != nil {
		closeBody(resp)
		return nil, sendError(err)
	}
	body, truncated, err := readBounded(resp.RawBody(), c.maxBody)
	code := resp.StatusCode()
	if err != nil && code >= 200 && code <= 299 {
		// A failure classifies from its status; a success needs its body.
		e := NetworkError(err)
		e.StatusCode = code
		e.Reason = "reading response: " + e.Reason
		return nil, e
	}
	return &Response{StatusCode: code, Header: resp.Header(), Body: body, Truncated: truncated}, nil
}

// readBounded reads at most limit bytes of body, drains up to drainLimit
// more and closes it. truncated says the body went past limit.
func readBounded(body io.ReadCloser, limit int64) (b []byte, truncated bool, err error) {
	if body == nil {
		return nil, false, nil
	}
	defer body.Close()
	b, err = io.ReadAll(io.LimitReader(body, limit+1))
	if int64(len(b)) > limit {
		b, truncated = b[:limit], true
	}
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	}
	return b, truncated, err
}

// closeBody closes the body of an answer that came with an error (a
// redirect refused, for one).
func closeBody(resp *resty.Response) {
	if resp != nil && resp.RawResponse != nil && resp.RawResponse.Body != nil {
		resp.RawResponse.Body.Close()
	}
}

// sendError classifies an error of resty's Execute: the http.Client's
// errors (*url.Error) are network errors; resty's own come before anything
// is sent, from a request it could not build, and a retry would not help.
func sendError(err error) *socialrx.SendError {
	var ue *url.Error
	if errors.As(err, &ue) {
		return NetworkError(err)
	}
	return &socialrx.SendError{Reason: "request not sent: could not be built"}
}

var errNotHTTP = errors.New("not an absolute http(s) URL")

// checkURL accepts absolute http and https URLs with a host.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errNotHTTP
	}
	return nil
}
