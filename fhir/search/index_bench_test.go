package search

import (
	"net/url"
	"testing"
)

// BenchmarkIndex measures Index on a 6 KB Observation (parse + every
// parameter); BenchmarkIndexTree the evaluation alone.
func BenchmarkIndex(b *testing.B) {
	body := readExample(b, "Observation-glasgow.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Index("Observation", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndexTree(b *testing.B) {
	root := treeOf(b, string(readExample(b, "Observation-glasgow.json")))
	tp := typeSearchParams("Observation")
	b.ReportAllocs()
	for b.Loop() {
		indexTree(tp, root)
	}
}

func BenchmarkParseQuery(b *testing.B) {
	vals := url.Values{
		"patient":    {"Patient/p1"},
		"code":       {"http://loinc.org|29463-7,http://loinc.org|3141-9"},
		"date":       {"ge2020-01-01", "lt2021-01-01T00:00:00Z"},
		"status:not": {"cancelled"},
		"_sort":      {"-date"},
		"_count":     {"50"},
		"_include":   {"Observation:subject"},
	}
	b.ReportAllocs()
	for b.Loop() {
		ParseQuery("Observation", vals, true)
	}
}
