package mapping

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// testResources are the performers, Endpoints and Conditions the tests
// resolve, beside the SDOH CC examples.
var testResources = map[string]string{
	// Navigators and other PractitionerRoles.
	"PractitionerRole/nav": `{"resourceType":"PractitionerRole","id":"nav","code":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/practitioner-role","code":"navigator"}]}],"telecom":[{"system":"phone","value":"555-0100"}]}`,
	"PractitionerRole/lw":  `{"resourceType":"PractitionerRole","id":"lw","code":[{"coding":[{"system":"http://snomed.info/sct","code":"106328005"},{"system":"http://socialrx.dev/fhir/CodeSystem/practitioner-role","code":"link-worker"}]}],"endpoint":[{"reference":"Endpoint/msg"}]}`,
	"PractitionerRole/sw":  `{"resourceType":"PractitionerRole","id":"sw","code":[{"coding":[{"system":"http://snomed.info/sct","code":"106328005","display":"Social worker"}]}],"telecom":[{"system":"phone","value":"555-0101"}]}`,
	// Programs.
	"HealthcareService/ocean": `{"resourceType":"HealthcareService","id":"ocean","name":"Food bank","endpoint":[{"reference":"Endpoint/msg"}]}`,
	"HealthcareService/rest":  `{"resourceType":"HealthcareService","id":"rest","endpoint":[{"reference":"Endpoint/rest"}],"telecom":[{"system":"fax","value":"555-0102"}]}`,
	"HealthcareService/off":   `{"resourceType":"HealthcareService","id":"off","endpoint":[{"reference":"Endpoint/off"},{"reference":"Endpoint/missing"},{"reference":"#contained"}]}`,
	"HealthcareService/bare":  `{"resourceType":"HealthcareService","id":"bare","name":"Walking group"}`,
	"HealthcareService/phone": `{"resourceType":"HealthcareService","id":"phone","telecom":[{"system":"phone","value":"555-0103"},{"system":"email","value":"a@example.org"}]}`,
	"Organization/fax":        `{"resourceType":"Organization","id":"fax","name":"Housing help","telecom":[{"system":"fax","value":"555-0104"}]}`,
	"Organization/wrongtype":  `{"resourceType":"HealthcareService","id":"wrongtype","telecom":[{"system":"fax","value":"555-0105"}]}`,
	"Endpoint/msg":            `{"resourceType":"Endpoint","id":"msg","status":"active","connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-msg"},"payloadType":[{"text":"eReferral"}],"address":"https://ocean.example/fhir"}`,
	"Endpoint/rest":           `{"resourceType":"Endpoint","id":"rest","status":"active","connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-rest"},"payloadType":[{"text":"any"}],"address":"https://program.example/fhir"}`,
	"Endpoint/off":            `{"resourceType":"Endpoint","id":"off","status":"off","connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-msg"},"payloadType":[{"text":"any"}],"address":"https://old.example/fhir"}`,
	// Conditions.
	"Condition/housing":  `{"resourceType":"Condition","id":"housing","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-ca","code":"Z59.0"}]},"subject":{"reference":"Patient/p1"}}`,
	"Condition/mental":   `{"resourceType":"Condition","id":"mental","category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}],"code":{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"mental-health-substance-use"}]},"subject":{"reference":"Patient/p1"}}`,
	"Condition/diabetes": `{"resourceType":"Condition","id":"diabetes","code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},"subject":{"reference":"Patient/p1"}}`,
	"Condition/broken":   `{"resourceType":"Condition","id":"broken","code":"not an object"}`,
}

// testResolver resolves testResources and every SDOH CC example (by
// Type/id).
func testResolver(t testing.TB) Resolver {
	t.Helper()
	m := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples (err %v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ ResourceType, ID string }
		if err := json.Unmarshal(b, &head); err != nil {
			t.Fatal(err)
		}
		m[head.ResourceType+"/"+head.ID] = b
	}
	for k, v := range testResources {
		m[k] = []byte(v)
	}
	return func(ref string) ([]byte, bool) {
		b, ok := m[ref]
		return b, ok
	}
}

