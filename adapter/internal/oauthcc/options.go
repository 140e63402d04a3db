package oauthcc

import (
	"time"

	"github.com/socialrx/socialrx"
)

// Options configure an outbound client (adapter/ereferral, adapter/emr).
// The zero value is usable.
type Options struct {
	// Timeout bounds one HTTP exchange, the answer's body included, and
	// one token fetch. Default 30 s.
	Timeout time.Duration
	// MaxResponseBytes is the most of an answer's body that is read.
	// Default 1 MiB.
	MaxResponseBytes int64
	// UserAgent is sent with every request. Default "socialrx".
	UserAgent string
	// Now is the clock Retry-After dates and token expiry are read
	// against. Default time.Now.
	Now func() time.Time
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o Options) WithDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 1 << 20
	}
	if o.UserAgent == "" {
		o.UserAgent = "socialrx"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Setup returns the Caller of an outbound client (one resty client with its
// retries off, one token cache over creds) and the clock it uses.
func Setup(creds socialrx.CredentialSource, opts Options) (*Caller, func() time.Time) {
	opts = opts.WithDefaults()
	rc := NewRestyClient(opts.Timeout, opts.UserAgent)
	tokens := New(creds, rc, opts.Now)
	return NewCaller(rc, tokens, opts.MaxResponseBytes), opts.Now
}
