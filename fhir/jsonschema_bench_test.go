package fhir

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkValidateSchema checks a 5.6 KB Task (an official example)
// against the compiled schema.
func BenchmarkValidateSchema(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "fhir-examples", "r4", "Task-example1.json"))
	if err != nil {
		b.Fatal(err)
	}
	if issues := ValidateSchema(body); len(issues) != 0 { // compiles the schema
		b.Fatal(issues)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ValidateSchema(body)
	}
}

// BenchmarkValidateSchemaBundle checks a 76 KB collection Bundle of 59
// Practitioners (an official example).
func BenchmarkValidateSchemaBundle(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "fhir-examples", "r4", "Bundle-3ad0687e-f477-468c-afd5-fcc2bf897809.json"))
	if err != nil {
		b.Fatal(err)
	}
	if issues := ValidateSchema(body); len(issues) != 0 {
		b.Fatal(issues)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ValidateSchema(body)
	}
}

// BenchmarkCompileSchema measures what a process pays once: parsing and
// compiling the 3.6 MB schema.
func BenchmarkCompileSchema(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileSchema(); err != nil {
			b.Fatal(err)
		}
	}
}
