package mapping

import (
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

func TestPatientID(t *testing.T) {
	tests := []struct {
		ref  *reference
		want string
		path string // error path, "" for none
	}{
		{&reference{"Patient/p1"}, "p1", ""},
		{&reference{"Patient/p1/_history/3"}, "p1", ""},
		{&reference{"https://emr.example/fhir/Patient/p1"}, "p1", ""},
		{nil, "", "X.subject"},
		{&reference{""}, "", "X.subject"},
		{&reference{"Group/g"}, "", "X.subject.reference"},
		{&reference{"#p1"}, "", "X.subject.reference"},
		{&reference{"Patient/a b"}, "", "X.subject.reference"},
	}
	for _, tt := range tests {
		got, err := patientID(tt.ref, "X.subject")
		if tt.path == "" {
			if err != nil || got != tt.want {
				t.Errorf("patientID(%v) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
			continue
		}
		if is := socialrx.ErrorIssues(err); len(is) != 1 || is[0].Path != tt.path || socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE {
			t.Errorf("patientID(%v) error = %v, want unprocessable at %s", tt.ref, err, tt.path)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"2020", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"2020-09", time.Date(2020, 9, 1, 0, 0, 0, 0, time.UTC), false},
		{"2020-09-10", time.Date(2020, 9, 10, 0, 0, 0, 0, time.UTC), false},
		{"2020-09-10T21:56:54.671Z", at2020, false},
		{"2020-09-10T23:56:54.671+02:00", at2020, false},
		{"10/09/2020", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseDateTime(tt.in, "X.date")
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("parseDateTime(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestErrorsHoldNoValues: messages name paths, never the values sent.
func TestErrorsHoldNoValues(t *testing.T) {
	secret := "SECRET-1234567"
	bodies := []string{
		`{"resourceType":"Observation","id":"o","effectiveDateTime":"` + secret + `","subject":{"reference":"Patient/p"},"code":{"coding":[{"system":"http://loinc.org","code":"88124-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA19952-3"}]}}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1234567.5}, "status": 1234567}`,
		`{"resourceType":"Observation","subject":{"reference":"Group/` + secret + `"},"code":{"coding":[{"system":"http://loinc.org","code":"88124-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA19952-3"}]}}`,
	}
	for _, b := range bodies {
		_, err := FindingsFromObservation([]byte(b))
		if err == nil {
			t.Fatalf("no error for %s", b)
		}
		msg := err.Error()
		for _, is := range socialrx.ErrorIssues(err) {
			msg += is.Message
		}
		for _, leak := range []string{secret, "1234567"} {
			if strings.Contains(msg, leak) {
				t.Errorf("error %q repeats a value", msg)
			}
		}
	}
}
