package fhir

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDecode decodes a 5.6 KB Task (an official example).
func BenchmarkDecode(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "fhir-examples", "r4", "Task-example1.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if d, issues := Decode(body, "Task"); d == nil {
			b.Fatal(issues)
		}
	}
}

// BenchmarkValidate runs Validate (what every write and the HSDS import
// check) on a 5.6 KB Task (an official example): Decode, the schema and the
// checks around them.
func BenchmarkValidate(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "fhir-examples", "r4", "Task-example1.json"))
	if err != nil {
		b.Fatal(err)
	}
	if issues := Validate(body, "Task"); HasErrors(issues) { // compiles the schema
		b.Fatal(issues)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		Validate(body, "Task")
	}
}
