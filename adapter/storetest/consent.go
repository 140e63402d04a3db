package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// Consent-gated sharing (socialrx consent.go, workflow
// Options.RequireConsent) on each store: the hold, the work list, the
// release and the revocation are written in the transaction of the write
// that causes them; the outbox cancels what a revocation stops.

// cnsConsent is an active patient-privacy Consent of ing-p1 whose provision
// (type) names the food bank; status as given.
func cnsConsent(status, typ string) string {
	return `{"resourceType":"Consent","status":"` + status + `",
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
"patient":{"reference":"Patient/ing-p1"},
"policyRule":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTIN"}]},
"provision":{"type":"` + typ + `","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},
 "reference":{"reference":"HealthcareService/ing-foodbank"}}]}}`
}

// cnsNote is the practice's note about the referral, for its platform.
const cnsNote = `{"resourceType":"Communication","status":"completed","partOf":[{"reference":"Task/ing-ref"}],
"payload":[{"contentString":"Please call in the morning."}]}`

func testConsent(t *testing.T, open func(t *testing.T) socialrx.Store) {
	t.Run("CancelOutboundCancelsPendingOnly", func(t *testing.T) { testCancelOutbound(t, withWorkflow(open(t))) })
	t.Run("HeldReleasedRevoked", func(t *testing.T) { testConsentHold(t, withConsent(open(t))) })
	t.Run("ConsentInTheSameTransaction", func(t *testing.T) { testConsentSameTx(t, withConsent(open(t))) })
}

// withConsent wraps s for the Consent area: writes go through a workflow
// that requires consent.
func withConsent(s socialrx.Store) *ingesting {
	return &ingesting{Store: s, wf: workflow.New(s, workflow.Options{RequireConsent: true})}
}

func testCancelOutbound(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)
	mustCreate(t, s, "Task", "ing-ref", obxTask("requested", ""))
	add := messages(t, s, socialrx.DeliveryPending)
	if len(add) != 1 {
		t.Fatalf("pending: %+v, want the add", msgKeys(add))
	}
	if ok, err := workflowOf(t, s).FinishMessage(ctx, add[0].ID, socialrx.DeliveryDelivered, 1, ""); err != nil || !ok {
		t.Fatalf("FinishMessage(add) = %v, %v", ok, err)
	}
	mustCreate(t, s, "Communication", "cns-note", cnsNote)
	mustUpdate(t, s, "Task", "ing-ref", obxTask("cancelled", "moved away"), 0)
	if n := len(messages(t, s, socialrx.DeliveryPending)); n != 2 {
		t.Fatalf("pending before the cancel: %d, want the note and the revoke", n)
	}
	var n int
	err := s.Transact(ctx, func(tx socialrx.Tx) error {
		var err error
		if _, err = tx.CancelOutbound(ctx, "ing-ref", socialrx.DestinationEMR, "not this destination"); err != nil {
			return err
		}
		n, err = tx.CancelOutbound(ctx, "ing-ref", socialrx.DestinationPlatform, "consent revoked")
		return err
	})
	if err != nil || n != 2 {
		t.Fatalf("CancelOutbound = %d, %v; want 2 cancelled", n, err)
	}
	cancelled := messages(t, s, socialrx.DeliveryCancelled)
	if len(cancelled) != 2 || cancelled[0].Error != "consent revoked" {
		t.Errorf("cancelled: %+v, want the note and the revoke with the reason", cancelled)
	}
	if got := messages(t, s, socialrx.DeliveryDelivered); len(got) != 1 || got[0].ID != add[0].ID {
		t.Errorf("delivered after the cancel: %+v, want the add untouched", msgKeys(got))
	}
	// A cancelled message is not pending: its job finds nothing to do,
	// and it blocks nothing after it.
	if ok, err := workflowOf(t, s).FinishMessage(ctx, cancelled[0].ID, socialrx.DeliveryDelivered, 1, ""); err != nil || ok {
		t.Errorf("FinishMessage on a cancelled message = %v, %v; want false", ok, err)
	}
	for _, m := range cancelled {
		if b, err := s.Blocked(ctx, &m); err != nil || b {
			t.Errorf("Blocked(%s) = %v, %v; want false", m.Event, b, err)
		}
	}
	// Nothing left to cancel; a rolled-back cancel cancels nothing.
	_ = s.Transact(ctx, func(tx socialrx.Tx) error {
		n, _ = tx.CancelOutbound(ctx, "ing-ref", socialrx.DestinationPlatform, "again")
		return nil
	})
	if n != 0 {
		t.Errorf("second CancelOutbound = %d, want 0", n)
	}
}

