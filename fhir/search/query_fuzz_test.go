package search

import (
	"net/url"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/fhir"
)

// FuzzParseQuery feeds raw query strings to ParseQuery, lenient and strict:
// it must not panic, and every issue must carry a Path.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"code=http://loinc.org|29463-7,x&date=ge2020-03&date=lt2021",
		"subject:Patient.identifier=a|b&patient.name:exact=x",
		"_count=10&_sort=-date&_include=Observation:subject:Patient&_revinclude:iterate=Task:focus",
		"value-quantity=le5.4|http://unitsofmeasure.org|mg&_lastUpdated=gt2020-01-01T10:00:00%2B02:00",
		`identifier=a\|b|c\,d&name:contains=e&_has:Observation:patient:code=x&_elements=status`,
		"subject=Patient/1/_history/2,http://x/Patient/1&focus:missing=true&_summary=count&_total=none",
		// Issue 12 probes: many values, many parameters, NUL bytes.
		alternatives("name", "n", 400),
		repeated("name", "n", 500),
		repeated("name", "n", MaxParams) + "&" + alternatives("_id", "i", MaxValues-MaxParams),
		"name=x%00y&identifier=a%00b&_id=x%00y",
		"na%00me=x&_sort=" + strings.Repeat("name,", 20) + "name",
	} {
		f.Add(s)
	}
	types := []string{"Observation", "Patient", "Task"}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, _ := url.ParseQuery(raw)
		for _, typ := range types {
			for _, strict := range []bool{false, true} {
				q, issues := ParseQuery(typ, vals, strict)
				if q == nil {
					t.Fatalf("ParseQuery(%s, %q) returned a nil Query", typ, raw)
				}
				if !fhir.HasErrors(issues) {
					values := 0
					for _, c := range q.Clauses {
						values += len(c.Values)
						if c.Chain != nil {
							values += len(c.Chain.Clause.Values)
						}
					}
					if len(q.Clauses) > MaxParams || values > MaxValues || len(q.Sort) > MaxSortKeys {
						t.Fatalf("ParseQuery(%s, %q) accepted %d clauses, %d values, %d sort keys: over the limits", typ, raw, len(q.Clauses), values, len(q.Sort))
					}
				}
				for _, i := range append(issues, q.Ignored...) {
					if i.Path == "" || i.Message == "" || i.Code == "" {
						t.Fatalf("ParseQuery(%s, %q): issue without path, code or message: %+v", typ, raw, i)
					}
				}
				if !strict && len(q.Ignored) > 0 && fhir.HasErrors(q.Ignored) {
					t.Fatalf("ParseQuery(%s, %q): error in Ignored", typ, raw)
				}
				if strict && len(q.Ignored) > 0 {
					t.Fatalf("ParseQuery(%s, %q, strict): Ignored not empty", typ, raw)
				}
			}
		}
	})
}
