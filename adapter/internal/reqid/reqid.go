// Package reqid is the request id rule the FHIR API and the patient form
// share: a client's X-Request-Id is kept when it is a short token of safe
// characters (it goes into logs and AuditEvents), else a new UUID is given.
package reqid

import (
	"strings"

	"github.com/google/uuid"
)

// Header is the request id header, echoed back or generated.
const Header = "X-Request-Id"

// Valid reports whether id may be kept: 1 to 128 letters, digits and
// -_.: (nothing a log line or a header could be made to carry).
func Valid(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

// For returns the id of a request whose header held given: given when
// Valid, else a new UUID.
func For(given string) string {
	if Valid(given) {
		return given
	}
	return uuid.NewString()
}
