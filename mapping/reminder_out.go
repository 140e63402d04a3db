package mapping

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"time"

	"github.com/socialrx/socialrx"
)

// Reaching the patient (../notify.go): the staff Tasks a reminder or its
// failure becomes, the printable letter, and the Communication that records
// a reminder sent.
//
//	Task (call-patient):  code socialrx task-code call-patient, status
//	  requested, priority routine (urgent when overdue), focus the
//	  follow-up Task, for the Patient, owner the follow-up's owner,
//	  reasonCode socialrx reminder-reason (follow-up-due, reminder-failed,
//	  overdue). On the work list: Task?work-list=call-patient.
//	Task (print-letter): code print-letter, the same references, and
//	  input[0] the letter, valueAttachment text/html (base64 data).
//	  Task?work-list=print-letter.
//	Communication: status completed, category socialrx task-code
//	  follow-up-reminder, medium EMAILWRIT or SMSWRIT (v3
//	  ParticipationMode), basedOn the follow-up Task, subject and recipient
//	  the Patient, sent, identifier the outbox message id; no payload (the
//	  text is the same for everyone and the link is a credential).

// Work-list codes of reaching the patient (socialrx task-code).
const (
	TaskCallPatient      = "call-patient"
	TaskPrintLetter      = "print-letter"
	TaskFollowUpReminder = "follow-up-reminder"
)

// Why staff are asked to call (socialrx reminder-reason).
const (
	ReasonFollowUpDue    = "follow-up-due"   // the patient's channel is phone
	ReasonReminderFailed = "reminder-failed" // the email or text could not be delivered
	ReasonOverdue        = "overdue"         // no answer EscalateAfter the reminder
)

const reasonSystem = socialrx.CodeSystemBase + "reminder-reason"

// ReminderMessageSystem identifies a reminder's Communication by the
// outbox message id (urn:uuid).
const ReminderMessageSystem = "urn:ietf:rfc:3986"

// PatientContactOf reads what socialrx.ReminderChannel needs of a Patient:
// telecom (system, value, use, rank) and whether an address is on file. A
// body it cannot read gives no contacts (the decision then falls to a staff
// call).
func PatientContactOf(patient []byte) socialrx.PatientContact {
	var pt struct {
		Telecom []struct {
			System string `json:"system"`
			Value  string `json:"value"`
			Use    string `json:"use"`
			Rank   int    `json:"rank"`
		} `json:"telecom"`
		Address []json.RawMessage `json:"address"`
	}
	if json.Unmarshal(patient, &pt) != nil {
		return socialrx.PatientContact{}
	}
	var pc socialrx.PatientContact
	for _, t := range pt.Telecom {
		pc.Telecom = append(pc.Telecom, socialrx.ContactPoint{System: t.System, Value: t.Value, Use: t.Use, Rank: t.Rank})
	}
	pc.HasAddress = len(pt.Address) > 0
	return pc
}

// StaffTask is one work-list item of reaching the patient.
type StaffTask struct {
	Code           string // TaskCallPatient or TaskPrintLetter
	Reason         string // ReasonFollowUpDue, ReasonReminderFailed, ReasonOverdue
	FollowUpTaskID string
	PatientID      string
	Owner          string // the follow-up's owner, "" if none
	Letter         []byte // the letter HTML (TaskPrintLetter)
}

type staffTaskJSON struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Status       string            `json:"status"`
	Intent       string            `json:"intent"`
	Priority     string            `json:"priority"`
	Code         *conceptJSONOut   `json:"code"`
	Description  string            `json:"description"`
	Focus        *refJSON          `json:"focus,omitempty"`
	For          *refJSON          `json:"for,omitempty"`
	AuthoredOn   string            `json:"authoredOn"`
	Owner        *refJSON          `json:"owner,omitempty"`
	ReasonCode   *conceptJSONOut   `json:"reasonCode,omitempty"`
	Input        []letterInputJSON `json:"input,omitempty"`
}

type letterInputJSON struct {
	Type            *conceptJSONOut `json:"type"`
	ValueAttachment struct {
		ContentType string `json:"contentType"`
		Data        string `json:"data"`
		Title       string `json:"title"`
		Creation    string `json:"creation"`
	} `json:"valueAttachment"`
}

// reasonDisplay is the display of a reminder-reason code.
func reasonDisplay(code string) string {
	return displayOf("reminder-reason", code)
}

