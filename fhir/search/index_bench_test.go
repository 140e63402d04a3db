package search

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
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

// BenchmarkIndexNames indexes Patients of n names (HumanName: the name
// union and its parts family and given). ns/name stays flat as n grows
// fourfold: the union's values are pruned with a set (a scan of the parts
// for every value took 11 s for 32,000 names).
func BenchmarkIndexNames(b *testing.B) {
	for _, n := range []int{4000, 16000, 64000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf(`{"family":"f%d","given":["g%d"]}`, i, i)
			}
			body := []byte(`{"resourceType":"Patient","name":[` + strings.Join(names, ",") + `]}`)
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Index("Patient", body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/name")
		})
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
