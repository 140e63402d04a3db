package oauthcc

import (
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"
)

// NewRestyClient returns the resty client the delivery adapters share
// between their token endpoint and their calls: one attempt per call
// (resty's retry off), timeout per attempt, no cookie jar, and redirects
// not followed (a 3xx comes back as the answer, so it is classified, and a
// POST is never replayed as a GET).
func NewRestyClient(timeout time.Duration, userAgent string) *resty.Client {
	hc := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	c := resty.NewWithClient(hc).SetRetryCount(0).SetTimeout(timeout)
	if userAgent != "" {
		c.SetHeader("User-Agent", userAgent)
	}
	return c
}