// StaffTaskJSON writes s as a Task with id, authored at now.
func StaffTaskJSON(s StaffTask, id string, now time.Time) []byte {
	desc := "Call the patient to ask how the social prescription went, and record the answers (the follow-up Questionnaire)."
	if s.Code == TaskPrintLetter {
		desc = "Print the attached letter and post it to the patient's address on file."
	}
	t := staffTaskJSON{ResourceType: "Task", ID: id, Status: "requested", Intent: "order", Priority: "routine",
		Code: ccOf(taskCoding(s.Code)), Description: desc, AuthoredOn: dateTime(now), Owner: optRef(s.Owner),
		ReasonCode: ccOf(codingJSON{System: reasonSystem, Code: s.Reason, Display: reasonDisplay(s.Reason)})}
	if s.Reason == ReasonOverdue {
		t.Priority = "urgent"
	}
	if s.FollowUpTaskID != "" {
		t.Focus = &refJSON{"Task/" + s.FollowUpTaskID}
	}
	if s.PatientID != "" {
		t.For = &refJSON{"Patient/" + s.PatientID}
	}
	if s.Code == TaskPrintLetter {
		in := letterInputJSON{Type: &conceptJSONOut{Text: "Letter to print"}}
		in.ValueAttachment.ContentType = "text/html; charset=utf-8"
		in.ValueAttachment.Data = base64.StdEncoding.EncodeToString(s.Letter)
		in.ValueAttachment.Title = "Follow-up letter"
		in.ValueAttachment.Creation = dateTime(now)
		t.Input = []letterInputJSON{in}
	}
	return marshal(t)
}

// StaffTaskCode returns the work-list code of a Task socialrx made for
// reaching the patient (call-patient, print-letter), or "".
func StaffTaskCode(task []byte) string {
	var t struct {
		Code struct {
			Coding []struct{ System, Code string } `json:"coding"`
		} `json:"code"`
	}
	if json.Unmarshal(task, &t) != nil {
		return ""
	}
	for _, c := range t.Code.Coding {
		if c.System == taskCodeSystem && (c.Code == TaskCallPatient || c.Code == TaskPrintLetter) {
			return c.Code
		}
	}
	return ""
}

var letterTmpl = template.Must(template.New("letter").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Follow-up letter</title>
<style>body{font-family:serif;font-size:13pt;line-height:1.5;max-width:40em;margin:2cm auto}.link{font-family:monospace;font-size:12pt;word-break:break-all}@media print{body{margin:0}}</style></head>
<body>
<p>{{.Clinic}}</p>
<p>{{.Date}}</p>
<p>Hello,</p>
<p>At your last visit we suggested a support in the community. We would like to know how it went: whether you were able to go, what got in the way, and how you are doing. It takes about two minutes.</p>
<p>You can answer online at this address:</p>
<p class="link">{{.Link}}</p>
<p>The address works until {{.Until}} and can be used once. If you would rather talk to someone, or do not use the internet, call the clinic and we will ask you the questions on the phone.</p>
<p>With best wishes,<br>{{.Clinic}}</p>
</body></html>
`))

// Letter is the printable HTML letter of a reminder by mail: the clinic,
// the date, the link and its last day. Like the email, it names neither the
// patient (staff address the envelope from the chart) nor the program.
func Letter(clinic, link string, expires, now time.Time) []byte {
	if clinic == "" {
		clinic = "Your clinic"
	}
	var b bytes.Buffer
	_ = letterTmpl.Execute(&b, map[string]string{"Clinic": clinic, "Date": now.UTC().Format("2 January 2006"),
		"Link": link, "Until": expires.UTC().AddDate(0, 0, -1).Format("2 January 2006")})
	return b.Bytes()
}

// Reminder Communication medium (v3 ParticipationMode).
const participationMode = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"

// ReminderCommunication records a reminder sent on channel (email or text)
// at sent, by outbox message messageID, for follow-up Task fuID of
// patientID. It carries no payload.
func ReminderCommunication(id, fuID, patientID string, channel socialrx.ContactChannel, messageID string, sent time.Time) []byte {
	mode, display := "EMAILWRIT", "email"
	if channel == socialrx.ContactText {
		mode, display = "SMSWRIT", "SMS message"
	}
	c := struct {
		ResourceType string            `json:"resourceType"`
		ID           string            `json:"id"`
		Identifier   []identifierJSON  `json:"identifier"`
		BasedOn      []refJSON         `json:"basedOn"`
		Status       string            `json:"status"`
		Category     []*conceptJSONOut `json:"category"`
		Medium       []*conceptJSONOut `json:"medium"`
		Subject      *refJSON          `json:"subject,omitempty"`
		Sent         string            `json:"sent"`
		Recipient    []refJSON         `json:"recipient,omitempty"`
	}{ResourceType: "Communication", ID: id, Identifier: []identifierJSON{{System: ReminderMessageSystem, Value: "urn:uuid:" + messageID}},
		BasedOn: []refJSON{{"Task/" + fuID}}, Status: "completed",
		Category: []*conceptJSONOut{ccOf(taskCoding(TaskFollowUpReminder))},
		Medium:   []*conceptJSONOut{ccOf(codingJSON{System: participationMode, Code: mode, Display: display})},
		Sent:     dateTime(sent)}
	if patientID != "" {
		c.Subject = &refJSON{"Patient/" + patientID}
		c.Recipient = []refJSON{{"Patient/" + patientID}}
	}
	return marshal(c)
}
