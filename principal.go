package socialrx

import "context"

// Interaction is what a request does to resources of one type, in the
// terms SMART scopes grant (v2: c r u d s; v1 read = r+s, write = c+u+d).
type Interaction byte

// The interactions a scope can grant.
const (
	InteractionCreate Interaction = 'c'
	InteractionRead   Interaction = 'r'
	InteractionUpdate Interaction = 'u'
	InteractionDelete Interaction = 'd'
	InteractionSearch Interaction = 's'
)

// Access decides what a principal may do. Implementations are the scope
// sets of the authentication adapters.
type Access interface {
	// Permits reports whether the principal may perform interaction on
	// resources of resourceType.
	Permits(interaction Interaction, resourceType string) bool
}

// Principal is who a request acts for: the authenticated client (a SMART
// backend service, a static API token) or, with authentication off (the
// loopback-only development mode), nobody in particular.
type Principal struct {
	// ClientID identifies the client (a JWT's client id, azp or subject,
	// or "token." and the static token's name: the two never meet); ""
	// when authentication is off.
	ClientID string
	// Access limits what the principal may do; nil permits everything
	// (authentication off).
	Access Access
}

// Permits reports whether p may perform interaction on resourceType.
func (p Principal) Permits(interaction Interaction, resourceType string) bool {
	return p.Access == nil || p.Access.Permits(interaction, resourceType)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries: the zero Principal
// (everything permitted, no client) when there is none.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
