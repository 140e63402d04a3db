package storetest

import (
	"testing"

	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// TestSuiteQueries checks the suite itself: every query it sends is valid
// for search.ParseQuery in strict mode, so that a store refusing one is wrong.
func TestSuiteQueries(t *testing.T) {
	for _, c := range searchCases {
		if c.needs != "" {
			if _, ok := search.LookupParam(c.typ, c.needs); !ok {
				continue
			}
		}
		if _, issues := search.ParseQuery(c.typ, mustParseQuery(t, c.query), true); len(issues) > 0 {
			t.Errorf("%s?%s: %+v", c.typ, c.query, issues)
		}
	}
}

// TestSuiteFixtures checks the suite itself: every fixture is a resource
// fhir.Decode accepts, as the HTTP layer would before a store sees it.
func TestSuiteFixtures(t *testing.T) {
	bodies := append([]fixture{{"Patient", "rich", richPatient}, {"Patient", "rich", richPatientV2}}, searchFixtures...)
	for _, f := range bodies {
		d, issues := fhir.Decode([]byte(f.body), f.typ)
		if d == nil || fhir.HasErrors(issues) {
			t.Errorf("%s/%s: %+v", f.typ, f.id, issues)
		}
	}
}
