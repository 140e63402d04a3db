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
