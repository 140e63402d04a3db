package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/socialrx/socialrx"
)

// Algorithms are the JWS algorithms access tokens may be signed with: those
// SMART Backend Services requires servers to support (RS384, ES384) and
// RS256, which most authorisation servers use by default. "none" and the
// HMAC algorithms (a shared secret, not the server's public key) are never
// accepted.
var Algorithms = []string{"RS384", "ES384", "RS256"}

// Defaults of JWTConfig.
const (
	DefaultLeeway       = 30 * time.Second
	DefaultFetchTimeout = 10 * time.Second
	DefaultMaxAge       = 15 * time.Minute
	DefaultRefetchEvery = 30 * time.Second
)

// JWTConfig configures a JWTVerifier.
type JWTConfig struct {
	// Issuer is the authorisation server's issuer; a token's iss must equal
	// it.
	Issuer string
	// Audience is this FHIR server as the authorisation server names it in
	// tokens (usually the FHIR base URL); a token's aud must contain it.
	Audience string
	// JWKSURL is where the authorisation server publishes its JWK Set;
	// JWKSFile, instead, is a JWK Set document on disk (fixed keys: a new
	// key needs a restart). Exactly one is set.
	JWKSURL, JWKSFile string
	// Leeway allows for clock skew in exp, nbf and iat. Default
	// DefaultLeeway.
	Leeway time.Duration
	// FetchTimeout bounds one fetch of the JWK Set. Default
	// DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MaxAge is how long a fetched JWK Set is used before it is fetched
	// again (so a key the server withdrew stops working within it).
	// Default DefaultMaxAge.
	MaxAge time.Duration
	// RefetchEvery is the least time between two fetches caused by unknown
	// key ids or failures. Default DefaultRefetchEvery.
	RefetchEvery time.Duration
	// HTTPClient fetches the JWK Set; its Timeout is set to FetchTimeout
	// when zero. Default: a new client.
	HTTPClient *http.Client
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
	// Logger receives failed fetches of the JWK Set (the URL and the
	// error; clients are told only that the keys could not be fetched).
	// Default: none.
	Logger *slog.Logger
}

// Validate reports a configuration NewJWTVerifier cannot use.
func (c JWTConfig) Validate() error {
	if err := checkURL("issuer", c.Issuer); err != nil {
		return err
	}
	if c.Audience == "" {
		return errors.New("auth: the audience is required (the FHIR base URL as the authorisation server writes it in aud)")
	}
	switch {
	case c.JWKSURL != "" && c.JWKSFile != "":
		return errors.New("auth: give the JWK Set as a URL or as a file, not both")
	case c.JWKSURL != "":
		if err := checkURL("JWKS URL", c.JWKSURL); err != nil {
			return err
		}
	case c.JWKSFile == "":
		return errors.New("auth: the JWK Set URL (or file) of the authorisation server is required")
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		return errors.New("auth: leeway must be between 0 and 5m")
	}
	return nil
}

// checkURL requires an absolute https URL, or http on a loopback host
// (tests, a local authorisation server).
func checkURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("auth: %s %q: want an absolute https URL", what, s)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return fmt.Errorf("auth: %s %q: must be https (http only on a loopback host)", what, s)
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// JWTVerifier verifies SMART Backend Services access tokens: JWTs signed by
// the authorisation server.
type JWTVerifier struct {
	cfg    JWTConfig
	keys   *keySet
	parser *jwt.Parser
}

// NewJWTVerifier returns a verifier for cfg. A JWKS file is read now; a
// JWKS URL is fetched when the first token arrives.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.RefetchEvery <= 0 {
		cfg.RefetchEvery = DefaultRefetchEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var ks *keySet
	if cfg.JWKSFile != "" {
		doc, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth: read JWKS file: %w", err)
		}
		if ks, err = newFixedKeySet(doc); err != nil {
			return nil, fmt.Errorf("auth: JWKS file %s: %w", cfg.JWKSFile, err)
		}
	} else {
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{}
		}
		if client.Timeout == 0 {
			c := *client
			c.Timeout = cfg.FetchTimeout
			client = &c
		}
		ks = &keySet{url: cfg.JWKSURL, client: client, maxAge: cfg.MaxAge, refetchEvery: cfg.RefetchEvery, now: cfg.Now, log: cfg.Logger}
	}
	return &JWTVerifier{
		cfg:  cfg,
		keys: ks,
		parser: jwt.NewParser(
			jwt.WithValidMethods(Algorithms),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(cfg.Now),
		),
	}, nil
}

// claims are the access token claims socialrx reads.
type claims struct {
	jwt.RegisteredClaims
	Scope    string   `json:"scope"`     // RFC 9068, SMART: space-separated
	Scp      []string `json:"scp"`       // some servers: an array
	ClientID string   `json:"client_id"` // RFC 9068
	Azp      string   `json:"azp"`
}

// Verify checks token and returns the principal it stands for. Any failure
// is an EUNAUTHORIZED error whose message says which rule failed (never
// the token).
func (v *JWTVerifier) Verify(ctx context.Context, token string) (socialrx.Principal, error) {
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := v.keys.lookup(ctx, kid)
		if err != nil {
			return nil, err
		}
		if k.alg != "" && k.alg != t.Method.Alg() {
			return nil, fmt.Errorf("the key is for %s, the token is signed with %s", k.alg, t.Method.Alg())
		}
		return k.key, nil
	})
	if err != nil {
		return socialrx.Principal{}, socialrx.Errorf(socialrx.EUNAUTHORIZED, "access token refused: %s", reason(err))
	}
	scope := c.Scope
	if scope == "" && len(c.Scp) > 0 {
		scope = strings.Join(c.Scp, " ")
	}
	scopes, _ := ParseScopes(scope)
	client := c.ClientID
	if client == "" {
		client = c.Azp
	}
	if client == "" {
		client = c.Subject
	}
	if client == "" {
		return socialrx.Principal{}, socialrx.Errorf(socialrx.EUNAUTHORIZED, "access token refused: it names no client (client_id, azp or sub)")
	}
	if strings.HasPrefix(client, StaticClientPrefix) {
		return socialrx.Principal{}, socialrx.Errorf(socialrx.EUNAUTHORIZED, "access token refused: client ids starting with %q are the static API tokens'", StaticClientPrefix)
	}
	return socialrx.Principal{ClientID: client, Access: scopes}, nil
}

// reason says in a few words why jwt refused a token.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, c := range []string{"exp", "iss", "aud"} {
			if strings.Contains(err.Error(), c+" claim is required") {
				return "the " + c + " claim is missing"
			}
		}
		return "a required claim is missing"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if errors.Is(err, jwt.ErrTokenUnverifiable) || strings.Contains(err.Error(), "signing method") {
			return "signing algorithm not allowed (want " + strings.Join(Algorithms, ", ") + ")"
		}
		return "bad signature"
	case errors.Is(err, errJWKSUnavailable):
		return "the authorisation server's keys could not be fetched"
	case errors.Is(err, errUnknownKey):
		return "signed with a key the authorisation server does not publish (unknown kid)"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "cannot be verified: " + unwrapLast(err)
	}
	return "invalid"
}

// unwrapLast is the innermost message of err, for the key errors of the
// key lookup (which never hold the token).
func unwrapLast(err error) string {
	for {
		var next error
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			errs := u.Unwrap()
			if len(errs) == 0 {
				break
			}
			next = errs[len(errs)-1]
		} else if next = errors.Unwrap(err); next == nil {
			break
		}
		err = next
	}
	return err.Error()
}
