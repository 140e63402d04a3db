package mapping

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
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

// parseTask parses body as a JSON Task, members in order.
func parseTask(body []byte) (*fhir.Object, bool) {
	doc, err := fhir.ParseObject(body)
	if err != nil {
		return nil, false
	}
	var rt string
	if raw, _ := doc.Get("resourceType"); json.Unmarshal(raw, &rt) != nil || rt != "Task" {
		return nil, false
	}
	return doc, true
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
	ldoc, ok := parseTask(local)
	if !ok {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "the stored referral is not a JSON Task")
	}
	idoc, ok := parseTask(incoming)
	if !ok {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "Task", "the incoming referral is not a JSON Task")
	}
	var is issueList
	var status string
	switch raw, has := idoc.Get("status"); {
	case !has || string(raw) == "null":
		is.add("required", "Task.status", "the incoming Task has no status")
	case json.Unmarshal(raw, &status) != nil || !taskStatuses[status]:
		is.add("value", "Task.status", "not a TaskStatus code")
	}
	lastModified := now.UTC().Format(time.RFC3339)
	if raw, has := idoc.Get("lastModified"); has {
		var s string
		_ = json.Unmarshal(raw, &s)
		if _, err := parseDateTime(s, "Task.lastModified"); err != nil || s == "" {
			is.add("value", "Task.lastModified", "not a FHIR dateTime")
		}
		lastModified = s
	}
	if err := is.err("invalid task update"); err != nil {
		return nil, false, err
	}
	get := func(doc *fhir.Object, name string) json.RawMessage { v, _ := doc.Get(name); return v }
	for _, name := range taskUpdated {
		if v, has := idoc.Get(name); has && !jsonEqual(v, get(ldoc, name)) {
			changed = true
		}
	}
	if !changed {
		return local, false, nil
	}
	if !jsonEqual(get(idoc, "status"), get(ldoc, "status")) {
		for _, name := range []string{"businessStatus", "statusReason"} {
			if _, has := idoc.Get(name); !has {
				ldoc.Del(name)
				ldoc.Del("_" + name)
			}
		}
	}
	for _, name := range taskUpdated {
		if raw, has := idoc.Get(name); has {
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return nil, false, issueErr(socialrx.EINVALID, "structure", "Task."+name, "invalid JSON")
			}
			setTaskMember(ldoc, name, b.Bytes())
		}
	}
	setTaskMember(ldoc, "lastModified", marshal(lastModified))
	return ldoc.Bytes(), true, nil
}

// setTaskMember sets member key of a Task to value: replaced where it
// stands, else inserted after the nearest element before it in
// taskElements that the Task has, or after that element's primitive
// extension (_status) when that comes later; last when it has none.
func setTaskMember(doc *fhir.Object, key string, value []byte) {
	for j := slices.Index(taskElements, key) - 1; j >= 0 && doc.Index(key) < 0; j-- {
		at := max(doc.Index(taskElements[j]), doc.Index("_"+taskElements[j]))
		if at >= 0 {
			doc.SetAfter(key, value, doc.Keys()[at])
			return
		}
	}
	doc.Set(key, value)
}
