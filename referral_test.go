package socialrx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
)

// pathCode is what the tests compare of an Issue: messages are checked
// separately, for content, not wording.
type pathCode struct{ Path, Code string }

// issuesOf returns the Path and Code of err's issues, failing the test when
// err is not an EUNPROCESSABLE *socialrx.Error. It returns nil for nil.
func issuesOf(t *testing.T, err error) []pathCode {
	t.Helper()
	if err == nil {
		return nil
	}
	if code := socialrx.ErrorCode(err); code != socialrx.EUNPROCESSABLE {
		t.Errorf("error code = %q, want %q (error: %v)", code, socialrx.EUNPROCESSABLE, err)
	}
	var got []pathCode
	for _, is := range socialrx.ErrorIssues(err) {
		if is.Severity != socialrx.SeverityError {
			t.Errorf("issue %s severity = %q, want %q", is.Path, is.Severity, socialrx.SeverityError)
		}
		if is.Message == "" {
			t.Errorf("issue %s has no message", is.Path)
		}
		got = append(got, pathCode{is.Path, is.Code})
	}
	return got
}

// legalMoves is the referral state machine as the tests expect it, written
// independently of the package's table: from → to → who may ("R" requester
// and system, "P" performer, "RP" either). Every cell not listed (and not
// from == to) is illegal for everyone.
var legalMoves = map[socialrx.ReferralStatus]map[socialrx.ReferralStatus]string{
	"draft":       {"requested": "R", "cancelled": "R", "entered-in-error": "R"},
	"requested":   {"received": "P", "accepted": "P", "rejected": "P", "cancelled": "R", "entered-in-error": "R"},
	"received":    {"accepted": "P", "rejected": "P", "cancelled": "R", "entered-in-error": "R"},
	"accepted":    {"in-progress": "P", "on-hold": "P", "completed": "P", "failed": "P", "cancelled": "RP", "entered-in-error": "R"},
	"in-progress": {"on-hold": "P", "completed": "P", "failed": "P", "cancelled": "RP", "entered-in-error": "R"},
	"on-hold":     {"in-progress": "P", "cancelled": "RP", "entered-in-error": "R"},
	"rejected":    {"entered-in-error": "R"},
	"cancelled":   {"entered-in-error": "R"},
	"completed":   {"entered-in-error": "R"},
	"failed":      {"entered-in-error": "R"},
}

var actorLetter = map[socialrx.Actor]string{
	socialrx.ActorRequester: "R",
	socialrx.ActorSystem:    "R",
	socialrx.ActorPerformer: "P",
}

