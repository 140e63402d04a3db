package mapping

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

func endpointJSON(status, code, address string) string {
	return `{"resourceType":"Endpoint","status":"` + status + `","connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"` + code + `"},"address":"` + address + `"}`
}

func TestEndpointOf(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       socialrx.Endpoint
		ok         bool
	}{
		{"active msg", endpointJSON("active", "hl7-fhir-msg", "https://o/fhir"), socialrx.Endpoint{ConnectionType: "hl7-fhir-msg", Address: "https://o/fhir"}, true},
		{"off", endpointJSON("off", "hl7-fhir-msg", "https://o/fhir"), socialrx.Endpoint{}, false},
		{"no address", endpointJSON("active", "hl7-fhir-rest", ""), socialrx.Endpoint{}, false},
		{"other system", `{"resourceType":"Endpoint","status":"active","connectionType":{"system":"http://local","code":"hl7-fhir-msg"},"address":"x"}`, socialrx.Endpoint{}, false},
		{"not an Endpoint", `{"resourceType":"Patient"}`, socialrx.Endpoint{}, false},
		{"Endpoint-shaped, another resourceType", strings.Replace(endpointJSON("active", "hl7-fhir-msg", "x"), `"Endpoint"`, `"Basic"`, 1), socialrx.Endpoint{}, false},
		{"id read", `{"resourceType":"Endpoint","id":"e1","connectionType":{"code":"hl7-fhir-rest"},"address":"https://a"}`, socialrx.Endpoint{ID: "e1", ConnectionType: "hl7-fhir-rest", Address: "https://a"}, true},
		{"status absent: active", `{"resourceType":"Endpoint","connectionType":{"code":"hl7-fhir-msg"},"address":"x"}`, socialrx.Endpoint{ConnectionType: "hl7-fhir-msg", Address: "x"}, true},
		{"status empty: active", endpointJSON("", "hl7-fhir-msg", "x"), socialrx.Endpoint{ConnectionType: "hl7-fhir-msg", Address: "x"}, true},
		{"status null: active", `{"resourceType":"Endpoint","status":null,"connectionType":{"code":"hl7-fhir-msg"},"address":"x"}`, socialrx.Endpoint{ConnectionType: "hl7-fhir-msg", Address: "x"}, true},
		{"status test", endpointJSON("test", "hl7-fhir-msg", "x"), socialrx.Endpoint{}, false},
		{"status not an EndpointStatus code", endpointJSON("bogus", "hl7-fhir-msg", "x"), socialrx.Endpoint{}, false},
		{"status not a string", `{"resourceType":"Endpoint","status":1,"connectionType":{"code":"hl7-fhir-msg"},"address":"x"}`, socialrx.Endpoint{}, false},
		// samply refuses these whole; the elements delivery reads are fine.
		{"unknown code in an unread enum", `{"resourceType":"Endpoint","identifier":[{"use":"bogus","value":"1"}],"status":"active","connectionType":{"code":"hl7-fhir-msg"},"address":"x"}`,
			socialrx.Endpoint{ConnectionType: "hl7-fhir-msg", Address: "x"}, true},
		{"unknown code in an unread enum, inactive", `{"resourceType":"Endpoint","contact":[{"system":"pager"}],"status":"off","connectionType":{"code":"hl7-fhir-msg"},"address":"x"}`,
			socialrx.Endpoint{}, false},
		{"wrong JSON type in an unread element", `{"resourceType":"Endpoint","id":"e2","name":3,"status":"active","connectionType":{"code":"hl7-fhir-msg"},"address":"x"}`,
			socialrx.Endpoint{ID: "e2", ConnectionType: "hl7-fhir-msg", Address: "x"}, true},
		{"no connectionType", `{"resourceType":"Endpoint","status":"active","address":"x"}`, socialrx.Endpoint{}, false},
		{"connectionType null", `{"resourceType":"Endpoint","status":"active","connectionType":null,"address":"x"}`, socialrx.Endpoint{}, false},
		{"connectionType not an object", `{"resourceType":"Endpoint","status":"active","connectionType":"hl7-fhir-msg","address":"x"}`, socialrx.Endpoint{}, false},
		{"address not a string", `{"resourceType":"Endpoint","status":"active","connectionType":{"code":"hl7-fhir-msg"},"address":1}`, socialrx.Endpoint{}, false},
		{"not JSON", `{"resourceType":"Endpoint"`, socialrx.Endpoint{}, false},
	} {
		got, ok := EndpointOf([]byte(c.body))
		if ok != c.ok || got != c.want {
			t.Errorf("%s: EndpointOf = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestEndpointFor(t *testing.T) {
	store := map[string]string{
		"Endpoint/msg":          endpointJSON("active", "hl7-fhir-msg", "https://ocean/fhir"),
		"Endpoint/rest":         endpointJSON("active", "hl7-fhir-rest", "https://emr/fhir"),
		"Endpoint/off":          endpointJSON("off", "hl7-fhir-msg", "https://old/fhir"),
		"HealthcareService/hs":  `{"resourceType":"HealthcareService","endpoint":[{"reference":"Endpoint/off"},{"reference":"Endpoint/msg"}]}`,
		"HealthcareService/hs2": `{"resourceType":"HealthcareService","providedBy":{"reference":"Organization/org"}}`,
		"Organization/org":      `{"resourceType":"Organization","endpoint":[{"reference":"Endpoint/rest"},{"reference":"Endpoint/msg"}]}`,
		"PractitionerRole/pr":   `{"resourceType":"PractitionerRole","organization":{"reference":"Organization/org"}}`,
		"PractitionerRole/bare": `{"resourceType":"PractitionerRole"}`,
		"PractitionerRole/ver":  `{"resourceType":"PractitionerRole","organization":{"reference":"Organization/org/_history/4"}}`,
		"PractitionerRole/loc":  `{"resourceType":"PractitionerRole","organization":{"reference":"Location/org"}}`,
	}
	r := Resolver(func(ref string) ([]byte, bool) { b, ok := store[ref]; return []byte(b), ok })
	for _, c := range []struct {
		name, conn string
		refs       []string
		wantID     string
	}{
		{"own endpoint, inactive skipped", socialrx.ConnectionFHIRMessaging, []string{"HealthcareService/hs"}, "msg"},
		{"via providedBy", socialrx.ConnectionFHIRMessaging, []string{"HealthcareService/hs2"}, "msg"},
		{"role's organization, rest", socialrx.ConnectionFHIRREST, []string{"PractitionerRole/pr"}, "rest"},
		{"role's organization, versioned reference", socialrx.ConnectionFHIRREST, []string{"PractitionerRole/ver"}, "rest"},
		{"role's organization not an Organization", socialrx.ConnectionFHIRREST, []string{"PractitionerRole/loc"}, ""},
		{"first ref without, second with", socialrx.ConnectionFHIRREST, []string{"PractitionerRole/bare", "Organization/org"}, "rest"},
		{"none", socialrx.ConnectionFHIRREST, []string{"HealthcareService/hs", "Practitioner/x", ""}, ""},
	} {
		ep, ok := EndpointFor(r, c.conn, c.refs...)
		if diff := cmp.Diff(c.wantID, ep.ID); diff != "" || ok != (c.wantID != "") {
			t.Errorf("%s: EndpointFor = %+v, %v; want id %q", c.name, ep, ok, c.wantID)
		}
	}
}
