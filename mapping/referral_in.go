package mapping

import (
	"time"

	"github.com/socialrx/socialrx"
)

// Task codes and systems read from and written on Tasks.
const (
	systemTaskCode   = "http://hl7.org/fhir/CodeSystem/task-code"
	taskCodeSystem   = socialrx.CodeSystemBase + "task-code"  // socialrx's own Task.code
	taskInputSystem  = socialrx.CodeSystemBase + "task-input" // socialrx's Task.input types
	contactSystem    = socialrx.CodeSystemBase + "follow-up-channel"
	taskFollowUp     = "follow-up"
	taskPatientTask  = "patient-pursue"
	inputContactChan = "contact-channel"
)

// task is the part of an R4 Task that ReferralFromTask and
// FollowUpFromTask read.
type task struct {
	ResourceType   string           `json:"resourceType"`
	ID             string           `json:"id"`
	Status         string           `json:"status"`
	StatusReason   *conceptText     `json:"statusReason"`
	BusinessStatus *conceptText     `json:"businessStatus"`
	Code           *codeableConcept `json:"code"`
	Focus          *reference       `json:"focus"`
	For            *reference       `json:"for"`
	AuthoredOn     string           `json:"authoredOn"`
	LastModified   string           `json:"lastModified"`
	Requester      *reference       `json:"requester"`
	Owner          *reference       `json:"owner"`
	Restriction    *struct {
		Period *struct {
			End string `json:"end"`
		} `json:"period"`
	} `json:"restriction"`
	Input []struct {
		Type                 codeableConcept  `json:"type"`
		ValueCodeableConcept *codeableConcept `json:"valueCodeableConcept"`
	} `json:"input"`
}

// conceptText is a CodeableConcept read for its words: text, else the
// first coding's display, else its code.
type conceptText struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text"`
}

func (c *conceptText) words() string {
	if c == nil {
		return ""
	}
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
		if cd.Code != "" {
			return cd.Code
		}
	}
	return ""
}

// focusRequest returns the ServiceRequest id Task.focus points to, or ok
// false when the focus is not a ServiceRequest reference.
func (t *task) focusRequest() (string, bool) {
	if t.Focus == nil {
		return "", false
	}
	typ, id, ok := refTypeID(t.Focus.Reference)
	return id, ok && typ == "ServiceRequest"
}

// taskRef reads a Task reference element as "Type/id"; a present
// reference that is not Type/id is an issue at path.reference.
func taskRef(ref *reference, path string, is *issueList) string {
	if ref == nil || ref.Reference == "" {
		return ""
	}
	typ, id, ok := refTypeID(ref.Reference)
	if !ok {
		is.add("value", path+".reference", "must be a reference Type/id")
		return ""
	}
	return typ + "/" + id
}

// taskPatient reads Task.for, which must reference a Patient.
func taskPatient(t *task, is *issueList) string {
	if t.For == nil || t.For.Reference == "" {
		is.add("required", "Task.for", "a Patient reference is required")
		return ""
	}
	typ, id, ok := refTypeID(t.For.Reference)
	if !ok || typ != "Patient" {
		is.add("value", "Task.for.reference", "must reference a Patient as Patient/<id>")
		return ""
	}
	return id
}

// taskTime parses a dateTime element, adding an issue at path when it is
// not one.
func taskTime(s, path string, is *issueList) time.Time {
	t, err := parseDateTime(s, path)
	if err != nil {
		is.add("value", path, "invalid date/time format")
	}
	return t
}

