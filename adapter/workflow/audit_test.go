package workflow

import (
	"fmt"
	"testing"

	"github.com/socialrx/socialrx"
)

// TestAuditPatientCache: the patient of a resource version read is found
// in its body once and kept for that version only; another version (whose
// subject changed) or another resource is read again; the cache stays
// bounded.
func TestAuditPatientCache(t *testing.T) {
	a := &Auditor{patients: map[patientKey]string{}}
	obs := func(patient string) []byte {
		return []byte(`{"resourceType":"Observation","subject":{"reference":"Patient/` + patient + `"}}`)
	}
	read := func(ref string, version int64, body []byte) string {
		return a.patientOf(socialrx.AuditEvent{Entity: ref, Version: version, Read: body})
	}
	for _, tc := range []struct {
		ref     string
		version int64
		body    []byte
		want    string
	}{
		{"Observation/o1", 1, obs("p1"), "Patient/p1"},
		{"Observation/o1", 1, obs("p1"), "Patient/p1"},
		{"Observation/o1", 2, obs("p2"), "Patient/p2"}, // a new version, another patient
		{"Observation/o2", 1, obs("p3"), "Patient/p3"},
		{"Observation/o1", 1, []byte(`{}`), "Patient/p1"}, // version 1 is kept: its body is not read again
		{"Patient/p9", 3, []byte(`{}`), "Patient/p9"},
		{"Observation/o3", 0, obs("p4"), "Patient/p4"}, // no version: not kept
		{"Observation/o3", 0, []byte(`{}`), ""},
	} {
		if got := read(tc.ref, tc.version, tc.body); got != tc.want {
			t.Errorf("patient of %s version %d = %q, want %q", tc.ref, tc.version, got, tc.want)
		}
	}
	for i := range patientCacheSize + 10 {
		read(fmt.Sprintf("Observation/x%d", i), 1, obs("p1"))
	}
	if n := len(a.patients); n > patientCacheSize {
		t.Errorf("cache holds %d versions, want at most %d", n, patientCacheSize)
	}
}
