package mapping

import "testing"

// A Location whose position is not a place (written over FHIR, where no
// range is checked) counts as one without a position, so it never builds
// an invalid near search for the alternatives.
func TestLocationPositionRange(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"resourceType":"Location","position":{"latitude":43.65,"longitude":-79.38}}`, true},
		{`{"resourceType":"Location","position":{"latitude":95,"longitude":-79.38}}`, false},
		{`{"resourceType":"Location","position":{"latitude":43.65,"longitude":-181}}`, false},
		{`{"resourceType":"Location","position":{"latitude":43.65}}`, false},
		{`{"resourceType":"Location"}`, false},
	} {
		if _, _, ok := LocationPosition([]byte(tt.body)); ok != tt.ok {
			t.Errorf("LocationPosition(%s) ok = %v, want %v", tt.body, ok, tt.ok)
		}
	}
}
