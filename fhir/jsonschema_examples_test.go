package fhir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestValidateSchemaExamples: every official example (the R4 specification's
// and the SDOH Clinical Care IG's, all types, Bundles included) passes the
// official R4 JSON Schema with no issue.
func TestValidateSchemaExamples(t *testing.T) {
	for _, f := range exampleFiles(t) {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range ValidateSchema(body) {
			t.Errorf("%s: %+v", filepath.Base(f), i)
		}
	}
}
