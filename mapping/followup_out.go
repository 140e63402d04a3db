package mapping

import (
	"sync"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// Identifier systems of the Tasks socialrx creates: the value is the
// prescription (ServiceRequest) id, so that a resend of the same
// prescription finds the same Task (conditional create on identifier).
const (
	FollowUpIdentifierSystem    = "http://socialrx.dev/fhir/sid/follow-up"
	PatientTaskIdentifierSystem = "http://socialrx.dev/fhir/sid/patient-task"
)

// SDOH CC codes a patient Task carries (SDOHCC-CodeSystemTemporaryCodes).
var (
	sdohccMakeContact   = codingJSON{System: systemSDOHCC, Code: "make-contact", Display: "Make Contact"}
	sdohccContactEntity = codingJSON{System: systemSDOHCC, Code: "contact-entity", Display: "Contact Entity"}
)

type taskJSON struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Identifier   []identifierJSON `json:"identifier,omitempty"`
	Status       string           `json:"status"`
	Intent       string           `json:"intent"`
	Priority     string           `json:"priority,omitempty"`
	Code         *conceptJSONOut  `json:"code"`
	Description  string           `json:"description,omitempty"`
	Focus        *refJSON         `json:"focus,omitempty"`
	For          *refJSON         `json:"for,omitempty"`
	AuthoredOn   string           `json:"authoredOn,omitempty"`
	Requester    *refJSON         `json:"requester,omitempty"`
	Owner        *refJSON         `json:"owner,omitempty"`
	Restriction  *restrictionJSON `json:"restriction,omitempty"`
	Input        []taskInputJSON  `json:"input,omitempty"`
}

type restrictionJSON struct {
	Period struct {
		End string `json:"end"`
	} `json:"period"`
}

type taskInputJSON struct {
	Type                 *conceptJSONOut `json:"type"`
	ValueCodeableConcept *conceptJSONOut `json:"valueCodeableConcept,omitempty"`
	ValueReference       *refJSON        `json:"valueReference,omitempty"`
}

// taskCoding is a code of socialrx's task-code system.
func taskCoding(code string) codingJSON {
	return codingJSON{System: taskCodeSystem, Code: code, Display: displayOf("task-code", code)}
}

// displayOf returns the display of code in socialrx code system name
// (terminologies), or "".
func displayOf(name, code string) string {
	return displays()[[2]string{name, code}]
}

// displays are the displays of terminologies by code system name and
// code, tabled once: building terminologies allocates ~12 KB, and every
// encounter's follow-up Task looked a display up through it.
var displays = sync.OnceValue(func() map[[2]string]string {
	m := map[[2]string]string{}
	for _, t := range terminologies() {
		for _, c := range t.Concepts {
			k := [2]string{t.Name, c.Code}
			if _, ok := m[k]; !ok { // the first, as the loop over terminologies found it
				m[k] = c.Display
			}
		}
	}
	return m
})

// FollowUpTask writes the required follow-up f of a prescription as an R4
// Task with id (omitted when ""), authored at now. There is no IG profile
// for it; it is shaped like the SDOH CC patient Tasks:
//
//   - identifier: system FollowUpIdentifierSystem, value f.PrescriptionID;
//   - status: f.Status, "requested" when empty; intent: order;
//   - code: socialrx task-code follow-up;
//   - focus: ServiceRequest/<PrescriptionID>; for: Patient/<PatientID>;
//   - authoredOn: now; owner: f.Owner when set;
//   - restriction.period.end: f.Due, the due date (R4 Task has no due
//     element; the socialrx search parameter due-date indexes this one);
//   - input: type socialrx task-input contact-channel,
//     valueCodeableConcept the follow-up-channel code, when f.Channel is set.
//
// Times are written in UTC. FollowUpFromTask reads the result as f (with
// Status "requested" when f.Status was empty). f should pass
// FollowUp.Validate and its ids be FHIR ids; the result then passes
// fhir.Validate.
func FollowUpTask(f socialrx.FollowUp, id string, now time.Time) []byte {
	t := taskJSON{ResourceType: "Task", ID: id, Status: f.Status, Intent: "order",
		Code: ccOf(taskCoding(taskFollowUp)), AuthoredOn: dateTime(now), Owner: optRef(f.Owner)}
	if t.Status == "" {
		t.Status = "requested"
	}
	if f.PrescriptionID != "" {
		t.Identifier = []identifierJSON{{System: FollowUpIdentifierSystem, Value: f.PrescriptionID}}
		t.Focus = &refJSON{"ServiceRequest/" + f.PrescriptionID}
	}
	if f.PatientID != "" {
		t.For = &refJSON{"Patient/" + f.PatientID}
	}
	if !f.Due.IsZero() {
		t.Restriction = &restrictionJSON{}
		t.Restriction.Period.End = dateTime(f.Due)
	}
	if f.Channel.Valid() {
		t.Input = []taskInputJSON{{
			Type:                 ccOf(codingJSON{System: taskInputSystem, Code: inputContactChan, Display: displayOf("task-input", inputContactChan)}),
			ValueCodeableConcept: ccOf(codingJSON{System: contactSystem, Code: string(f.Channel), Display: f.Channel.Display()}),
		}}
	}
	return marshal(t)
}

