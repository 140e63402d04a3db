package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// The ingest contract (store.go, "Ingest"): writes derive domain rows in
// their transaction; ServiceRequests are read as prescriptions, get derived
// categories, a follow-up Task and a reminder job, once; mapping and
// state-machine errors fail the transaction with EUNPROCESSABLE.

// followUpTaskID and patientTaskID are the ids the store gives the Tasks it
// creates for ServiceRequest/srID: a prefix and the first 40 hex digits of
// the SHA-256 of srID.
func followUpTaskID(srID string) string { return "fu-" + sha40(srID) }
func patientTaskID(srID string) string  { return "pt-" + sha40(srID) }

func sha40(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:40]
}

// The Tasks the store creates for the search fixture sr1 (active,
// self-directed: its Organization has no Endpoint or fax).
var (
	sr1FollowUp    = followUpTaskID("sr1")
	sr1PatientTask = patientTaskID("sr1")
)

// jobCounter is implemented by stores that enqueue jobs (both do); the job
// assertions are skipped for a store without it.
type jobCounter interface {
	JobCount(ctx context.Context, kind string) (int, error)
}

const kindFollowUpReminder = "followup_reminder"

func checkJobs(t *testing.T, s socialrx.Store, want int) {
	t.Helper()
	jc, ok := s.(jobCounter)
	if !ok {
		return
	}
	n, err := jc.JobCount(t.Context(), kindFollowUpReminder)
	if err != nil {
		t.Fatalf("job count: %v", err)
	}
	if n != want {
		t.Errorf("%s jobs: got %d, want %d", kindFollowUpReminder, n, want)
	}
}

// Test data: one patient screened positive for food insecurity, with a
// housing need, referred by warm hand-off to a food bank on Ocean eReferral.
const (
	ingPatient = `{"resourceType":"Patient","active":true,"name":[{"family":"Tremblay","given":["Marie"]}],
"telecom":[{"system":"phone","value":"416-555-0101","use":"home","rank":2},{"system":"email","value":"marie@example.org","rank":1}],
"address":[{"city":"Toronto","state":"ON"}]}`

	ingHungerVitalSign = `{"resourceType":"Observation","status":"final",
"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"survey"}]},
  {"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}],
"code":{"coding":[{"system":"http://loinc.org","code":"88121-9","display":"Hunger Vital Sign [HVS]"}]},
"subject":{"reference":"Patient/ing-p1"},
"effectiveDateTime":"2026-03-02T14:05:00Z",
"component":[
  {"code":{"coding":[{"system":"http://loinc.org","code":"88122-7"}]},
   "valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6729-3","display":"Sometimes true"}]}},
  {"code":{"coding":[{"system":"http://loinc.org","code":"88123-5"}]},
   "valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA28398-8","display":"Never true"}]}}]}`

	ingHousingCondition = `{"resourceType":"Condition",
"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
"category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}],
"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-ca","code":"Z59.0","display":"Homelessness"}]},
"subject":{"reference":"Patient/ing-p1"},
"recordedDate":"2026-03-02T14:20:00Z"}`

	ingEndpoint = `{"resourceType":"Endpoint","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-msg"},
"payloadType":[{"text":"eReferral"}],"address":"https://ocean.example.org/fhir"}`

	ingFoodBank = `{"resourceType":"HealthcareService","active":true,"name":"Daily Bread Food Bank",
"endpoint":[{"reference":"Endpoint/ing-ocean"}]}`

	ingWalkingGroup = `{"resourceType":"HealthcareService","active":true,"name":"Neighbourhood walking group"}`

	// ingWarmHandoff names no form or channel: both are derived from the
	// performer's hl7-fhir-msg Endpoint.
	ingWarmHandoff = `{"resourceType":"ServiceRequest","status":"active","intent":"order",
"identifier":[{"system":"urn:oid:2.16.840.1.113883.3.239.99","value":"emr-order-4711"}],
"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}],
"code":{"coding":[{"system":"http://snomed.info/sct","code":"464131000124100","display":"Referral to food bank"}]},
"subject":{"reference":"Patient/ing-p1"},
"authoredOn":"2026-03-02T15:30:00Z",
"requester":{"reference":"PractitionerRole/ing-gp"},
"performer":[{"reference":"HealthcareService/ing-foodbank"}],
"reasonReference":[{"reference":"Condition/ing-housing"}]}`

	// ingSelfDirected points the person to a program with no electronic
	// intake: self-directed, with a patient Task.
	ingSelfDirected = `{"resourceType":"ServiceRequest","status":"active","intent":"order",
"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}],
"code":{"coding":[{"system":"http://snomed.info/sct","code":"229065009","display":"Exercise therapy"}]},
"subject":{"reference":"Patient/ing-p1"},
"authoredOn":"2026-03-02T15:40:00Z",
"requester":{"reference":"PractitionerRole/ing-gp"},
"performer":[{"reference":"HealthcareService/ing-walking"}]}`

	// ingInvalidSR is a social prescription (its category) with no
	// subject, no code and no performer.
	ingInvalidSR = `{"resourceType":"ServiceRequest","status":"active","intent":"order","category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}],"authoredOn":"2026-03-02T15:30:00Z"}`

	// ingClinicalOrder is an ordinary lab order with no patient reference
	// the domain could use: not a social prescription, so it is stored as
	// it is, with no prescription and no follow-up.
	ingClinicalOrder = `{"resourceType":"ServiceRequest","status":"active","intent":"order",
"code":{"coding":[{"system":"http://loinc.org","code":"24331-1","display":"Lipid panel"}]},
"subject":{"reference":"Group/ing-g1"},"performer":[{"reference":"Device/ing-d1"}]}`
)

