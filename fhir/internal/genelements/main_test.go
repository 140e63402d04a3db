package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGeneratedFileIsCurrent: fhir/elements_gen.go is what the generator
// writes from the vendored schema (run go generate ./fhir if not).
func TestGeneratedFileIsCurrent(t *testing.T) {
	dir := filepath.Join("..", "..")
	src, err := os.ReadFile(filepath.Join(dir, "schema", "fhir.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(src, &s); err != nil {
		t.Fatal(err)
	}
	var summaries map[string]summaryInfo
	sb, err := os.ReadFile(filepath.Join(dir, "schema", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sb, &summaries); err != nil {
		t.Fatal(err)
	}
	want, err := generate(&s, summaries)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "elements_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("fhir/elements_gen.go is stale: run go generate ./fhir")
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		name string
		p    property
		want string
	}{
		{"subject", property{Ref: "#/definitions/Reference"}, "Reference"},
		{"contained", property{Ref: "#/definitions/ResourceList"}, "Resource"},
		{"status", property{Enum: []string{"a"}}, "code"},
		{"effectiveDateTime", property{Pattern: "x", Type: "string"}, "dateTime"},
		{"valueTime", property{Pattern: "x", Type: "string"}, "time"},
		{"valueUnsignedInt", property{Pattern: "x", Type: "number"}, "unsignedInt"},
	}
	for _, tt := range tests {
		got, err := typeOf(tt.name, tt.p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("typeOf(%s) (-want +got)\n%s", tt.name, diff)
		}
	}
	if _, err := typeOf("weird", property{Pattern: "x"}); err == nil {
		t.Error("typeOf of an unknown inline primitive: no error")
	}
}
