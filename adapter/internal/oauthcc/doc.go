// Package oauthcc makes the outbound FHIR calls of the delivery adapters
// (adapter/ereferral, adapter/emr), so that both authenticate, bound and
// classify alike:
//
//   - Cache gets OAuth2 client-credentials bearer tokens (RFC 6749 §4.4) for
//     an Endpoint from its socialrx.Credentials and keeps each until shortly
//     before it expires; concurrent callers for one Endpoint share one fetch.
//   - Caller makes one attempt of a call with that token. A 401 invalidates
//     the token and the call is made exactly once more with a fresh one: an
//     auth refresh, not a retry (retries live only in the job queue, so
//     resty's own retry is off). Response bodies are bounded, drained and
//     closed, so connections are reused.
//   - Classify and NetworkError turn a failed call into a *socialrx.SendError
//     by socialrx's retry policy (retry.go in the root package: network
//     errors, timeouts, 408, 429 and 5xx are retryable, Retry-After
//     honoured, everything else permanent). This package only words the
//     reason: the status text, the kind of network error, the receiver's
//     OperationOutcome text.
//
// Errors never carry a client secret, a token or a URL query.
package oauthcc
