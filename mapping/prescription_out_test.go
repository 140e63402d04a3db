package mapping

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// wantValidFHIR fails unless body passes fhir.Validate as typ without an
// error.
func wantValidFHIR(t testing.TB, body []byte, typ string) {
	t.Helper()
	for _, is := range fhir.Validate(body, typ) {
		if is.Severity == "error" || is.Severity == "fatal" {
			t.Errorf("%s invalid at %s: %s\n%s", typ, is.Path, is.Message, body)
		}
	}
}

// roundTripRows cover every form, channel and need domain, derived and sent.
var roundTripRows = []struct {
	name  string
	extra string
}{
	{"self-directed, no performer, ICD-10-CA reason", `,"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-ca","code":"Z59.0"}]}]`},
	{"self-directed program pointer, sent form", performerJSON("HealthcareService/bare") + `,"category":[` + categoryJSON(formSystem, "self-directed") + `,` + categoryJSON(needDomainSystem, "physical-activity") + `,` + categoryJSON(needDomainSystem, "creative-expression") + `]`},
	{"warm hand-off by eReferral, SDOH CC category and a Condition", performerJSON("HealthcareService/ocean") + `,"category":[` + categoryJSON(systemSDOHCC, "food-insecurity") + `],"reasonReference":[{"reference":"Condition/mental"}]`},
	{"warm hand-off by phone, everything set", performerJSON("HealthcareService/phone") + `,"category":[` + categoryJSON(formSystem, "warm-handoff") + `,` + categoryJSON(channelSystem, "phone") + `,` + categoryJSON(needDomainSystem, "childcare") + `]` +
		`,"identifier":[{"system":"urn:oid:1.2.3","value":"RX-9"},{"value":"n"}],"authoredOn":"2026-01-31T23:59:59.5+01:00","requester":{"reference":"Practitioner/dr"}`},
	{"warm hand-off by fax", performerJSON("Organization/fax") + `,"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"73438004"}]}],"reasonReference":[{"reference":"Condition/housing"},{"reference":"Condition/unseen"}]`},
	{"warm hand-off in person", performerJSON("Organization/fax") + `,"category":[` + categoryJSON(channelSystem, "in-person") + `,` + categoryJSON(needDomainSystem, "daily-living") + `,` + categoryJSON(needDomainSystem, "medication-coverage") + `]`},
	{"warm hand-off via FHIR REST", performerJSON("HealthcareService/rest") + `,"category":[` + categoryJSON(needDomainSystem, "social-support") + `,` + categoryJSON(needDomainSystem, "unspecified") + `]`},
	{"navigator by phone", performerJSON("PractitionerRole/nav") + `,"category":[` + categoryJSON(needDomainSystem, "finances") + `,` + categoryJSON(systemSDOHCC, "housing-instability") + `]`},
	{"link worker by eReferral", performerJSON("PractitionerRole/lw")},
	{"navigator Organization, sent", performerJSON("Organization/fax") + `,"category":[` + categoryJSON(formSystem, "navigator") + `]`},
	{"navigator without a way to reach them", performerJSON("HealthcareService/bare") + `,"category":[` + categoryJSON(formSystem, "navigator") + `]`},
	{"self channel sent", performerJSON("Organization/fax") + `,"category":[` + categoryJSON(channelSystem, "self") + `]`},
	{"sent channel efax", performerJSON("HealthcareService/bare") + `,"category":[` + categoryJSON(channelSystem, "efax") + `]`},
}

// TestPrescriptionRoundTrip: FHIR → Prescription → FHIR → Prescription is
// the identity, and the FHIR written is valid.
func TestPrescriptionRoundTrip(t *testing.T) {
	r := testResolver(t)
	forms, channels, domains := map[socialrx.Form]bool{}, map[socialrx.Channel]bool{}, map[socialrx.NeedDomain]bool{}
	for _, tt := range roundTripRows {
		t.Run(tt.name, func(t *testing.T) {
			p1, err := PrescriptionFromServiceRequest(srJSON(tt.extra), r)
			if err != nil {
				t.Fatal(err)
			}
			forms[p1.Form], channels[p1.Channel] = true, true
			for _, d := range p1.Needs {
				domains[d] = true
			}
			out := ServiceRequestFromPrescription(*p1, p1.ID)
			wantValidFHIR(t, out, "ServiceRequest")
			p2, err := PrescriptionFromServiceRequest(out, r)
			if err != nil {
				t.Fatalf("written ServiceRequest does not map: %v\n%s", err, out)
			}
			if diff := cmp.Diff(p1, p2); diff != "" {
				t.Errorf("round trip (-first +second):\n%s", diff)
			}

		})
	}
	for _, f := range socialrx.AllForms() {
		if !forms[f] {
			t.Errorf("no row has form %s", f)
		}
	}
	for _, c := range socialrx.AllChannels() {
		if !channels[c] {
			t.Errorf("no row has channel %s", c)
		}
	}
	for _, d := range socialrx.AllNeedDomains() {
		if !domains[d] {
			t.Errorf("no row has need domain %s", d)
		}
	}
}