// taskStatus reads Task/id's status and statusReason coding code.
func taskStatus(t *testing.T, s socialrx.Store, id string) (status, hold string) {
	t.Helper()
	res, err := s.Read(t.Context(), "Task", id)
	if err != nil {
		t.Fatal(err)
	}
	b := string(res.Body)
	status = between(b, `"status":"`, `"`)
	if strings.Contains(b, `"system":"`+socialrx.CodeSystemBase+`referral-hold","code":"`) {
		hold = between(b, `referral-hold","code":"`, `"`)
	}
	return status, hold
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// consentList returns the ids on Task?work-list=consent-needed.
func consentList(t *testing.T, s socialrx.Store) []string {
	t.Helper()
	out := []string{}
	for _, m := range searchPage(t, s, "Task", "work-list="+socialrx.CodeSystemBase+"task-code|consent-needed").Matches {
		out = append(out, m.ID)
	}
	return out
}

func testConsentHold(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	loadReferralContext(t, s)
	mustCreate(t, s, "ServiceRequest", "ing-sr", ingWarmHandoff)

	// No Consent: the hand-off is held, on the work list, and nothing is
	// queued for the platform.
	mustCreate(t, s, "Task", "ing-ref", obxTask("requested", ""))
	if st, hold := taskStatus(t, s, "ing-ref"); st != "on-hold" || hold != socialrx.HoldConsentNeeded {
		t.Fatalf("Task without Consent: status %q hold %q, want on-hold consent-needed", st, hold)
	}
	if r := referralOf(t, s); r.Status != socialrx.ReferralOnHold || r.DeliveryState != socialrx.DeliveryHeld || r.DeliveryError != socialrx.HoldConsentNeeded ||
		!strings.Contains(r.StatusReason, "consent") || r.EndpointID != "ing-ocean" {
		t.Errorf("held referral: %+v", r)
	}
	if diff := cmp.Diff([]string{"ing-ref"}, consentList(t, s)); diff != "" {
		t.Errorf("consent-needed work list (-want +got):\n%s", diff)
	}
	if ms := messages(t, s, ""); len(ms) != 0 {
		t.Fatalf("messages while held: %+v", msgKeys(ms))
	}
	// A note about the held referral goes nowhere; the EMR writing the
	// Task again (as it has it) holds it again.
	mustCreate(t, s, "Communication", "cns-note-held", cnsNote)
	mustUpdate(t, s, "Task", "ing-ref", obxTask("requested", ""), 0)
	if st, hold := taskStatus(t, s, "ing-ref"); st != "on-hold" || hold != socialrx.HoldConsentNeeded {
		t.Errorf("after the EMR's rewrite: %q %q, want held", st, hold)
	}
	// A Consent that denies, or is not active, releases nothing.
	mustCreate(t, s, "Consent", "cns-deny", cnsConsent("active", "deny"))
	mustCreate(t, s, "Consent", "cns-draft", cnsConsent("draft", "permit"))
	if ms := messages(t, s, ""); len(ms) != 0 {
		t.Fatalf("messages after a deny and a draft Consent: %+v", msgKeys(ms))
	}
	mustDelete(t, s, "Consent", "cns-deny")

	// Recording the Consent releases it, in that transaction: the add,
	// once; off the work list; back to requested.
	mustCreate(t, s, "Consent", "cns-1", cnsConsent("active", "permit"))
	ms := messages(t, s, "")
	if len(ms) != 1 || ms[0].Event != socialrx.EventAddServiceRequest || ms[0].State != socialrx.DeliveryPending {
		t.Fatalf("after the Consent: %+v, want one pending add-service-request", msgKeys(ms))
	}
	if st, hold := taskStatus(t, s, "ing-ref"); st != "requested" || hold != "" {
		t.Errorf("released Task: %q %q, want requested", st, hold)
	}
	if got := consentList(t, s); len(got) != 0 {
		t.Errorf("work list after the release: %v", got)
	}
	if r := referralOf(t, s); r.DeliveryState != socialrx.DeliveryPending || r.StatusReason != "" {
		t.Errorf("released referral: %+v", r)
	}
	// Writing the Consent again changes nothing more.
	mustUpdate(t, s, "Consent", "cns-1", cnsConsent("active", "permit"), 0)
	if n := len(messages(t, s, "")); n != 1 {
		t.Errorf("messages after the Consent is written again: %d, want 1", n)
	}
	if ok, err := workflowOf(t, s).FinishMessage(ctx, ms[0].ID, socialrx.DeliveryDelivered, 1, ""); err != nil || !ok {
		t.Fatalf("FinishMessage(add) = %v, %v", ok, err)
	}

	// The practice's note goes out while the Consent stands.
	mustCreate(t, s, "Communication", "cns-note", cnsNote)
	pending := messages(t, s, socialrx.DeliveryPending)
	if len(pending) != 1 || pending[0].Event != socialrx.EventCommunicationFromRequester {
		t.Fatalf("pending after the note: %+v", msgKeys(pending))
	}

	// Revoking it: the referral is held again (consent-revoked), the note
	// not yet sent is cancelled, and later changes send nothing.
	mustUpdate(t, s, "Consent", "cns-1", cnsConsent("inactive", "permit"), 0)
	if st, hold := taskStatus(t, s, "ing-ref"); st != "on-hold" || hold != socialrx.HoldConsentRevoked {
		t.Errorf("after the revocation: %q %q, want on-hold consent-revoked", st, hold)
	}
	if got := messages(t, s, socialrx.DeliveryCancelled); len(got) != 1 || got[0].ID != pending[0].ID {
		t.Errorf("cancelled: %+v, want the note", msgKeys(got))
	}
	if r := referralOf(t, s); r.DeliveryState != socialrx.DeliveryHeld || r.DeliveryError != socialrx.HoldConsentRevoked {
		t.Errorf("revoked referral: %+v", r)
	}
	// The platform, which never saw the hold, reports progress: kept
	// unflagged, then held again (still no Consent); its completion ends
	// the hold.
	asPerformer(t, s, func(ctx context.Context, tx *workflow.Tx) error {
		cur, err := tx.Read(ctx, "Task", "ing-ref")
		if err != nil {
			return err
		}
		_, err = tx.ApplyPlatformTask(ctx, cur, []byte(`{"resourceType":"Task","status":"in-progress","lastModified":"2026-03-06T10:00:00Z"}`))
		return err
	})
	if st, hold := taskStatus(t, s, "ing-ref"); st != "on-hold" || hold != socialrx.HoldConsentRevoked {
		t.Errorf("after the platform's in-progress: %q %q, want held again", st, hold)
	}
	if r := referralOf(t, s); r.Flag != "" || r.DeliveryState != socialrx.DeliveryHeld {
		t.Errorf("referral after the platform's report: flag %q state %q", r.Flag, r.DeliveryState)
	}
	mustCreate(t, s, "Communication", "cns-note-2", cnsNote)
	mustUpdate(t, s, "Task", "ing-ref", obxTask("cancelled", "patient withdrew"), 0)
	if got := messages(t, s, socialrx.DeliveryPending); len(got) != 0 {
		t.Errorf("pending after the revocation: %+v, want none", msgKeys(got))
	}
	if got := consentList(t, s); len(got) != 0 {
		t.Errorf("a cancelled referral is on the consent work list: %v", got)
	}
}

// testConsentSameTx: an encounter that carries the Consent after the
// referral Task sends the referral once, in one transaction.
func testConsentSameTx(t *testing.T, s socialrx.Store) {
	loadReferralContext(t, s)
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		ctx := t.Context()
		if _, err := tx.Create(ctx, "ServiceRequest", "ing-sr", []byte(ingWarmHandoff)); err != nil {
			return err
		}
		if _, err := tx.Create(ctx, "Task", "ing-ref", []byte(obxTask("requested", ""))); err != nil {
			return err
		}
		_, err := tx.Create(ctx, "Consent", "cns-1", []byte(cnsConsent("active", "permit")))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ms := messages(t, s, "")
	if len(ms) != 1 || ms[0].Event != socialrx.EventAddServiceRequest {
		t.Fatalf("messages: %+v, want one add-service-request", msgKeys(ms))
	}
	if st, _ := taskStatus(t, s, "ing-ref"); st != "requested" {
		t.Errorf("Task: %q, want requested", st)
	}
	if n := deliverJobs(t, s); n != 1 {
		t.Errorf("deliver jobs: %d, want 1", n)
	}
}