// ReferralFromTask reads a referral from a Task. The bool says whether the
// Task is a referral at all: it is when it follows the SDOH CC
// TaskForReferralManagement profile
// (http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement):
// Task.code fulfill (http://hl7.org/fhir/CodeSystem/task-code) and
// Task.focus a ServiceRequest. Any other Task (socialrx's follow-up and
// patient Tasks, an SDOH CC patient Task, a financial Task) gives
// (nil, false, nil). The fields:
//
//   - ID: Task.id; PrescriptionID: Task.focus (ServiceRequest/<id>);
//     PatientID: Task.for (Patient/<id>);
//   - Requester: Task.requester; Performer: Task.owner (both "Type/id");
//   - Status: Task.status; BusinessStatus: Task.businessStatus text, else
//     its first coding's display, else its code; StatusReason: the same of
//     Task.statusReason;
//   - LastChanged: Task.lastModified, else Task.authoredOn.
//
// DeliveryState and DeliveryError are socialrx's bookkeeping, not read
// here. The Referral returned passes Referral.Validate; errors are
// *socialrx.Error, EINVALID for malformed JSON or another resourceType,
// else EUNPROCESSABLE with one issue per broken rule (mapping's and
// Validate's), each at its element path (Task.for, Task.owner, ...).
func ReferralFromTask(body []byte) (*socialrx.Referral, bool, error) {
	var t task
	if err := decodeResource(body, "Task", &t, &t.ResourceType); err != nil {
		return nil, false, err
	}
	srID, isFocusSR := t.focusRequest()
	if !t.Code.has(systemTaskCode, "fulfill") || !isFocusSR {
		return nil, false, nil
	}
	var is issueList
	r := &socialrx.Referral{
		ID:             t.ID,
		PrescriptionID: srID,
		PatientID:      taskPatient(&t, &is),
		Requester:      taskRef(t.Requester, "Task.requester", &is),
		Performer:      taskRef(t.Owner, "Task.owner", &is),
		Status:         socialrx.ReferralStatus(t.Status),
		BusinessStatus: t.BusinessStatus.words(),
		StatusReason:   t.StatusReason.words(),
	}
	if t.LastModified != "" {
		r.LastChanged = taskTime(t.LastModified, "Task.lastModified", &is)
	} else {
		r.LastChanged = taskTime(t.AuthoredOn, "Task.authoredOn", &is)
	}
	is.merge(r.Validate())
	if err := is.err("invalid referral"); err != nil {
		return nil, true, err
	}
	return r, true, nil
}

// FollowUpFromTask reads a follow-up from one of socialrx's follow-up Tasks
// (the shape FollowUpTask writes), so that an EMR's or a user's change to
// it (completed, a new owner or due date) is read back. The bool says
// whether the Task is one: Task.code holds socialrx task-code follow-up
// (CodeSystemBase+"task-code"); any other Task gives (nil, false, nil).
// The fields:
//
//   - PrescriptionID: Task.focus (ServiceRequest/<id>); PatientID: Task.for;
//   - Due: Task.restriction.period.end; Owner: Task.owner ("Type/id");
//   - Channel: the Task.input typed socialrx task-input contact-channel,
//     its valueCodeableConcept coding in socialrx follow-up-channel;
//   - Status: Task.status.
//
// The FollowUp returned passes FollowUp.Validate; errors as for
// ReferralFromTask, with paths Task.focus, Task.for, Task.input,
// Task.restriction.period.end, ...
func FollowUpFromTask(body []byte) (*socialrx.FollowUp, bool, error) {
	var t task
	if err := decodeResource(body, "Task", &t, &t.ResourceType); err != nil {
		return nil, false, err
	}
	if !t.Code.has(taskCodeSystem, taskFollowUp) {
		return nil, false, nil
	}
	var is issueList
	f := &socialrx.FollowUp{
		PatientID: taskPatient(&t, &is),
		Owner:     taskRef(t.Owner, "Task.owner", &is),
		Status:    t.Status,
	}
	if id, ok := t.focusRequest(); ok {
		f.PrescriptionID = id
	} else if t.Focus != nil && t.Focus.Reference != "" {
		is.add("value", "Task.focus.reference", "must reference a ServiceRequest as ServiceRequest/<id>")
	}
	if t.Restriction != nil && t.Restriction.Period != nil {
		f.Due = taskTime(t.Restriction.Period.End, "Task.restriction.period.end", &is)
	}
	for i, in := range t.Input {
		if !in.Type.has(taskInputSystem, inputContactChan) {
			continue
		}
		if c := in.ValueCodeableConcept.code(contactSystem); c != "" {
			f.Channel = socialrx.ContactChannel(c)
			if !f.Channel.Valid() {
				is.add("value", idx("Task.input", i)+".valueCodeableConcept", "not a code of "+contactSystem)
			}
		}
		break
	}
	is.merge(f.Validate())
	if err := is.err("invalid follow-up"); err != nil {
		return nil, true, err
	}
	return f, true, nil
}
