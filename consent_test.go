package socialrx

import (
	"strings"
	"testing"
	"time"
)

// The program of the tests: a HealthcareService provided by an
// Organization; the referral is for housing.
var (
	program  = Sharing{PatientID: "p1", Recipients: []string{"HealthcareService/hs1", "Organization/org1"}, Needs: []NeedDomain{DomainHousing}}
	now      = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	spPurp   = Coding{System: ConsentPurposeSystem, Code: ConsentPurposeSocialPrescribing}
	housing  = Coding{System: CodeSystemBase + "need-domain", Code: string(DomainHousing)}
	food     = Coding{System: CodeSystemBase + "need-domain", Code: string(DomainFood)}
	disclose = Coding{System: ConsentActionSystem, Code: ConsentActionDisclose}
	access   = Coding{System: ConsentActionSystem, Code: "access"}
)

// privacy returns an active patient-privacy Consent of p1 with provision p.
func privacy(id string, p *ConsentProvision) Consent {
	return Consent{ID: id, Status: "active", Privacy: true, PatientID: "p1", Provision: p}
}

func TestConsentPermits(t *testing.T) {
	permitOrg := &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}}
	tests := []struct {
		name     string
		consents []Consent
		s        Sharing
		want     bool
		reason   string // a part of the reason
	}{
		{"no Consent", nil, program, false, "no active patient-privacy Consent"},
		{"a Consent not stored yet (no id) counts too", []Consent{{Status: "active", Privacy: true, PatientID: "p1", Provision: permitOrg}}, program, true, "permits"},
		{"permit naming the program's Organization", []Consent{privacy("c1", permitOrg)}, program, true, "Consent/c1 permits"},
		{"permit naming the HealthcareService", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"HealthcareService/hs1"}})}, program, true, "Consent/c1"},
		{"permit naming another Organization", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/other"}})}, program, false, "no active"},
		{"permit for the social-prescribing purpose, any program", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Purposes: []Coding{spPurp}})}, program, true, "permits"},
		{"permit for the referral's need", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Purposes: []Coding{housing}})}, program, true, "permits"},
		{"permit for another need only", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Purposes: []Coding{food}})}, program, false, "no active"},
		{"permit for one of two needs: not enough", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Purposes: []Coding{housing}})},
			Sharing{PatientID: "p1", Recipients: program.Recipients, Needs: []NeedDomain{DomainHousing, DomainFood}}, false, "no active"},
		{"permit for both needs", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Purposes: []Coding{housing, food}})},
			Sharing{PatientID: "p1", Recipients: program.Recipients, Needs: []NeedDomain{DomainHousing, DomainFood}}, true, "permits"},
		{"a need purpose does not cover a referral without needs", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Purposes: []Coding{housing}})},
			Sharing{PatientID: "p1", Recipients: program.Recipients}, false, "no active"},
		{"permit naming the program and another purpose", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}, Purposes: []Coding{food}})}, program, false, "no active"},
		{"blanket permit names nothing: does not count", []Consent{privacy("c1", &ConsentProvision{Type: "permit"})}, program, false, "no active"},
		{"untyped root naming the program: neither", []Consent{privacy("c1", &ConsentProvision{Actors: []string{"Organization/org1"}})}, program, false, "no active"},
		{"inactive", []Consent{{ID: "c1", Status: "inactive", Privacy: true, PatientID: "p1", Provision: permitOrg}}, program, false, "no active"},
		{"rejected", []Consent{{ID: "c1", Status: "rejected", Privacy: true, PatientID: "p1", Provision: permitOrg}}, program, false, "no active"},
		{"entered-in-error", []Consent{{ID: "c1", Status: "entered-in-error", Privacy: true, PatientID: "p1", Provision: permitOrg}}, program, false, "no active"},
		{"draft", []Consent{{ID: "c1", Status: "draft", Privacy: true, PatientID: "p1", Provision: permitOrg}}, program, false, "no active"},
		{"not patient-privacy (a treatment consent)", []Consent{{ID: "c1", Status: "active", PatientID: "p1", Provision: permitOrg}}, program, false, "no active"},
		{"another patient's", []Consent{{ID: "c1", Status: "active", Privacy: true, PatientID: "p2", Provision: permitOrg}}, program, false, "no active"},
		{"no provision", []Consent{privacy("c1", nil)}, program, false, "no active"},
		{"period not begun", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}, Start: now.Add(time.Hour)})}, program, false, "no active"},
		{"period ended", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}, End: now})}, program, false, "no active"},
		{"within the period", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}, Start: now.Add(-time.Hour), End: now.Add(time.Hour)})}, program, true, "permits"},
		{"action disclose", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}, Actions: []Coding{access, disclose}})}, program, true, "permits"},
		{"action access only: not a disclosure", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}, Actions: []Coding{access}})}, program, false, "no active"},
		{"permit of some data only", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Actors: []string{"Organization/org1"}, Narrowed: true})}, program, false, "no active"},
		{"nested permit inherits the root's actor", []Consent{privacy("c1", &ConsentProvision{Actors: []string{"Organization/org1"},
			Provisions: []ConsentProvision{{Type: "permit", Purposes: []Coding{spPurp}}}})}, program, true, "permits"},
		{"nested permit inherits the root's period", []Consent{privacy("c1", &ConsentProvision{End: now.Add(-time.Hour),
			Provisions: []ConsentProvision{{Type: "permit", Actors: []string{"Organization/org1"}}}})}, program, false, "no active"},
		{"nested permit under a narrowed root", []Consent{privacy("c1", &ConsentProvision{Narrowed: true,
			Provisions: []ConsentProvision{{Type: "permit", Actors: []string{"Organization/org1"}}}})}, program, false, "no active"},
		{"deny for the program wins over a permit in the same Consent", []Consent{privacy("c1", &ConsentProvision{Type: "permit", Purposes: []Coding{spPurp},
			Provisions: []ConsentProvision{{Type: "deny", Actors: []string{"HealthcareService/hs1"}}}})}, program, false, "Consent/c1 denies"},
		{"deny for the program wins over another Consent's permit", []Consent{privacy("c1", permitOrg), privacy("c2", &ConsentProvision{Type: "deny", Actors: []string{"Organization/org1"}})}, program, false, "Consent/c2 denies"},
		{"deny of another program does not matter", []Consent{privacy("c1", permitOrg), privacy("c2", &ConsentProvision{Type: "deny", Actors: []string{"Organization/other"}})}, program, true, "Consent/c1 permits"},
		{"deny of the referral's need", []Consent{privacy("c1", permitOrg), privacy("c2", &ConsentProvision{Type: "deny", Purposes: []Coding{housing}})}, program, false, "Consent/c2 denies"},
		{"deny of another need", []Consent{privacy("c1", permitOrg), privacy("c2", &ConsentProvision{Type: "deny", Purposes: []Coding{food}})}, program, true, "Consent/c1 permits"},
		{"deny of everyone", []Consent{privacy("c1", permitOrg), privacy("c2", &ConsentProvision{Type: "deny"})}, program, false, "Consent/c2 denies"},
		{"deny of some data still wins", []Consent{privacy("c1", permitOrg), privacy("c2", &ConsentProvision{Type: "deny", Actors: []string{"Organization/org1"}, Narrowed: true, Actions: []Coding{access}})}, program, false, "denies"},
		{"expired deny does not", []Consent{privacy("c1", permitOrg), privacy("c2", &ConsentProvision{Type: "deny", Actors: []string{"Organization/org1"}, End: now.Add(-time.Hour)})}, program, true, "permits"},
		{"inactive deny does not", []Consent{privacy("c1", permitOrg), {ID: "c2", Status: "inactive", Privacy: true, PatientID: "p1", Provision: &ConsentProvision{Type: "deny"}}}, program, true, "permits"},
	}
	for _, tt := range tests {
		got, reason := ConsentPermits(tt.consents, tt.s, now)
		if got != tt.want || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: ConsentPermits = %v %q, want %v with %q", tt.name, got, reason, tt.want, tt.reason)
		}
	}
}

