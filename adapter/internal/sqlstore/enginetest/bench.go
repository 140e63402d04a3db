package enginetest

import (
	"fmt"
	"os"
	"strconv"
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
