package auth

import (
	"context"
	"strings"

	"github.com/socialrx/socialrx"
)

// Authenticator turns a bearer token into a principal: a static API token
// of the token file, else a JWT access token of the authorisation server.
// Either may be nil (not configured), not both.
type Authenticator struct {
	Tokens *TokenFile
	JWT    *JWTVerifier
}

// Authenticate returns the principal token stands for. An unknown, expired
// or otherwise invalid token is an EUNAUTHORIZED error saying which rule it
// broke; a token whose scopes allow nothing still authenticates (the
// routes answer 403).
func (a *Authenticator) Authenticate(ctx context.Context, token string) (socialrx.Principal, error) {
	if a.Tokens != nil {
		if p, ok := a.Tokens.Lookup(token); ok {
			return p, nil
		}
	}
	if a.JWT != nil && strings.Count(token, ".") == 2 {
		return a.JWT.Verify(ctx, token)
	}
	return socialrx.Principal{}, socialrx.Errorf(socialrx.EUNAUTHORIZED, "unknown access token")
}
