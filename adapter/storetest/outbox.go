package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// The outbox contract (socialrx.Store doc, socialrx.Outbox): referral
// changes become outbound messages in the writing transaction.

// Fixtures beyond the ingest ones: the referring clinician's role at a
// clinic whose EMR takes FHIR REST write-backs.
const (
	obxEMREndpoint = `{"resourceType":"Endpoint","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-rest"},
"payloadType":[{"text":"FHIR"}],"address":"https://emr.example.org/fhir"}`
	obxClinic = `{"resourceType":"Organization","active":true,"name":"Riverdale FHT","endpoint":[{"reference":"Endpoint/obx-emr"}]}`
	obxGP     = `{"resourceType":"PractitionerRole","active":true,"organization":{"reference":"Organization/obx-clinic"}}`
	// obxAppointment is what a platform books for the referral.
	obxAppointment = `{"resourceType":"Appointment","status":"booked","basedOn":[{"reference":"ServiceRequest/ing-sr"}],
"identifier":[{"system":"https://ocean.example.org/appointment","value":"A-1"}],
"start":"2026-03-10T15:00:00Z","end":"2026-03-10T15:30:00Z",
"participant":[{"actor":{"reference":"Patient/ing-p1"},"status":"accepted"}]}`
)

// obxTask is ingReferralTask with a reason, for statuses that need one.
func obxTask(status, reason string) string {
	t := `{"resourceType":"Task","status":"` + status + `","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},
"focus":{"reference":"ServiceRequest/ing-sr"},"for":{"reference":"Patient/ing-p1"},
"authoredOn":"2026-03-02T15:31:00Z","lastModified":"2026-03-05T10:00:00Z",`
	if reason != "" {
		t += `"statusReason":{"text":"` + reason + `"},`
	}
	return t + `"requester":{"reference":"PractitionerRole/ing-gp"},"owner":{"reference":"HealthcareService/ing-foodbank"}}`
}

func testOutbox(t *testing.T, open func(t *testing.T) socialrx.Store) {
	t.Run("RequesterChangesQueuePlatformMessages", func(t *testing.T) { testOutboxPlatform(t, withWorkflow(open(t))) })
	t.Run("FailedDeliveryIsVisibleAndSearchable", func(t *testing.T) { testOutboxFailed(t, withWorkflow(open(t))) })
	t.Run("DraftCancelledSendsNothing", func(t *testing.T) { testOutboxDraftCancelled(t, withWorkflow(open(t))) })
	t.Run("RolledBackWriteQueuesNothing", func(t *testing.T) { testOutboxRollback(t, withWorkflow(open(t))) })
	t.Run("PerformerChangesWriteBackToEMR", func(t *testing.T) { testOutboxPerformer(t, withWorkflow(open(t))) })
	t.Run("InboundMessagesRecordedOnce", func(t *testing.T) { testOutboxInbound(t, withWorkflow(open(t))) })
	t.Run("FaxHandoffOnStaffWorkList", func(t *testing.T) { testOutboxFaxHandoff(t, withWorkflow(open(t))) })
	t.Run("RevokedPrescriptionCancelsReferral", func(t *testing.T) { testOutboxRevokedPrescription(t, withWorkflow(open(t))) })
}

func messages(t *testing.T, s socialrx.Store, state string) []socialrx.OutboundMessage {
	t.Helper()
	ms, err := s.OutboundMessages(t.Context(), state, 0)
	if err != nil {
		t.Fatalf("OutboundMessages(%q): %v", state, err)
	}
	return ms
}

// msgKey is what the tests compare of a message (ids and times are the
// store's).
type msgKey struct {
	Destination, EndpointID string
	Event                   socialrx.MessageEvent
	Resource                string
	Version                 int64
	ReferralID, State       string
	Seq                     int64
}

func msgKeys(ms []socialrx.OutboundMessage) []msgKey {
	var out []msgKey
	for _, m := range ms {
		out = append(out, msgKey{m.Destination, m.EndpointID, m.Event, m.ResourceType + "/" + m.ResourceID, m.Version, m.ReferralID, m.State, m.Seq})
	}
	return out
}