// TestCanMove checks every cell of the transition table, for every actor.
func TestCanMove(t *testing.T) {
	statuses := socialrx.AllReferralStatuses()
	if len(statuses) != 11 {
		t.Fatalf("AllReferralStatuses() has %d statuses, want 11", len(statuses))
	}
	for _, from := range statuses {
		for _, to := range statuses {
			for _, by := range []socialrx.Actor{socialrx.ActorRequester, socialrx.ActorSystem, socialrx.ActorPerformer} {
				who := legalMoves[from][to]
				wantOK := from == to || (who != "" && strings.Contains(who, actorLetter[by]))
				err := from.CanMove(to, by)
				if wantOK {
					if err != nil {
						t.Errorf("%s: %s -> %s = %v, want legal", by, from, to, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("%s: %s -> %s = nil, want illegal", by, from, to)
					continue
				}
				if diff := cmp.Diff([]pathCode{{"Task.status", "business-rule"}}, issuesOf(t, err)); diff != "" {
					t.Errorf("%s: %s -> %s issues (-want +got):\n%s", by, from, to, diff)
				}
				msg := socialrx.ErrorIssues(err)[0].Message
				for _, name := range []string{string(from), string(to), string(by)} {
					if !strings.Contains(msg, name) {
						t.Errorf("%s: %s -> %s message %q does not name %q", by, from, to, msg, name)
					}
				}
			}
		}
	}
}

func TestCanMoveUnknown(t *testing.T) {
	tests := []struct {
		name     string
		from, to socialrx.ReferralStatus
		by       socialrx.Actor
	}{
		{"unknown from", "ready", socialrx.ReferralAccepted, socialrx.ActorPerformer},
		{"empty from", "", socialrx.ReferralRequested, socialrx.ActorRequester},
		{"unknown to", socialrx.ReferralRequested, "ready", socialrx.ActorPerformer},
		{"unknown actor", socialrx.ReferralRequested, socialrx.ReferralAccepted, "patient"},
		{"empty actor", socialrx.ReferralRequested, socialrx.ReferralAccepted, ""},
	}
	for _, tt := range tests {
		got := issuesOf(t, tt.from.CanMove(tt.to, tt.by))
		if diff := cmp.Diff([]pathCode{{"Task.status", "value"}}, got); diff != "" {
			t.Errorf("%s: issues (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestReferralStatusProperties(t *testing.T) {
	type props struct {
		Display     string
		Terminal    bool
		NeedsReason bool
	}
	want := map[socialrx.ReferralStatus]props{
		"draft":            {"Draft", false, false},
		"requested":        {"Requested", false, false},
		"received":         {"Received", false, false},
		"accepted":         {"Accepted", false, false},
		"rejected":         {"Rejected", true, true},
		"cancelled":        {"Cancelled", true, true},
		"on-hold":          {"On Hold", false, true},
		"in-progress":      {"In Progress", false, false},
		"completed":        {"Completed", true, false},
		"failed":           {"Failed", true, true},
		"entered-in-error": {"Entered in Error", true, false},
		"ready":            {"", false, false}, // a Task status, not a referral one
		"":                 {"", false, false},
	}
	got := map[socialrx.ReferralStatus]props{"ready": {}, "": {}}
	for _, s := range socialrx.AllReferralStatuses() {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false, want true", s)
		}
		got[s] = props{s.Display(), s.Terminal(), s.NeedsReason()}
	}
	for _, s := range []socialrx.ReferralStatus{"ready", ""} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true, want false", s)
		}
		got[s] = props{s.Display(), s.Terminal(), s.NeedsReason()}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status properties (-want +got):\n%s", diff)
	}
}

func TestReferralMove(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	base := func(s socialrx.ReferralStatus) socialrx.Referral {
		return socialrx.Referral{
			ID: "t1", PrescriptionID: "sr1", PatientID: "p1",
			Requester: "PractitionerRole/pr1", Performer: "HealthcareService/hs1",
			Status: s, BusinessStatus: "old business status", StatusReason: "old reason", LastChanged: t0,
		}
	}
	moved := func(s socialrx.ReferralStatus, reason string) socialrx.Referral {
		r := base(s)
		r.StatusReason, r.BusinessStatus, r.LastChanged = reason, "", t1
		return r
	}
	tests := []struct {
		name   string
		start  socialrx.Referral
		to     socialrx.ReferralStatus
		by     socialrx.Actor
		reason string
		at     time.Time
		want   socialrx.Referral // r after the call
		issues []pathCode
	}{
		{name: "accept", start: base("requested"), to: "accepted", by: socialrx.ActorPerformer, at: t1,
			want: moved("accepted", "")},
		{name: "reason kept and trimmed", start: base("accepted"), to: "in-progress", by: socialrx.ActorPerformer, reason: " booked ", at: t1,
			want: moved("in-progress", "booked")},
		{name: "system acts as requester", start: base("in-progress"), to: "cancelled", by: socialrx.ActorSystem, reason: "prescription revoked", at: t1,
			want: moved("cancelled", "prescription revoked")},
		{name: "reject with reason", start: base("received"), to: "rejected", by: socialrx.ActorPerformer, reason: "not eligible", at: t1,
			want: moved("rejected", "not eligible")},
		{name: "reject without reason", start: base("received"), to: "rejected", by: socialrx.ActorPerformer, at: t1,
			want: base("received"), issues: []pathCode{{"Task.statusReason", "required"}}},
		{name: "cancel with blank reason", start: base("requested"), to: "cancelled", by: socialrx.ActorRequester, reason: "  ", at: t1,
			want: base("requested"), issues: []pathCode{{"Task.statusReason", "required"}}},
		{name: "hold without reason", start: base("in-progress"), to: "on-hold", by: socialrx.ActorPerformer, at: t1,
			want: base("in-progress"), issues: []pathCode{{"Task.statusReason", "required"}}},
		{name: "fail without reason", start: base("in-progress"), to: "failed", by: socialrx.ActorPerformer, at: t1,
			want: base("in-progress"), issues: []pathCode{{"Task.statusReason", "required"}}},
		{name: "complete needs no reason", start: base("in-progress"), to: "completed", by: socialrx.ActorPerformer, at: t1,
			want: moved("completed", "")},
		{name: "illegal and no reason: both reported", start: base("completed"), to: "cancelled", by: socialrx.ActorPerformer, at: t1,
			want: base("completed"), issues: []pathCode{{"Task.status", "business-rule"}, {"Task.statusReason", "required"}}},
		{name: "wrong actor", start: base("requested"), to: "accepted", by: socialrx.ActorRequester, at: t1,
			want: base("requested"), issues: []pathCode{{"Task.status", "business-rule"}}},
		{name: "no time", start: base("requested"), to: "accepted", by: socialrx.ActorPerformer,
			want: base("requested"), issues: []pathCode{{"Task.lastModified", "required"}}},
		{name: "same status is a no-op", start: base("accepted"), to: "accepted", by: socialrx.ActorPerformer, reason: "dup", at: t1,
			want: base("accepted")},
		{name: "same status no-op for any actor and without reason", start: base("cancelled"), to: "cancelled", by: socialrx.ActorPerformer,
			want: base("cancelled")},
		{name: "terminal to entered-in-error", start: base("completed"), to: "entered-in-error", by: socialrx.ActorRequester, at: t1,
			want: moved("entered-in-error", "")},
		{name: "unknown current status", start: base("bogus"), to: "bogus", by: socialrx.ActorPerformer, at: t1,
			want: base("bogus"), issues: []pathCode{{"Task.status", "value"}}},
	}
	for _, tt := range tests {
		r := tt.start
		err := r.Move(tt.to, tt.by, tt.reason, tt.at)
		if diff := cmp.Diff(tt.issues, issuesOf(t, err)); diff != "" {
			t.Errorf("%s: Move issues (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.want, r); diff != "" {
			t.Errorf("%s: referral after Move (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestReferralValidate(t *testing.T) {
	valid := func() socialrx.Referral {
		return socialrx.Referral{
			ID: "t1", PrescriptionID: "sr1", PatientID: "p1",
			Requester: "PractitionerRole/pr1", Performer: "https://ocean.example/fhir/HealthcareService/hs1",
			Status: socialrx.ReferralRequested, LastChanged: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
			DeliveryState: socialrx.DeliveryPending,
		}
	}
	tests := []struct {
		name   string
		edit   func(r *socialrx.Referral)
		issues []pathCode
	}{
		{"valid", func(r *socialrx.Referral) {}, nil},
		{"draft without performer", func(r *socialrx.Referral) { r.Status, r.Performer = socialrx.ReferralDraft, "" }, nil},
		{"no id (not stored yet)", func(r *socialrx.Referral) { r.ID = "" }, nil},
		{"delivered", func(r *socialrx.Referral) { r.DeliveryState = socialrx.DeliveryDelivered }, nil},
		{"not delivered by socialrx", func(r *socialrx.Referral) { r.DeliveryState = "" }, nil},
		{"failed delivery with error", func(r *socialrx.Referral) { r.DeliveryState, r.DeliveryError = socialrx.DeliveryFailed, "http 400" }, nil},
		{"rejected with reason", func(r *socialrx.Referral) { r.Status, r.StatusReason = socialrx.ReferralRejected, "not eligible" }, nil},
		{"no prescription", func(r *socialrx.Referral) { r.PrescriptionID = "" }, []pathCode{{"Task.focus", "required"}}},
		{"no patient", func(r *socialrx.Referral) { r.PatientID = " " }, []pathCode{{"Task.for", "required"}}},
		{"no requester", func(r *socialrx.Referral) { r.Requester = "" }, []pathCode{{"Task.requester", "required"}}},
		{"patient requester", func(r *socialrx.Referral) { r.Requester = "Patient/p1" }, []pathCode{{"Task.requester", "value"}}},
		{"no performer once requested", func(r *socialrx.Referral) { r.Performer = "" }, []pathCode{{"Task.owner", "required"}}},
		{"performer not a reference", func(r *socialrx.Referral) { r.Performer = "Jane Doe" }, []pathCode{{"Task.owner", "value"}}},
		{"unknown status", func(r *socialrx.Referral) { r.Status = "ready" }, []pathCode{{"Task.status", "value"}}},
		{"on-hold without reason", func(r *socialrx.Referral) { r.Status = socialrx.ReferralOnHold }, []pathCode{{"Task.statusReason", "required"}}},
		{"failed without reason", func(r *socialrx.Referral) { r.Status = socialrx.ReferralFailed }, []pathCode{{"Task.statusReason", "required"}}},
		{"cancelled without reason", func(r *socialrx.Referral) { r.Status = socialrx.ReferralCancelled }, []pathCode{{"Task.statusReason", "required"}}},
		{"unknown delivery state", func(r *socialrx.Referral) { r.DeliveryState = "lost" }, []pathCode{{"Task.extension", "value"}}},
		{"failed delivery without error", func(r *socialrx.Referral) { r.DeliveryState = socialrx.DeliveryFailed }, []pathCode{{"Task.extension", "required"}}},
		{"delivery error while delivered", func(r *socialrx.Referral) { r.DeliveryState, r.DeliveryError = socialrx.DeliveryDelivered, "x" }, []pathCode{{"Task.extension", "business-rule"}}},
		{"everything wrong at once", func(r *socialrx.Referral) { *r = socialrx.Referral{Status: "rejected", DeliveryState: "failed"} }, []pathCode{
			{"Task.focus", "required"}, {"Task.for", "required"}, {"Task.requester", "required"}, {"Task.owner", "required"},
			{"Task.statusReason", "required"}, {"Task.extension", "required"},
		}},
	}
	for _, tt := range tests {
		r := valid()
		tt.edit(&r)
		err := r.Validate()
		if diff := cmp.Diff(tt.issues, issuesOf(t, err)); diff != "" {
			t.Errorf("%s: Validate issues (-want +got):\n%s", tt.name, diff)
		}
		noPHI(t, tt.name, err, "Jane")
	}
}

// noPHI fails the test when an issue message of err holds value, a value
// the test put into the input.
func noPHI(t *testing.T, name string, err error, value string) {
	t.Helper()
	for _, is := range socialrx.ErrorIssues(err) {
		if strings.Contains(is.Message, value) {
			t.Errorf("%s: issue %s message %q echoes input value %q", name, is.Path, is.Message, value)
		}
	}
	if err != nil && strings.Contains(err.Error(), value) {
		t.Errorf("%s: error %q echoes input value %q", name, err, value)
	}
}
