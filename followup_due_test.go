package socialrx

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now2026 = time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)

func TestDefaultFollowUpIntervals(t *testing.T) {
	d := DefaultFollowUpIntervals()
	want := map[Form]time.Duration{FormSelfDirected: 14 * 24 * time.Hour, FormWarmHandoff: 21 * 24 * time.Hour, FormNavigator: 30 * 24 * time.Hour}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	d[FormNavigator] = time.Hour
	if DefaultFollowUpIntervals()[FormNavigator] != 30*24*time.Hour {
		t.Error("changing the returned map changed the defaults")
	}
}

func TestFollowUpDue(t *testing.T) {
	day := 24 * time.Hour
	custom := map[Form]time.Duration{FormWarmHandoff: 7 * day, FormNavigator: 0}
	tests := []struct {
		name      string
		form      Form
		authored  time.Time
		intervals map[Form]time.Duration
		want      time.Time
	}{
		{"self-directed default", FormSelfDirected, now2026, nil, now2026.Add(14 * day)},
		{"warm hand-off default", FormWarmHandoff, now2026, nil, now2026.Add(21 * day)},
		{"navigator default", FormNavigator, now2026, nil, now2026.Add(30 * day)},
		{"configured", FormWarmHandoff, now2026, custom, now2026.Add(7 * day)},
		{"configured zero takes the default", FormNavigator, now2026, custom, now2026.Add(30 * day)},
		{"missing from the configuration", FormSelfDirected, now2026, custom, now2026.Add(14 * day)},
		{"unknown form: the shortest default", "other", now2026, nil, now2026.Add(14 * day)},
		{"no authoredOn", FormNavigator, time.Time{}, nil, time.Time{}},
	}
	for _, tt := range tests {
		got := FollowUpDue(Prescription{Form: tt.form, AuthoredOn: tt.authored}, tt.intervals)
		if !got.Equal(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFollowUpFor(t *testing.T) {
	day := 24 * time.Hour
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	active := Prescription{ID: "sr1", PatientID: "p1", Form: FormWarmHandoff, Status: "active", RequesterID: "PractitionerRole/gp", AuthoredOn: now2026}
	with := func(f func(*Prescription)) Prescription { p := active; f(&p); return p }
	tests := []struct {
		name      string
		p         Prescription
		channel   ContactChannel
		intervals map[Form]time.Duration
		want      FollowUp
		wantOK    bool
	}{
		{"warm hand-off: 21 days, requester owns it", active, ContactEmail, nil,
			FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: now2026.Add(21 * day), Channel: ContactEmail, Owner: "PractitionerRole/gp", Status: "requested"}, true},
		{"configured interval", active, ContactText, map[Form]time.Duration{FormWarmHandoff: 7 * day},
			FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: now2026.Add(7 * day), Channel: ContactText, Owner: "PractitionerRole/gp", Status: "requested"}, true},
		{"no authoredOn: counted from now", with(func(p *Prescription) { p.AuthoredOn = time.Time{} }), ContactMail, nil,
			FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: now.Add(21 * day), Channel: ContactMail, Owner: "PractitionerRole/gp", Status: "requested"}, true},
		{"no channel: phone", active, "", nil,
			FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: now2026.Add(21 * day), Channel: ContactPhone, Owner: "PractitionerRole/gp", Status: "requested"}, true},
		{"requester that cannot own a Task: no owner", with(func(p *Prescription) { p.RequesterID = "Patient/p1" }), ContactPhone, nil,
			FollowUp{PrescriptionID: "sr1", PatientID: "p1", Due: now2026.Add(21 * day), Channel: ContactPhone, Status: "requested"}, true},
		{"draft: none", with(func(p *Prescription) { p.Status = "draft" }), ContactPhone, nil, FollowUp{}, false},
		{"revoked: none", with(func(p *Prescription) { p.Status = "revoked" }), ContactPhone, nil, FollowUp{}, false},
	}
	for _, tt := range tests {
		got, ok := FollowUpFor(tt.p, tt.channel, tt.intervals, now)
		if ok != tt.wantOK {
			t.Errorf("%s: ok %v, want %v", tt.name, ok, tt.wantOK)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: follow-up (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestNeedsTasks(t *testing.T) {
	for _, c := range []struct {
		form             Form
		channel          Channel
		patient, handoff bool
	}{
		{FormSelfDirected, ChannelSelf, true, false},
		{FormWarmHandoff, ChannelEFax, false, true},
		{FormWarmHandoff, ChannelPhone, false, true},
		{FormWarmHandoff, ChannelOceanEReferral, false, false},
		{FormWarmHandoff, ChannelInPerson, false, false},
		{FormNavigator, ChannelPhone, false, false},
	} {
		p := Prescription{Form: c.form, Channel: c.channel}
		if got := NeedsPatientTask(p); got != c.patient {
			t.Errorf("NeedsPatientTask(%s, %s) = %v, want %v", c.form, c.channel, got, c.patient)
		}
		if got := NeedsHandoffTask(p); got != c.handoff {
			t.Errorf("NeedsHandoffTask(%s, %s) = %v, want %v", c.form, c.channel, got, c.handoff)
		}
	}
}

func TestPrescriptionFacts(t *testing.T) {
	p := Prescription{Form: FormWarmHandoff, Channel: ChannelEFax, Needs: []NeedDomain{DomainFood, DomainHousing}}
	want := []Fact{
		{FactPrescriptionForm, CodeSystemBase + "prescription-form", "warm-handoff"},
		{FactPrescriptionChannel, CodeSystemBase + "prescription-channel", "efax"},
		{FactNeedDomain, CodeSystemBase + "need-domain", "food"},
		{FactNeedDomain, CodeSystemBase + "need-domain", "housing"},
	}
	if diff := cmp.Diff(want, p.Facts()); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
	if got := (&Prescription{Form: FormSelfDirected}).Facts(); len(got) != 1 || got[0].Code != "self-directed" {
		t.Errorf("self-directed without channel or needs: %+v, want the form only", got)
	}
}