// PatientTask writes the Task that asks the person to pursue a
// self-directed prescription p, with id (omitted when ""), authored at
// now, in the shape of the SDOH CC TaskForPatient examples
// (http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForPatient,
// Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample), without claiming
// the profile (it requires a requester, which p may lack):
//
//   - identifier: system PatientTaskIdentifierSystem, value p.ID;
//   - status: requested; intent: order; priority: routine;
//   - code: SDOH CC make-contact (only when p has a Target: the IG's
//     make-contact names the entity to contact) and socialrx task-code
//     patient-pursue (always; work lists search it);
//   - description: a fixed English instruction;
//   - focus: ServiceRequest/<p.ID>; for and owner: Patient/<p.PatientID>
//     (the person does it); authoredOn: now; requester: p.RequesterID;
//   - input: SDOH CC contact-entity, valueReference p.Target, when set.
//
// ReferralFromTask and FollowUpFromTask do not take it for theirs.
func PatientTask(p socialrx.Prescription, id string, now time.Time) []byte {
	code := ccOf(taskCoding(taskPatientTask))
	if p.Target != "" {
		code = ccOf(sdohccMakeContact, taskCoding(taskPatientTask))
	}
	t := taskJSON{ResourceType: "Task", ID: id, Status: "requested", Intent: "order", Priority: "routine", Code: code,
		Description: "Contact the support you were prescribed and take it up. We will ask you how it went.",
		AuthoredOn:  dateTime(now), Requester: optRef(p.RequesterID)}
	if p.ID != "" {
		t.Identifier = []identifierJSON{{System: PatientTaskIdentifierSystem, Value: p.ID}}
		t.Focus = &refJSON{"ServiceRequest/" + p.ID}
	}
	if p.PatientID != "" {
		t.For = &refJSON{"Patient/" + p.PatientID}
		t.Owner = t.For
	}
	if p.Target != "" {
		t.Input = []taskInputJSON{{Type: ccOf(sdohccContactEntity), ValueReference: &refJSON{p.Target}}}
	}
	return marshal(t)
}

// The statusReason texts of the Tasks for reaching the patient (the
// follow-up Task, the patient Task, the call-patient and print-letter
// Tasks) that socialrx ends itself (EndTask).
const (
	// RevokedTaskReason: the prescription was revoked (ServiceRequest
	// status revoked): its follow-up and what reaches the patient for
	// it are cancelled.
	RevokedTaskReason = "The prescription was revoked: this is no longer needed."
	// EnteredInErrorTaskReason: the same for a prescription entered in
	// error.
	EnteredInErrorTaskReason = "The prescription was entered in error: this is no longer needed."
	// AnsweredTaskReason: a staff Task for reaching the patient (call,
	// letter) cancelled because the follow-up was answered.
	AnsweredTaskReason = "The follow-up was answered: the patient does not need to be reached for it any more."
	// PursuedTaskReason: the patient Task completed because the answer
	// says the patient took the support up (yes or partly).
	PursuedTaskReason = "The follow-up was answered: the patient took up the support."
	// NotPursuedTaskReason: the patient Task cancelled because the
	// answer says the patient did not take it up.
	NotPursuedTaskReason = "The follow-up was answered: the patient did not take up the support."
	// UnsaidPursuedTaskReason: the patient Task cancelled because the
	// follow-up was answered without saying whether.
	UnsaidPursuedTaskReason = "The follow-up was answered."
)

// EndTask returns task (an R4 Task) with status set to status (completed
// or cancelled), statusReason text reason and lastModified now, when
// open(its current status) is true; changed is false (task returned)
// otherwise, so a Task already ended, or one staff took up when open
// says so, keeps its status. Every other member keeps its bytes and order.
func EndTask(task []byte, status, reason string, now time.Time, open func(status string) bool) (out []byte, changed bool, err error) {
	doc, err := fhir.ParseObject(task)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "invalid JSON")
	}
	if !open(statusOf(task)) {
		return task, false, nil
	}
	setTaskMember(doc, "status", marshal(status))
	setTaskMember(doc, "statusReason", marshal(conceptJSONOut{Text: reason}))
	setTaskMember(doc, "lastModified", marshal(dateTime(now)))
	return doc.Bytes(), true, nil
}

// NotStarted reports whether a Task status is requested or ready: nobody
// has taken the Task up yet (for EndTask).
func NotStarted(status string) bool { return status == "requested" || status == "ready" }