// srJSON is a ServiceRequest for patient p1 with a code, plus extra
// members (each starting with a comma).
func srJSON(extra string) []byte {
	return []byte(`{"resourceType":"ServiceRequest","id":"sr1","status":"active","intent":"order","code":{"coding":[{"system":"http://snomed.info/sct","code":"467771000124109","display":"Assistance with application for food pantry program"}]},"subject":{"reference":"Patient/p1"}` + extra + `}`)
}

func performerJSON(ref string) string { return `,"performer":[{"reference":"` + ref + `"}]` }

func categoryJSON(system, code string) string {
	return `{"coding":[{"system":"` + system + `","code":"` + code + `"}]}`
}

var foodPantry = socialrx.Coding{System: systemSNOMED, Code: "467771000124109", Display: "Assistance with application for food pantry program"}

func TestPrescriptionFromServiceRequestSDOHCC(t *testing.T) {
	r := testResolver(t)
	got, err := PrescriptionFromServiceRequest(readExample(t, "ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample.json"), r)
	if err != nil {
		t.Fatal(err)
	}
	want := &socialrx.Prescription{
		ID: "SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample", PatientID: "pat-53234",
		Form: socialrx.FormSelfDirected, FormDerived: true, Channel: socialrx.ChannelSelf,
		Needs: []socialrx.NeedDomain{socialrx.DomainFood}, NeedRefs: []string{"Condition/SDOHCC-ConditionFoodInsecurityExample"},
		Code: foodPantry, Status: "active",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prescription (-want +got):\n%s", diff)
	}
	for _, f := range examples(t, "ServiceRequest") {
		b, _ := os.ReadFile(f)
		p, err := PrescriptionFromServiceRequest(b, r)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if p.Form != socialrx.FormSelfDirected || len(p.Needs) != 1 || p.Needs[0] != socialrx.DomainFood {
			t.Errorf("%s: got form %s needs %v, want self-directed food", filepath.Base(f), p.Form, p.Needs)
		}
		// Without a resolver the food need still comes from the SDOH CC category.
		if p2, err := PrescriptionFromServiceRequest(b, nil); err != nil || len(p2.Needs) != 1 {
			t.Errorf("%s without resolver: %v %v", filepath.Base(f), p2, err)
		}
	}
}

// TestPrescriptionFromServiceRequestR4Examples: the R4 examples are
// clinical requests; whatever they give, it is a prescription that passes
// Validate or a well-formed error.
func TestPrescriptionFromServiceRequestR4Examples(t *testing.T) {
	files, _ := filepath.Glob("../testdata/fhir-examples/r4/ServiceRequest-*.json")
	if len(files) == 0 {
		t.Fatal("no R4 ServiceRequest examples")
	}
	r := testResolver(t)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		p, err := PrescriptionFromServiceRequest(b, r)
		checkErr(t, err)
		if err == nil {
			if err := p.Validate(); err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
			}
		}
	}
}

