package fhir

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeR4Rules: required elements (min 1 in the R4
// StructureDefinitions) and required bindings are refused with the element
// path of each problem, every problem of the resource reported together.
func TestDecodeR4Rules(t *testing.T) {
	req := func(path string) Issue {
		return Issue{Severity: "error", Code: "required", Path: path, Message: "required element is missing (min 1 in R4)"}
	}
	choice := func(path string) Issue {
		return Issue{Severity: "error", Code: "required", Path: path, Message: "required element is missing: one of its types must be present (min 1 in R4)"}
	}
	bad := func(path, vs string) Issue { return codeIssue(t, path, vs) }
	tests := []struct {
		name, in, prefix string
		issues           []Issue // nil: accepted
	}{
		{name: "task bogus status", in: `{"resourceType":"Task","status":"bogus","intent":"order"}`, issues: []Issue{bad("Task.status", "task-status")}},
		{name: "task without intent", in: `{"resourceType":"Task","status":"requested"}`, issues: []Issue{req("Task.intent")}},
		{name: "task bogus status and intent", in: `{"resourceType":"Task","status":"bogus","intent":"bogus"}`, issues: []Issue{bad("Task.status", "task-status"), bad("Task.intent", "task-intent")}},
		{name: "observation without status and code", in: `{"resourceType":"Observation","subject":{"reference":"Patient/1"}}`, issues: []Issue{req("Observation.status"), req("Observation.code")}},
		{name: "empty communication", in: `{"resourceType":"Communication"}`, issues: []Issue{req("Communication.status")}},
		{name: "communication bad status", in: `{"resourceType":"Communication","status":"sent"}`, issues: []Issue{bad("Communication.status", "event-status")}},
		{name: "code case matters", in: `{"resourceType":"Communication","status":"Completed"}`, issues: []Issue{bad("Communication.status", "event-status")}},
		{name: "malformed code reported once", in: `{"resourceType":"Communication","status":" completed"}`, issues: []Issue{{Severity: "error", Code: "value", Path: "Communication.status", Message: "invalid code"}}},
		{name: "minimal valid task", in: `{"resourceType":"Task","status":"requested","intent":"order"}`},
		{name: "primitive extension stands in", in: `{"resourceType":"Task","_status":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]},"intent":"order"}`},
		{name: "choice: one variant is enough", in: `{"resourceType":"Task","status":"requested","intent":"order","input":[{"type":{"text":"a"},"valueString":"x"},{"type":{"text":"b"},"valueReference":{"reference":"Patient/1"}}]}`},
		{name: "choice missing", in: `{"resourceType":"Task","status":"requested","intent":"order","input":[{"type":{"text":"a"},"valueString":"x"},{"type":{"text":"b"}}]}`, issues: []Issue{choice("Task.input[1].value[x]")}},
		{name: "choice by primitive extension", in: `{"resourceType":"Task","status":"requested","intent":"order","input":[{"type":{"text":"a"},"_valueString":{"extension":[{"url":"http://x","valueCode":"y"}]}}]}`},
		{name: "backbone required", in: `{"resourceType":"Task","status":"requested","intent":"order","input":[{"valueString":"x"}]}`, issues: []Issue{req("Task.input[0].type")}},
		{name: "extension url", in: `{"resourceType":"Patient","extension":[{"valueString":"x"}]}`, issues: []Issue{req("Patient.extension[0].url")}},
		{name: "extension in a primitive extension", in: `{"resourceType":"Patient","_birthDate":{"extension":[{"valueDateTime":"1970-01-01"}]}}`, issues: []Issue{req("Patient.birthDate.extension[0].url")}},
		{name: "narrative", in: `{"resourceType":"Patient","text":{"status":"draft"}}`, issues: []Issue{bad("Patient.text.status", "narrative-status"), req("Patient.text.div")}},
		{name: "coding requires nothing", in: `{"resourceType":"Patient","maritalStatus":{"coding":[{"display":"x"}]}}`},
		{name: "repeating code", in: `{"resourceType":"Patient","telecom":[{"system":"phone","use":"home"},{"system":"bogus","use":"bogus"}]}`, issues: []Issue{bad("Patient.telecom[1].system", "contact-point-system"), bad("Patient.telecom[1].use", "contact-point-use")}},
		{name: "contained resource", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"contained":[{"resourceType":"Task","id":"t","status":"requested"}]}`, issues: []Issue{req("Observation.contained[0].intent")}},
		{name: "contained unsupported type", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"contained":[{"resourceType":"Medication","id":"m","status":"bogus"}]}`, issues: []Issue{bad("Observation.contained[0].status", "medication-status")}},
		{name: "codes from valuesets.json", in: `{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"1","type":"question"}]}`, issues: []Issue{bad("Questionnaire.item[0].type", "item-type")}},
		{name: "large value set not enumerated", in: `{"resourceType":"Endpoint","status":"active","connectionType":{"code":"x"},"payloadType":[{"text":"x"}],"address":"https://x","payloadMimeType":["application/x-anything"]}`},
		{name: "bundle entry path", prefix: "Bundle.entry[2].resource", in: `{"resourceType":"Task","intent":"order"}`, issues: []Issue{req("Bundle.entry[2].resource.status")}},
		{name: "reference requires nothing", in: `{"resourceType":"Observation","status":"final","code":{"text":"c"},"subject":{"display":"x"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, issues := DecodeAt([]byte(tt.in), "", tt.prefix)
			if diff := cmp.Diff(tt.issues, issues); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if (d != nil) != (tt.issues == nil) {
				t.Errorf("Decoded = %v, want non-nil %v", d, tt.issues == nil)
			}
		})
	}
}

// codeIssue is the issue of a code outside the R4 value set vs
// (task-status), whose codes it lists.
func codeIssue(t *testing.T, path, vs string) Issue {
	t.Helper()
	url := "http://hl7.org/fhir/ValueSet/" + vs + "|4.0.1"
	for _, row := range valueSetTable {
		if row.url == url {
			return Issue{Severity: "error", Code: "code-invalid", Path: path, Message: "code not in the required value set " + url + " (" + codeList(row.codes) + ")"}
		}
	}
	t.Fatalf("value set %s not in the table", url)
	return Issue{}
}

// TestTableRules: the numbers of the R4 rules in the element table (see the
// header of elements_gen.go); a change means the generator's source changed.
func TestTableRules(t *testing.T) {
	required, bound := 0, 0
	for _, row := range elementTable {
		required += len(row.required)
		for _, e := range row.elems {
			if e.valueSet > 0 {
				bound++
			}
		}
	}
	got := []int{required, bound, len(valueSetTable) - 1}
	if diff := cmp.Diff([]int{771, 336, 210}, got); diff != "" {
		t.Errorf("required elements, bound codes, value sets (-want +got)\n%s", diff)
	}
}
