package socialrx

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	local      = Origin{}                                                                                   // the EMR over REST
	system     = Origin{Actor: ActorSystem}                                                                 // socialrx's own bookkeeping
	platformIn = Origin{Actor: ActorPerformer, EndpointID: "ocean"}                                         // a platform's report
	requestIn  = Origin{Actor: ActorRequester, EndpointID: "ocean"}                                         // add/revoke-service-request in
	staffOver  = Origin{Actor: ActorPerformer}                                                              // a program's staff, as the workflow sets it
	t0         = time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)                                               // when a change happens
	sentRef    = Referral{Status: ReferralRequested, DeliveryState: DeliveryDelivered, EndpointID: "ocean"} // sent to a platform
)

func ref(status ReferralStatus) *Referral { return &Referral{Status: status} }

func TestContinueReferral(t *testing.T) {
	tests := []struct {
		name       string
		prev, next *Referral
		o          Origin
		wantActor  Actor
		wantNext   Referral
	}{
		{"new, local", nil, ref(ReferralRequested), local, ActorRequester, Referral{Status: ReferralRequested}},
		{"new, from a platform as requester: received", nil, ref(ReferralRequested), requestIn, ActorRequester,
			Referral{Status: ReferralRequested, Incoming: true, EndpointID: "ocean"}},
		{"new, from a platform as performer: names the platform", nil, ref(ReferralAccepted), platformIn, ActorPerformer,
			Referral{Status: ReferralAccepted, EndpointID: "ocean"}},
		{"delivery fields kept from prev", &Referral{Status: ReferralRequested, DeliveryState: DeliveryFailed, DeliveryError: "http 400", EndpointID: "ep", Flag: "f"},
			&Referral{Status: ReferralCancelled, DeliveryState: "x", Flag: "y"}, local, ActorRequester,
			Referral{Status: ReferralCancelled, DeliveryState: DeliveryFailed, DeliveryError: "http 400", EndpointID: "ep", Flag: "f"}},
		{"received referral: local writes are the program's", &Referral{Status: ReferralReceived, Incoming: true, EndpointID: "ocean"},
			ref(ReferralAccepted), local, ActorPerformer, Referral{Status: ReferralAccepted, Incoming: true, EndpointID: "ocean"}},
		{"system keeps system", &Referral{Status: ReferralRequested}, ref(ReferralRequested), system, ActorSystem, Referral{Status: ReferralRequested}},
		{"platform report keeps the recorded endpoint", &Referral{Status: ReferralRequested, EndpointID: "rest-ep"}, ref(ReferralAccepted), platformIn, ActorPerformer,
			Referral{Status: ReferralAccepted, EndpointID: "rest-ep"}},
	}
	for _, tt := range tests {
		next := *tt.next
		got := ContinueReferral(tt.prev, &next, tt.o)
		if got != tt.wantActor {
			t.Errorf("%s: actor %q, want %q", tt.name, got, tt.wantActor)
		}
		if diff := cmp.Diff(tt.wantNext, next); diff != "" {
			t.Errorf("%s: next (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestCheckReferralChange(t *testing.T) {
	tests := []struct {
		name       string
		prev, next *Referral
		actor      Actor
		o          Origin
		wantErr    bool
		wantFlag   string
	}{
		{"new referral: nothing to check", nil, ref(ReferralCompleted), ActorRequester, local, false, ""},
		{"same status", ref(ReferralAccepted), ref(ReferralAccepted), ActorRequester, local, false, ""},
		{"requester cancels", ref(ReferralRequested), &Referral{Status: ReferralCancelled, StatusReason: "moved"}, ActorRequester, local, false, ""},
		{"REST on an outgoing referral may be the performer's", ref(ReferralRequested), ref(ReferralAccepted), ActorRequester, local, false, ""},
		{"not on one delivered to a platform: the program's moves come from there", &Referral{Status: ReferralRequested, DeliveryState: DeliveryDelivered}, ref(ReferralAccepted), ActorRequester, local, true, ""},
		{"nor on one about to be", &Referral{Status: ReferralRequested, DeliveryState: DeliveryPending}, ref(ReferralAccepted), ActorRequester, local, true, ""},
		{"the requester's own moves on it pass", &Referral{Status: ReferralRequested, DeliveryState: DeliveryDelivered}, &Referral{Status: ReferralCancelled, StatusReason: "moved"}, ActorRequester, local, false, ""},
		{"a referral whose delivery failed is the staff's to record", &Referral{Status: ReferralRequested, DeliveryState: DeliveryFailed}, ref(ReferralAccepted), ActorRequester, local, false, ""},
		{"illegal locally: refused", ref(ReferralCompleted), ref(ReferralInProgress), ActorRequester, local, true, ""},
		{"cancel without a reason: refused", ref(ReferralRequested), ref(ReferralCancelled), ActorRequester, local, true, ""},
		{"received referral: the requester's moves are not the program's", &Referral{Status: ReferralReceived, Incoming: true}, ref(ReferralRequested), ActorPerformer, local, true, ""},
		{"platform, illegal: kept and flagged", ref(ReferralCompleted), ref(ReferralInProgress), ActorPerformer, platformIn, false,
			"illegal status change completed -> in-progress by the performer"},
		{"platform, legal: flag cleared", &Referral{Status: ReferralRequested, Flag: "old"}, &Referral{Status: ReferralAccepted, Flag: "old"}, ActorPerformer, platformIn, false, ""},
	}
	for _, tt := range tests {
		next := *tt.next
		err := CheckReferralChange(tt.prev, &next, tt.actor, tt.o, t0)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && ErrorCode(err) != EUNPROCESSABLE {
			t.Errorf("%s: code %q, want %q", tt.name, ErrorCode(err), EUNPROCESSABLE)
		}
		if next.Flag != tt.wantFlag {
			t.Errorf("%s: flag %q, want %q", tt.name, next.Flag, tt.wantFlag)
		}
	}
}

func TestNextMessage(t *testing.T) {
	with := func(r Referral, f func(*Referral)) Referral { f(&r); return r }
	incoming := Referral{Status: ReferralReceived, Incoming: true, EndpointID: "ocean"}
	tests := []struct {
		name      string
		prev      *Referral
		next      Referral
		actor     Actor
		o         Origin
		wantRoute Route
		wantEvent MessageEvent
	}{
		{"system, status changed: written back to the EMR", &sentRef, with(sentRef, func(r *Referral) { r.Status = ReferralCancelled }), ActorSystem, system, RouteEMR, WriteBackTask},
		{"system, nothing changed: nothing", &sentRef, sentRef, ActorSystem, system, RouteNone, ""},
		{"system, new referral: nothing", nil, sentRef, ActorSystem, system, RouteNone, ""},
		{"system, incoming referral: nothing", &Referral{Status: ReferralReceived, Incoming: true, EndpointID: "ocean"}, Referral{Status: ReferralCancelled, Incoming: true, EndpointID: "ocean"}, ActorSystem, system, RouteNone, ""},
		{"new, requested: add", nil, Referral{Status: ReferralRequested}, ActorRequester, local, RoutePlatform, EventAddServiceRequest},
		{"draft: nothing", nil, Referral{Status: ReferralDraft}, ActorRequester, local, RouteNone, ""},
		{"draft to requested: add", &Referral{Status: ReferralDraft}, Referral{Status: ReferralRequested}, ActorRequester, local, RoutePlatform, EventAddServiceRequest},
		{"same status: nothing", &sentRef, with(sentRef, func(r *Referral) { r.BusinessStatus = "note" }), ActorRequester, local, RouteNone, ""},
		{"cancelled before sent: nothing", &Referral{Status: ReferralDraft}, Referral{Status: ReferralCancelled}, ActorRequester, local, RouteNone, ""},
		{"sent, cancelled: revoke", &sentRef, with(sentRef, func(r *Referral) { r.Status = ReferralCancelled }), ActorRequester, local, RoutePlatform, EventRevokeServiceRequest},
		{"sent, entered in error: revoke", &sentRef, with(sentRef, func(r *Referral) { r.Status = ReferralEnteredInError }), ActorRequester, local, RoutePlatform, EventRevokeServiceRequest},
		{"sent, other change: update", &sentRef, with(sentRef, func(r *Referral) { r.Status = ReferralAccepted }), ActorRequester, local, RoutePlatform, EventNotifyUpdateServiceRequest},
		{"platform report, changed: write-back", &sentRef, with(sentRef, func(r *Referral) { r.Status = ReferralAccepted }), ActorPerformer, platformIn, RouteEMR, WriteBackTask},
		{"platform report, business status only: write-back", &sentRef, with(sentRef, func(r *Referral) { r.BusinessStatus = "booked" }), ActorPerformer, platformIn, RouteEMR, WriteBackTask},
		{"platform report, unchanged: nothing", &sentRef, sentRef, ActorPerformer, platformIn, RouteNone, ""},
		{"requesting platform's own change to a received referral: nothing", &incoming, with(incoming, func(r *Referral) { r.Status = ReferralCancelled }), ActorRequester, requestIn, RouteNone, ""},
		{"program's first answer: notify-add-process-request", nil, incoming, ActorPerformer, staffOver, RouteRequester, EventNotifyAddProcessRequest},
		{"program's next change: notify-update-process-request", &Referral{Status: ReferralReceived, Incoming: true, EndpointID: "ocean", DeliveryState: DeliveryDelivered},
			with(incoming, func(r *Referral) { r.Status = ReferralAccepted; r.DeliveryState = DeliveryDelivered }), ActorPerformer, local, RouteRequester, EventNotifyUpdateProcessRequest},
		{"received, unchanged: nothing", &incoming, incoming, ActorPerformer, local, RouteNone, ""},
		{"received without endpoint: nothing", nil, Referral{Status: ReferralReceived, Incoming: true}, ActorPerformer, local, RouteNone, ""},
	}
	for _, tt := range tests {
		route, event := NextMessage(tt.prev, tt.next, tt.actor, tt.o)
		if route != tt.wantRoute || event != tt.wantEvent {
			t.Errorf("%s: (%q, %q), want (%q, %q)", tt.name, route, event, tt.wantRoute, tt.wantEvent)
		}
	}
}

func TestLinkedMessage(t *testing.T) {
	incoming := Referral{Status: ReferralAccepted, Incoming: true, EndpointID: "ocean", DeliveryState: DeliveryDelivered}
	tests := []struct {
		name, typ string
		r         Referral
		o         Origin
		wantRoute Route
		wantEvent MessageEvent
	}{
		{"system", "Communication", sentRef, system, RouteNone, ""},
		{"platform's appointment: write-back", "Appointment", sentRef, platformIn, RouteEMR, WriteBackCreate},
		{"platform's note: write-back", "Communication", sentRef, platformIn, RouteEMR, WriteBackCreate},
		{"requesting platform's own: not echoed", "Communication", incoming, requestIn, RouteNone, ""},
		{"practice's note on a sent referral", "Communication", sentRef, local, RoutePlatform, EventCommunicationFromRequester},
		{"practice's own appointment: nobody's business", "Appointment", sentRef, local, RouteNone, ""},
		{"program's note on a received referral", "Communication", incoming, local, RouteRequester, EventCommunicationFromProvider},
		{"program's booking on a received referral", "Appointment", incoming, local, RouteRequester, EventNotifyAddAppointment},
		{"never sent (fax)", "Communication", Referral{Status: ReferralRequested}, local, RouteNone, ""},
		{"endpoint but never queued", "Communication", Referral{Status: ReferralRequested, EndpointID: "rest"}, local, RouteNone, ""},
	}
	for _, tt := range tests {
		route, event := LinkedMessage(tt.typ, tt.r, tt.o)
		if route != tt.wantRoute || event != tt.wantEvent {
			t.Errorf("%s: (%q, %q), want (%q, %q)", tt.name, route, event, tt.wantRoute, tt.wantEvent)
		}
	}
}

func TestWriteBackEMR(t *testing.T) {
	for _, c := range []struct {
		found      string
		defaultEMR bool
		want       string
		wantOK     bool
	}{
		{"emr-1", false, "emr-1", true},
		{"emr-1", true, "emr-1", true},
		{"", true, EMRDefaultEndpointID, true},
		{"", false, "", false},
	} {
		got, ok := WriteBackEMR(c.found, c.defaultEMR)
		if got != c.want || ok != c.wantOK {
			t.Errorf("WriteBackEMR(%q, %v) = %q, %v; want %q, %v", c.found, c.defaultEMR, got, ok, c.want, c.wantOK)
		}
	}
}

func TestRevokedPrescription(t *testing.T) {
	for status, want := range map[string]bool{"revoked": true, "entered-in-error": true, "active": false, "completed": false, "draft": false, "on-hold": false} {
		reason, ok := RevokedPrescription(status)
		if ok != want || (ok && reason == "") {
			t.Errorf("RevokedPrescription(%q) = %q, %v; want ok %v with a reason", status, reason, ok, want)
		}
	}
}
