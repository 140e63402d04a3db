package httpapi

import (
	"slices"
	"testing"
)

// TestEveryRouteDeclaresAccess: a FHIR route either names what its
// principal must be allowed (need), or is one of the few that check in
// their handler or need no scope. A new route must take a side here, so
// that none is left open to any authenticated client by oversight.
func TestEveryRouteDeclaresAccess(t *testing.T) {
	checked := []string{
		"POST ",                  // transaction/batch: each entry (permitOp)
		"POST /$validate",        // reads and stores nothing: authentication only
		"POST /:type/$validate",  // the same
		"GET /$export",           // kick-off: r on each type of _type, checked in the handler
		"GET /:type/$export",     // the same
		"GET /:type/:id/$export", // the same (Group: 501 for now)
	}
	s := &Server{}
	for _, r := range s.fhirRoutes() {
		key := r.method + " " + r.path
		switch {
		case r.access == accessOpen:
			if r.path != "/metadata" {
				t.Errorf("%s is open to anyone", key)
			}
		case r.access == accessOwn:
			if r.path != "/$process-messages" {
				t.Errorf("%s authenticates itself", key)
			}
		case len(r.need) == 0 && !slices.Contains(checked, key):
			t.Errorf("%s declares no need and is not known to check in its handler; give it a need or add it to this test with the reason", key)
		}
	}
}
