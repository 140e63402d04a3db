// Package auth authenticates the clients of the REST API and says what each
// may do: it turns a bearer token into a socialrx.Principal whose Access is
// the token's SMART scopes.
//
// Two kinds of token are accepted, alone or together (Authenticator):
//
//   - SMART Backend Services access tokens (SMART App Launch 2.x): JWTs issued
//     by an outside authorisation server and verified against its JWK Set
//     (JWTVerifier): signature with an allowed algorithm (RS384, ES384,
//     RS256; never none or HS*), issuer, audience, expiry and not-before with
//     a small leeway. The JWK Set is cached; an unknown key id makes it be
//     fetched again, at most once per Config.RefetchEvery, so that a flood
//     of made-up key ids cannot make socialrx hammer the server.
//   - Static API tokens for small clinics without an authorisation server
//     (TokenFile): long random secrets, kept on disk only as SHA-256 hashes,
//     each with a name and its scopes.
//
// Scopes (scope.go) follow SMART v1 (system/Patient.read, system/*.write)
// and v2 (system/Patient.rs, system/Task.cruds). The verification itself is
// github.com/golang-jwt/jwt/v5; JWKs are turned into keys by
// github.com/MicahParks/jwkset. No cryptography is written here.
package auth
