package fhir

import "net/url"

// OWNER: fhir-search helper. This file holds placeholder bodies that the
// search work replaces; the signatures are the contract other packages use.

// SearchParams returns the search parameters type supports, sorted by name,
// including the common ones (_id, _lastUpdated, ...).
func SearchParams(typ string) []SearchParam { return nil }

// LookupParam returns the search parameter name of type typ.
func LookupParam(typ, name string) (SearchParam, bool) { return SearchParam{}, false }

// Index returns the index entries of a resource (body is its JSON), one per
// value per search parameter of its type. It never fails on content it does
// not understand (that value is skipped); an error means body is not JSON.
func Index(typ string, body []byte) ([]IndexEntry, error) { return nil, nil }

// ParseQuery parses FHIR search parameters for type typ. Unknown parameters
// are listed in Query.Ignored, or, when strict, returned as error issues.
// Malformed values (a bad date, an unknown prefix or modifier) are error
// issues in both modes. Issues carry the parameter name as Path.
func ParseQuery(typ string, params url.Values, strict bool) (*Query, []Issue) {
	return &Query{Type: typ}, nil
}