// ingReferralTask is an SDOH CC referral Task for ing-sr with status.
func ingReferralTask(status string) string {
	return `{"resourceType":"Task","status":"` + status + `","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},
"focus":{"reference":"ServiceRequest/ing-sr"},"for":{"reference":"Patient/ing-p1"},
"authoredOn":"2026-03-02T15:31:00Z","lastModified":"2026-03-0` + map[string]string{"requested": "2", "accepted": "3", "draft": "4"}[status] + `T10:00:00Z",
"requester":{"reference":"PractitionerRole/ing-gp"},"owner":{"reference":"HealthcareService/ing-foodbank"}}`
}

func testIngest(t *testing.T, open func(t *testing.T) socialrx.Store) {
	t.Run("Findings", func(t *testing.T) { testIngestFindings(t, withWorkflow(open(t))) })
	t.Run("NeedAndDelete", func(t *testing.T) { testIngestNeed(t, withWorkflow(open(t))) })
	t.Run("WarmHandoff", func(t *testing.T) { testIngestWarmHandoff(t, withWorkflow(open(t))) })
	t.Run("SelfDirected", func(t *testing.T) { testIngestSelfDirected(t, withWorkflow(open(t))) })
	t.Run("FollowUpIDTaken", func(t *testing.T) { testIngestFollowUpIDTaken(t, withWorkflow(open(t))) })
	t.Run("InvalidAbortsTransaction", func(t *testing.T) { testIngestInvalid(t, withWorkflow(open(t))) })
	t.Run("FailedTransactionLeavesNoJob", func(t *testing.T) { testIngestRollback(t, withWorkflow(open(t))) })
	t.Run("ReferralStateMachine", func(t *testing.T) { testIngestReferral(t, withWorkflow(open(t))) })
	t.Run("ClinicalOrderStoredAsIs", func(t *testing.T) { testIngestClinicalOrder(t, withWorkflow(open(t))) })
	t.Run("StoreAloneOnlyStores", func(t *testing.T) { testStoreOnlyStores(t, open(t)) })
}

