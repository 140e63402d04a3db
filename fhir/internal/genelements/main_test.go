package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGeneratedFileIsCurrent: fhir/elements_gen.go is what the generator
// writes from the vendored schema (run go generate ./fhir if not).
func TestGeneratedFileIsCurrent(t *testing.T) {
	dir := filepath.Join("..", "..")
	src, err := os.ReadFile(filepath.Join(dir, "schema", "fhir.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(src, &s); err != nil {
		t.Fatal(err)
	}
	var summaries map[string]summaryInfo
	sb, err := os.ReadFile(filepath.Join(dir, "schema", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sb, &summaries); err != nil {
		t.Fatal(err)
	}
	rules, err := readRules(filepath.Join(dir, "schema", "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	expansions, err := readValueSets(filepath.Join(dir, "schema", "valuesets.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(&s, summaries, rules, expansions)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "elements_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("fhir/elements_gen.go is stale: run go generate ./fhir")
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		name string
		p    property
		want string
	}{
		{"subject", property{Ref: "#/definitions/Reference"}, "Reference"},
		{"contained", property{Ref: "#/definitions/ResourceList"}, "Resource"},
		{"status", property{Enum: []string{"a"}}, "code"},
		{"effectiveDateTime", property{Pattern: "x", Type: "string"}, "dateTime"},
		{"valueTime", property{Pattern: "x", Type: "string"}, "time"},
		{"valueUnsignedInt", property{Pattern: "x", Type: "number"}, "unsignedInt"},
	}
	for _, tt := range tests {
		got, err := typeOf(tt.name, tt.p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("typeOf(%s) (-want +got)\n%s", tt.name, diff)
		}
	}
	if _, err := typeOf("weird", property{Pattern: "x"}); err == nil {
		t.Error("typeOf of an unknown inline primitive: no error")
	}
}

// TestApplyRules: required elements (a choice as value[x]) and required
// bindings land on the types whose StructureDefinition path they have,
// backbone parts found through the element that holds them, or through its
// contentReference.
func TestApplyRules(t *testing.T) {
	types := map[string][]elem{
		"Thing":        {{Name: "status", Type: "code", Codes: []string{"a", "b"}}, {Name: "part", Type: "Thing_Part", Array: true}, {Name: "other", Type: "Thing_Part"}, {Name: "valueString", Type: "string"}, {Name: "valueBoolean", Type: "boolean"}},
		"Thing_Part":   {{Name: "kind", Type: "code", Codes: []string{"a", "b"}}, {Name: "sub", Type: "Thing_Sub"}},
		"Thing_Sub":    {{Name: "url", Type: "uri"}},
		"Unreachable_": {{Name: "x", Type: "string"}},
	}
	names := []string{"Thing", "Thing_Part", "Thing_Sub", "Unreachable_"}
	rules := map[string]rule{
		"Thing.status":        {Min: 1, Binding: "vs|1", Type: "code"},
		"Thing.value[x]":      {Min: 1},
		"Thing.other":         {Ref: "Thing.part"},
		"Thing.part.kind":     {Binding: "vs|1", Type: "code"},
		"Thing.part.sub.url":  {Min: 1},
		"Thing.part.coded":    {Binding: "big|1", Type: "code"},
		"Thing.part.concept":  {Binding: "cc|1", Type: "CodeableConcept"},
		"NotR4.element":       {Min: 1},
		"Thing.other.ignored": {Min: 1}, // below a contentReference: never in a snapshot, ignored
	}
	card, err := applyRules(names, types, rules, map[string][]string{"big|1": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"Thing": {"status", "value[x]"}, "Thing_Sub": {"url"}}, card.requiredOf); diff != "" {
		t.Errorf("required (-want +got)\n%s", diff)
	}
	if types["Thing"][0].ValueSet != "vs|1" || types["Thing_Part"][0].ValueSet != "vs|1" {
		t.Errorf("value sets: %q %q, want vs|1 twice", types["Thing"][0].ValueSet, types["Thing_Part"][0].ValueSet)
	}
	got := []int{card.required, card.requiredTypes, card.bound, len(card.valueSets), card.unenumerated, card.otherTypes}
	if diff := cmp.Diff([]int{3, 2, 2, 2, 1, 1}, got); diff != "" {
		t.Errorf("counts required, types, bound, value sets+1, unenumerated, other (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"NotR4.element"}, card.ignored); diff != "" {
		t.Errorf("ignored (-want +got)\n%s", diff)
	}

	// A required element the schema lacks is an error, not a gap.
	rules["Thing.missing"] = rule{Min: 1}
	if _, err := applyRules(names, types, rules, nil); err == nil {
		t.Error("required element not in the schema: no error")
	}
}
