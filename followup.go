package socialrx

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