// testStoreOnlyStores: written to the store directly (not through the
// workflow), a social prescription and its referral Task are stored
// exactly as sent and cause nothing: no derived categories, no domain
// rows, no follow-up Task, no message, no job. What a write means is the
// workflow's (adapter/workflow), never a hidden side effect of the store.
func testStoreOnlyStores(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	sr := mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	checkBody(t, "ServiceRequest as stored", sr, ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", ingReferralTask("requested"))
	mustUpdate(t, s, "Task", "ing-ref", ingReferralTask("draft"), 0) // illegal for the state machine: not the store's business
	if pp := projection(t, s, "ing-p1"); len(pp.Findings)+len(pp.Needs)+len(pp.Prescriptions)+len(pp.Referrals)+len(pp.FollowUps) != 0 {
		t.Errorf("projection of direct store writes: %+v, want empty", pp)
	}
	if _, err := s.Read(t.Context(), "Task", followUpTaskID("ing-sr")); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("follow-up Task after a direct store write: err %v, want ENOTFOUND", err)
	}
	if ms, err := s.OutboundMessages(t.Context(), "", 0); err != nil || len(ms) != 0 {
		t.Errorf("outbox after direct store writes: %v, %v; want none", ms, err)
	}
	checkJobs(t, s, 0)
}

// testIngestClinicalOrder: a ServiceRequest that is not a social
// prescription is stored as sent, with no prescription, no follow-up Task
// and no job, even though it would fail the prescription rules.
func testIngestClinicalOrder(t *testing.T, s socialrx.Store) {
	res := mustCreate(t, s, "ServiceRequest", "ing-lab", ingClinicalOrder)
	if strings.Contains(string(res.Body), "socialrx.dev") {
		t.Errorf("a clinical order was given socialrx categories: %s", res.Body)
	}
	if _, err := s.Read(t.Context(), "Task", followUpTaskID("ing-lab")); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("follow-up Task of a clinical order: err %v, want not found", err)
	}
	checkJobs(t, s, 0)
}