// TestFormDerivation: each derivation rule gives its form and channel.
func TestFormDerivation(t *testing.T) {
	r := testResolver(t)
	formCat := func(f string) string { return `,"category":[` + categoryJSON(formSystem, f) + `]` }
	chanCat := func(c string) string { return `,"category":[` + categoryJSON(channelSystem, c) + `]` }
	tests := []struct {
		name    string
		extra   string
		form    socialrx.Form
		derived bool
		channel socialrx.Channel
		target  string
	}{
		{"no performer", ``, socialrx.FormSelfDirected, true, socialrx.ChannelSelf, ""},
		{"patient performer", performerJSON("Patient/p1"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, ""},
		{"bare HealthcareService", performerJSON("HealthcareService/bare"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, "HealthcareService/bare"},
		{"program with a phone only", performerJSON("HealthcareService/phone"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, "HealthcareService/phone"},
		{"unresolvable performer", performerJSON("HealthcareService/unknown"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, "HealthcareService/unknown"},
		{"navigator PractitionerRole", performerJSON("PractitionerRole/nav"), socialrx.FormNavigator, true, socialrx.ChannelPhone, "PractitionerRole/nav"},
		{"link worker with an eReferral endpoint", performerJSON("PractitionerRole/lw"), socialrx.FormNavigator, true, socialrx.ChannelOceanEReferral, "PractitionerRole/lw"},
		{"social worker is not a navigator", performerJSON("PractitionerRole/sw"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, "PractitionerRole/sw"},
		{"hl7-fhir-msg endpoint", performerJSON("HealthcareService/ocean"), socialrx.FormWarmHandoff, true, socialrx.ChannelOceanEReferral, "HealthcareService/ocean"},
		{"absolute performer URL", performerJSON("https://fhir.example.org/fhir/HealthcareService/ocean"), socialrx.FormWarmHandoff, true, socialrx.ChannelOceanEReferral, "HealthcareService/ocean"},
		{"hl7-fhir-rest endpoint beats fax", performerJSON("HealthcareService/rest"), socialrx.FormWarmHandoff, true, socialrx.ChannelOceanEReferral, "HealthcareService/rest"},
		{"endpoint off", performerJSON("HealthcareService/off"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, "HealthcareService/off"},
		{"fax telecom", performerJSON("Organization/fax"), socialrx.FormWarmHandoff, true, socialrx.ChannelEFax, "Organization/fax"},
		{"resolved resource of another type", performerJSON("Organization/wrongtype"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, "Organization/wrongtype"},
		{"explicit channel phone", performerJSON("HealthcareService/bare") + chanCat("phone"), socialrx.FormWarmHandoff, true, socialrx.ChannelPhone, "HealthcareService/bare"},
		{"explicit channel self beats fax", performerJSON("Organization/fax") + chanCat("self"), socialrx.FormSelfDirected, true, socialrx.ChannelSelf, "Organization/fax"},
		{"explicit form", performerJSON("HealthcareService/ocean") + formCat("self-directed"), socialrx.FormSelfDirected, false, socialrx.ChannelSelf, "HealthcareService/ocean"},
		{"explicit warm hand-off, channel from phone", performerJSON("HealthcareService/phone") + formCat("warm-handoff"), socialrx.FormWarmHandoff, false, socialrx.ChannelPhone, "HealthcareService/phone"},
		{"explicit navigator Organization", performerJSON("Organization/fax") + formCat("navigator"), socialrx.FormNavigator, false, socialrx.ChannelEFax, "Organization/fax"},
		{"derived form marked userSelected false", performerJSON("HealthcareService/ocean") + `,"category":[{"coding":[{"system":"` + formSystem + `","code":"warm-handoff","userSelected":false}]}]`, socialrx.FormWarmHandoff, true, socialrx.ChannelOceanEReferral, "HealthcareService/ocean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PrescriptionFromServiceRequest(srJSON(tt.extra), r)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{p.Form, p.FormDerived, p.Channel, p.Target}
			want := []any{tt.form, tt.derived, tt.channel, tt.target}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("form, derived, channel, target (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrescriptionNeeds(t *testing.T) {
	r := testResolver(t)
	extra := `,"category":[` + categoryJSON(systemSDOHCC, "food-insecurity") + `,` + categoryJSON(needDomainSystem, "physical-activity") + `,` + categoryJSON(needDomainSystem, "food") + `]` +
		`,"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-ca","code":"Z55.0"},{"system":"http://snomed.info/sct","code":"73438004"}]},{"coding":[{"system":"http://example.org/local","code":"x"}]},{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"Z55"}]}]` +
		`,"reasonReference":[{"reference":"Condition/housing"},{"reference":"Condition/mental"},{"reference":"Condition/diabetes"},{"reference":"Condition/broken"},{"reference":"Condition/unseen"},{"reference":"Observation/o1"},{"reference":"#c1"}]`
	p, err := PrescriptionFromServiceRequest(srJSON(extra), r)
	if err != nil {
		t.Fatal(err)
	}
	wantNeeds := []socialrx.NeedDomain{socialrx.DomainFood, socialrx.DomainPhysicalActivity, socialrx.DomainFinances, socialrx.DomainUnspecified, socialrx.DomainHousing, socialrx.DomainMentalHealth}
	if diff := cmp.Diff(wantNeeds, p.Needs); diff != "" {
		t.Errorf("needs (-want +got):\n%s", diff)
	}
	wantRefs := []string{"Condition/housing", "Condition/mental", "Condition/diabetes", "Condition/broken", "Condition/unseen"}
	if diff := cmp.Diff(wantRefs, p.NeedRefs); diff != "" {
		t.Errorf("need refs (-want +got):\n%s", diff)
	}
}

func TestPrescriptionFields(t *testing.T) {
	extra := `,"identifier":[{"system":"urn:oid:2.16.840.1.113883.3.239","value":"RX-1"},{"value":"local-7"},{"system":"x"}]` +
		`,"authoredOn":"2026-03-02T10:15:00-05:00","requester":{"reference":"PractitionerRole/dr1","display":"Dr"}` + performerJSON("HealthcareService/bare")
	p, err := PrescriptionFromServiceRequest(srJSON(extra), testResolver(t))
	if err != nil {
		t.Fatal(err)
	}
	want := &socialrx.Prescription{ID: "sr1", PatientID: "p1", Form: socialrx.FormSelfDirected, FormDerived: true, Code: foodPantry,
		Target: "HealthcareService/bare", Channel: socialrx.ChannelSelf, Status: "active", RequesterID: "PractitionerRole/dr1",
		AuthoredOn:  time.Date(2026, 3, 2, 15, 15, 0, 0, time.UTC),
		Identifiers: []socialrx.Coding{{System: "urn:oid:2.16.840.1.113883.3.239", Code: "RX-1"}, {Code: "local-7"}}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("prescription (-want +got):\n%s", diff)
	}
}

// TestPrescriptionErrors: every broken rule is reported at once, each at
// its path.
func TestPrescriptionErrors(t *testing.T) {
	r := testResolver(t)
	tests := []struct {
		name  string
		body  string
		code  string
		paths []string
	}{
		{"no subject, no code, no performer", `{"resourceType":"ServiceRequest","status":"active","intent":"order"}`,
			socialrx.EUNPROCESSABLE, []string{"ServiceRequest.subject", "ServiceRequest.code"}},
		{"code with text only, no performer, active", `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"code":{"text":" "}}`,
			socialrx.EUNPROCESSABLE, []string{"ServiceRequest.code"}},
		{"subject is a Group", `{"resourceType":"ServiceRequest","subject":{"reference":"Group/g1"},"code":{"coding":[{"code":"x"}]}}`,
			socialrx.EUNPROCESSABLE, []string{"ServiceRequest.subject.reference"}},
		{"bad codes and date", string(srJSON(`,"authoredOn":"yesterday","category":[` + categoryJSON(formSystem, "nope") + `,` + categoryJSON(channelSystem, "pigeon") + `,{"coding":[{"system":"x"},` + categoryJSON(needDomainSystem, "weather")[11:] + `]`)),
			socialrx.EUNPROCESSABLE, []string{"ServiceRequest.authoredOn", "ServiceRequest.category[0].coding[0]", "ServiceRequest.category[1].coding[0]", "ServiceRequest.category[2].coding[1]"}},
		{"contained performer", string(srJSON(performerJSON("#p1"))), socialrx.EUNPROCESSABLE, []string{"ServiceRequest.performer[0].reference"}},
		{"Practitioner performer", string(srJSON(performerJSON("Practitioner/pr1"))), socialrx.EUNPROCESSABLE, []string{"ServiceRequest.performer"}},
		{"warm hand-off without performer", string(srJSON(`,"category":[` + categoryJSON(formSystem, "warm-handoff") + `]`)),
			socialrx.EUNPROCESSABLE, []string{"ServiceRequest.performer", "ServiceRequest.category"}},
		{"warm hand-off to an unreachable program", string(srJSON(performerJSON("HealthcareService/bare") + `,"category":[` + categoryJSON(formSystem, "warm-handoff") + `]`)),
			socialrx.EUNPROCESSABLE, []string{"ServiceRequest.category"}},
		{"not JSON", `{"resourceType":`, socialrx.EINVALID, []string{"ServiceRequest"}},
		{"wrong JSON type", `{"resourceType":"ServiceRequest","performer":{"reference":"Organization/fax"}}`, socialrx.EINVALID, []string{"ServiceRequest.performer"}},
		{"another resource", `{"resourceType":"Task"}`, socialrx.EINVALID, []string{"ServiceRequest.resourceType"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PrescriptionFromServiceRequest([]byte(tt.body), r)
			if err == nil {
				t.Fatalf("got %+v, want an error", p)
			}
			if got := socialrx.ErrorCode(err); got != tt.code {
				t.Errorf("code = %s, want %s (%v)", got, tt.code, err)
			}
			var paths []string
			for _, is := range socialrx.ErrorIssues(err) {
				paths = append(paths, is.Path)
			}
			if diff := cmp.Diff(tt.paths, paths); diff != "" {
				t.Errorf("issue paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrescriptionErrorsHoldNoValues(t *testing.T) {
	secret := "SECRET-98765"
	body := srJSON(`,"authoredOn":"` + secret + `","category":[` + categoryJSON(formSystem, secret) + `]` + performerJSON("#"+secret))
	_, err := PrescriptionFromServiceRequest(body, testResolver(t))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, is := range socialrx.ErrorIssues(err) {
		msg += is.Message + is.Path
	}
	if strings.Contains(msg, secret) {
		t.Errorf("error %q repeats a value", msg)
	}
}

func TestResolverCalls(t *testing.T) {
	var asked []string
	r := func(ref string) ([]byte, bool) {
		asked = append(asked, ref)
		b, ok := testResources[ref]
		return []byte(b), ok
	}
	_, err := PrescriptionFromServiceRequest(srJSON(performerJSON("http://other.example/fhir/PractitionerRole/lw/_history/3")+
		`,"reasonReference":[{"reference":"Condition/housing/_history/1"}]`), r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Condition/housing", "PractitionerRole/lw", "Endpoint/msg"}
	if diff := cmp.Diff(want, asked); diff != "" {
		t.Errorf("references resolved (-want +got):\n%s", diff)
	}
}

func FuzzPrescriptionFromServiceRequest(f *testing.F) {
	seedExamples(f, "ServiceRequest")
	f.Add(srJSON(performerJSON("PractitionerRole/nav")))
	f.Add(srJSON(performerJSON("HealthcareService/ocean") + `,"category":[` + categoryJSON(channelSystem, "efax") + `]`))
	f.Add(srJSON(`,"reasonReference":[{"reference":"Condition/housing"}],"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"Z59.4"}]}]`))
	r := testResolver(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := PrescriptionFromServiceRequest(body, r)
		checkErr(t, err)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("prescription invalid: %v", err)
		}
		if !fhir.HasErrors(fhir.Validate(body, "ServiceRequest")) {
			// Valid FHIR in, valid FHIR out, and the round trip holds.
			sr := ServiceRequestFromPrescription(*p, p.ID)
			if is := fhir.Validate(sr, "ServiceRequest"); fhir.HasErrors(is) {
				t.Fatalf("written ServiceRequest invalid: %+v\n%s", is, sr)
			}
			p2, err := PrescriptionFromServiceRequest(sr, r)
			if err != nil {
				t.Fatalf("written ServiceRequest does not map: %v", err)
			}
			if p.Status == "" {
				p2.Status = "" // written as active: R4 requires a status
			}
			if diff := cmp.Diff(p, p2); diff != "" {
				t.Fatalf("round trip (-first +second):\n%s", diff)
			}
		}

	})
}

// TestPrescriptionCodeTextOnly: an R4 code with text only (EMRs often send
// just the words) says what is prescribed: it is the Code's Display, it
// satisfies "a code or a performer", and it is written back as text.
func TestPrescriptionCodeTextOnly(t *testing.T) {
	body := []byte(`{"resourceType":"ServiceRequest","id":"sr1","status":"active","intent":"order","code":{"text":"housing support"},"subject":{"reference":"Patient/p1"}}`)
	p, err := PrescriptionFromServiceRequest(body, testResolver(t))
	if err != nil {
		t.Fatalf("a text-only code without a performer: %v", err)
	}
	if diff := cmp.Diff(socialrx.Coding{Display: "housing support"}, p.Code); diff != "" {
		t.Errorf("code (-want +got):\n%s", diff)
	}
	out := ServiceRequestFromPrescription(*p, "sr1")
	if !strings.Contains(string(out), `"code":{"text":"housing support"}`) {
		t.Errorf("written back: want code as text only: %s", out)
	}
	back, err := PrescriptionFromServiceRequest(out, testResolver(t))
	if err != nil || back.Code != p.Code {
		t.Errorf("read back: code %+v, err %v; want %+v", back.Code, err, p.Code)
	}
}
