package mapping

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIsSocialServiceRequestExamples(t *testing.T) {
	for dir, want := range map[string]bool{"r4": false, "sdoh-cc/json": true} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "fhir-examples", dir, "ServiceRequest-*.json"))
		if len(files) == 0 {
			t.Fatalf("no ServiceRequest examples in %s", dir)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsSocialServiceRequest(b, nil); got != want {
				t.Errorf("IsSocialServiceRequest(%s) = %v, want %v", filepath.Base(f), got, want)
			}
		}
	}
}

func TestIsSocialServiceRequest(t *testing.T) {
	navigator := `{"resourceType":"PractitionerRole","id":"nav","code":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/practitioner-role","code":"navigator"}]}]}`
	foodCondition := `{"resourceType":"Condition","id":"c1","category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}],"code":{"coding":[{"system":"http://snomed.info/sct","code":"733423003"}]},"subject":{"reference":"Patient/p"}}`
	diabetes := `{"resourceType":"Condition","id":"c2","code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},"subject":{"reference":"Patient/p"}}`
	resolve := Resolver(func(ref string) ([]byte, bool) {
		switch ref {
		case "PractitionerRole/nav":
			return []byte(navigator), true
		case "Condition/c1":
			return []byte(foodCondition), true
		case "Condition/c2":
			return []byte(diabetes), true
		}
		return nil, false
	})
	sr := func(extra string) []byte {
		return []byte(`{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/p"}` + extra + `}`)
	}
	tests := []struct {
		name string
		body []byte
		want bool
	}{
		{"plain clinical order", sr(`,"code":{"coding":[{"system":"http://loinc.org","code":"24331-1"}]}`), false},
		{"socialrx form category", sr(`,"category":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/prescription-form","code":"navigator"}]}]`), true},
		{"socialrx need-domain category", sr(`,"category":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food"}]}]`), true},
		{"SDOH CC category", sr(`,"category":[{"coding":[{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"housing-instability"}]}]`), true},
		{"us-core sdoh category", sr(`,"category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}]`), true},
		{"SNOMED social service procedure", sr(`,"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002"}]}]`), true},
		{"other SNOMED category", sr(`,"category":[{"coding":[{"system":"http://snomed.info/sct","code":"108252007"}]}]`), false},
		{"ICD-10-CA Z59.0 reason", sr(`,"reasonCode":[{"coding":[{"system":"https://fhir.infoway-inforoute.ca/CodeSystem/icd10ca","code":"Z59.0"}]}]`), true},
		{"clinical reason", sr(`,"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}]`), false},
		{"reason: a social Condition", sr(`,"reasonReference":[{"reference":"Condition/c1"}]`), true},
		{"reason: a clinical Condition", sr(`,"reasonReference":[{"reference":"Condition/c2"}]`), false},
		{"reason: an unknown Condition", sr(`,"reasonReference":[{"reference":"Condition/none"}]`), false},
		{"navigator performer", sr(`,"performer":[{"reference":"PractitionerRole/nav"}]`), true},
		{"navigator performer, versioned", sr(`,"performer":[{"reference":"PractitionerRole/nav/_history/2"}]`), true},
		{"not a ServiceRequest", []byte(`{"resourceType":"Task"}`), false},
		{"not JSON", []byte(`{`), false},
	}
	for _, tt := range tests {
		if got := IsSocialServiceRequest(tt.body, resolve); got != tt.want {
			t.Errorf("%s: IsSocialServiceRequest = %v, want %v", tt.name, got, tt.want)
		}
	}
}