func sortKeys() cmp.Option {
	return cmpopts.SortSlices(func(a, b msgKey) bool {
		if a.Destination != b.Destination {
			return a.Destination < b.Destination
		}
		return a.Seq < b.Seq
	})
}

func deliverJobs(t *testing.T, s socialrx.Store) int {
	t.Helper()
	jc, ok := s.(jobCounter)
	if !ok {
		t.Fatalf("store %T does not count jobs", s)
	}
	n, err := jc.JobCount(t.Context(), socialrx.KindDeliver)
	if err != nil {
		t.Fatalf("job count: %v", err)
	}
	return n
}

func referralOf(t *testing.T, s socialrx.Store) socialrx.Referral {
	t.Helper()
	pp := projection(t, s, "ing-p1")
	if len(pp.Referrals) != 1 {
		t.Fatalf("referrals: %+v, want one", pp.Referrals)
	}
	return pp.Referrals[0]
}

func testOutboxPlatform(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", obxTask("requested", ""))
	// The same status again (an EMR resend) queues nothing more.
	mustUpdate(t, s, "Task", "ing-ref", obxTask("requested", ""), 0)
	mustUpdate(t, s, "Task", "ing-ref", obxTask("cancelled", "patient moved"), 0)

	want := []msgKey{
		{socialrx.DestinationPlatform, "ing-ocean", socialrx.EventAddServiceRequest, "Task/ing-ref", 1, "ing-ref", socialrx.DeliveryPending, 1},
		{socialrx.DestinationPlatform, "ing-ocean", socialrx.EventRevokeServiceRequest, "Task/ing-ref", 3, "ing-ref", socialrx.DeliveryPending, 2},
	}
	ms := messages(t, s, "")
	if diff := cmp.Diff(want, msgKeys(ms), sortKeys()); diff != "" {
		t.Fatalf("outbox (-want +got):\n%s", diff)
	}
	if n := deliverJobs(t, s); n != 2 {
		t.Errorf("deliver jobs: %d, want 2 (one per message)", n)
	}
	first, second := ms[0], ms[1]
	if first.Seq > second.Seq {
		first, second = second, first
	}
	if first.ID == second.ID || len(first.ID) != 36 {
		t.Errorf("message ids %q, %q: want two distinct UUIDs", first.ID, second.ID)
	}
	if got, err := s.OutboundMessage(ctx, first.ID); err != nil || got.ID != first.ID || got.Event != first.Event {
		t.Errorf("OutboundMessage(%s) = %+v, %v", first.ID, got, err)
	}
	if _, err := s.OutboundMessage(ctx, "no-such-message"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("OutboundMessage(unknown): %v, want %s", err, socialrx.ENOTFOUND)
	}

	// The revoke waits for the add.
	if b, err := s.Blocked(ctx, &second); err != nil || !b {
		t.Errorf("Blocked(revoke) while add pending = %v, %v; want true", b, err)
	}
	if b, err := s.Blocked(ctx, &first); err != nil || b {
		t.Errorf("Blocked(add) = %v, %v; want false", b, err)
	}
	if ok, err := workflowOf(t, s).FinishMessage(ctx, first.ID, socialrx.DeliveryDelivered, 1, ""); err != nil || !ok {
		t.Fatalf("FinishMessage(add, delivered) = %v, %v", ok, err)
	}
	if b, err := s.Blocked(ctx, &second); err != nil || b {
		t.Errorf("Blocked(revoke) after add delivered = %v, %v; want false", b, err)
	}
	if r := referralOf(t, s); r.DeliveryState != socialrx.DeliveryPending {
		t.Errorf("referral delivery state with the revoke pending: %q, want pending", r.DeliveryState)
	}
	// A retryable failure keeps it pending, with the reason and attempts.
	if ok, err := workflowOf(t, s).FinishMessage(ctx, second.ID, socialrx.DeliveryPending, 1, "http 503"); err != nil || !ok {
		t.Fatalf("FinishMessage(revoke, pending) = %v, %v", ok, err)
	}
	if m, _ := s.OutboundMessage(ctx, second.ID); m == nil || m.Attempts != 1 || m.Error != "http 503" || m.State != socialrx.DeliveryPending {
		t.Errorf("after a retryable failure: %+v", m)
	}
	if ok, err := workflowOf(t, s).FinishMessage(ctx, second.ID, socialrx.DeliveryDelivered, 2, ""); err != nil || !ok {
		t.Fatalf("FinishMessage(revoke, delivered) = %v, %v", ok, err)
	}
	if r := referralOf(t, s); r.DeliveryState != socialrx.DeliveryDelivered || r.DeliveryError != "" {
		t.Errorf("referral after both delivered: %q %q, want delivered", r.DeliveryState, r.DeliveryError)
	}
	// Finishing a finished message changes nothing.
	if ok, err := workflowOf(t, s).FinishMessage(ctx, second.ID, socialrx.DeliveryFailed, 3, "late"); err != nil || ok {
		t.Errorf("FinishMessage on a delivered message = %v, %v; want false, nil", ok, err)
	}
	if got := msgKeys(messages(t, s, socialrx.DeliveryDelivered)); len(got) != 2 {
		t.Errorf("delivered messages: %+v, want 2", got)
	}
	if got := messages(t, s, socialrx.DeliveryPending); len(got) != 0 {
		t.Errorf("pending messages: %+v, want none", got)
	}
}

