package mapping

import (
	"time"

	"github.com/socialrx/socialrx"
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
