package search

import (
	"encoding/json"
	"testing"

	"github.com/socialrx/socialrx/fhir"
)

func TestDefinitions(t *testing.T) {
	defs := Definitions()
	want := map[string]bool{"ServiceRequest-prescription-form": true, "ServiceRequest-prescription-channel": true,
		"ServiceRequest-need-domain": true, "Task-work-list": true, "Task-due-date": true, "Task-delivery-state": true,
		"HealthcareService-need-domain": true, "HealthcareService-communication": true, "HealthcareService-eligibility": true,
		"HealthcareService-cost": true, "HealthcareService-last-verified": true, "HealthcareService-capacity": true,
		"HealthcareService-available-at": true}
	if len(defs) != len(want) {
		t.Errorf("%d definitions, want %d", len(defs), len(want))
	}
	for _, b := range defs {
		d, issues := fhir.Decode(b, "SearchParameter")
		if d == nil || fhir.HasErrors(issues) {
			t.Errorf("definition is not a valid SearchParameter: %v\n%s", issues, b)
			continue
		}
		var sp struct {
			ID, URL, Code, Type, Expression string
			Base                            []string
		}
		if err := json.Unmarshal(b, &sp); err != nil {
			t.Fatal(err)
		}
		if !want[sp.ID] || sp.URL != SearchParameterBase+sp.ID || len(sp.Base) != 1 {
			t.Errorf("unexpected definition %s", b)
			continue
		}
		p, ok := LookupParam(sp.Base[0], sp.Code)
		if !ok || p.URL != sp.URL || string(p.Type) != sp.Type {
			t.Errorf("%s: does not match the served parameter %+v", sp.ID, p)
		}
		if p.Derived != (sp.Expression == "") {
			t.Errorf("%s: derived %v but expression %q", sp.ID, p.Derived, sp.Expression)
		}
	}
}
