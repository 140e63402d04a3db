package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// consentPermitJSON is the Consent of the README ("Consent"): the patient
// permits sharing social prescribing referrals with the program's
// Organization, from 2026-11-01 to the end of 2027.
const consentPermitJSON = `{"resourceType":"Consent","status":"active",
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
"patient":{"reference":"Patient/p1"},"dateTime":"2026-11-23",
"policyRule":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTIN"}]},
"provision":{"type":"permit","period":{"start":"2026-11-01","end":"2027"},
 "actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/org1"}}],
 "action":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentaction","code":"disclose"}]}],
 "purpose":[{"system":"http://socialrx.dev/fhir/CodeSystem/consent-purpose","code":"social-prescribing"}]}}`

func TestConsentFromResource(t *testing.T) {
	c, err := ConsentFromResource([]byte(consentPermitJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := &socialrx.Consent{Status: "active", Privacy: true, PatientID: "p1", Provision: &socialrx.ConsentProvision{
		Type:     "permit",
		Start:    time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		End:      time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), // "2027": the whole year
		Actors:   []string{"Organization/org1"},
		Purposes: []socialrx.Coding{{System: socialrx.ConsentPurposeSystem, Code: socialrx.ConsentPurposeSocialPrescribing}},
		Actions:  []socialrx.Coding{{System: socialrx.ConsentActionSystem, Code: socialrx.ConsentActionDisclose}},
	}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ConsentFromResource (-want +got):\n%s", diff)
	}
	for name, body := range map[string]string{
		"not JSON":       `{"resourceType":`,
		"not a Consent":  `{"resourceType":"Patient"}`,
		"provision type": `{"resourceType":"Consent","provision":[]}`,
	} {
		if _, err := ConsentFromResource([]byte(body)); socialrx.ErrorCode(err) != socialrx.EINVALID {
			t.Errorf("%s: error %v, want EINVALID", name, err)
		}
	}
	// Ends by precision; an unreadable end never applies.
	for end, want := range map[string]time.Time{
		"2026-12-31":           time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		"2026-12":              time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		"2026-12-31T10:00:00Z": time.Date(2026, 12, 31, 10, 0, 1, 0, time.UTC),
		"soon":                 time.Unix(0, 0),
	} {
		c, err := ConsentFromResource([]byte(`{"resourceType":"Consent","provision":{"period":{"end":"` + end + `"}}}`))
		if err != nil || !c.Provision.End.Equal(want) {
			t.Errorf("end %q: %v %v, want %v", end, c.Provision.End, err, want)
		}
	}
	if got := ConsentPatient([]byte(`{"resourceType":"Consent","patient":{"reference":"https://emr.example/fhir/Patient/p9"}}`)); got != "p9" {
		t.Errorf("ConsentPatient of an absolute reference: %q", got)
	}
	if got := ConsentPatient([]byte(`{"resourceType":"Consent","patient":{"reference":"Group/g"}}`)); got != "" {
		t.Errorf("ConsentPatient of a Group: %q", got)
	}
}

// TestConsentExamples reads the official R4 Consent examples and the SDOH
// CC information-disclosure Consent and decides with each: none permits
// sharing a referral (their rules are untyped, narrowed to some data, for
// other purposes or ended, or the Consent has no provision), and
// consent-example-notOrg's deny of Organization/f001 is honoured.
func TestConsentExamples(t *testing.T) {
	files, _ := filepath.Glob("../testdata/fhir-examples/r4/Consent-*.json")
	files = append(files, "../testdata/fhir-examples/sdoh-cc/json/Consent-SDOHCC-ConsentInformationDisclosureExample.json")
	if len(files) != 13 {
		t.Fatalf("%d Consent examples, want 12 R4 and 1 SDOH CC", len(files))
	}
	now := time.Date(2015, 12, 1, 0, 0, 0, 0, time.UTC) // within most examples' periods
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ConsentFromResource(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !c.Privacy || c.Status != "active" || c.PatientID == "" {
			t.Errorf("%s: read as %+v, want an active patient-privacy Consent of a patient", f, c)
		}
		for _, recipients := range [][]string{{"Organization/f001"}, {"Practitioner/xcda-author"}, {"Organization/SDOHCC-OrganizationPayerExample"}} {
			s := socialrx.Sharing{PatientID: c.PatientID, Recipients: recipients, Needs: []socialrx.NeedDomain{socialrx.DomainHousing}}
			ok, reason := socialrx.ConsentPermits([]socialrx.Consent{*c}, s, now)
			wantDeny := strings.HasSuffix(f, "notOrg.json") && recipients[0] == "Organization/f001"
			switch {
			case ok:
				t.Errorf("%s permits sharing with %v: %s", filepath.Base(f), recipients, reason)
			case wantDeny && !strings.Contains(reason, "Consent/consent-example-notOrg denies"):
				t.Errorf("%s: %s, want its deny of Organization/f001", filepath.Base(f), reason)
			case !wantDeny && strings.Contains(reason, "denies"):
				t.Errorf("%s denies sharing with %v: %s", filepath.Base(f), recipients, reason)
			}
		}
	}
	// The README's Consent permits, within its period only.
	c, _ := ConsentFromResource([]byte(consentPermitJSON))
	s := socialrx.Sharing{PatientID: "p1", Recipients: []string{"HealthcareService/hs1", "Organization/org1"}}
	for at, want := range map[time.Time]bool{
		time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC): false,
		time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC):  true,
		time.Date(2027, 12, 31, 23, 0, 0, 0, time.UTC): true,
		time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC):    false,
	} {
		if ok, reason := socialrx.ConsentPermits([]socialrx.Consent{*c}, s, at); ok != want {
			t.Errorf("README Consent at %s: %v (%s), want %v", at, ok, reason, want)
		}
	}
}

