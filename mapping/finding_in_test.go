package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

const examplesDir = "../testdata/fhir-examples/sdoh-cc/json"

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func examples(t testing.TB, prefix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(examplesDir, prefix+"-*.json"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s examples in %s (err %v)", prefix, examplesDir, err)
	}
	return m
}

// wantPathErr checks that err is a *socialrx.Error of code with an issue
// at path.
func wantPathErr(t *testing.T, err error, code, path string) {
	t.Helper()
	var e *socialrx.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *socialrx.Error", err)
	}
	if e.Code != code || len(e.Issues) == 0 || e.Issues[0].Path != path {
		t.Fatalf("error = %v, want code %s at path %s", err, code, path)
	}
}

var at2020 = time.Date(2020, 9, 10, 21, 56, 54, 671000000, time.UTC)
var at2021 = time.Date(2021, 4, 26, 13, 56, 33, 747000000, time.UTC)

// TestFindingsFromObservationSDOHCC maps the SDOH CC screening and
// assessment examples to the findings a reader of the IG expects.
func TestFindingsFromObservationSDOHCC(t *testing.T) {
	obs := func(item, answer string, d socialrx.NeedDomain, in socialrx.Instrument, pos bool, id string, at time.Time) []socialrx.Finding {
		return []socialrx.Finding{{PatientID: "pat-53234", Domain: d, Instrument: in, ItemCode: item, AnswerCode: answer, Positive: pos, Source: "Observation/" + id, EffectiveAt: at}}
	}
	at2021May := time.Date(2021, 5, 10, 21, 56, 54, 671000000, time.UTC)
	tests := []struct {
		file string
		want []socialrx.Finding
	}{
		{"Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example.json",
			obs("88124-3", "LA19952-3", socialrx.DomainFood, socialrx.InstrumentHungerVitalSign, true, "SDOHCC-ObservationResponseHungerVitalSignQuestion3Example", at2020)},
		{"Observation-SDOHCC-ObservationResponsePRAPAREChildCareNeedExample.json",
			obs("93031-3", "LA30127-7", socialrx.DomainChildcare, socialrx.InstrumentPRAPARE, true, "SDOHCC-ObservationResponsePRAPAREChildCareNeedExample", at2021)},
		{"Observation-SDOHCC-ObservationResponsePRAPAREClothingNeedExample.json",
			obs("93031-3", "LA30126-9", socialrx.DomainFinances, socialrx.InstrumentPRAPARE, true, "SDOHCC-ObservationResponsePRAPAREClothingNeedExample", at2021)},
		{"Observation-SDOHCC-ObservationResponsePRAPAREHousingStatusExample.json",
			obs("71802-3", "LA30190-5", socialrx.DomainHousing, socialrx.InstrumentPRAPARE, true, "SDOHCC-ObservationResponsePRAPAREHousingStatusExample", at2021)},
		{"Observation-SDOHCC-ObservationResponsePRAPAREEmploymentStatusExample.json",
			obs("67875-5", "LA17956-6", socialrx.DomainFinances, socialrx.InstrumentPRAPARE, true, "SDOHCC-ObservationResponsePRAPAREEmploymentStatusExample", at2021)},
		{"Observation-SDOHCC-ObservationAssessmentInadequateFoodIntakeExample.json",
			obs("699653008", "", socialrx.DomainFood, socialrx.InstrumentOther, true, "SDOHCC-ObservationAssessmentInadequateFoodIntakeExample", at2021May)},
		{"Observation-SDOHCC-ObservationAssessmentTransportTooExpensiveExample.json",
			obs("160695008", "", socialrx.DomainFinances, socialrx.InstrumentOther, true, "SDOHCC-ObservationAssessmentTransportTooExpensiveExample", at2021May)},
		// NHANES social connection items are not in socialrx's tables: no finding.
		{"Observation-SDOHCC-ObservationResponseNHANESGroupingExample.json", nil},
		{"Observation-SDOHCC-ObservationResponseNHANESQuestion1Example.json", nil},
		{"Observation-SDOHCC-ObservationRaceOMBExample.json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := FindingsFromObservation(readExample(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFindingsFromObservationAllExamples: every SDOH CC Observation maps
// without error, and every finding passes Finding.Validate.
func TestFindingsFromObservationAllExamples(t *testing.T) {
	for _, f := range examples(t, "Observation") {
		b, _ := os.ReadFile(f)
		got, err := FindingsFromObservation(b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		for _, fi := range got {
			if err := fi.Validate(); err != nil {
				t.Errorf("%s: finding invalid: %v", filepath.Base(f), err)
			}
		}
	}
}

func TestFindingsFromQuestionnaireResponseSDOHCC(t *testing.T) {
	hvsID := "QuestionnaireResponse/SDOHCC-QuestionnaireResponseHungerVitalSignExample#"
	hvs := func(item, answer string, pos bool) socialrx.Finding {
		return socialrx.Finding{PatientID: "pat-53234", Domain: socialrx.DomainFood, Instrument: socialrx.InstrumentHungerVitalSign,
			ItemCode: item, AnswerCode: answer, Positive: pos, Source: hvsID + "/" + item, EffectiveAt: at2020}
	}
	got, err := FindingsFromQuestionnaireResponse(readExample(t, "QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []socialrx.Finding{hvs("88122-7", "LA28397-0", true), hvs("88123-5", "LA28397-0", true), hvs("88124-3", "LA19952-3", true)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HVS findings (-want +got):\n%s", diff)
	}

	prID := "QuestionnaireResponse/SDOHCC-QuestionnaireResponsePRAPAREExample#"
	pr := func(link, item, answer string, d socialrx.NeedDomain, pos bool) socialrx.Finding {
		return socialrx.Finding{PatientID: "pat-53234", Domain: d, Instrument: socialrx.InstrumentPRAPARE,
			ItemCode: item, AnswerCode: answer, Positive: pos, Source: prID + link, EffectiveAt: at2021}
	}
	got, err = FindingsFromQuestionnaireResponse(readExample(t, "QuestionnaireResponse-SDOHCC-QuestionnaireResponsePRAPAREExample.json"))
	if err != nil {
		t.Fatal(err)
	}
	want = []socialrx.Finding{
		pr("/93042-0/71802-3", "71802-3", "LA30190-5", socialrx.DomainHousing, true),
		pr("/93042-0/93033-9", "93033-9", "LA30122-8", socialrx.DomainHousing, false),
		pr("/93041-2/82589-3", "82589-3", "LA30191-3", socialrx.DomainUnspecified, true),
		pr("/93041-2/67875-5", "67875-5", "LA17956-6", socialrx.DomainFinances, true),
		pr("/93041-2/76437-3", "76437-3", "LA17849-3", socialrx.DomainMedicationCoverage, false),
		pr("/93041-2/63586-2", "63586-2", "", socialrx.DomainFinances, false),
		pr("/93041-2/93031-3", "93031-3", "LA30126-9", socialrx.DomainFinances, true),
		pr("/93041-2/93031-3", "93031-3", "LA30127-7", socialrx.DomainChildcare, true),
		pr("/93041-2/93030-5", "93030-5", "LA30134-3", socialrx.DomainDailyLiving, true),
		pr("/93041-2/93030-5", "93030-5", "LA30133-5", socialrx.DomainDailyLiving, true),
		pr("/93040-4/93029-7", "93029-7", "LA30130-1", socialrx.DomainSocialSupport, true),
		pr("/93040-4/93038-8", "93038-8", "LA13909-9", socialrx.DomainMentalHealth, false),
		pr("/93039-6/93028-9", "93028-9", "LA32-8", socialrx.DomainUnspecified, false),
		pr("/93039-6/93027-1", "93027-1", "LA32-8", socialrx.DomainUnspecified, false),
		pr("/93039-6/93026-3", "93026-3", "LA32-8", socialrx.DomainUnspecified, true),
		pr("/93039-6/76501-6", "76501-6", "LA32-8", socialrx.DomainUnspecified, false),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PRAPARE findings (-want +got):\n%s", diff)
	}
}

func TestFindingsFromQuestionnaireResponseAllExamples(t *testing.T) {
	for _, f := range examples(t, "QuestionnaireResponse") {
		b, _ := os.ReadFile(f)
		got, err := FindingsFromQuestionnaireResponse(b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		for _, fi := range got {
			if err := fi.Validate(); err != nil {
				t.Errorf("%s: finding invalid: %v", filepath.Base(f), err)
			}
		}
	}
}

// obsJSON builds an Observation; extra is spliced in as more members.
func obsJSON(extra string) []byte {
	return []byte(`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"}` + extra + `}`)
}

func TestFindingsFromObservationShapes(t *testing.T) {
	f := func(item, answer string, d socialrx.NeedDomain, in socialrx.Instrument, pos bool) socialrx.Finding {
		return socialrx.Finding{PatientID: "p1", Domain: d, Instrument: in, ItemCode: item, AnswerCode: answer, Positive: pos, Source: "Observation/o1"}
	}
	comp := func(item, answer string) string {
		return `{"code":{"coding":[{"system":"http://loinc.org","code":"` + item + `"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"` + answer + `"}]}}`
	}
	compN := func(item, n string) string {
		return `{"code":{"coding":[{"system":"http://loinc.org","code":"` + item + `"}]},"valueQuantity":{"value":` + n + `}}`
	}
	panel := func(code string, comps ...string) []byte {
		return obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},"component":[` + strings.Join(comps, ",") + `]`)
	}
	hvs, ahc, pra := socialrx.InstrumentHungerVitalSign, socialrx.InstrumentAHCHRSN, socialrx.InstrumentPRAPARE
	tests := []struct {
		name string
		body []byte
		want []socialrx.Finding
	}{
		{"HVS panel with components, one sometimes true",
			panel("88121-9", comp("88122-7", "LA6729-3"), comp("88123-5", "LA28398-8")),
			[]socialrx.Finding{f("88122-7", "LA6729-3", socialrx.DomainFood, hvs, true), f("88123-5", "LA28398-8", socialrx.DomainFood, hvs, false)}},
		{"AHC panel names the instrument of shared food items",
			panel("96777-8", comp("88122-7", "LA28397-0")),
			[]socialrx.Finding{f("88122-7", "LA28397-0", socialrx.DomainFood, ahc, true)}},
		{"panel with hasMember only: nothing here",
			obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"88121-9"}]},"hasMember":[{"reference":"Observation/a"}]`), nil},
		{"unknown component skipped",
			panel("93025-5", comp("99999-9", "LA33-6"), comp("93033-9", "LA33-6")),
			[]socialrx.Finding{f("93033-9", "LA33-6", socialrx.DomainHousing, pra, true)}},
		{"AHC living situation chosen by its answer",
			obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"71802-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA31994-9"}]}`),
			[]socialrx.Finding{f("71802-3", "LA31994-9", socialrx.DomainHousing, ahc, true)}},
		{"PHQ-2 sum 3 is positive on both items",
			panel("96777-8", comp("44250-9", "LA6569-3"), comp("44255-8", "LA6570-1")),
			[]socialrx.Finding{f("44250-9", "LA6569-3", socialrx.DomainMentalHealth, ahc, true), f("44255-8", "LA6570-1", socialrx.DomainMentalHealth, ahc, true)}},
		{"PHQ-2 sum 2 is negative",
			panel("96777-8", comp("44250-9", "LA6569-3"), comp("44255-8", "LA6569-3")),
			[]socialrx.Finding{f("44250-9", "LA6569-3", socialrx.DomainMentalHealth, ahc, false), f("44255-8", "LA6569-3", socialrx.DomainMentalHealth, ahc, false)}},
		{"HITS sum 11 is positive",
			panel("96777-8", comp("95618-5", "LA10082-8"), comp("95617-7", "LA10082-8"), comp("95616-9", "LA10066-1"), comp("95615-1", "LA10082-8")),
			[]socialrx.Finding{
				f("95618-5", "LA10082-8", socialrx.DomainUnspecified, ahc, true), f("95617-7", "LA10082-8", socialrx.DomainUnspecified, ahc, true),
				f("95616-9", "LA10066-1", socialrx.DomainUnspecified, ahc, true), f("95615-1", "LA10082-8", socialrx.DomainUnspecified, ahc, true)}},
		{"HITS sum 10 is negative",
			panel("96777-8", comp("95618-5", "LA10082-8"), comp("95617-7", "LA10082-8"), comp("95616-9", "LA10066-1"), comp("95615-1", "LA10066-1")),
			[]socialrx.Finding{
				f("95618-5", "LA10082-8", socialrx.DomainUnspecified, ahc, false), f("95617-7", "LA10082-8", socialrx.DomainUnspecified, ahc, false),
				f("95616-9", "LA10066-1", socialrx.DomainUnspecified, ahc, false), f("95615-1", "LA10066-1", socialrx.DomainUnspecified, ahc, false)}},
		{"HITS total 12 positive",
			obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"95614-4"}]},"valueInteger":12`),
			[]socialrx.Finding{f("95614-4", "", socialrx.DomainUnspecified, ahc, true)}},
		{"activity 3 days x 30 minutes = 90 < 150 positive",
			panel("96777-8", compN("89555-7", "3"), compN("68516-4", "30")),
			[]socialrx.Finding{f("89555-7", "", socialrx.DomainPhysicalActivity, ahc, true), f("68516-4", "", socialrx.DomainPhysicalActivity, ahc, true)}},
		{"activity 5 days x 30 minutes = 150 negative",
			panel("96777-8", compN("89555-7", "5"), compN("68516-4", "30")),
			[]socialrx.Finding{f("89555-7", "", socialrx.DomainPhysicalActivity, ahc, false), f("68516-4", "", socialrx.DomainPhysicalActivity, ahc, false)}},
		{"activity days alone undecided",
			obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"89555-7"}]},"valueQuantity":{"value":2}`),
			[]socialrx.Finding{f("89555-7", "", socialrx.DomainPhysicalActivity, ahc, false)}},
		{"activity 0 days alone positive",
			obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"89555-7"}]},"valueQuantity":{"value":0}`),
			[]socialrx.Finding{f("89555-7", "", socialrx.DomainPhysicalActivity, ahc, true)}},
		{"unknown answer code: finding, not positive",
			obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"88122-7"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA00000-0"}]}`),
			[]socialrx.Finding{f("88122-7", "LA00000-0", socialrx.DomainFood, hvs, false)}},
		{"no value: no finding",
			obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"88122-7"}]},"dataAbsentReason":{"text":"asked but declined"}`), nil},
		{"unknown item code: no finding, no error", obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":60}`), nil},
		{"entered-in-error: none",
			[]byte(`{"resourceType":"Observation","id":"o1","status":"entered-in-error","code":{"coding":[{"system":"http://loinc.org","code":"88124-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA19952-3"}]}}`), nil},
		{"cancelled: none",
			[]byte(`{"resourceType":"Observation","id":"o1","status":"cancelled","code":{"coding":[{"system":"http://loinc.org","code":"88124-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA19952-3"}]}}`), nil},
		{"assessment answered No is not positive",
			obsJSON(`,"code":{"coding":[{"system":"http://snomed.info/sct","code":"733423003"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA32-8"}]}`),
			[]socialrx.Finding{f("733423003", "LA32-8", socialrx.DomainFood, socialrx.InstrumentOther, false)}},
		{"assessment valueBoolean false",
			obsJSON(`,"code":{"coding":[{"system":"http://snomed.info/sct","code":"32911000"}]},"valueBoolean":false`),
			[]socialrx.Finding{f("32911000", "", socialrx.DomainHousing, socialrx.InstrumentOther, false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindingsFromObservation(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindingsFromObservationEffective(t *testing.T) {
	item := `,"code":{"coding":[{"system":"http://loinc.org","code":"88124-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA19952-3"}]}`
	tests := []struct {
		extra string
		want  time.Time
	}{
		{`,"effectiveDateTime":"2021-03-04T05:06:07+01:00"`, time.Date(2021, 3, 4, 4, 6, 7, 0, time.UTC)},
		{`,"effectiveDateTime":"2021-03"`, time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)},
		{`,"effectivePeriod":{"start":"2021-03-04"},"issued":"2022-01-01T00:00:00Z"`, time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC)},
		{`,"issued":"2022-01-01T00:00:00Z"`, time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)},
		{``, time.Time{}},
	}
	for _, tt := range tests {
		got, err := FindingsFromObservation(obsJSON(item + tt.extra))
		if err != nil {
			t.Fatalf("%s: %v", tt.extra, err)
		}
		if len(got) != 1 || !got[0].EffectiveAt.Equal(tt.want) {
			t.Errorf("%s: got %v, want EffectiveAt %v", tt.extra, got, tt.want)
		}
	}
}

func TestFindingsFromObservationErrors(t *testing.T) {
	item := `"code":{"coding":[{"system":"http://loinc.org","code":"88124-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA19952-3"}]}`
	tests := []struct {
		name       string
		body       string
		code, path string
	}{
		{"no subject", `{"resourceType":"Observation","id":"o",` + item + `}`, socialrx.EUNPROCESSABLE, "Observation.subject"},
		{"subject a Group", `{"resourceType":"Observation","subject":{"reference":"Group/g"},` + item + `}`, socialrx.EUNPROCESSABLE, "Observation.subject.reference"},
		{"subject urn:uuid", `{"resourceType":"Observation","subject":{"reference":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},` + item + `}`, socialrx.EUNPROCESSABLE, "Observation.subject.reference"},
		{"bad date", `{"resourceType":"Observation","subject":{"reference":"Patient/p"},"effectiveDateTime":"yesterday",` + item + `}`, socialrx.EINVALID, "Observation.effectiveDateTime"},
		{"wrong type", `{"resourceType":"Condition"}`, socialrx.EINVALID, "Observation.resourceType"},
		{"not JSON", `{"resourceType":`, socialrx.EINVALID, "Observation"},
		{"array", `[]`, socialrx.EINVALID, "Observation"},
		{"wrong JSON type", `{"resourceType":"Observation","component":[{"valueQuantity":{"value":"12"}}]}`, socialrx.EINVALID, "Observation.component.valueQuantity.value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FindingsFromObservation([]byte(tt.body))
			wantPathErr(t, err, tt.code, tt.path)
		})
	}
	// No findings, no subject: not an error (nothing to attribute).
	if got, err := FindingsFromObservation([]byte(`{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}`)); err != nil || got != nil {
		t.Errorf("unknown code without subject = %v, %v; want nil, nil", got, err)
	}
}