func projection(t *testing.T, s socialrx.Store, patientID string) *socialrx.PatientProjection {
	t.Helper()
	pp, err := s.Projection(t.Context(), patientID)
	if err != nil {
		t.Fatalf("projection %s: %v", patientID, err)
	}
	return pp
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func testIngestFindings(t *testing.T, s socialrx.Store) {
	mustCreate(t, s, "Observation", "ing-hvs", ingHungerVitalSign)
	want := []socialrx.Finding{
		{PatientID: "ing-p1", Domain: socialrx.DomainFood, Instrument: socialrx.InstrumentHungerVitalSign, ItemCode: "88122-7", AnswerCode: "LA6729-3", Positive: true, Source: "Observation/ing-hvs", EffectiveAt: at("2026-03-02T14:05:00Z")},
		{PatientID: "ing-p1", Domain: socialrx.DomainFood, Instrument: socialrx.InstrumentHungerVitalSign, ItemCode: "88123-5", AnswerCode: "LA28398-8", Positive: false, Source: "Observation/ing-hvs", EffectiveAt: at("2026-03-02T14:05:00Z")},
	}
	if diff := cmp.Diff(want, projection(t, s, "ing-p1").Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	mustDelete(t, s, "Observation", "ing-hvs")
	if got := projection(t, s, "ing-p1").Findings; len(got) != 0 {
		t.Errorf("findings after delete: %d, want 0", len(got))
	}
}

func testIngestNeed(t *testing.T, s socialrx.Store) {
	mustCreate(t, s, "Condition", "ing-housing", ingHousingCondition)
	want := []socialrx.Need{{PatientID: "ing-p1", Domain: socialrx.DomainHousing,
		Code:   socialrx.Coding{System: "http://hl7.org/fhir/sid/icd-10-ca", Code: "Z59.0", Display: "Homelessness"},
		Source: "Condition/ing-housing", Status: "active", RecordedAt: at("2026-03-02T14:20:00Z")}}
	if diff := cmp.Diff(want, projection(t, s, "ing-p1").Needs); diff != "" {
		t.Errorf("needs (-want +got):\n%s", diff)
	}
	mustDelete(t, s, "Condition", "ing-housing")
	if got := projection(t, s, "ing-p1").Needs; len(got) != 0 {
		t.Errorf("needs after delete: %+v, want none", got)
	}
}

// loadReferralContext loads the patient, the food bank and its Endpoint,
// the walking group and the housing Condition.
func loadReferralContext(t *testing.T, s socialrx.Store) {
	t.Helper()
	load(t, s, []fixture{
		{"Patient", "ing-p1", ingPatient},
		{"Endpoint", "ing-ocean", ingEndpoint},
		{"HealthcareService", "ing-foodbank", ingFoodBank},
		{"HealthcareService", "ing-walking", ingWalkingGroup},
		{"Condition", "ing-housing", ingHousingCondition},
	})
}

func testIngestWarmHandoff(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	res := mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)

	// The stored body is the one sent: the derived form, channel and need
	// domains are facts beside it, found by socialrx's derived search
	// parameters.
	stored, err := s.Read(t.Context(), "ServiceRequest", "ing-sr")
	if err != nil {
		t.Fatal(err)
	}
	checkBody(t, "stored social ServiceRequest", stored, ingWarmHandoff)
	for _, q := range []string{
		"prescription-form=warm-handoff",
		"prescription-form=" + socialrx.CodeSystemBase + "prescription-form|warm-handoff",
		"prescription-channel=ocean-ereferral",
		"need-domain=housing&prescription-form=warm-handoff",
	} {
		if got := searchPage(t, s, "ServiceRequest", q); len(got.Matches) != 1 || got.Matches[0].ID != "ing-sr" {
			t.Errorf("ServiceRequest?%s: %v, want ing-sr", q, keys(got.Matches))
		}
	}
	for _, q := range []string{"prescription-form=self-directed", "need-domain=food", "prescription-channel=efax"} {
		if got := searchPage(t, s, "ServiceRequest", q); len(got.Matches) != 0 {
			t.Errorf("ServiceRequest?%s: %v, want none", q, keys(got.Matches))
		}
	}
	if diff := cmp.Diff(mustDecode(t, "created", res.Body), mustDecode(t, "stored", stored.Body)); diff != "" {
		t.Errorf("Create returned a body other than the one stored (-returned +stored):\n%s", diff)
	}

	due := at("2026-03-02T15:30:00Z").Add(21 * 24 * time.Hour)
	check := func(when string) {
		t.Helper()
		pp := projection(t, s, "ing-p1")
		wantP := []socialrx.Prescription{{ID: "ing-sr", PatientID: "ing-p1", Form: socialrx.FormWarmHandoff, FormDerived: true,
			Needs: []socialrx.NeedDomain{socialrx.DomainHousing}, NeedRefs: []string{"Condition/ing-housing"},
			Code:   socialrx.Coding{System: "http://snomed.info/sct", Code: "464131000124100", Display: "Referral to food bank"},
			Target: "HealthcareService/ing-foodbank", Channel: socialrx.ChannelOceanEReferral, Status: "active",
			RequesterID: "PractitionerRole/ing-gp", AuthoredOn: at("2026-03-02T15:30:00Z")}}
		if diff := cmp.Diff(wantP, pp.Prescriptions); diff != "" {
			t.Errorf("%s: prescriptions (-want +got):\n%s", when, diff)
		}
		wantF := []socialrx.FollowUp{{PrescriptionID: "ing-sr", PatientID: "ing-p1", Due: due,
			Channel: socialrx.ContactEmail, Owner: "PractitionerRole/ing-gp", Status: "requested"}}
		if diff := cmp.Diff(wantF, pp.FollowUps); diff != "" {
			t.Errorf("%s: follow-ups (-want +got):\n%s", when, diff)
		}
		fu, err := s.Read(t.Context(), "Task", followUpTaskID("ing-sr"))
		if err != nil {
			t.Fatalf("%s: follow-up Task: %v", when, err)
		}
		if fu.VersionID != 1 {
			t.Errorf("%s: follow-up Task version %d, want 1 (created once)", when, fu.VersionID)
		}
		var task struct {
			Restriction struct {
				Period struct {
					End string `json:"end"`
				} `json:"period"`
			} `json:"restriction"`
		}
		if err := json.Unmarshal(fu.Body, &task); err != nil {
			t.Fatal(err)
		}
		if end, err := time.Parse(time.RFC3339, task.Restriction.Period.End); err != nil || !end.Equal(due) {
			t.Errorf("%s: Task.restriction.period.end = %q, want %s (authoredOn + 21 days)", when, task.Restriction.Period.End, due.Format(time.RFC3339))
		}
		if _, err := s.Read(t.Context(), "Task", patientTaskID("ing-sr")); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
			t.Errorf("%s: patient Task of a warm hand-off: err %v, want ENOTFOUND", when, err)
		}
		tasks, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Task", Params: mustParseQuery(t, "focus=ServiceRequest/ing-sr")})
		if err != nil {
			t.Fatal(err)
		}
		if tasks.Total != 1 {
			t.Errorf("%s: %d Tasks focus on the ServiceRequest, want 1", when, tasks.Total)
		}
		checkJobs(t, s, 1)
	}
	check("after create")

	// Resend: the same ServiceRequest again, as an update, twice.
	mustUpdate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff, 0)
	res2, _ := mustUpdate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff, 0)
	first, resent := mustDecode(t, "first", res.Body), mustDecode(t, "resent", res2.Body)
	stripServerMeta(first)
	stripServerMeta(resent)
	if diff := cmp.Diff(first, resent); diff != "" {
		t.Errorf("resend stored another body (-first +resent):\n%s", diff)
	}
	check("after resend")
}

