package mapping

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
)

// A referral held for consent (socialrx.ConsentHoldFor) is written on its
// Task as socialrx's own change: status on-hold, statusReason coded in
// socialrx referral-hold (consent-needed or consent-revoked) with the
// reason as text, and the extension ExtensionConsentHold keeping the status
// and statusReason it was held from, so that the release puts them back:
//
//	{"url": ExtensionConsentHold, "extension": [
//	  {"url": "status", "valueCode": "requested"},
//	  {"url": "statusReason", "valueCodeableConcept": {...}}]}   (when it had one)

// ExtensionConsentHold is the extension on a held referral Task that keeps
// what the hold replaced.
const ExtensionConsentHold = "http://socialrx.dev/fhir/StructureDefinition/consent-hold"

// HoldSystem is the code system of consent holds (statusReason of a held
// referral Task).
const HoldSystem = socialrx.CodeSystemBase + "referral-hold"

// ConsentHoldOf returns the code of the consent hold a referral Task is
// in: status on-hold with a statusReason coding in HoldSystem; "" when it
// is not held.
func ConsentHoldOf(task []byte) string {
	var t struct {
		Status       string          `json:"status"`
		StatusReason codeableConcept `json:"statusReason"`
	}
	if json.Unmarshal(task, &t) != nil || t.Status != string(socialrx.ReferralOnHold) {
		return ""
	}
	for _, c := range t.StatusReason.Coding {
		if c.System == HoldSystem && socialrx.HoldDisplay(c.Code) != "" {
			return c.Code
		}
	}
	return ""
}

type holdExt struct {
	URL                  string          `json:"url"`
	ValueCode            string          `json:"valueCode,omitempty"`
	ValueCodeableConcept json.RawMessage `json:"valueCodeableConcept,omitempty"`
}

// HoldTask returns the referral Task put on hold for consent: status
// on-hold, statusReason {coding HoldSystem|hold, text reason}, lastModified
// now, and ExtensionConsentHold with the status and statusReason it had
// (kept as they were when the Task is held already). Other members keep
// their bytes and place.
func HoldTask(task []byte, hold, reason string, now time.Time) ([]byte, error) {
	doc, ok := parseTask(task)
	if !ok {
		return nil, issueErr(socialrx.EINVALID, "structure", "Task", "not a Task")
	}
	exts, held := splitHoldExt(doc)
	if held == nil || ConsentHoldOf(task) == "" {
		var status string
		raw, _ := doc.Get("status")
		_ = json.Unmarshal(raw, &status)
		sub := []json.RawMessage{marshal(holdExt{URL: "status", ValueCode: status})}
		if sr, has := doc.Get("statusReason"); has && string(sr) != "null" {
			var b bytes.Buffer
			if json.Compact(&b, sr) == nil {
				sub = append(sub, marshal(holdExt{URL: "statusReason", ValueCodeableConcept: b.Bytes()}))
			}
		}
		held = marshal(struct {
			URL       string            `json:"url"`
			Extension []json.RawMessage `json:"extension"`
		}{ExtensionConsentHold, sub})
	}
	setTaskMember(doc, "extension", joinArray(append(exts, held)))
	setTaskMember(doc, "status", marshal(string(socialrx.ReferralOnHold)))
	doc.Del("_statusReason")
	setTaskMember(doc, "statusReason", marshal(struct {
		Coding []coding `json:"coding"`
		Text   string   `json:"text"`
	}{[]coding{{System: HoldSystem, Code: hold, Display: socialrx.HoldDisplay(hold)}}, reason}))
	setTaskMember(doc, "lastModified", marshal(now.UTC().Format(time.RFC3339)))
	return doc.Bytes(), nil
}

// ReleaseTask returns the held referral Task released: the status and
// statusReason ExtensionConsentHold kept put back (no statusReason when it
// had none), the extension removed, lastModified now. ok is false, and
// task is returned, when the Task is not held.
func ReleaseTask(task []byte, now time.Time) (out []byte, ok bool, err error) {
	doc, isTask := parseTask(task)
	if !isTask {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "not a Task")
	}
	if ConsentHoldOf(task) == "" {
		return task, false, nil
	}
	exts, held := splitHoldExt(doc)
	status, reason := string(socialrx.ReferralRequested), json.RawMessage(nil)
	if held != nil {
		var h struct {
			Extension []holdExt `json:"extension"`
		}
		_ = json.Unmarshal(held, &h)
		for _, s := range h.Extension {
			switch s.URL {
			case "status":
				if socialrx.ReferralStatus(s.ValueCode).Valid() {
					status = s.ValueCode
				}
			case "statusReason":
				reason = s.ValueCodeableConcept
			}
		}
	}
	if len(exts) == 0 {
		doc.Del("extension")
	} else {
		setTaskMember(doc, "extension", joinArray(exts))
	}
	setTaskMember(doc, "status", marshal(status))
	doc.Del("_statusReason")
	if len(reason) > 0 {
		setTaskMember(doc, "statusReason", reason)
	} else {
		doc.Del("statusReason")
	}
	setTaskMember(doc, "lastModified", marshal(now.UTC().Format(time.RFC3339)))
	return doc.Bytes(), true, nil
}

// splitHoldExt returns the Task's extensions other than
// ExtensionConsentHold, and that one (nil when absent).
func splitHoldExt(doc interface {
	Get(string) (json.RawMessage, bool)
}) (others [][]byte, held []byte) {
	raw, has := doc.Get("extension")
	if !has {
		return nil, nil
	}
	elems, _ := arrayElements(raw) // not an array: replaced
	for _, e := range elems {
		var x struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(e, &x) == nil && x.URL == ExtensionConsentHold {
			held = e
			continue
		}
		others = append(others, e)
	}
	return others, held
}
