package mapping

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"time"

	"github.com/socialrx/socialrx"
)

// taskStatuses is the R4 TaskStatus value set
// (http://hl7.org/fhir/R4/valueset-task-status.html).
var taskStatuses = map[string]bool{
	"draft": true, "requested": true, "received": true, "accepted": true, "rejected": true,
	"ready": true, "cancelled": true, "in-progress": true, "on-hold": true, "failed": true,
	"completed": true, "entered-in-error": true,
}

// taskElements are the elements of an R4 Task in their order
// (http://hl7.org/fhir/R4/task.html), where an element ApplyTaskUpdate adds
// is placed.
var taskElements = []string{
	"resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
	"modifierExtension", "identifier", "instantiatesCanonical", "instantiatesUri", "basedOn",
	"groupIdentifier", "partOf", "status", "statusReason", "businessStatus", "intent", "priority",
	"code", "description", "focus", "for", "encounter", "executionPeriod", "authoredOn",
	"lastModified", "requester", "performerType", "owner", "location", "reasonCode",
	"reasonReference", "insurance", "note", "relevantHistory", "restriction", "input", "output",
}

// taskUpdated are the elements a platform's copy of a referral Task
// updates, in the order they are compared and written.
var taskUpdated = []string{"status", "businessStatus", "statusReason", "output"}

// decodeTaskDoc decodes body as a JSON Task into a map (numbers as
// json.Number) and its members' raw values.
func decodeTaskDoc(body []byte) (map[string]any, map[string]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	var raw map[string]json.RawMessage
	if dec.Decode(&doc) != nil || doc["resourceType"] != "Task" || json.Unmarshal(body, &raw) != nil {
		return nil, nil, false
	}
	return doc, raw, true
}

// ApplyTaskUpdate applies a platform's copy of a referral Task (incoming,
// as received in an eReferral message) to the Task socialrx holds (local):
// Task.status, Task.businessStatus, Task.statusReason and Task.output are
// taken from incoming where incoming has them, and Task.lastModified is
// incoming's, else now (UTC, RFC 3339). Only those members of local change:
// each is replaced where it stands, or added at its place in the Task's
// element order; every other byte of local (unknown elements, extensions,
// primitive extensions such as _status, member order, numbers) is kept.
//
// When the status changes, local's businessStatus and statusReason that
// incoming does not carry are removed: they described the old status (a
// wait-list reason must not stay on an in-progress referral).
//
// changed is false, and out is local itself, when the elements incoming has
// among status, businessStatus, statusReason and output already equal
// local's (as JSON values): a duplicate or an echo of socialrx's own update
// writes nothing. Task.output is compared too, so that a result a platform
// attaches without a status change is not lost.
//
// Errors are *socialrx.Error: EINVALID when local or incoming is not a JSON
// Task (path Task); EUNPROCESSABLE when incoming's Task.status is missing
// or not a TaskStatus code (Task.status), or its Task.lastModified is not a
// dateTime (Task.lastModified).
func ApplyTaskUpdate(local, incoming []byte, now time.Time) (out []byte, changed bool, err error) {
	ldoc, _, ok := decodeTaskDoc(local)
	if !ok {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "the stored referral is not a JSON Task")
	}
	if _, err := scanObject(local); err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "the stored referral is not a JSON Task")
	}
	idoc, iraw, ok := decodeTaskDoc(incoming)
	if !ok {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "the incoming referral is not a JSON Task")
	}
	var is issueList
	switch status, _ := idoc["status"].(string); {
	case idoc["status"] == nil:
		is.add("required", "Task.status", "the incoming Task has no status")
	case !taskStatuses[status]:
		is.add("value", "Task.status", "not a TaskStatus code")
	}
	lastModified := now.UTC().Format(time.RFC3339)
	if v, has := idoc["lastModified"]; has {
		s, _ := v.(string)
		if _, err := parseDateTime(s, "Task.lastModified"); err != nil || s == "" {
			is.add("value", "Task.lastModified", "not a FHIR dateTime")
		}
		lastModified = s
	}
	if err := is.err("invalid task update"); err != nil {
		return nil, false, err
	}
	for _, name := range taskUpdated {
		if v, has := idoc[name]; has && !reflect.DeepEqual(v, ldoc[name]) {
			changed = true
		}
	}
	if !changed {
		return local, false, nil
	}
	out = local
	if idoc["status"] != ldoc["status"] {
		for _, name := range []string{"businessStatus", "statusReason"} {
			if _, has := idoc[name]; !has {
				out = removeMember(out, name)
			}
		}
	}
	for _, name := range taskUpdated {
		if raw, has := iraw[name]; has {
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return nil, false, issueErr(socialrx.EINVALID, "structure", "Task."+name, "invalid JSON")
			}
			out = setMember(out, name, b.Bytes())
		}
	}
	out = setMember(out, "lastModified", marshal(lastModified))
	return out, true, nil
}

// setMember returns the Task body with member key set to value: replaced
// where it stands, else inserted after the nearest element before it in
// taskElements (or last). body is a JSON object (checked by the caller).
func setMember(body []byte, key string, value []byte) []byte {
	doc, err := scanObject(body)
	if err != nil {
		return body // not reached: the caller checked body
	}
	if m, ok := doc.find(key); ok {
		out := make([]byte, 0, len(body)+len(value))
		out = append(out, body[:m.valStart]...)
		out = append(out, value...)
		return append(out, body[m.valEnd:]...)
	}
	// After the nearest element before key that local has, or after its
	// primitive extension (_status) when that comes later.
	for j := slices.Index(taskElements, key) - 1; j >= 0; j-- {
		m, ok := doc.find(taskElements[j])
		if x, xok := doc.find("_" + taskElements[j]); xok && (!ok || x.valEnd > m.valEnd) {
			m, ok = x, true
		}
		if ok {
			return doc.insertAfter(body, key, value, m.key)
		}
	}
	return doc.insertAfter(body, key, value)
}

// removeMember returns body without member key (and its primitive
// extension _key), the separators around it kept valid; body itself when it
// has neither.
func removeMember(body []byte, key string) []byte {
	for _, k := range []string{key, "_" + key} {
		doc, err := scanObject(body)
		if err != nil {
			return body
		}
		for i, m := range doc.members {
			if m.key != k {
				continue
			}
			var out []byte
			switch {
			case i > 0: // from the end of the previous member: its comma goes
				out = append(append(out, body[:m.gapStart]...), body[m.valEnd:]...)
			case len(doc.members) > 1: // the first: up to the next key
				out = append(append(out, body[:m.keyStart]...), body[doc.members[1].keyStart:]...)
			default:
				out = append(append(out, body[:m.keyStart]...), body[m.valEnd:]...)
			}
			body = out
			break
		}
	}
	return body
}