func testIngestSelfDirected(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-walk", ingSelfDirected)
	pp := projection(t, s, "ing-p1")
	if len(pp.Prescriptions) != 1 || pp.Prescriptions[0].Form != socialrx.FormSelfDirected || !pp.Prescriptions[0].FormDerived {
		t.Errorf("prescriptions: %+v; want one self-directed, derived", pp.Prescriptions)
	}
	if len(pp.FollowUps) != 1 || !pp.FollowUps[0].Due.Equal(at("2026-03-02T15:40:00Z").Add(14*24*time.Hour)) {
		t.Errorf("follow-ups: %+v; want one due 14 days after authoredOn", pp.FollowUps)
	}
	if _, err := s.Read(t.Context(), "Task", patientTaskID("ing-walk")); err != nil {
		t.Errorf("patient Task of a self-directed prescription: %v", err)
	}
	checkJobs(t, s, 1)
}

// testIngestFollowUpIDTaken: a new prescription whose follow-up Task id a
// client already used for a Task of its own (a PUT with that id) is stored;
// the client's Task is left as it was, and nothing else of the follow-up
// is made (as for any prescription whose follow-up Task exists). The
// workflow creates a new prescription's follow-up Task without asking
// first whether it exists (session 11), so the create's conflict must be
// that answer, not a failure.
func testIngestFollowUpIDTaken(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	own := `{"resourceType":"Task","status":"requested","intent":"order","description":"the client's own"}`
	mustCreate(t, s, "Task", followUpTaskID("ing-walk"), own)
	mustCreate(t, s, "ServiceRequest", "ing-walk", ingSelfDirected)
	got, err := s.Read(t.Context(), "Task", followUpTaskID("ing-walk"))
	if err != nil {
		t.Fatal(err)
	}
	if got.VersionID != 1 || !strings.Contains(string(got.Body), "the client's own") {
		t.Errorf("the client's Task: version %d, body %s; want it unchanged", got.VersionID, got.Body)
	}
	if pp := projection(t, s, "ing-p1"); len(pp.Prescriptions) != 1 || len(pp.FollowUps) != 0 {
		t.Errorf("projection: %d prescriptions, %d follow-ups; want 1 and 0", len(pp.Prescriptions), len(pp.FollowUps))
	}
	if _, err := s.Read(t.Context(), "Task", patientTaskID("ing-walk")); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("patient Task: %v, want none (the follow-up exists)", err)
	}
	checkJobs(t, s, 0)
}