func TestRecipients(t *testing.T) {
	res := map[string]string{
		"HealthcareService/hs1": `{"resourceType":"HealthcareService","providedBy":{"reference":"Organization/org1"}}`,
		"PractitionerRole/nav":  `{"resourceType":"PractitionerRole","organization":{"reference":"Organization/org2"}}`,
	}
	r := Resolver(func(ref string) ([]byte, bool) { b, ok := res[ref]; return []byte(b), ok })
	got := Recipients(r, "HealthcareService/hs1", "HealthcareService/hs1", "PractitionerRole/nav", "", "Organization/org1", "HealthcareService/missing")
	want := []string{"HealthcareService/hs1", "Organization/org1", "PractitionerRole/nav", "Organization/org2", "HealthcareService/missing"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Recipients (-want +got):\n%s", diff)
	}
}

func TestHoldAndReleaseTask(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	task := `{"resourceType":"Task","id":"t1","extension":[{"url":"http://example.org/x","valueString":"kept"}],"status":"accepted","statusReason":{"text":"booked"},"businessStatus":{"text":"intake booked"},"intent":"order","lastModified":"2026-11-01T00:00:00Z"}`
	if ConsentHoldOf([]byte(task)) != "" {
		t.Fatal("an accepted Task shows a hold")
	}
	held, err := HoldTask([]byte(task), socialrx.HoldConsentRevoked, "revoked: Consent/c1", at)
	if err != nil {
		t.Fatal(err)
	}
	if got := ConsentHoldOf(held); got != socialrx.HoldConsentRevoked {
		t.Fatalf("held Task shows %q: %s", got, held)
	}
	for _, want := range []string{`"status":"on-hold"`, `"code":"consent-revoked"`, `"text":"revoked: Consent/c1"`, `"valueString":"kept"`,
		`"valueCode":"accepted"`, `"valueCodeableConcept":{"text":"booked"}`, `"businessStatus":{"text":"intake booked"}`, `"lastModified":"2026-11-24T10:00:00Z"`} {
		if !strings.Contains(string(held), want) {
			t.Errorf("held Task lacks %s: %s", want, held)
		}
	}
	// Held again (another reason): what it was held from is kept.
	again, _ := HoldTask(held, socialrx.HoldConsentNeeded, "again", at)
	if ConsentHoldOf(again) != socialrx.HoldConsentNeeded || !strings.Contains(string(again), `"valueCode":"accepted"`) || strings.Count(string(again), ExtensionConsentHold) != 1 {
		t.Errorf("held twice: %s", again)
	}
	out, ok, err := ReleaseTask(again, at.Add(time.Hour))
	if err != nil || !ok {
		t.Fatalf("release: %v %v", ok, err)
	}
	want := `{"resourceType":"Task","id":"t1","extension":[{"url":"http://example.org/x","valueString":"kept"}],"status":"accepted","statusReason":{"text":"booked"},"businessStatus":{"text":"intake booked"},"intent":"order","lastModified":"2026-11-24T11:00:00Z"}`
	if string(out) != want {
		t.Errorf("released:\n got %s\nwant %s", out, want)
	}
	// A Task without a reason or extensions comes back without them.
	plain := `{"resourceType":"Task","status":"requested","intent":"order"}`
	held, _ = HoldTask([]byte(plain), socialrx.HoldConsentNeeded, "needed", at)
	out, ok, _ = ReleaseTask(held, at)
	if !ok || string(out) != `{"resourceType":"Task","status":"requested","intent":"order","lastModified":"2026-11-24T10:00:00Z"}` {
		t.Errorf("released plain Task: %s", out)
	}
	if out, ok, err := ReleaseTask([]byte(task), at); ok || err != nil || string(out) != task {
		t.Errorf("release of a Task not held: %v %v %s", ok, err, out)
	}
	// A performer's wait list is not a consent hold.
	if ConsentHoldOf([]byte(`{"resourceType":"Task","status":"on-hold","statusReason":{"coding":[{"system":"http://example.org","code":"consent-needed"}]}}`)) != "" {
		t.Error("an on-hold Task with another system's code shows a consent hold")
	}
}
