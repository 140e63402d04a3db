package fhir

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const subsetted = `{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"Resource encoded in summary mode"}`

const sumDoc = `{"resourceType":"Observation","id":"o1","meta":{"versionId":"2","tag":[{"code":"t"}]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},"status":"final","_status":{"id":"s"},"statusReason":{"text":"r"},"code":{"text":"c"},"valueQuantity":{"value":1.50},"note":[{"text":"n"}],"subject":{"reference":"Patient/p"}}`

func TestElements(t *testing.T) {
	tests := []struct {
		name     string
		elements []string
		want     string
	}{
		{name: "none", want: sumDoc},
		{
			name:     "choice and mandatory",
			elements: []string{"value", "note"},
			want:     `{"resourceType":"Observation","id":"o1","meta":{"versionId":"2","tag":[{"code":"t"},` + subsetted + `]},"status":"final","_status":{"id":"s"},"code":{"text":"c"},"valueQuantity":{"value":1.50},"note":[{"text":"n"}]}`,
		},
		{
			name:     "status is not statusReason",
			elements: []string{"subject"},
			want:     `{"resourceType":"Observation","id":"o1","meta":{"versionId":"2","tag":[{"code":"t"},` + subsetted + `]},"status":"final","_status":{"id":"s"},"code":{"text":"c"},"subject":{"reference":"Patient/p"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Elements([]byte(sumDoc), tt.elements)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Elements (-want +got)\n%s", diff)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	meta := `"meta":{"versionId":"2","tag":[{"code":"t"},` + subsetted + `]}`
	tests := []struct {
		mode, want string
	}{
		{"", sumDoc},
		{"false", sumDoc},
		{"true", `{"resourceType":"Observation","id":"o1",` + meta + `,"status":"final","_status":{"id":"s"},"code":{"text":"c"},"valueQuantity":{"value":1.50},"subject":{"reference":"Patient/p"}}`},
		{"text", `{"resourceType":"Observation","id":"o1",` + meta + `,"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},"status":"final","_status":{"id":"s"},"code":{"text":"c"}}`},
		{"data", `{"resourceType":"Observation","id":"o1",` + meta + `,"status":"final","_status":{"id":"s"},"statusReason":{"text":"r"},"code":{"text":"c"},"valueQuantity":{"value":1.50},"note":[{"text":"n"}],"subject":{"reference":"Patient/p"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			got, err := Summary([]byte(sumDoc), tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Summary (-want +got)\n%s", diff)
			}
			// Applying it twice adds no second tag.
			again, err := Summary(got, tt.mode)
			if err != nil || string(again) != string(got) {
				t.Errorf("Summary twice = %s, %v; want the same output", again, err)
			}
		})
	}
	for _, bad := range []struct{ body, mode string }{
		{sumDoc, "count"}, {sumDoc, "nope"}, {`{"resourceType":"Nope"}`, "data"}, {`[1]`, "true"},
	} {
		if _, err := Summary([]byte(bad.body), bad.mode); err == nil {
			t.Errorf("Summary(%s, %q): no error", bad.body, bad.mode)
		}
	}
	// No meta at all: one is added, after id.
	got, err := Summary([]byte(`{"id":"p","resourceType":"Patient","text":{"status":"empty","div":"<div/>"}}`), "data")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"resourceType":"Patient","id":"p","meta":{"tag":[` + subsetted + `]}}`; string(got) != want {
		t.Errorf("Summary without meta:\n got %s\nwant %s", got, want)
	}
}
