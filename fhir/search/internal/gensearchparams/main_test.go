package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPartsFor(t *testing.T) {
	tests := []struct {
		expr, typ string
		want      []string
	}{
		{"Observation.subject | Condition.subject", "Condition", []string{"Condition.subject"}},
		{"(Observation.value as Quantity) | (Observation.value as SampledData)", "Observation", []string{"(Observation.value as Quantity)", "(Observation.value as SampledData)"}},
		{"Patient.telecom.where(system='a|b') | Person.telecom", "Patient", []string{"Patient.telecom.where(system='a|b')"}},
		{"PatientX.name | Patient", "Patient", []string{"Patient"}},
		{"Group.member", "Patient", nil},
	}
	for _, tt := range tests {
		got := partsFor(tt.expr, tt.typ)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("partsFor(%q, %s) mismatch (-want +got):\n%s", tt.expr, tt.typ, diff)
		}
	}
}
