package mapping

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

func TestNeedFromConditionSDOHCC(t *testing.T) {
	onset2019 := time.Date(2019, 8, 18, 12, 31, 35, 123000000, time.UTC)
	need := func(id string, d socialrx.NeedDomain, code, display string, at time.Time) *socialrx.Need {
		return &socialrx.Need{PatientID: "pat-53234", Domain: d, Code: socialrx.Coding{System: systemSNOMED, Code: code, Display: display},
			Source: "Condition/" + id, Status: "active", RecordedAt: at}
	}
	tests := []struct {
		file string
		want *socialrx.Need
	}{
		{"Condition-SDOHCC-ConditionFoodInsecurityExample.json", need("SDOHCC-ConditionFoodInsecurityExample", socialrx.DomainFood, "733423003", "Food insecurity", onset2019)},
		{"Condition-SDOHCC-ConditionAsserterDeviceExample.json", need("SDOHCC-ConditionAsserterDeviceExample", socialrx.DomainFood, "733423003", "Food insecurity", onset2019)},
		{"Condition-SDOHCC-ConditionHomelessExample.json", need("SDOHCC-ConditionHomelessExample", socialrx.DomainHousing, "32911000", "Homeless", at2021)},
		{"Condition-SDOHCC-ConditionUnemployedExample.json", need("SDOHCC-ConditionUnemployedExample", socialrx.DomainFinances, "73438004", "Unemployed", at2021)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, ok, err := NeedFromCondition(readExample(t, tt.file))
			if err != nil || !ok {
				t.Fatalf("got ok %v err %v, want a need", ok, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("need (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("need invalid: %v", err)
			}
		})
	}
}

// TestNeedFromConditionAllExamples: every Condition of the SDOH CC examples
// and of the FHIR R4 examples maps without error; the R4 ones are clinical
// (not social).
func TestNeedFromConditionAllExamples(t *testing.T) {
	for _, f := range examples(t, "Condition") {
		b, _ := os.ReadFile(f)
		n, ok, err := NeedFromCondition(b)
		if err != nil || !ok {
			t.Errorf("%s: ok %v err %v, want a need", filepath.Base(f), ok, err)
			continue
		}
		if err := n.Validate(); err != nil {
			t.Errorf("%s: need invalid: %v", filepath.Base(f), err)
		}
	}
	r4, _ := filepath.Glob("../testdata/fhir-examples/r4/Condition-*.json")
	for _, f := range r4 {
		b, _ := os.ReadFile(f)
		if n, ok, err := NeedFromCondition(b); err != nil || ok || n != nil {
			t.Errorf("%s: %v %v %v, want not social", filepath.Base(f), n, ok, err)
		}
	}
}

func condJSON(extra string) []byte {
	return []byte(`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"}` + extra + `}`)
}

func TestNeedFromConditionRules(t *testing.T) {
	sdoh := `,"category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}]`
	code := func(system, c string) string {
		return `,"code":{"coding":[{"system":"` + system + `","code":"` + c + `"}]}`
	}
	n := func(d socialrx.NeedDomain, system, c string) *socialrx.Need {
		return &socialrx.Need{PatientID: "p1", Domain: d, Code: socialrx.Coding{System: system, Code: c}, Source: "Condition/c1"}
	}
	icdCA := "https://fhir.infoway-inforoute.ca/CodeSystem/icd10ca"
	tests := []struct {
		name string
		body []byte
		want *socialrx.Need
		ok   bool
	}{
		{"diabetes is not social", condJSON(code(systemSNOMED, "44054006")), nil, false},
		{"diabetes ICD-10 E11 not social", condJSON(code("http://hl7.org/fhir/sid/icd-10", "E11.9")), nil, false},
		{"ICD-10-CA without dot", condJSON(code(icdCA, "Z590")), n(socialrx.DomainHousing, icdCA, "Z590"), true},
		{"ICD-10-CA hl7 URI", condJSON(code("http://hl7.org/fhir/sid/icd-10-ca", "Z60.2")), n(socialrx.DomainSocialSupport, "http://hl7.org/fhir/sid/icd-10-ca", "Z60.2"), true},
		{"ICD-10-CM subcode falls back", condJSON(code("http://hl7.org/fhir/sid/icd-10-cm", "Z59.48")), n(socialrx.DomainFood, "http://hl7.org/fhir/sid/icd-10-cm", "Z59.48"), true},
		{"category fallback Z63.8", condJSON(code("http://hl7.org/fhir/sid/icd-10", "Z63.8")), n(socialrx.DomainSocialSupport, "http://hl7.org/fhir/sid/icd-10", "Z63.8"), true},
		{"Z55 social, unspecified", condJSON(code("http://hl7.org/fhir/sid/icd-10", "Z55.0")), n(socialrx.DomainUnspecified, "http://hl7.org/fhir/sid/icd-10", "Z55.0"), true},
		{"sdoh category, unknown code: unspecified", condJSON(sdoh + code(systemSNOMED, "1")), n(socialrx.DomainUnspecified, systemSNOMED, "1"), true},
		{"sdoh category, no code: the category coding", condJSON(sdoh), n(socialrx.DomainUnspecified, systemUSCoreCategory, "sdoh"), true},
		{"social-history category", condJSON(`,"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history"}]}]` + code("http://example.org", "x")),
			n(socialrx.DomainUnspecified, "http://example.org", "x"), true},
		{"SDOH CC category decides when the code does not", condJSON(`,"category":[{"coding":[{"system":"` + systemSDOHCC + `","code":"social-connection"}]}]` + code(systemSNOMED, "1")),
			n(socialrx.DomainSocialSupport, systemSDOHCC, "social-connection"), true},
		{"socialrx need-domain code", condJSON(code(needDomainSystem, "creative-expression")), n(socialrx.DomainCreativeExpression, needDomainSystem, "creative-expression"), true},
		{"unspecified code then known code: known wins", condJSON(`,"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"Z65.3"},{"system":"http://snomed.info/sct","code":"32911000"}]}`),
			n(socialrx.DomainHousing, systemSNOMED, "32911000"), true},
		{"entered-in-error", condJSON(code(systemSNOMED, "32911000") + `,"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"entered-in-error"}]}`), nil, false},
		{"refuted", condJSON(code(systemSNOMED, "32911000") + `,"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"refuted"}]}`), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := NeedFromCondition(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("need (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNeedFromConditionStatusAndTime(t *testing.T) {
	body := condJSON(`,"code":{"coding":[{"system":"http://snomed.info/sct","code":"32911000"}]},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"resolved"}]},"onsetDateTime":"2020-01-01","recordedDate":"2021-02-03T04:05:06Z"`)
	got, _, err := NeedFromCondition(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "resolved" || !got.RecordedAt.Equal(time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("got status %q recorded %v, want resolved at recordedDate", got.Status, got.RecordedAt)
	}
}

func TestNeedFromConditionErrors(t *testing.T) {
	tests := []struct {
		name, body, code, path string
	}{
		{"social without subject", `{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"32911000"}]}}`, socialrx.EUNPROCESSABLE, "Condition.subject"},
		{"subject not a Patient", `{"resourceType":"Condition","subject":{"reference":"Group/1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"32911000"}]}}`, socialrx.EUNPROCESSABLE, "Condition.subject.reference"},
		{"bad onset", `{"resourceType":"Condition","subject":{"reference":"Patient/1"},"onsetDateTime":"soon","code":{"coding":[{"system":"http://snomed.info/sct","code":"32911000"}]}}`, socialrx.EINVALID, "Condition.onsetDateTime"},
		{"wrong resource", `{"resourceType":"Observation"}`, socialrx.EINVALID, "Condition.resourceType"},
		{"wrong JSON type", `{"resourceType":"Condition","category":{"coding":[]}}`, socialrx.EINVALID, "Condition.category"},
		{"not JSON", `nope`, socialrx.EINVALID, "Condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NeedFromCondition([]byte(tt.body))
			wantPathErr(t, err, tt.code, tt.path)
		})
	}
	// A non-social Condition without subject is simply not a need.
	if n, ok, err := NeedFromCondition([]byte(`{"resourceType":"Condition","code":{"text":"diabetes"}}`)); n != nil || ok || err != nil {
		t.Errorf("got %v %v %v, want nil false nil", n, ok, err)
	}
}

func FuzzNeedFromCondition(f *testing.F) {
	seedExamples(f, "Condition")
	f.Add(condJSON(`,"category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, ok, err := NeedFromCondition(body)
		checkErr(t, err)
		if ok != (n != nil) {
			t.Fatalf("ok %v with need %v", ok, n)
		}
		if n != nil && !n.Domain.Valid() {
			t.Fatalf("domain %q not valid", n.Domain)
		}
	})
}