// testOutboxDraftCancelled: a referral cancelled while still a draft was
// never sent, so nothing is sent for it, neither an add nor a revoke.
func testOutboxDraftCancelled(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", obxTask("draft", ""))
	mustUpdate(t, s, "Task", "ing-ref", obxTask("cancelled", "changed our mind"), 0)
	if ms := messages(t, s, ""); len(ms) != 0 {
		t.Errorf("messages for a referral cancelled as a draft: %+v", msgKeys(ms))
	}
	if r := referralOf(t, s); r.DeliveryState != "" {
		t.Errorf("delivery state %q, want none", r.DeliveryState)
	}
}

func testOutboxFailed(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", obxTask("requested", ""))
	ms := messages(t, s, socialrx.DeliveryPending)
	if len(ms) != 1 {
		t.Fatalf("pending: %+v, want 1", ms)
	}
	reason := "http 400: ServiceRequest.performer: unknown program"
	if ok, err := workflowOf(t, s).FinishMessage(ctx, ms[0].ID, socialrx.DeliveryFailed, 1, reason); err != nil || !ok {
		t.Fatalf("FinishMessage(failed) = %v, %v", ok, err)
	}
	r := referralOf(t, s)
	if r.DeliveryState != socialrx.DeliveryFailed || r.DeliveryError != reason || r.Status != socialrx.ReferralRequested {
		t.Errorf("referral after failure: state %q error %q status %q", r.DeliveryState, r.DeliveryError, r.Status)
	}
	res := searchPage(t, s, "Task", "delivery-state=failed")
	if len(res.Matches) != 1 || res.Matches[0].ID != "ing-ref" {
		t.Fatalf("Task?delivery-state=failed: %d matches, want ing-ref", len(res.Matches))
	}
	if !containsAll(string(res.Matches[0].Body), `"valueCode":"failed"`, `unknown program`, `"status":"requested"`) {
		t.Errorf("failed Task body lacks the delivery extensions: %s", res.Matches[0].Body)
	}
	if n := len(searchPage(t, s, "Task", "delivery-state=delivered").Matches); n != 0 {
		t.Errorf("Task?delivery-state=delivered: %d, want 0", n)
	}
	// Marking it failed wrote a Task version as socialrx: no new message.
	if got := messages(t, s, ""); len(got) != 1 {
		t.Errorf("messages after the failure: %d, want 1", len(got))
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !contains(s, sub) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func testOutboxRollback(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	boom := errors.New("boom")
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		if _, err := tx.Create(t.Context(), "Task", "ing-ref", []byte(obxTask("requested", ""))); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transact: %v, want boom", err)
	}
	if ms := messages(t, s, ""); len(ms) != 0 {
		t.Errorf("outbox after rollback: %+v", ms)
	}
	if n := deliverJobs(t, s); n != 0 {
		t.Errorf("deliver jobs after rollback: %d", n)
	}
}

// asPerformer writes in one transaction with the performer's origin.
func asPerformer(t *testing.T, s socialrx.Store, fn func(ctx context.Context, tx *workflow.Tx) error) {
	t.Helper()
	err := workflowOf(t, s).Transact(t.Context(), func(tx *workflow.Tx) error {
		tx.SetOrigin(socialrx.Origin{Actor: socialrx.ActorPerformer, EndpointID: "ing-ocean"})
		return fn(t.Context(), tx)
	})
	if err != nil {
		t.Fatalf("performer transaction: %v", err)
	}
}

func testOutboxPerformer(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	load(t, s, []fixture{
		{"Endpoint", "obx-emr", obxEMREndpoint},
		{"Organization", "obx-clinic", obxClinic},
		{"PractitionerRole", "ing-gp", obxGP},
	})
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", obxTask("requested", ""))
	base := len(messages(t, s, ""))

	// The platform accepts: written back to the EMR, not echoed.
	asPerformer(t, s, func(ctx context.Context, tx *workflow.Tx) error {
		_, _, err := tx.Update(ctx, "Task", "ing-ref", []byte(obxTask("accepted", "")), 0)
		return err
	})
	// The platform books an appointment for it: created in the EMR.
	asPerformer(t, s, func(ctx context.Context, tx *workflow.Tx) error {
		_, err := tx.Create(ctx, "Appointment", "obx-appt", []byte(obxAppointment))
		return err
	})
	// Then sends an illegal change (accepted → requested): kept, flagged.
	asPerformer(t, s, func(ctx context.Context, tx *workflow.Tx) error {
		_, _, err := tx.Update(ctx, "Task", "ing-ref", []byte(obxTask("requested", "")), 0)
		return err
	})
	r := referralOf(t, s)
	if r.Status != socialrx.ReferralRequested || r.Flag == "" {
		t.Errorf("after the illegal change: status %q flag %q; want requested and a flag", r.Status, r.Flag)
	}
	want := []msgKey{
		{socialrx.DestinationEMR, "obx-emr", socialrx.WriteBackTask, "Task/ing-ref", 2, "ing-ref", socialrx.DeliveryPending, 1},
		{socialrx.DestinationEMR, "obx-emr", socialrx.WriteBackCreate, "Appointment/obx-appt", 1, "ing-ref", socialrx.DeliveryPending, 2},
		{socialrx.DestinationEMR, "obx-emr", socialrx.WriteBackTask, "Task/ing-ref", 3, "ing-ref", socialrx.DeliveryPending, 3},
	}
	var got []msgKey
	for _, k := range msgKeys(messages(t, s, "")) {
		if k.Destination == socialrx.DestinationEMR {
			got = append(got, k)
		}
	}
	if diff := cmp.Diff(want, got, sortKeys()); diff != "" {
		t.Errorf("EMR write-backs (-want +got):\n%s", diff)
	}
	if n := len(messages(t, s, "")) - len(want); n != base {
		t.Errorf("platform messages after the performer's changes: %d, want %d (no echo)", n, base)
	}
	// A legal change from the flagged state clears the flag.
	asPerformer(t, s, func(ctx context.Context, tx *workflow.Tx) error {
		_, _, err := tx.Update(ctx, "Task", "ing-ref", []byte(obxTask("accepted", "")), 0)
		return err
	})
	if r := referralOf(t, s); r.Flag != "" || r.Status != socialrx.ReferralAccepted {
		t.Errorf("after a legal change: status %q flag %q; want accepted, no flag", r.Status, r.Flag)
	}
}

func testOutboxInbound(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", obxTask("requested", ""))
	own := messages(t, s, "")[0].ID
	inbound := func(ep, id string, fail bool) (bool, error) {
		var seen bool
		err := workflowOf(t, s).Transact(t.Context(), func(tx *workflow.Tx) error {
			var err error
			seen, err = tx.Inbound(t.Context(), ep, id, socialrx.EventNotifyUpdateProcessRequest)
			if err == nil && fail {
				return errors.New("boom")
			}
			return err
		})
		return seen, err
	}
	cases := []struct {
		name     string
		ep, id   string
		fail     bool
		wantSeen bool
	}{
		{"first delivery, rolled back", "ing-ocean", "m-1", true, false},
		{"first delivery", "ing-ocean", "m-1", false, false},
		{"redelivery", "ing-ocean", "m-1", false, true},
		{"same id from another platform", "other", "m-1", false, false},
		{"an echo of socialrx's own message", "ing-ocean", own, false, true},
	}
	for _, c := range cases {
		seen, err := inbound(c.ep, c.id, c.fail)
		if c.fail {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err != nil || seen != c.wantSeen {
			t.Errorf("%s: Inbound = %v, %v; want %v", c.name, seen, err, c.wantSeen)
		}
	}
}

// A program reached by fax only: a warm hand-off by eFax.
const (
	obxFaxProgram = `{"resourceType":"HealthcareService","active":true,"name":"Legal clinic income support",
"telecom":[{"system":"fax","value":"416-555-0199"}]}`
	obxFaxHandoff = `{"resourceType":"ServiceRequest","status":"active","intent":"order",
"category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}],
"code":{"coding":[{"system":"http://snomed.info/sct","code":"464131000124100","display":"Referral to food bank"}]},
"subject":{"reference":"Patient/ing-p1"},"authoredOn":"2026-03-02T15:30:00Z",
"requester":{"reference":"PractitionerRole/ing-gp"},"performer":[{"reference":"HealthcareService/obx-fax"}],
"reasonReference":[{"reference":"Condition/ing-housing"}]}`
	obxFaxTask = `{"resourceType":"Task","status":"requested","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}],"text":"Referral"},
"focus":{"reference":"ServiceRequest/obx-fax-sr"},"for":{"reference":"Patient/ing-p1"},
"authoredOn":"2026-03-02T15:31:00Z","requester":{"reference":"PractitionerRole/ing-gp"},"owner":{"reference":"HealthcareService/obx-fax"}}`
)

// testOutboxFaxHandoff: a fax hand-off sends no message; its referral Task
// is on the staff work list (work-list=send-fax, a fact beside the Task as
// sent), and a job is queued to create one should the EMR send none.
func testOutboxFaxHandoff(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	mustCreate(t, s, "HealthcareService", "obx-fax", obxFaxProgram)
	mustCreate(t, s, "ServiceRequest", "obx-fax-sr", obxFaxHandoff)
	if n := jobCount(t, s, socialrx.KindHandoffTask); n != 1 {
		t.Errorf("handoff_task jobs: %d, want 1", n)
	}
	res := mustCreate(t, s, "Task", "obx-fax-ref", obxFaxTask)
	checkBody(t, "the EMR's fax referral Task", res, obxFaxTask) // stored as sent
	list := searchPage(t, s, "Task", "work-list=http://socialrx.dev/fhir/CodeSystem/task-code|send-fax&status=requested")
	if len(list.Matches) != 1 || list.Matches[0].ID != "obx-fax-ref" {
		t.Errorf("send-fax work list: %d matches, want obx-fax-ref", len(list.Matches))
	}
	if ms := messages(t, s, ""); len(ms) != 0 {
		t.Errorf("a fax hand-off queued messages: %+v", msgKeys(ms))
	}
	// Staff move it on; the state machine applies.
	mustUpdate(t, s, "Task", "obx-fax-ref", strings.Replace(obxFaxTask, `"status":"requested"`, `"status":"received"`, 1), 0)
	if list := searchPage(t, s, "Task", "work-list=send-fax&status=received"); len(list.Matches) != 1 {
		t.Errorf("send-fax work list after a status change: %d matches, want the Task (facts are put again with each version)", len(list.Matches))
	}
	_, _, err := txUpdate(s, t, "Task", "obx-fax-ref", strings.Replace(obxFaxTask, `"status":"requested"`, `"status":"completed"`, 1), 0)
	if socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE {
		t.Errorf("received → completed: %v, want %s", err, socialrx.EUNPROCESSABLE)
	}
}

func jobCount(t *testing.T, s socialrx.Store, kind string) int {
	t.Helper()
	jc, ok := s.(jobCounter)
	if !ok {
		t.Fatalf("store %T does not count jobs", s)
	}
	n, err := jc.JobCount(t.Context(), kind)
	if err != nil {
		t.Fatalf("job count: %v", err)
	}
	return n
}

// testOutboxRevokedPrescription: the practice revokes the ServiceRequest
// without touching its referral: socialrx cancels the referral for it and
// sends the platform a revoke-service-request, in the same transaction.
func testOutboxRevokedPrescription(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", obxTask("requested", ""))
	if ms := messages(t, s, ""); len(ms) == 1 {
		if _, err := workflowOf(t, s).FinishMessage(t.Context(), ms[0].ID, socialrx.DeliveryDelivered, 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	mustUpdate(t, s, "ServiceRequest", "ing-sr", strings.Replace(ingWarmHandoff, `"status":"active"`, `"status":"revoked"`, 1), 0)
	r := referralOf(t, s)
	if r.Status != socialrx.ReferralCancelled || r.StatusReason != "the prescription was revoked" {
		t.Errorf("referral after the revoke: %q (%q); want cancelled with the reason", r.Status, r.StatusReason)
	}
	var events []socialrx.MessageEvent
	for _, m := range messages(t, s, "") {
		events = append(events, m.Event)
	}
	if !slices.Contains(events, socialrx.EventRevokeServiceRequest) || len(events) != 2 {
		t.Errorf("messages: %v, want the add and a revoke-service-request", events)
	}
}

// testJobsUnique: the jobs the workflow schedules are unique by
// prescription (OutboxTx: a second call while one exists inserts
// nothing), whether the second call comes in the same transaction or a
// later one, and whatever path the store inserts them by.
func testJobsUnique(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	at := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	schedule := func(ids ...string) {
		t.Helper()
		err := s.Transact(ctx, func(tx socialrx.Tx) error {
			for _, id := range ids {
				if err := tx.ScheduleHandoffTask(ctx, id, 0); err != nil {
					return err
				}
				if err := tx.ScheduleFollowUpEscalation(ctx, id, at); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("schedule %v: %v", ids, err)
		}
	}
	schedule("sr-1", "sr-1")
	schedule("sr-1", "sr-2")
	schedule("sr-2")
	escalation := socialrx.EscalationArgs{}.Kind()
	if n := jobCount(t, s, socialrx.KindHandoffTask); n != 2 {
		t.Errorf("hand-off jobs: %d, want 2 (one per prescription)", n)
	}
	if n := jobCount(t, s, escalation); n != 2 {
		t.Errorf("escalation jobs: %d, want 2 (one per prescription)", n)
	}
	// A rolled-back transaction's jobs are not inserted.
	err := s.Transact(ctx, func(tx socialrx.Tx) error {
		if err := tx.ScheduleHandoffTask(ctx, "sr-3", 0); err != nil {
			return err
		}
		return socialrx.Errorf(socialrx.EINVALID, "roll back")
	})
	if socialrx.ErrorCode(err) != socialrx.EINVALID {
		t.Fatalf("rolled-back transaction: %v", err)
	}
	if n := jobCount(t, s, socialrx.KindHandoffTask); n != 2 {
		t.Errorf("hand-off jobs after a rollback: %d, want 2", n)
	}
}
