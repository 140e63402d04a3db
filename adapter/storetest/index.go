package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

// testIndexConsistency proves that the search index follows every write:
// an update that changes a value moves the resource out of the old value's
// results and into the new one's, and a delete removes it from all of them.
func testIndexConsistency(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	mustCreate(t, s, "Patient", "bystander", patientBody("Beforeval", "Stays", "1960-01-01"))

	// matchIDs searches Patient with query and returns the match ids, sorted.
	matchIDs := func(query string) []string {
		t.Helper()
		m, _, first := searchAll(t, s, "Patient", query)
		if first.Total != len(m) {
			t.Errorf("Patient?%s: Total %d with %d matches", query, first.Total, len(m))
		}
		return sorted(ids(m))
	}
	check := func(step, query string, want ...string) {
		t.Helper()
		if got := matchIDs(query); !slices.Equal(got, want) {
			t.Errorf("after %s: Patient?%s matches %v, want %v", step, query, got, want)
		}
	}

	mustCreate(t, s, "Patient", "x", `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"one"}],"name":[{"family":"Beforeval"}],"gender":"female","birthDate":"1970-01-01"}`)
	check("create", "family=beforeval", "bystander", "x")
	check("create", "identifier=urn:sys|one", "x")
	check("create", "birthdate=1970", "x")
	check("create", "gender=female", "x")

	mustUpdate(t, s, "Patient", "x", `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"two"}],"name":[{"family":"Afterval"}],"birthDate":"1971-01-01"}`, 1)
	check("update", "family=beforeval", "bystander")
	check("update", "family=afterval", "x")
	check("update", "identifier=urn:sys|one")
	check("update", "identifier=urn:sys|two", "x")
	check("update", "birthdate=1970")
	check("update", "birthdate=1971", "x")
	check("update", "gender=female")
	check("update", "gender:missing=true", "bystander", "x")
	if m, _, _ := searchAll(t, s, "Patient", "family=afterval"); len(m) == 1 && m[0].VersionID != 2 {
		t.Errorf("after update: the match is version %d, want 2", m[0].VersionID)
	}

	mustDelete(t, s, "Patient", "x")
	check("delete", "family=afterval")
	check("delete", "identifier=urn:sys|two")
	check("delete", "_id=x")
	check("delete", "gender:missing=true", "bystander")
	check("delete", "", "bystander")

	mustUpdate(t, s, "Patient", "x", `{"resourceType":"Patient","name":[{"family":"Recreated"}]}`, 0)
	check("recreate", "family=recreated", "x")
	check("recreate", "family=afterval")
	check("recreate", "_id=x", "x")
}

// testSearchLastUpdated proves _lastUpdated with ge and lt, on a boundary
// between two writes.
func testSearchLastUpdated(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	a := mustCreate(t, s, "Patient", "a", patientBody("Early", "A", "1970-01-01"))
	// The boundary is the next whole second after a was written, so that
	// its precision is plain; wait for the clock (not for work) to pass it.
	boundary := a.LastUpdated.Truncate(time.Second).Add(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(boundary.Add(time.Millisecond)) {
		if time.Now().After(deadline) {
			t.Fatalf("the clock did not pass %s", boundary)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := mustCreate(t, s, "Patient", "b", patientBody("Late", "B", "1970-01-01"))
	if b.LastUpdated.Before(boundary) {
		t.Fatalf("Patient/b written at %s, before %s (store clock behind the test's?)", b.LastUpdated, boundary)
	}
	at := boundary.UTC().Format("2006-01-02T15:04:05Z")
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"_lastUpdated=ge" + at, []string{"b"}},
		{"_lastUpdated=lt" + at, []string{"a"}},
		{"_lastUpdated=gt" + a.LastUpdated.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05Z"), []string{"a", "b"}},
		{"_lastUpdated=lt2000-01-01", nil},
		{"_lastUpdated=ge" + b.LastUpdated.Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z"), nil},
		{"_lastUpdated=ge" + at + "&_lastUpdated=lt" + b.LastUpdated.Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z"), []string{"b"}},
	} {
		m, _, _ := searchAll(t, s, "Patient", c.query)
		if got := sorted(ids(m)); !slices.Equal(got, c.want) {
			t.Errorf("Patient?%s: matches %v, want %v (a at %s, b at %s)", c.query, got, c.want, a.LastUpdated, b.LastUpdated)
		}
	}
}
