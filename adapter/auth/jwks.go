package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
)

// maxJWKSBytes bounds a JWK Set document.
const maxJWKSBytes = 1 << 20

// errUnknownKey is returned for a key id the JWK Set does not hold, after a
// refetch when one was allowed.
var errUnknownKey = errors.New("no key with this kid in the authorisation server's JWK Set")

// errJWKSUnavailable is returned when a key is not known and the JWK Set
// could not be fetched.
var errJWKSUnavailable = errors.New("the authorisation server's JWK Set could not be fetched")

// verifyKey is one public key of a JWK Set, usable for signatures.
type verifyKey struct {
	alg string           // the JWK's alg, "" when it names none
	key crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
}

// keySet is the cached JWK Set of the authorisation server.
//
// Keys are looked up by kid. The set is fetched on first use, again when it
// is older than maxAge (the old keys stay in use if that fetch fails), and
// again when a token names an unknown kid: the server rotated its keys. Such
// refetches, and any fetch after a failure, happen at most once per
// refetchEvery, whatever the number of tokens: a flood of made-up key ids
// costs the authorisation server one request per interval. Concurrent
// lookups that need a fetch share one.
type keySet struct {
	url          string       // "" for a fixed set (a JWKS file)
	client       *http.Client // with its timeout
	maxAge       time.Duration
	refetchEvery time.Duration
	now          func() time.Time
	log          *slog.Logger // fetch failures; nil: none

	mu       sync.Mutex
	keys     map[string]verifyKey
	fetched  time.Time     // last successful fetch
	tried    time.Time     // last fetch attempt
	fetching chan struct{} // closed when the running fetch ends; nil when none runs
	lastErr  error         // of the last fetch
}

// newFixedKeySet returns a key set that is never fetched: the JWK Set
// document doc (a --auth-jwks-file).
func newFixedKeySet(doc []byte) (*keySet, error) {
	keys, err := parseJWKS(doc)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks: no RSA or EC signature keys")
	}
	return &keySet{keys: keys, now: time.Now}, nil
}

// lookup returns the key named kid ("" when the token names none: then the
// set must hold exactly one key).
func (ks *keySet) lookup(ctx context.Context, kid string) (verifyKey, error) {
	for {
		ks.mu.Lock()
		k, err := ks.find(kid)
		if ks.url == "" {
			ks.mu.Unlock()
			return k, err
		}
		now := ks.now()
		fresh := !ks.fetched.IsZero() && now.Sub(ks.fetched) < ks.maxAge
		if err == nil && fresh {
			ks.mu.Unlock()
			return k, nil
		}
		if ks.fetching != nil {
			// Another lookup is fetching: wait for it, then look again.
			done := ks.fetching
			ks.mu.Unlock()
			select {
			case <-done:
				continue
			case <-ctx.Done():
				return verifyKey{}, ctx.Err()
			}
		}
		if !ks.tried.IsZero() && now.Sub(ks.tried) < ks.refetchEvery {
			// Fetched (or tried) too recently to fetch again.
			lastErr := ks.lastErr
			ks.mu.Unlock()
			switch {
			case err == nil:
				return k, nil // stale, and the last fetch failed: keep it
			case lastErr != nil:
				return verifyKey{}, fmt.Errorf("%w: %w", errJWKSUnavailable, lastErr)
			}
			return verifyKey{}, err
		}
		done := make(chan struct{})
		ks.fetching, ks.tried = done, now
		ks.mu.Unlock()

		keys, ferr := ks.fetch(ctx)
		if ferr != nil && ks.log != nil {
			ks.log.WarnContext(ctx, "fetch of the authorisation server's JWK Set failed", "url", ks.url, "error", ferr.Error())
		}

		ks.mu.Lock()
		ks.lastErr = ferr
		if ferr == nil {
			ks.keys, ks.fetched = keys, ks.now()
		}
		ks.fetching = nil
		close(done)
		k, err = ks.find(kid)
		ks.mu.Unlock()
		if err != nil && ferr != nil {
			return verifyKey{}, fmt.Errorf("%w: %w", errJWKSUnavailable, ferr)
		}
		return k, err
	}
}

// find looks kid up; ks.mu is held.
func (ks *keySet) find(kid string) (verifyKey, error) {
	if kid == "" {
		if len(ks.keys) == 1 {
			for _, k := range ks.keys {
				return k, nil
			}
		}
		return verifyKey{}, errors.New("the token names no kid and the JWK Set has more than one key")
	}
	k, ok := ks.keys[kid]
	if !ok {
		return verifyKey{}, errUnknownKey
	}
	return k, nil
}

// fetch gets and parses the JWK Set. The request is bounded by the
// client's timeout, and made without the caller's cancellation so that a
// client hanging up does not waste the shared fetch.
func (ks *keySet) fetch(ctx context.Context) (map[string]verifyKey, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: fetch: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJWKSBytes))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: fetch: status %d", resp.StatusCode)
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: read: %w", err)
	}
	if len(doc) > maxJWKSBytes {
		return nil, fmt.Errorf("jwks: document over %d bytes", maxJWKSBytes)
	}
	return parseJWKS(doc)
}

// parseJWKS reads a JWK Set document. Keys that cannot verify signatures
// here (symmetric "oct" keys, "use" other than sig, other key types) and
// keys jwkset refuses are left out; a set that is not JSON is an error.
func parseJWKS(doc []byte) (map[string]verifyKey, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("jwks: not a JWK Set: %w", err)
	}
	keys := map[string]verifyKey{}
	for _, m := range set.Keys {
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue
		}
		// Private: false refuses symmetric keys and ignores private parts.
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue
		}
		var pub crypto.PublicKey
		switch k := jwk.Key().(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			pub = k
		case *rsa.PrivateKey:
			pub = &k.PublicKey
		case *ecdsa.PrivateKey:
			pub = &k.PublicKey
		default:
			continue
		}
		keys[m.KID] = verifyKey{alg: string(m.ALG), key: pub}
	}
	return keys, nil
}
