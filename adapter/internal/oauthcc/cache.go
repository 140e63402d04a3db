package oauthcc

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/sync/singleflight"

	"github.com/socialrx/socialrx"
)

const (
	// expiryMargin is how long before its expiry a token is dropped, so a
	// call never carries a token that expires on the way.
	expiryMargin = 30 * time.Second
	// defaultLifetime is how long a token without expires_in is kept.
	defaultLifetime = 5 * time.Minute
	// maxTokenResponseBytes bounds a token endpoint's answer.
	maxTokenResponseBytes = 64 << 10
	// maxFetchTime bounds a token fetch whose resty client has no timeout:
	// the fetch outlives the caller that started it (others share it).
	maxFetchTime = time.Minute
)

// Cache gets and keeps OAuth2 client-credentials bearer tokens, one per
// Endpoint id. It is safe for concurrent use.
type Cache struct {
	src    socialrx.CredentialSource
	client *resty.Client
	now    func() time.Time

	flights singleflight.Group // one token fetch per endpoint id at a time

	mu     sync.Mutex
	tokens map[string]cachedToken // by endpoint id

	// joined, when set (by tests), is called once a caller has joined the
	// fetch of an endpoint's token.
	joined func(endpointID string)
}

type cachedToken struct {
	creds   socialrx.Credentials // what it was issued for: a changed file is a miss
	value   string
	expires time.Time // when to stop using it: the real expiry minus expiryMargin
}

// New returns a Cache that looks Endpoint credentials up in src and POSTs to
// their TokenURL with client. now is the clock (nil means time.Now).
func New(src socialrx.CredentialSource, client *resty.Client, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{src: src, client: client, now: now, tokens: make(map[string]cachedToken)}
}

// Token returns a bearer token for the Endpoint endpointID. It returns ""
// and no error when the credentials source has no entry for the id or the
// entry's TokenURL is empty: the call then goes without Authorization.
//
// A token is kept until 30 s before its expires_in runs out (5 minutes
// when the token endpoint says nothing). Concurrent callers for one
// Endpoint share one fetch; a caller whose ctx ends stops waiting for it.
//
// A failed fetch is a *socialrx.SendError with StatusCode 0 and a Reason
// starting "token endpoint: ": network errors, 408, 429 and 5xx are
// retryable; any other status, and a 2xx without an access_token, are
// permanent (the credentials are wrong).
func (c *Cache) Token(ctx context.Context, endpointID string) (string, error) {
	if c.src == nil {
		return "", nil // no credentials file: calls carry no token
	}
	creds, ok := c.src.Credentials(endpointID)
	if !ok || creds.TokenURL == "" {
		return "", nil
	}
	if tok, ok := c.cached(endpointID, creds); ok {
		return tok, nil
	}
	if err := ctx.Err(); err != nil {
		return "", tokenError(NetworkError(err))
	}
	ch := c.flights.DoChan(endpointID, func() (any, error) {
		// A fetch that ended just before this one started filled the cache.
		if tok, ok := c.cached(endpointID, creds); ok {
			return tok, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxFetchTime)
		defer cancel()
		return c.fetch(fctx, endpointID, creds)
	})
	if c.joined != nil {
		c.joined(endpointID)
	}
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", copyError(res.Err) // each caller its own, the flight's is shared
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", tokenError(NetworkError(ctx.Err()))
	}
}

// Invalidate drops the cached token of endpointID if it is still token, so
// the next Token call fetches a new one. A token another caller has
// already replaced stays.
func (c *Cache) Invalidate(endpointID, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[endpointID]; ok && t.value == token {
		delete(c.tokens, endpointID)
	}
}

func (c *Cache) cached(endpointID string, creds socialrx.Credentials) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[endpointID]
	if !ok || t.creds != creds || !c.now().Before(t.expires) {
		return "", false
	}
	return t.value, true
}

// tokenResponse is the successful answer of a token endpoint
// (RFC 6749 §5.1). expires_in is a number, or a string holding one from
// servers that quote it.
type tokenResponse struct {
	AccessToken string      `json:"access_token"`
	TokenType   string      `json:"token_type"`
	ExpiresIn   json.Number `json:"expires_in"`
}

// oauthErrorCode is the shape of an RFC 6749 §5.2 error code, the only
// part of an error answer put in a reason (error_description is free text).
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// fetch POSTs the client-credentials grant to creds.TokenURL and caches the
// token it gets.
func (c *Cache) fetch(ctx context.Context, endpointID string, creds socialrx.Credentials) (string, error) {
	if err := checkURL(creds.TokenURL); err != nil {
		return "", &socialrx.SendError{Reason: "token endpoint: token_url is not an http(s) URL"}
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {creds.ClientID},
		"client_secret": {creds.ClientSecret},
	}
	if creds.Scope != "" {
		form.Set("scope", creds.Scope)
	}
	start := c.now() // the token's lifetime counts from the request
	resp, err := c.client.R().
		SetContext(ctx).
		SetDoNotParseResponse(true).
		SetHeader("Content-Type", "application/x-www-form-urlencoded").
		SetHeader("Accept", "application/json").
		SetBody(form.Encode()).
		Post(creds.TokenURL)
	if err != nil {
		closeBody(resp)
		return "", tokenError(sendError(err))
	}
	body, truncated, err := readBounded(resp.RawBody(), maxTokenResponseBytes)
	code := resp.StatusCode()
	if code < 200 || code > 299 {
		reason := "token endpoint: http " + statusWords(code)
		var oe struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &oe) == nil && oauthErrorCode.MatchString(oe.Error) {
			reason += " (" + oe.Error + ")"
		}
		e := socialrx.DefaultRetryPolicy().StatusError(code, reason, resp.Header().Get("Retry-After"), c.now())
		e.StatusCode = 0 // the token endpoint's status, in the reason: not the receiver's
		return "", e
	}
	if err != nil {
		return "", tokenError(NetworkError(err))
	}
	var tr tokenResponse
	if truncated || json.Unmarshal(body, &tr) != nil {
		return "", &socialrx.SendError{Reason: "token endpoint: unreadable response"}
	}
	if tr.AccessToken == "" {
		return "", &socialrx.SendError{Reason: "token endpoint: no access_token in response"}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", &socialrx.SendError{Reason: "token endpoint: token_type is not bearer"}
	}
	c.mu.Lock()
	c.tokens[endpointID] = cachedToken{creds: creds, value: tr.AccessToken, expires: start.Add(lifetime(tr.ExpiresIn))}
	c.mu.Unlock()
	return tr.AccessToken, nil
}

// lifetime is how long to keep a token that expires in expiresIn seconds:
// expiryMargin less, or half of it when it is shorter than the margin,
// defaultLifetime when the token endpoint gave no usable number.
func lifetime(expiresIn json.Number) time.Duration {
	secs, err := expiresIn.Float64()
	if err != nil || secs <= 0 || secs > 1e9 {
		return defaultLifetime
	}
	d := time.Duration(secs * float64(time.Second))
	if d <= expiryMargin {
		return d / 2
	}
	return d - expiryMargin
}

// tokenError prefixes the reason of a failed token fetch.
func tokenError(e *socialrx.SendError) *socialrx.SendError {
	e.Reason = "token endpoint: " + e.Reason
	return e
}

// copyError copies a *socialrx.SendError, so callers sharing one fetch do
// not share the error they may change.
func copyError(err error) error {
	if se, ok := err.(*socialrx.SendError); ok {
		cp := *se
		return &cp
	}
	return err
}
