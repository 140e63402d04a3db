package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/socialrx/socialrx"
)

// Scopes is what a set of SMART scopes allows, per resource type. It is the
// socialrx.Access of an authenticated principal.
//
// Accepted (http://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
//
//	system/Patient.read    v1: read = r + s
//	system/*.write         v1: write = c + u + d
//	system/*.*             v1: everything (c r u d s)
//	system/Patient.rs      v2: any of c r u d s, in that order, each once
//	user/Task.cruds        user/ is read as system/: a backend service acts
//	                       for no user, so a user scope grants the same
//
// Not granting anything (ParseScopes ignores them and says why; the static
// token file refuses them):
//
//   - patient/ scopes: they limit a client to one patient's compartment,
//     which a backend service token does not name and socialrx does not
//     enforce; reading them as system/ would widen them to every patient.
//   - v2 granular scopes with a query (system/Observation.rs?category=...):
//     socialrx cannot restrict every interaction to the query, and a scope
//     it cannot enforce must not grant more than it says.
//   - anything else (openid, fhirUser, launch, offline_access, ...).
type Scopes struct {
	grants map[string]perm // resource type or "*" -> interactions
	list   []string        // the accepted scopes, as written
}

var _ socialrx.Access = Scopes{}

// perm is a set of interactions, one bit each.
type perm uint8

// v2Order is the order SMART v2 writes the interactions in.
const v2Order = "cruds"

func permOf(i socialrx.Interaction) perm {
	if at := strings.IndexByte(v2Order, byte(i)); at >= 0 {
		return 1 << at
	}
	return 0
}

// Permits reports whether the scopes allow interaction on resourceType.
func (s Scopes) Permits(interaction socialrx.Interaction, resourceType string) bool {
	p := permOf(interaction)
	if p == 0 {
		return false
	}
	return s.grants["*"]&p != 0 || s.grants[resourceType]&p != 0
}

// String returns the accepted scopes, space-separated.
func (s Scopes) String() string { return strings.Join(s.list, " ") }

// Empty reports whether the scopes allow nothing at all.
func (s Scopes) Empty() bool { return len(s.grants) == 0 }

// ParseScopes reads a space-separated scope string as a token carries it
// (the "scope" claim). Scopes that grant nothing here (see Scopes) are left
// out and returned in ignored with the reason; they never fail the token.
func ParseScopes(scope string) (s Scopes, ignored []string) {
	s.grants = map[string]perm{}
	for _, one := range strings.Fields(scope) {
		typ, p, err := parseScope(one)
		if err != nil {
			ignored = append(ignored, err.Error())
			continue
		}
		s.grants[typ] |= p
		if !slices.Contains(s.list, one) {
			s.list = append(s.list, one)
		}
	}
	return s, ignored
}

// ParseScopesStrict is ParseScopes for configuration (the static token
// file): any scope that would grant nothing is an error, and there must be
// at least one.
func ParseScopesStrict(scope string) (Scopes, error) {
	s, ignored := ParseScopes(scope)
	if len(ignored) > 0 {
		return Scopes{}, fmt.Errorf("%s", ignored[0])
	}
	if s.Empty() {
		return Scopes{}, fmt.Errorf("no scopes")
	}
	return s, nil
}

// parseScope reads one resource scope: context/Type.permissions.
func parseScope(scope string) (string, perm, error) {
	ctx, rest, ok := strings.Cut(scope, "/")
	if !ok {
		return "", 0, fmt.Errorf("scope %q: not a resource scope (context/Type.permissions)", scope)
	}
	switch ctx {
	case "system", "user":
	case "patient":
		return "", 0, fmt.Errorf("scope %q: patient/ scopes are not supported (a backend service has no patient context; use system/)", scope)
	default:
		return "", 0, fmt.Errorf("scope %q: unknown context %q (want system/ or user/)", scope, ctx)
	}
	if strings.ContainsRune(rest, '?') {
		return "", 0, fmt.Errorf("scope %q: granular scopes (?param=value) are not supported", scope)
	}
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || !validType(typ) {
		return "", 0, fmt.Errorf("scope %q: want a resource type or * before the permissions", scope)
	}
	switch perms {
	case "read":
		return typ, permOf(socialrx.InteractionRead) | permOf(socialrx.InteractionSearch), nil
	case "write":
		return typ, permOf(socialrx.InteractionCreate) | permOf(socialrx.InteractionUpdate) | permOf(socialrx.InteractionDelete), nil
	case "*":
		return typ, 1<<len(v2Order) - 1, nil
	}
	// v2: a non-empty subsequence of "cruds".
	var p perm
	at := 0
	for i := 0; i < len(perms); i++ {
		j := strings.IndexByte(v2Order[at:], perms[i])
		if j < 0 {
			return "", 0, fmt.Errorf("scope %q: permissions must be read, write, * or some of c r u d s in that order", scope)
		}
		at += j + 1
		p |= 1 << (at - 1)
	}
	if p == 0 {
		return "", 0, fmt.Errorf("scope %q: no permissions", scope)
	}
	return typ, p, nil
}

// validType reports whether t is "*" or looks like a resource type name.
func validType(t string) bool {
	if t == "*" {
		return true
	}
	if t == "" || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
