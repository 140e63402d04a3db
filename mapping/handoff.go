package mapping

import (
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// Non-electronic warm hand-offs (eFax, phone) are work for the practice's
// staff: the referral Task is their work-list item, coded with socialrx
// task-code send-fax or call-to-confirm beside the SDOH CC fulfill code, and
// it moves through the referral statuses as staff update it (received when
// the fax went through or the program took the call, accepted or rejected as
// the program answers, completed, failed or cancelled with a reason). Work
// list: Task?code=http://socialrx.dev/fhir/CodeSystem/task-code|send-fax&status=requested.

// The work-list codes of non-electronic hand-offs (socialrx task-code).
const (
	TaskSendFax       = "send-fax"
	TaskCallToConfirm = "call-to-confirm"
)

// HandoffTaskIdentifierSystem identifies the referral Tasks socialrx
// creates for non-electronic hand-offs; the value is the ServiceRequest id.
const HandoffTaskIdentifierSystem = "http://socialrx.dev/fhir/sid/handoff-task"

// HandoffCode returns the work-list code of a hand-off by channel: send-fax
// for eFax, call-to-confirm for a phone call; ok false for other channels.
func HandoffCode(c socialrx.Channel) (string, bool) {
	switch c {
	case socialrx.ChannelEFax:
		return TaskSendFax, true
	case socialrx.ChannelPhone:
		return TaskCallToConfirm, true
	}
	return "", false
}

// HandoffTask returns the referral Task (SDOH CC TaskForReferralManagement:
// code fulfill, focus the ServiceRequest, owner the program) socialrx
// creates when an EMR sends a non-electronic warm hand-off without one:
// status requested, coded also with the work-list code of p.Channel, its
// identifier HandoffTaskIdentifierSystem|p.ID. p must be a warm hand-off
// by eFax or phone (HandoffCode ok).
func HandoffTask(p socialrx.Prescription, id string, now time.Time) []byte {
	code, _ := HandoffCode(p.Channel)
	desc := "Fax the referral to the program and update this Task as the program answers."
	if code == TaskCallToConfirm {
		desc = "Call the program to hand the person off, confirm they take the referral, and update this Task."
	}
	t := taskJSON{ResourceType: "Task", ID: id, Status: "requested", Intent: "order", Priority: "routine",
		Code:        ccOf(codingJSON{System: systemTaskCode, Code: "fulfill", Display: "Fulfill the focal request"}, taskCoding(code)),
		Description: desc, AuthoredOn: dateTime(now), Requester: optRef(p.RequesterID), Owner: optRef(p.Target)}
	if p.ID != "" {
		t.Identifier = []identifierJSON{{System: HandoffTaskIdentifierSystem, Value: p.ID}}
		t.Focus = &refJSON{"ServiceRequest/" + p.ID}
	}
	if p.PatientID != "" {
		t.For = &refJSON{"Patient/" + p.PatientID}
	}
	return marshal(t)
}

// ReferralTask returns a referral Task (SDOH CC TaskForReferralManagement:
// code fulfill, focus ServiceRequest/p.ID, for the patient, requester
// p.RequesterID, owner p.Target) with the given status, for a referral that
// came without one (socialrx receiving an add-service-request whose message
// carries no Task).
func ReferralTask(p socialrx.Prescription, id, status string, now time.Time) []byte {
	t := taskJSON{ResourceType: "Task", ID: id, Status: status, Intent: "order", Priority: "routine",
		Code:       ccOf(codingJSON{System: systemTaskCode, Code: "fulfill", Display: "Fulfill the focal request"}),
		AuthoredOn: dateTime(now), Requester: optRef(p.RequesterID), Owner: optRef(p.Target)}
	if p.ID != "" {
		t.Focus = &refJSON{"ServiceRequest/" + p.ID}
	}
	if p.PatientID != "" {
		t.For = &refJSON{"Patient/" + p.PatientID}
	}
	return marshal(t)
}

// TagHandoffTask returns a referral Task body with the work-list code
// added to Task.code.coding (userSelected false) when it lacks it, so that
// an EMR's own referral Task for a fax or phone hand-off shows on the staff
// work list; every other byte is kept. changed is false when it had it.
func TagHandoffTask(body []byte, code string) ([]byte, bool, error) {
	doc, err := fhir.ParseObject(body)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "not a JSON object")
	}
	val, ok := doc.Get("code")
	if !ok || val[0] != '{' {
		return body, false, nil // not a referral Task: nothing to tag
	}
	var cc struct {
		Coding []coding `json:"coding"`
	}
	if json.Unmarshal(val, &cc) != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task.code", "must be a CodeableConcept")
	}
	for _, c := range cc.Coding {
		if c.System == taskCodeSystem && c.Code == code {
			return body, false, nil
		}
	}
	inner, err := fhir.ParseObject(val)
	if err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task.code", "must be a CodeableConcept")
	}
	tag := taskCoding(code)
	tag.UserSelected = &falseValue
	if codings, ok := inner.Get("coding"); ok && codings[0] == '[' {
		inner.Set("coding", appendToArray(codings, [][]byte{marshal(tag)}))
	} else {
		inner.Set("coding", joinArray([][]byte{marshal(tag)}))
	}
	doc.Set("code", inner.Bytes())
	return doc.Bytes(), true, nil
}