func TestServiceRequestFromPrescription(t *testing.T) {
	p := socialrx.Prescription{ID: "sr9", PatientID: "p1", Form: socialrx.FormWarmHandoff, FormDerived: true,
		Needs: []socialrx.NeedDomain{socialrx.DomainFood, socialrx.DomainChildcare}, NeedRefs: []string{"Condition/c1"},
		Code: foodPantry, Target: "HealthcareService/ocean", Channel: socialrx.ChannelOceanEReferral,
		RequesterID: "PractitionerRole/dr", AuthoredOn: time.Date(2026, 5, 1, 9, 0, 0, 0, time.FixedZone("EDT", -4*3600)),
		Identifiers: []socialrx.Coding{{System: "urn:x", Code: "1"}}}
	got := ServiceRequestFromPrescription(p, "sr9")
	want := `{"resourceType":"ServiceRequest","id":"sr9","meta":{"profile":["http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest"]},` +
		`"identifier":[{"system":"urn:x","value":"1"}],"status":"active","intent":"order","category":[` +
		`{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]},` +
		`{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/prescription-form","code":"warm-handoff","display":"Warm hand-off","userSelected":false}]},` +
		`{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/prescription-channel","code":"ocean-ereferral","display":"Ocean eReferral"}]},` +
		`{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food","display":"Food"},{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"food-insecurity","display":"Food Insecurity"}]},` +
		`{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"childcare","display":"Childcare"}]}],` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"467771000124109","display":"Assistance with application for food pantry program"}]},` +
		`"subject":{"reference":"Patient/p1"},"authoredOn":"2026-05-01T13:00:00Z","requester":{"reference":"PractitionerRole/dr"},` +
		`"performer":[{"reference":"HealthcareService/ocean"}],"reasonReference":[{"reference":"Condition/c1"}]}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("ServiceRequest (-want +got):\n%s", diff)
	}
	wantValidFHIR(t, got, "ServiceRequest")

	// A program pointer without a code: no profile claimed (it needs code),
	// status active by default, no id.
	min := ServiceRequestFromPrescription(socialrx.Prescription{PatientID: "p1", Form: socialrx.FormSelfDirected, Target: "HealthcareService/bare"}, "")
	wantValidFHIR(t, min, "ServiceRequest")
	if bytes.Contains(min, []byte(`"meta"`)) || bytes.Contains(min, []byte(`"id"`)) || !bytes.Contains(min, []byte(`"status":"active"`)) {
		t.Errorf("minimal ServiceRequest: %s", min)
	}
}

// prettySR is a ServiceRequest as an EMR might send it, indented, with
// members mapping does not read.
const prettySR = `{
  "resourceType": "ServiceRequest",
  "id": "sr1",
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Food bank &amp; more</div>"},
  "extension": [{"url": "http://example.org/x", "valueDecimal": 1.50}],
  "status": "active",
  "intent": "order",%s
  "code": {"coding": [{"system": "http://snomed.info/sct", "code": "467771000124109"}]},
  "subject": {"reference": "Patient/p1"},
  "_authoredOn": {"extension": [{"url": "http://example.org/y", "valueString": "kept"}]},
  "performer": [{"reference": "HealthcareService/ocean"}]
}
`

// TestConditionFromNeed: NeedFromCondition reads the written Condition as
// the need it came from, for the SDOH CC examples and one need per domain.
func TestConditionFromNeed(t *testing.T) {
	var needs []*socialrx.Need
	for _, f := range examples(t, "Condition") {
		b, _ := os.ReadFile(f)
		n, ok, err := NeedFromCondition(b)
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", f, ok, err)
		}
		needs = append(needs, n)
	}
	for _, d := range socialrx.AllNeedDomains() {
		needs = append(needs, &socialrx.Need{PatientID: "p1", Domain: d, Code: socialrx.Coding{System: needDomainSystem, Code: string(d), Display: d.Display()},
			Source: "Condition/n-" + string(d), Status: "resolved", RecordedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	}
	needs = append(needs,
		&socialrx.Need{PatientID: "p1", Domain: socialrx.DomainHousing, Code: socialrx.Coding{System: systemSDOHCC, Code: "homelessness"}, Source: "Condition/h"},
		&socialrx.Need{PatientID: "p1", Domain: socialrx.DomainUnspecified, Code: socialrx.Coding{System: "http://example.org/local", Code: "q"}, Source: "Condition/u"})
	for _, n := range needs {
		id := strings.TrimPrefix(n.Source, "Condition/")
		out := ConditionFromNeed(*n, id)
		wantValidFHIR(t, out, "Condition")
		got, ok, err := NeedFromCondition(out)
		if err != nil || !ok {
			t.Fatalf("%s: %v %v\n%s", n.Source, ok, err, out)
		}
		if diff := cmp.Diff(n, got); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", n.Source, diff)
		}
	}
	got := string(ConditionFromNeed(socialrx.Need{PatientID: "p1", Domain: socialrx.DomainFood, Code: socialrx.Coding{System: systemSNOMED, Code: "733423003", Display: "Food insecurity"}, Status: "active"}, "c1"))
	want := `{"resourceType":"Condition","id":"c1","meta":{"profile":["http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Condition"]},` +
		`"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},` +
		`"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed","display":"Confirmed"}]},` +
		`"category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/condition-category","code":"health-concern","display":"Health Concern"}]},` +
		`{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh","display":"SDOH"}]},` +
		`{"coding":[{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"food-insecurity","display":"Food Insecurity"}]},` +
		`{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food","display":"Food"}]}],` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"733423003","display":"Food insecurity"}]},"subject":{"reference":"Patient/p1"}}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Condition (-want +got):\n%s", diff)
	}
}

// TestSDOHCCByDomain: each SDOH CC code written for a domain reads back as
// that domain.
func TestSDOHCCByDomain(t *testing.T) {
	for d, c := range sdohccByDomain {
		row, ok := lookupCondition(c.System, c.Code)
		if !ok || row.Domain != d || row.Display != c.Display {
			t.Errorf("%s: %s reads as %+v %v", d, c.Code, row, ok)
		}
	}
}
