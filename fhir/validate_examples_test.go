package fhir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// invalidExample is the one official example that is itself invalid R4
// (docs/validation.md): 32 nested Questionnaire.item without the required
// linkId (1..1).
const invalidExample = "Questionnaire-qs1.json"

var invalidExampleIssue = regexp.MustCompile(`^Questionnaire(\.item\[\d+\])+\.linkId$`)

// checkExampleIssues reports the error issues of an official example:
// none is expected, except exactly the known defect of invalidExample.
func checkExampleIssues(t *testing.T, file string, issues []Issue) {
	t.Helper()
	base := filepath.Base(file)
	var errs []Issue
	for _, i := range issues {
		if i.Severity == "error" {
			errs = append(errs, i)
		}
	}
	if base != invalidExample {
		for _, i := range errs {
			t.Errorf("%s: %+v", base, i)
		}
		return
	}
	if len(errs) != 32 {
		t.Errorf("%s: %d error issues, want the 32 missing linkId", base, len(errs))
	}
	for _, i := range errs {
		if i.Code != "required" || !invalidExampleIssue.MatchString(i.Path) {
			t.Errorf("%s: %+v, want only missing Questionnaire.item.linkId", base, i)
		}
	}
}

// exampleFiles returns the official example files (testdata/fhir-examples,
// and the Group and Measure examples of testdata/fhir-examples-extra).
func exampleFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"fhir-examples/r4/*.json", "fhir-examples/sdoh-cc/json/*.json", "fhir-examples-extra/r4/*.json"} {
		m, err := filepath.Glob(filepath.Join("..", "testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 349 {
		t.Fatalf("found %d example files, want the 338 of testdata/fhir-examples and the 11 of testdata/fhir-examples-extra", len(files))
	}
	return files
}

// TestDecodeExamples: every official example of a supported type decodes
// with no error issue, except the known invalid one, refused for exactly
// its defect; every other one is refused as not supported.
func TestDecodeExamples(t *testing.T) {
	for _, f := range exampleFiles(t) {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d, issues := Decode(body, "")
		if !Supported(head.ResourceType) {
			if d != nil || len(issues) != 1 || issues[0].Code != "not-supported" {
				t.Errorf("%s: Decode of unsupported %s: got %v %+v, want one not-supported issue", f, head.ResourceType, d, issues)
			}
			// The element checks hold for every R4 type, Bundles included.
			for _, i := range checkAny(t, body) {
				t.Errorf("%s: %+v", filepath.Base(f), i)
			}
			continue
		}
		checkExampleIssues(t, f, issues)
		if d == nil {
			continue
		}
		if d.Type != head.ResourceType || d.ID != head.ID || string(d.Body) != string(body) {
			t.Errorf("%s: Decoded{%s %s} (body same: %v), want {%s %s} and the body unchanged", f, d.Type, d.ID, string(d.Body) == string(body), head.ResourceType, head.ID)
		}
	}
}