func TestConsentHoldFor(t *testing.T) {
	tests := []struct {
		name string
		prev *Referral
		next ReferralStatus
		want string
	}{
		{"new referral", nil, ReferralRequested, HoldConsentNeeded},
		{"never sent", &Referral{Status: ReferralDraft}, ReferralRequested, HoldConsentNeeded},
		{"held, consent needed, written again", &Referral{Status: ReferralOnHold, DeliveryState: DeliveryHeld, DeliveryError: HoldConsentNeeded}, ReferralRequested, HoldConsentNeeded},
		{"sent before", &Referral{Status: ReferralAccepted, DeliveryState: DeliveryDelivered}, ReferralAccepted, HoldConsentRevoked},
		{"sent, pending", &Referral{Status: ReferralRequested, DeliveryState: DeliveryPending}, ReferralRequested, HoldConsentRevoked},
		{"held, revoked", &Referral{Status: ReferralOnHold, DeliveryState: DeliveryHeld, DeliveryError: HoldConsentRevoked}, ReferralAccepted, HoldConsentRevoked},
		{"cancelled: nothing sent, not held", &Referral{Status: ReferralAccepted, DeliveryState: DeliveryDelivered}, ReferralCancelled, ""},
		{"entered in error", nil, ReferralEnteredInError, ""},
		{"draft", nil, ReferralDraft, ""},
	}
	for _, tt := range tests {
		if got := ConsentHoldFor(tt.prev, Referral{Status: tt.next}); got != tt.want {
			t.Errorf("%s: ConsentHoldFor = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestContinueConsentHold(t *testing.T) {
	tests := []struct {
		name               string
		state, err, hold   string
		wantState, wantErr string
	}{
		{"held now", "", "", HoldConsentNeeded, DeliveryHeld, HoldConsentNeeded},
		{"held now, after delivery", DeliveryDelivered, "", HoldConsentRevoked, DeliveryHeld, HoldConsentRevoked},
		{"still held", DeliveryHeld, HoldConsentNeeded, HoldConsentNeeded, DeliveryHeld, HoldConsentNeeded},
		{"leaves consent-needed: never sent", DeliveryHeld, HoldConsentNeeded, "", "", ""},
		{"leaves consent-revoked: sent before", DeliveryHeld, HoldConsentRevoked, "", DeliveryDelivered, ""},
		{"not held, stays", DeliveryFailed, "http 400", "", DeliveryFailed, "http 400"},
	}
	for _, tt := range tests {
		r := Referral{DeliveryState: tt.state, DeliveryError: tt.err}
		ContinueConsentHold(&r, tt.hold)
		if r.DeliveryState != tt.wantState || r.DeliveryError != tt.wantErr {
			t.Errorf("%s: %q %q, want %q %q", tt.name, r.DeliveryState, r.DeliveryError, tt.wantState, tt.wantErr)
		}
	}
}

// TestConsentMoves: socialrx's hold and release pass the state machine
// only as consent moves; the requester may leave a hold; nothing is sent
// about a held referral.
func TestConsentMoves(t *testing.T) {
	consent := Origin{Actor: ActorSystem, Consent: true}
	release := Origin{Actor: ActorRequester, Consent: true}
	held := func(status ReferralStatus, code string) *Referral {
		return &Referral{Status: status, StatusReason: "held", DeliveryState: DeliveryHeld, DeliveryError: code}
	}
	tests := []struct {
		name       string
		prev, next *Referral
		actor      Actor
		o          Origin
		ok         bool
	}{
		{"hold a requested referral", ref(ReferralRequested), ref(ReferralOnHold), ActorSystem, consent, true},
		{"hold an accepted referral", ref(ReferralAccepted), ref(ReferralOnHold), ActorSystem, consent, true},
		{"the same without the consent mark is illegal", ref(ReferralRequested), ref(ReferralOnHold), ActorSystem, system, false},
		{"a consent move cannot hold an ended referral", ref(ReferralCompleted), ref(ReferralOnHold), ActorSystem, consent, false},
		{"release to requested", held(ReferralOnHold, HoldConsentNeeded), ref(ReferralRequested), ActorRequester, release, true},
		{"release to in-progress", held(ReferralOnHold, HoldConsentRevoked), ref(ReferralInProgress), ActorRequester, release, true},
		{"a consent move cannot complete", held(ReferralOnHold, HoldConsentRevoked), ref(ReferralCompleted), ActorRequester, release, false},
		{"a consent move cannot release what is not held", ref(ReferralOnHold), ref(ReferralRequested), ActorRequester, release, false},
		{"the requester takes it out of the hold", held(ReferralOnHold, HoldConsentNeeded), ref(ReferralRequested), ActorRequester, local, true},
		{"the requester cancels a held referral", held(ReferralOnHold, HoldConsentNeeded), ref(ReferralCancelled), ActorRequester, local, true},
		{"but not back to draft", held(ReferralOnHold, HoldConsentNeeded), ref(ReferralDraft), ActorRequester, local, false},
		{"a performer's wait list is not a consent hold", ref(ReferralOnHold), ref(ReferralRequested), ActorRequester, local, false},
		{"a platform's report on a held referral is kept", held(ReferralOnHold, HoldConsentRevoked), ref(ReferralCompleted), ActorPerformer, platformIn, true},
	}
	for _, tt := range tests {
		next := *tt.next
		err := CheckReferralChange(tt.prev, &next, tt.actor, tt.o, t0)
		if (err == nil) != tt.ok {
			t.Errorf("%s: CheckReferralChange = %v, want ok %v", tt.name, err, tt.ok)
		}
		if next.Flag != "" {
			t.Errorf("%s: flagged %q", tt.name, next.Flag)
		}
	}

	// A referral held because consent was needed was never sent: when it
	// is released it goes out as add-service-request.
	r, ev := NextMessage(held(ReferralOnHold, HoldConsentNeeded), Referral{Status: ReferralRequested}, ActorRequester, release)
	if r != RoutePlatform || ev != EventAddServiceRequest {
		t.Errorf("release of consent-needed: %q %q, want platform add-service-request", r, ev)
	}
	r, ev = NextMessage(held(ReferralOnHold, HoldConsentRevoked), Referral{Status: ReferralAccepted, DeliveryState: DeliveryDelivered}, ActorRequester, release)
	if r != RoutePlatform || ev != EventNotifyUpdateServiceRequest {
		t.Errorf("release of consent-revoked: %q %q, want platform notify-update-service-request", r, ev)
	}
	// The hold itself is socialrx's: nothing goes to the program; the
	// chart is told (the clinician is the one who can get consent).
	if r, ev := NextMessage(ref(ReferralRequested), Referral{Status: ReferralOnHold}, ActorSystem, consent); r != RouteEMR || ev != WriteBackTask {
		t.Errorf("the hold routes to %q %q, want the EMR (task-update)", r, ev)
	}
	// Nothing about a held referral goes to the program.
	h := *held(ReferralOnHold, HoldConsentRevoked)
	h.EndpointID = "ocean"
	if r, _ := LinkedMessage("Communication", h, local); r != RouteNone {
		t.Errorf("a note about a held referral routes to %q, want nowhere", r)
	}
	// A held referral validates with its code, not without.
	for _, c := range []struct {
		code string
		ok   bool
	}{{HoldConsentNeeded, true}, {HoldConsentRevoked, true}, {"", false}, {"other", false}} {
		v := Referral{PrescriptionID: "sr", PatientID: "p", Requester: "Organization/o", Performer: "HealthcareService/h",
			Status: ReferralOnHold, StatusReason: "held", DeliveryState: DeliveryHeld, DeliveryError: c.code}
		if err := v.Validate(); (err == nil) != c.ok {
			t.Errorf("Validate of a referral held with %q: %v, want ok %v", c.code, err, c.ok)
		}
	}
}

func TestHoldReason(t *testing.T) {
	for _, code := range []string{HoldConsentNeeded, HoldConsentRevoked} {
		if HoldDisplay(code) == "" || !strings.Contains(HoldReason(code, "why-x"), "why-x") {
			t.Errorf("%s: display %q reason %q", code, HoldDisplay(code), HoldReason(code, "why-x"))
		}
	}
	if HoldDisplay("other") != "" {
		t.Error("HoldDisplay of an unknown code is not empty")
	}
}