func TestFindingsFromQuestionnaireResponseShapes(t *testing.T) {
	body := []byte(`{"resourceType":"QuestionnaireResponse","id":"q1","status":"completed","subject":{"reference":"Patient/p1"},"authored":"2024-02-03",
	 "item":[{"linkId":"root","definition":"http://loinc.org#96777-8","item":[
	   {"linkId":"a","code":[{"system":"http://loinc.org","code":"71802-3"}],"answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA31995-6"}}]},
	   {"linkId":"b","definition":"http://loinc.org#44250-9","answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA6571-9"}}]},
	   {"linkId":"c","answer":[{"valueString":"x","item":[{"linkId":"93159-2","answer":[{"valueCoding":{"code":"LA9933-8"}}]}]}]},
	   {"linkId":"unknown/1234-5","answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA33-6"}}]}
	 ]}]}`)
	at := time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC)
	f := func(link, item, answer string, d socialrx.NeedDomain) socialrx.Finding {
		return socialrx.Finding{PatientID: "p1", Domain: d, Instrument: socialrx.InstrumentAHCHRSN, ItemCode: item, AnswerCode: answer, Positive: true,
			Source: "QuestionnaireResponse/q1#" + link, EffectiveAt: at}
	}
	want := []socialrx.Finding{
		f("a", "71802-3", "LA31995-6", socialrx.DomainHousing),
		f("b", "44250-9", "LA6571-9", socialrx.DomainMentalHealth),
		f("93159-2", "93159-2", "LA9933-8", socialrx.DomainSocialSupport),
	}
	got, err := FindingsFromQuestionnaireResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	void := []byte(`{"resourceType":"QuestionnaireResponse","status":"entered-in-error","item":[{"linkId":"/88124-3","answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA19952-3"}}]}]}`)
	if got, err := FindingsFromQuestionnaireResponse(void); err != nil || got != nil {
		t.Errorf("entered-in-error = %v, %v; want nil, nil", got, err)
	}
	noSubject := []byte(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"/88124-3","answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA19952-3"}}]}]}`)
	_, err = FindingsFromQuestionnaireResponse(noSubject)
	wantPathErr(t, err, socialrx.EUNPROCESSABLE, "QuestionnaireResponse.subject")
	_, err = FindingsFromQuestionnaireResponse([]byte(`{"resourceType":"Observation"}`))
	wantPathErr(t, err, socialrx.EINVALID, "QuestionnaireResponse.resourceType")
}

// checkErr fails unless err is nil or a *socialrx.Error whose issues all
// have a path.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *socialrx.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *socialrx.Error", err)
	}
	if len(e.Issues) == 0 {
		t.Fatalf("error %v has no issues", err)
	}
	for _, is := range e.Issues {
		if is.Path == "" {
			t.Fatalf("error %v has an issue without a path", err)
		}
	}
}

func seedExamples(f *testing.F, prefixes ...string) {
	for _, p := range prefixes {
		for _, name := range examples(f, p) {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

func FuzzFindingsFromObservation(f *testing.F) {
	seedExamples(f, "Observation", "QuestionnaireResponse")
	f.Add(obsJSON(`,"code":{"coding":[{"system":"http://loinc.org","code":"96777-8"}]},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"89555-7"}]},"valueQuantity":{"value":0}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := FindingsFromObservation(body)
		checkErr(t, err)
		for _, fi := range got {
			if err := fi.Validate(); err != nil {
				t.Fatalf("finding invalid: %v", err)
			}
		}
	})
}

func FuzzFindingsFromQuestionnaireResponse(f *testing.F) {
	seedExamples(f, "QuestionnaireResponse")
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := FindingsFromQuestionnaireResponse(body)
		checkErr(t, err)
		for _, fi := range got {
			if err := fi.Validate(); err != nil {
				t.Fatalf("finding invalid: %v", err)
			}
		}
	})
}
