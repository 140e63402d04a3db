package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// socialRx is a food social prescription for Patient/pw1 to performer.
func socialRx(performer string) string {
	return fmt.Sprintf(`{"resourceType":"ServiceRequest","status":"active","intent":"order",
		"category":[{"coding":[{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"food-insecurity"}]}],
		"code":{"text":"Food program"},"subject":{"reference":"Patient/pw1"},"performer":[{"reference":"%s"}]}`, performer)
}

// TestProgramWarnings: a prescription to a program with no capacity (or
// inactive) is accepted (201) and warned about, naming suitable
// alternatives for the same need nearby; in a transaction the entry's
// response.outcome carries it; a prescription to a suitable program gets
// none. Both stores.
func TestProgramWarnings(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			m := startMainWith(t, b.database(t), func(c *Config) { c.ProgramStaleAfter = 87600 * time.Hour }) // as the README runs it
			if _, err := ImportHSDS(t.Context(), m.Store, "../../testdata/hsds/json", 100, nil); err != nil {
				t.Fatal(err)
			}
			put := func(typ, id, body string) {
				t.Helper()
				if resp, rb := do(t, http.MethodPut, m.URL()+"/fhir/"+typ+"/"+id, []byte(body)); resp.StatusCode >= 300 {
					t.Fatalf("PUT %s/%s: %d %s", typ, id, resp.StatusCode, rb)
				}
			}
			// The README's example: testdata/program-warning.
			example := func(name string) string {
				b, err := os.ReadFile("../../testdata/program-warning/" + name)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			put("Patient", "pw1", example("patient.json"))
			hub := "Location/hsds-9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c41"
			put("HealthcareService", "full-pantry", example("full-pantry.json"))
			put("HealthcareService", "closed-kitchen", `{"resourceType":"HealthcareService","id":"closed-kitchen","active":false,"name":"Closed Kitchen",
				"category":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food"}]}],
				"location":[{"reference":"`+hub+`"}]}`)
			market := "HealthcareService/hsds-3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31"

			resp, rb := do(t, http.MethodPost, m.URL()+"/fhir/ServiceRequest", []byte(example("prescription.json")), "Prefer", "return=OperationOutcome")
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("prescription to a full program: %d %s", resp.StatusCode, rb)
			}
			var oo struct {
				ResourceType string
				Issue        []struct{ Severity, Code, Diagnostics string }
			}
			if err := json.Unmarshal(rb, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
				t.Fatalf("not an OperationOutcome: %s", rb)
			}
			var warning string
			for _, is := range oo.Issue {
				if is.Severity == "warning" && is.Code == "business-rule" {
					warning = is.Diagnostics
				}
			}
			for _, want := range []string{"HealthcareService/full-pantry reports no capacity", `"Weekly Good Food Market" (` + market + `, 0.0 km)`} {
				if !strings.Contains(warning, want) {
					t.Errorf("warning lacks %q: %q", want, warning)
				}
			}
			if strings.Contains(warning, "closed-kitchen") {
				t.Errorf("an inactive program offered as an alternative: %q", warning)
			}

			// A full program with no located site: the alternatives are by
			// need alone, and the warning does not claim a distance.
			put("HealthcareService", "full-nowhere", `{"resourceType":"HealthcareService","id":"full-nowhere","active":true,"name":"Full Nowhere",
				"category":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food"}]}],
				"extension":[{"url":"http://socialrx.dev/fhir/StructureDefinition/capacity","extension":[{"url":"status","valueCode":"no-capacity"}]}]}`)
			resp, rb = do(t, http.MethodPost, m.URL()+"/fhir/ServiceRequest", []byte(socialRx("HealthcareService/full-nowhere")), "Prefer", "return=OperationOutcome")
			if resp.StatusCode != http.StatusCreated || !strings.Contains(string(rb), "not by distance") || strings.Contains(string(rb), "within 25 km") ||
				!strings.Contains(string(rb), "Weekly Good Food Market") || strings.Contains(string(rb), " km)") {
				t.Errorf("prescription to a full program without a site: %d %s", resp.StatusCode, rb)
			}

			// In a transaction: the entry's response.outcome, without Prefer.
			bundle := `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:6f0e8c1a-0000-4000-8000-000000000001","resource":` +
				socialRx("HealthcareService/closed-kitchen") + `,"request":{"method":"POST","url":"ServiceRequest"}}]}`
			resp, rb = do(t, http.MethodPost, m.URL()+"/fhir", []byte(bundle))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("transaction: %d %s", resp.StatusCode, rb)
			}
			if !strings.Contains(string(rb), `HealthcareService/closed-kitchen is inactive`) || !strings.Contains(string(rb), "Weekly Good Food Market") {
				t.Errorf("transaction response lacks the warning: %s", rb)
			}

			// A suitable program: no warning.
			resp, rb = do(t, http.MethodPost, m.URL()+"/fhir/ServiceRequest", []byte(socialRx(market)), "Prefer", "return=OperationOutcome")
			if resp.StatusCode != http.StatusCreated || strings.Contains(string(rb), "business-rule") {
				t.Errorf("prescription to a suitable program: %d %s", resp.StatusCode, rb)
			}
			// The market takes eReferrals (its HSDS record names an FHIR
			// messaging endpoint): the prescription is a warm hand-off by
			// eReferral, derived from the imported Endpoint.
			_, after, ok := strings.Cut(resp.Header.Get("Location"), "/ServiceRequest/")
			if !ok {
				t.Fatalf("no Location of the prescription: %q", resp.Header.Get("Location"))
			}
			id, _, _ := strings.Cut(after, "/")
			resp, rb = do(t, http.MethodGet, m.URL()+"/fhir/ServiceRequest?prescription-channel=ocean-ereferral&prescription-form=warm-handoff&_id="+id, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(rb), `"total":1`) {
				t.Errorf("prescription to the market (HSDS Endpoint) is not an eReferral hand-off: %d %s", resp.StatusCode, rb)
			}
		})
	}
}
