package socialrx

import "time"

// Where FollowUp fields live on the follow-up Task. The due date is the end
// of Task.restriction.period (R4 Task has no due element); the preferred
// contact channel is a Task.input typed with socialrx's follow-up-channel
// code system.
const (
	pathFUFocus   = "Task.focus"
	pathFUFor     = "Task.for"
	pathFUDue     = "Task.restriction.period.end"
	pathFUChannel = "Task.input"
	pathFUOwner   = "Task.owner"
	pathFUStatus  = "Task.status"
)

// Validate checks a FollowUp and returns an EUNPROCESSABLE *Error listing
// every rule broken, or nil. The rules:
//   - PrescriptionID, the ServiceRequest followed up, is set (Task.focus);
//   - PatientID is set (Task.for);
//   - Due is set: follow-up is required, and a follow-up without a date
//     never shows on a work list (Task.restriction.period.end);
//   - Channel is a known ContactChannel (Task.input);
//   - Owner, when set, references a Practitioner, PractitionerRole or
//     Organization (Task.owner);
//   - Status, when set, is a FHIR Task status (Task.status).
func (f *FollowUp) Validate() error {
	return f.issues().err("invalid follow-up")
}

// issues gathers the rules f breaks; Prescription.Validate reports them
// with its own.
func (f *FollowUp) issues() issues {
	var is issues
	if blank(f.PrescriptionID) {
		is.add(issueRequired, pathFUFocus, "the prescription followed up is required")
	}
	if blank(f.PatientID) {
		is.add(issueRequired, pathFUFor, "patient is required")
	}
	if f.Due.IsZero() {
		is.add(issueRequired, pathFUDue, "a due date is required")
	}
	if !f.Channel.Valid() {
		is.add(issueValue, pathFUChannel, "contact channel is not a code of %sfollow-up-channel", CodeSystemBase)
	}
	if f.Owner != "" && !refIsOneOf(f.Owner, "Practitioner", "PractitionerRole", "Organization") {
		is.add(issueValue, pathFUOwner, "owner must reference a Practitioner, PractitionerRole or Organization")
	}
	if f.Status != "" && !validTaskStatus(f.Status) {
		is.add(issueValue, pathFUStatus, "status is not a code of http://hl7.org/fhir/task-status")
	}
	return is
}

// validTaskStatus reports whether s is a code of FHIR R4 Task.status
// (http://hl7.org/fhir/task-status): the referral statuses plus "ready".
func validTaskStatus(s string) bool {
	return s == "ready" || ReferralStatus(s).Valid()
}

// DefaultFollowUpIntervals returns the default time from a prescription to
// its follow-up, per form (design.md: "a follow-up Task due after a
// configurable interval per form"); the map is new on every call, for the
// caller's configuration to change. Why these:
//
//   - self-directed, 14 days: the person acts alone, so the first risk is
//     never starting; two weeks is soon enough for a nudge or an
//     alternative to still help, and long enough to have called;
//   - warm hand-off, 21 days: the program must receive, triage and book
//     the referral (one to two weeks for eReferral and fax intake) before
//     the person has anything to report;
//   - navigator, 30 days: a navigator meets the person, co-creates a plan
//     and may prescribe onward, which takes several contacts; a month
//     lets the first of those happen.
func DefaultFollowUpIntervals() map[Form]time.Duration {
	const day = 24 * time.Hour
	return map[Form]time.Duration{
		FormSelfDirected: 14 * day,
		FormWarmHandoff:  21 * day,
		FormNavigator:    30 * day,
	}
}

// FollowUpDue returns when the follow-up of p is due: p.AuthoredOn plus
// the interval of p.Form in intervals. A form missing from intervals (or a
// nil map, or an interval not above zero) takes DefaultFollowUpIntervals';
// an unknown form takes the shortest default (self-directed), so an odd
// prescription is checked on sooner rather than later. A zero AuthoredOn
// gives the zero time: the caller sets AuthoredOn (e.g. to the time it
// stores the prescription) first.
func FollowUpDue(p Prescription, intervals map[Form]time.Duration) time.Time {
	if p.AuthoredOn.IsZero() {
		return time.Time{}
	}
	d, ok := intervals[p.Form]
	if !ok || d <= 0 {
		defaults := DefaultFollowUpIntervals()
		if d, ok = defaults[p.Form]; !ok {
			d = defaults[FormSelfDirected]
		}
	}
	return p.AuthoredOn.Add(d)
}

// FollowUpFor decides the follow-up a prescription gets when it becomes
// active: due after its form's interval (FollowUpDue; counted from now
// when p has no AuthoredOn), owned by the requester when that is a
// Practitioner, PractitionerRole or Organization, reached by channel (the
// patient's preferred one; ContactPhone, which every practice can use,
// when channel is empty), status requested. ok is false for a
// prescription that is not active (draft, completed, revoked...): it gets
// no follow-up until it is.
func FollowUpFor(p Prescription, channel ContactChannel, intervals map[Form]time.Duration, now time.Time) (FollowUp, bool) {
	if p.Status != "active" {
		return FollowUp{}, false
	}
	if p.AuthoredOn.IsZero() {
		p.AuthoredOn = now
	}
	if channel == "" {
		channel = ContactPhone
	}
	f := FollowUp{PrescriptionID: p.ID, PatientID: p.PatientID, Due: FollowUpDue(p, intervals), Status: "requested", Channel: channel}
	if refIsOneOf(p.RequesterID, "Practitioner", "PractitionerRole", "Organization") {
		f.Owner = p.RequesterID
	}
	return f, true
}

// NeedsPatientTask reports whether prescription p gets a Task for the
// patient (SDOH CC TaskForPatient style): a self-directed one, where the
// person acts on their own.
func NeedsPatientTask(p Prescription) bool { return p.Form == FormSelfDirected }

// NeedsHandoffTask reports whether prescription p needs a referral Task on
// the staff work list: a warm hand-off by eFax or phone, which no platform
// carries.
func NeedsHandoffTask(p Prescription) bool {
	return p.Form == FormWarmHandoff && (p.Channel == ChannelEFax || p.Channel == ChannelPhone)
}

// FollowUpQuestionnaire is the canonical URL of the follow-up
// Questionnaire socialrx ships (served at /fhir/Questionnaire): what the
// patient's form renders and what a QuestionnaireResponse answering a
// follow-up names in its questionnaire element (with |version).
const FollowUpQuestionnaire = "http://socialrx.dev/fhir/Questionnaire/social-prescription-follow-up"
