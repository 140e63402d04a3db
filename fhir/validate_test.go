package fhir

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	e := func(code, path, msg string) Issue {
		return Issue{Severity: "error", Code: code, Path: path, Message: msg}
	}
	w := func(code, path, msg string) Issue {
		return Issue{Severity: "warning", Code: code, Path: path, Message: msg}
	}
	tests := []struct {
		name, in, want, prefix string
		issues                 []Issue
		ok                     bool // Decoded is not nil
	}{
		{name: "minimal", in: `{"resourceType":"Patient","id":"p1"}`, ok: true},
		{name: "want type", in: `{"resourceType":"Patient"}`, want: "Patient", ok: true},
		{name: "not JSON", in: `{"resourceType":`, want: "Patient", issues: []Issue{e("structure", "Patient", "invalid JSON at byte 16: unexpected end")}},
		{name: "trailing data", in: `{"resourceType":"Patient"} {}`, issues: []Issue{e("structure", "", "invalid JSON at byte 27: data after the value")}},
		{name: "duplicate key", in: `{"resourceType":"Patient","id":"a","id":"b"}`, issues: []Issue{e("structure", "", "invalid JSON at byte 35: duplicate member name")}},
		{name: "duplicate key escaped", in: `{"resourceType":"Patient","id":"a","\u0069d":"b"}`, issues: []Issue{e("structure", "", "invalid JSON at byte 35: duplicate member name")}},
		{name: "not UTF-8", in: "{\"resourceType\":\"Patient\",\"gender\":\"\xff\"}", issues: []Issue{e("structure", "", "invalid JSON: not UTF-8")}},
		{name: "unpaired surrogate", in: `{"resourceType":"Patient","gender":"\ud800"}`, issues: []Issue{e("structure", "", "invalid JSON at byte 42: unpaired surrogate escape")}},
		{name: "array", in: `[]`, want: "Patient", issues: []Issue{e("structure", "Patient", "a resource must be a JSON object")}},
		{name: "no resourceType", in: `{"id":"x"}`, issues: []Issue{e("required", "", "resourceType is missing")}},
		{name: "resourceType number", in: `{"resourceType":1}`, issues: []Issue{e("structure", "", "resourceType must be a JSON string")}},
		{name: "unknown type", in: `{"resourceType":"Foo"}`, issues: []Issue{e("not-supported", "", "unknown resource type")}},
		{name: "unsupported type", in: `{"resourceType":"Medication"}`, issues: []Issue{e("not-supported", "Medication", "resource type Medication is not supported by this server")}},
		{name: "type mismatch", in: `{"resourceType":"Patient"}`, want: "Observation", issues: []Issue{e("invalid", "Patient", "resourceType Patient does not match Observation")}},
		{name: "bad id", in: `{"resourceType":"Patient","id":"a b"}`, issues: []Issue{e("value", "Patient.id", "invalid id")}},
		{name: "unknown element kept", in: `{"resourceType":"Patient","nickname":{"x":1}}`, issues: []Issue{w("structure", "Patient.nickname", "unknown element (kept)")}, ok: true},
		{name: "unknown element with NUL", in: `{"resourceType":"Patient","nickname":["\u0000"]}`, issues: []Issue{w("structure", "Patient.nickname", "unknown element (kept)"), e("value", "Patient.nickname", "string holds a control character")}},
		{name: "control character", in: `{"resourceType":"Patient","name":[{"given":["a\u0007"]}]}`, issues: []Issue{e("value", "Patient.name[0].given[0]", "string holds a control character")}},
		{name: "tab newline allowed", in: `{"resourceType":"Patient","name":[{"text":"a\tb\r\nc"}]}`, ok: true},
		{name: "string for object", in: `{"resourceType":"Patient","maritalStatus":"M"}`, issues: []Issue{e("structure", "Patient.maritalStatus", "expected a JSON object (type CodeableConcept)")}},
		{name: "scalar for array", in: `{"resourceType":"Patient","name":{"text":"x"}}`, issues: []Issue{e("structure", "Patient.name", "expected an array")}},
		{name: "array for scalar", in: `{"resourceType":"Patient","gender":["male"]}`, issues: []Issue{e("structure", "Patient.gender", "expected a single value, not an array")}},
		{name: "number for string", in: `{"resourceType":"Patient","birthDate":1970}`, issues: []Issue{e("structure", "Patient.birthDate", "expected a JSON string (type date)")}},
		{name: "string for boolean", in: `{"resourceType":"Patient","active":"true"}`, issues: []Issue{e("structure", "Patient.active", "expected a JSON boolean (type boolean)")}},
		{name: "string for decimal", in: `{"resourceType":"Observation","code":{"text":"c"},"status":"final","valueQuantity":{"value":"1.5"}}`, issues: []Issue{e("structure", "Observation.valueQuantity.value", "expected a JSON number (type decimal)")}},
		{name: "bad date", in: `{"resourceType":"Patient","birthDate":"1970-02-30"}`, issues: []Issue{e("value", "Patient.birthDate", "invalid date")}},
		{name: "bad code", in: `{"resourceType":"Patient","gender":" male"}`, issues: []Issue{e("value", "Patient.gender", "invalid code")}},
		{name: "empty string", in: `{"resourceType":"Patient","gender":""}`, issues: []Issue{e("value", "Patient.gender", "empty string (type code)")}},
		{name: "empty object", in: `{"resourceType":"Patient","maritalStatus":{}}`, issues: []Issue{e("structure", "Patient.maritalStatus", "empty object")}},
		{name: "empty array", in: `{"resourceType":"Patient","name":[]}`, issues: []Issue{e("structure", "Patient.name", "empty array")}},
		{name: "null", in: `{"resourceType":"Patient","gender":null}`, issues: []Issue{e("structure", "Patient.gender", "expected a JSON string (type code)")}},
		{name: "bad integer in component", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"component":[{"code":{"text":"a"}},{"code":{"text":"b"}},{"code":{"text":"c"},"valueInteger":1.5}]}`, issues: []Issue{e("value", "Observation.component[2].valueInteger", "invalid integer")}},
		{name: "integer range", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"valueInteger":2147483648}`, issues: []Issue{e("value", "Observation.valueInteger", "invalid integer")}},
		{name: "positiveInt", in: `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}],"minutesDuration":0}`, issues: []Issue{e("value", "Appointment.minutesDuration", "invalid positiveInt")}},
		{name: "decimal precision kept", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"valueQuantity":{"value":1.50}}`, ok: true},
		{name: "primitive extension", in: `{"resourceType":"Patient","birthDate":"1970","_birthDate":{"extension":[{"url":"http://x","valueDateTime":"1970-03-01T10:00:00+01:00"}]}}`, ok: true},
		{name: "primitive extension bad", in: `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x","valueDateTime":"1970-03-01T10:00"}]}}`, issues: []Issue{e("value", "Patient.birthDate.extension[0].valueDateTime", "invalid dateTime")}},
		{name: "primitive extension aligned", in: `{"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,{"extension":[{"url":"http://x","valueCode":"b"}]}]}]}`, ok: true},
		{name: "primitive extension misaligned", in: `{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[null]}]}`, issues: []Issue{e("structure", "Patient.name[0].given", "the primitive extension array and the value array differ in length")}},
		{name: "null without extension", in: `{"resourceType":"Patient","name":[{"given":["a",null]}]}`, issues: []Issue{e("structure", "Patient.name[0].given[1]", "null is only allowed where the primitive extension array has a value")}},
		{name: "primitive extension on complex", in: `{"resourceType":"Patient","_name":{}}`, issues: []Issue{w("structure", "Patient._name", "unknown element (kept)")}, ok: true},
		{name: "contained", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"contained":[{"resourceType":"Medication","id":"m","code":{"text":1}}]}`, issues: []Issue{e("structure", "Observation.contained[0].code.text", "expected a JSON string (type string)")}},
		{name: "contained without type", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"contained":[{"id":"m"}]}`, issues: []Issue{e("required", "Observation.contained[0]", "resourceType is missing")}},
		{name: "nested contained", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"contained":[{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Patient","id":"q"}]}]}`, issues: []Issue{e("invalid", "Observation.contained[0].contained", "a contained resource must not contain resources (dom-2)")}},
		{name: "bad reference", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"subject":{"reference":"Patient/a b"}}`, issues: []Issue{e("value", "Observation.subject.reference", "invalid uri"), e("value", "Observation.subject.reference", "reference holds whitespace or a control character")}[1:]},
		{name: "bad reference type", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"performer":[{"reference":"Patient/1"},{"reference":"Nope/1"}]}`, issues: []Issue{e("value", "Observation.performer[1].reference", "invalid reference")}},
		{name: "prefix", prefix: "Bundle.entry[3].resource", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"subject":{"reference":"x"}}`, issues: []Issue{e("value", "Bundle.entry[3].resource.subject.reference", "invalid reference")}},
		{name: "prefix unsupported", prefix: "Bundle.entry[0].resource", in: `{"resourceType":"Medication"}`, issues: []Issue{e("not-supported", "Bundle.entry[0].resource", "resource type Medication is not supported by this server")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, issues := DecodeAt([]byte(tt.in), tt.want, tt.prefix)
			if diff := cmp.Diff(tt.issues, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if (d != nil) != tt.ok {
				t.Fatalf("Decoded = %v, want non-nil %v", d, tt.ok)
			}
			if d != nil && string(d.Body) != tt.in {
				t.Errorf("Body = %s, want the input unchanged", d.Body)
			}
		})
	}
}

func TestDecodeID(t *testing.T) {
	d, issues := Decode([]byte(`{"resourceType":"Task","id":"t-1.2","status":"draft","intent":"order"}`), "Task")
	if d == nil {
		t.Fatal(issues)
	}
	if diff := cmp.Diff(Decoded{Type: "Task", ID: "t-1.2", Body: d.Body}, *d); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestDecodeDeep: nesting past the parser's limit is an issue, not a crash.
func TestDecodeDeep(t *testing.T) {
	in := `{"resourceType":"Patient","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	d, issues := Decode([]byte(in), "")
	if d != nil || !HasErrors(issues) {
		t.Errorf("Decode of deep nesting = %v, %v; want an error issue", d, issues)
	}
}

func TestTypes(t *testing.T) {
	st := SupportedTypes()
	if len(st) != 30 {
		t.Errorf("SupportedTypes: %d types, want 30 (design.md's 27, SearchParameter for socialrx's own definitions, Group for Group export and Measure for the measures)", len(st))
	}
	for _, typ := range st {
		if !Known(typ) || !Supported(typ) {
			t.Errorf("%s: Known %v Supported %v, want both", typ, Known(typ), Supported(typ))
		}
	}
	for _, tc := range []struct {
		typ              string
		known, supported bool
	}{
		{"Bundle", true, false}, {"Medication", true, false}, {"VisionPrescription", true, false},
		{"Project", false, false}, {"patient", false, false}, {"", false, false}, {"Resource", false, false},
	} {
		if Known(tc.typ) != tc.known || Supported(tc.typ) != tc.supported {
			t.Errorf("%q: Known %v Supported %v, want %v %v", tc.typ, Known(tc.typ), Supported(tc.typ), tc.known, tc.supported)
		}
	}
	if len(resourceTypeNames) != 146 {
		t.Errorf("%d R4 resource types, want 146", len(resourceTypeNames))
	}
}

func TestLookupElement(t *testing.T) {
	for _, tc := range []struct {
		typ, name string
		want      ElementDef
		ok        bool
	}{
		{"Observation", "effectiveDateTime", ElementDef{Type: "dateTime"}, true},
		{"Observation", "effectivePeriod", ElementDef{Type: "Period"}, true},
		{"Observation", "component", ElementDef{Type: "Observation_Component", Array: true}, true},
		{"Observation", "status", ElementDef{Type: "code"}, true},
		{"Observation", "contained", ElementDef{Type: "Resource", Array: true}, true},
		{"HumanName", "given", ElementDef{Type: "string", Array: true}, true},
		{"Meta", "project", ElementDef{}, false},                // a Medplum addition
		{"Reference", "resource", ElementDef{}, false},          // a Medplum addition
		{"HealthcareService", "offeredIn", ElementDef{}, false}, // a Medplum addition
		{"Observation", "effective", ElementDef{}, false},
		{"Observation", "_status", ElementDef{}, false},
		{"Nope", "id", ElementDef{}, false},
	} {
		got, ok := LookupElement(tc.typ, tc.name)
		if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.ok {
			t.Errorf("LookupElement(%s, %s) ok=%v, want %v; (-want +got)\n%s", tc.typ, tc.name, ok, tc.ok, diff)
		}
	}
}