func testIngestInvalid(t *testing.T, s socialrx.Store) {
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		for _, f := range []fixture{{"Patient", "ing-p1", ingPatient}, {"Condition", "ing-housing", ingHousingCondition}} {
			if _, err := tx.Create(t.Context(), f.typ, f.id, []byte(f.body)); err != nil {
				return err
			}
		}
		if _, err := tx.Create(t.Context(), "ServiceRequest", "ing-bad", []byte(ingInvalidSR)); err != nil {
			return err
		}
		_, err := tx.Create(t.Context(), "ServiceRequest", "ing-sr", []byte(ingWarmHandoff))
		return err
	})
	if code := socialrx.ErrorCode(err); code != socialrx.EUNPROCESSABLE {
		t.Fatalf("invalid ServiceRequest: code %q (%v), want %q", code, err, socialrx.EUNPROCESSABLE)
	}
	var paths []string
	for _, is := range socialrx.ErrorIssues(err) {
		paths = append(paths, is.Path)
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	if diff := cmp.Diff([]string{"ServiceRequest.code", "ServiceRequest.subject"}, paths); diff != "" {
		t.Errorf("issue paths (-want +got):\n%s", diff)
	}
	for _, ref := range [][2]string{{"Patient", "ing-p1"}, {"Condition", "ing-housing"}, {"ServiceRequest", "ing-bad"}} {
		if _, err := s.Read(t.Context(), ref[0], ref[1]); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
			t.Errorf("%s/%s after the failed transaction: err %v, want ENOTFOUND", ref[0], ref[1], err)
		}
	}
	pp := projection(t, s, "ing-p1")
	if len(pp.Needs)+len(pp.Prescriptions)+len(pp.FollowUps) != 0 {
		t.Errorf("projection after the failed transaction: %+v, want empty", pp)
	}
	checkJobs(t, s, 0)
}

func testIngestRollback(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	errAbort := errors.New("abort")
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		if _, err := tx.Create(t.Context(), "ServiceRequest", "ing-sr", []byte(ingWarmHandoff)); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Transact: %v, want the callback's error", err)
	}
	if _, err := s.Read(t.Context(), "Task", followUpTaskID("ing-sr")); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("follow-up Task after rollback: err %v, want ENOTFOUND", err)
	}
	if pp := projection(t, s, "ing-p1"); len(pp.Prescriptions)+len(pp.FollowUps) != 0 {
		t.Errorf("projection after rollback: %+v", pp)
	}
	checkJobs(t, s, 0)
}

func testIngestReferral(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", ingReferralTask("requested"))
	// The food bank takes eReferrals: its moves come from its platform.
	// Written locally, accepting is the program's move, refused (a message
	// in its name would be false); reported by the platform, it is kept.
	if _, _, err := txUpdate(s, t, "Task", "ing-ref", ingReferralTask("accepted"), 0); socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE {
		t.Fatalf("requested → accepted written locally on a referral sent to a platform: %v, want %s", err, socialrx.EUNPROCESSABLE)
	}
	if err := writeTxAs(s, t, socialrx.Origin{Actor: socialrx.ActorPerformer, EndpointID: "ing-ocean"}, func(tx socialrx.ResourceTx) error {
		_, _, err := tx.Update(t.Context(), "Task", "ing-ref", []byte(ingReferralTask("accepted")), 0)
		return err
	}); err != nil {
		t.Fatalf("requested → accepted reported by the platform: %v", err)
	}
	pp := projection(t, s, "ing-p1")
	want := []socialrx.Referral{{ID: "ing-ref", PrescriptionID: "ing-sr", PatientID: "ing-p1", Requester: "PractitionerRole/ing-gp",
		Performer: "HealthcareService/ing-foodbank", Status: socialrx.ReferralAccepted, LastChanged: at("2026-03-03T10:00:00Z"),
		// The food bank takes eReferrals: each change was queued for it.
		DeliveryState: socialrx.DeliveryPending, EndpointID: "ing-ocean"}}
	if diff := cmp.Diff(want, pp.Referrals); diff != "" {
		t.Errorf("referrals after requested → accepted (-want +got):\n%s", diff)
	}
	_, _, err := txUpdate(s, t, "Task", "ing-ref", ingReferralTask("draft"), 0)
	if socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE {
		t.Fatalf("accepted → draft: %v, want %s", err, socialrx.EUNPROCESSABLE)
	}
	if is := socialrx.ErrorIssues(err); len(is) == 0 || is[0].Path != "Task.status" {
		t.Errorf("accepted → draft issues: %+v, want one at Task.status", is)
	}
	cur, err := s.Read(t.Context(), "Task", "ing-ref")
	if err != nil || cur.VersionID != 2 {
		t.Errorf("Task after the refused change: %v, version %v; want version 2", err, cur)
	}
	if diff := cmp.Diff(want, projection(t, s, "ing-p1").Referrals); diff != "" {
		t.Errorf("referrals after the refused change (-want +got):\n%s", diff)
	}
}
