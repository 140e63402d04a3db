package enginetest

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// BenchSize is the number of Observations the search benchmarks preload:
// $SOCIALRX_BENCH_N, 2000 if unset (e.g. SOCIALRX_BENCH_N=100000 on demand).
func BenchSize() int {
	if n, err := strconv.Atoi(os.Getenv("SOCIALRX_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// BenchCodes is how many distinct codes the benchmark Observations use.
const BenchCodes = 10

// BenchPatient is the patient of Observation i (ten Observations each).
func BenchPatient(i int) string { return fmt.Sprintf("p%06d", i/10) }

// BenchCode is the LOINC code of Observation i.
func BenchCode(i int) string { return fmt.Sprintf("%d-%d", 8000+i%BenchCodes, i%7) }

// ObservationBody is a realistic Observation (about 900 bytes) for the
// benchmarks, for the stores and their plain-SQL baselines alike.
func ObservationBody(i int) []byte {
	return fmt.Appendf(nil, `{"resourceType":"Observation","status":"final",`+
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history","display":"Social History"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":%q,"display":"Screening item %d"}],"text":"Screening item"},`+
		`"subject":{"reference":"Patient/%s"},"encounter":{"reference":"Encounter/e%d"},`+
		`"effectiveDateTime":"2024-03-%02dT10:%02d:00Z","issued":"2024-03-%02dT11:00:00.000Z",`+
		`"performer":[{"reference":"Practitioner/pr%d"}],`+
		`"valueQuantity":{"value":%d.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"},`+
		`"note":[{"text":"benchmark observation with some free text to give the body a realistic size"}],`+
		`"extension":[{"url":"http://example.org/fhir/StructureDefinition/source","valueString":"bench"}]}`,
		BenchCode(i), i%BenchCodes, BenchPatient(i), i/5, 1+i%28, i%60, 1+i%28, i%50, 40+i%60)
}

// benchPeriod is the period of ObservationBody's content (codes repeat every
// 70 Observations).
const benchPeriod = 70

// SameRows gives the plain-SQL baselines the rows a store writes for
// Observation i: the stamped body (current and history row) and the same
// index rows as search.Index extracts. The work is done once per template
// (outside the timed loop's cost): Rows patches the id and the references
// that vary, so a baseline pays only for its SQL.
type SameRows struct {
	body [benchPeriod][]byte
	idx  [benchPeriod][]sqlstore.IndexRow
}

// NewSameRows computes the templates.
func NewSameRows() *SameRows {
	s := &SameRows{}
	lu := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for k := range benchPeriod {
		id := fmt.Sprintf("o%d", k)
		body, err := fhir.StampMeta(ObservationBody(k), id, 1, lu)
		if err != nil {
			panic(err)
		}
		entries, err := search.Index("Observation", body)
		if err != nil {
			panic(err)
		}
		s.body[k], s.idx[k] = body, sqlstore.IndexRows("Observation", id, entries)
	}
	return s
}

// IndexRowsPer is how many index rows the stores write per benchmark
// Observation.
func (s *SameRows) IndexRowsPer() int { return len(s.idx[0]) }

// Rows returns the id, body and index rows of Observation i.
func (s *SameRows) Rows(i int) (id string, body []byte, idx []sqlstore.IndexRow) {
	k := i % benchPeriod
	id = fmt.Sprintf("o%d", i)
	idx = append([]sqlstore.IndexRow(nil), s.idx[k]...)
	patient := BenchPatient(i)
	for j := range idx {
		r := &idx[j]
		r.ResID = id
		switch r.Param {
		case "_id":
			r.Code = id
		case "subject", "patient":
			r.RefID, r.Exact = patient, "Patient/"+patient
		}
	}
	return id, s.body[k], idx
}

// Latencies collects per-operation durations for percentile metrics.
type Latencies []time.Duration

// Time runs fn and records how long it took.
func (l *Latencies) Time(fn func()) {
	t := time.Now()
	fn()
	*l = append(*l, time.Since(t))
}

// Report adds p50 and p99 (microseconds) to the benchmark's metrics.
func (l Latencies) Report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	at := func(p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
