package fhir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBundle(t *testing.T) {
	e := func(code, path, msg string) Issue {
		return Issue{Severity: "error", Code: code, Path: path, Message: msg}
	}
	tests := []struct {
		name   string
		in     string
		want   *Bundle
		issues []Issue
	}{
		{
			name: "transaction",
			in: `{"resourceType":"Bundle","id":"b","type":"transaction","entry":[
				{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":{"resourceType":"Patient","x":1.50},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a|b"}},
				{"request":{"method":"GET","url":"Patient/1","ifMatch":"W/\"1\"","ifNoneMatch":"*","ifModifiedSince":"2020-01-01T00:00:00Z"}}]}`,
			want: &Bundle{ID: "b", Type: "transaction", Entries: []Entry{
				{FullURL: "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", Resource: json.RawMessage(`{"resourceType":"Patient","x":1.50}`), Request: &EntryRequest{Method: "POST", URL: "Patient", IfNoneExist: "identifier=a|b"}, Path: "Bundle.entry[0]"},
				{Request: &EntryRequest{Method: "GET", URL: "Patient/1", IfMatch: `W/"1"`, IfNoneMatch: "*", IfModifiedSince: "2020-01-01T00:00:00Z"}, Path: "Bundle.entry[1]"},
			}},
		},
		{
			name: "batch without requests",
			in:   `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient"}},{"request":{"method":"FETCH"}},{"request":{"url":"x"}}]}`,
			issues: []Issue{
				codeIssue(t, "Bundle.entry[1].request.method", "http-verb"),
				e("required", "Bundle.entry[1].request.url", "required element is missing (min 1 in R4)"),
				e("required", "Bundle.entry[2].request.method", "required element is missing (min 1 in R4)"),
				e("required", "Bundle.entry[0].request", "a batch entry needs a request"),
			},
		},
		{
			name: "collection needs no request",
			in:   `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Medication"}}]}`,
			want: &Bundle{Type: "collection", Entries: []Entry{{Resource: json.RawMessage(`{"resourceType":"Medication"}`), Path: "Bundle.entry[0]"}}},
		},
		{name: "not a bundle", in: `{"resourceType":"Patient"}`, issues: []Issue{e("invalid", "Bundle", "resourceType must be Bundle")}},
		{name: "no type", in: `{"resourceType":"Bundle"}`, issues: []Issue{e("required", "Bundle.type", "required element is missing (min 1 in R4)")}},
		{name: "bad type", in: `{"resourceType":"Bundle","type":"pile"}`, issues: []Issue{codeIssue(t, "Bundle.type", "bundle-type")}},
		{name: "entry not array", in: `{"resourceType":"Bundle","type":"batch","entry":{}}`, issues: []Issue{e("structure", "Bundle.entry", "expected an array")}},
		{name: "resource not object", in: `{"resourceType":"Bundle","type":"collection","entry":[{"resource":"x"}]}`, issues: []Issue{e("structure", "Bundle.entry[0].resource", "a resource must be a JSON object")}},
		{name: "invalid JSON", in: `{"resourceType":"Bundle",}`, issues: []Issue{e("structure", "Bundle", "invalid JSON at byte 25: expected a member name")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, issues := ParseBundle([]byte(tt.in))
			if diff := cmp.Diff(tt.issues, issues); diff != "" {
				t.Errorf("issues (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Bundle (-want +got)\n%s", diff)
			}
		})
	}
}

// TestParseBundleExamples: the official Bundle examples parse, and their
// entry resources of supported types pass DecodeAt.
func TestParseBundleExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "fhir-examples", "*", "Bundle-*.json"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "fhir-examples", "sdoh-cc", "json", "Bundle-*.json"))
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("found %d Bundle examples", len(files))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, issues := ParseBundle(body)
		if b == nil {
			t.Errorf("%s: %+v", f, issues)
			continue
		}
		for _, e := range b.Entries {
			if e.Resource == nil {
				continue
			}
			var head struct{ ResourceType string }
			json.Unmarshal(e.Resource, &head)
			if !Supported(head.ResourceType) {
				continue
			}
			if _, issues := DecodeAt(e.Resource, "", e.Path+".resource"); HasErrors(issues) {
				t.Errorf("%s: %+v", f, issues)
			}
		}
	}
}
