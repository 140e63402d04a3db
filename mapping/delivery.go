package mapping

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/socialrx/socialrx"
)

// Extensions socialrx writes on a referral Task to make a failed delivery
// visible in FHIR (and searchable: Task?delivery-state=failed). Both are
// socialrx's own; they carry codes and the receiver's error text, no PHI of
// the patient.
const (
	ExtensionDeliveryState = "http://socialrx.dev/fhir/StructureDefinition/delivery-state" // valueCode: pending | delivered | failed
	ExtensionDeliveryError = "http://socialrx.dev/fhir/StructureDefinition/delivery-error" // valueString: why it failed
)

// MarkDelivery returns the Task body with socialrx's delivery extensions
// set to state (and reason, when not empty), replacing any it had; every
// other element is kept as it was. state "" removes them.
func MarkDelivery(task []byte, state, reason string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(task))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc["resourceType"] != "Task" {
		return nil, issueErr(socialrx.EINVALID, "structure", "Task", "not a Task")
	}
	var keep []any
	if exts, ok := doc["extension"].([]any); ok {
		for _, e := range exts {
			if m, ok := e.(map[string]any); ok && (m["url"] == ExtensionDeliveryState || m["url"] == ExtensionDeliveryError) {
				continue
			}
			keep = append(keep, e)
		}
	}
	if state != "" {
		keep = append(keep, map[string]any{"url": ExtensionDeliveryState, "valueCode": state})
		if reason != "" {
			keep = append(keep, map[string]any{"url": ExtensionDeliveryError, "valueString": reason})
		}
	}
	if len(keep) == 0 {
		delete(doc, "extension")
	} else {
		doc["extension"] = keep
	}
	return marshal(doc), nil
}

// WriteBackBody returns a resource to write back to an EMR: body without
// socialrx's id and meta (the EMR has ids of its own; a conditional update
// finds its copy by identifier), with each reference "Type/id" to a resource
// socialrx holds rewritten as a logical reference (Reference.type and
// Reference.identifier, the first identifier with a system and a value of
// the target), which the EMR can match against its own records. A
// reference whose target has no such identifier is kept as it is, so no
// link is lost. identifier (system, value) is added to body's identifier
// list when body lacks it, so the EMR finds the copy next time.
func WriteBackBody(body []byte, r Resolver, system, value string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, issueErr(socialrx.EINVALID, "structure", "", "invalid JSON")
	}
	delete(doc, "id")
	delete(doc, "meta")
	if system != "" && value != "" {
		has := false
		ids, _ := doc["identifier"].([]any)
		for _, x := range ids {
			if m, ok := x.(map[string]any); ok && m["system"] == system && m["value"] == value {
				has = true
			}
		}
		if !has {
			doc["identifier"] = append(ids, map[string]any{"system": system, "value": value})
		}
	}
	logicalRefs(doc, r, 0)
	return marshal(doc), nil
}

// logicalRefs rewrites, in place, every Reference object below v.
func logicalRefs(v any, r Resolver, depth int) {
	if depth > 64 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["reference"].(string); ok {
			if typ, _, ok := refTypeID(ref); ok && !strings.Contains(ref, "://") {
				if b, ok := r.resolve(ref); ok {
					if sys, val := firstIdentifier(b); sys != "" {
						delete(x, "reference")
						x["type"] = typ
						x["identifier"] = map[string]any{"system": sys, "value": val}
					}
				}
			}
		}
		for k, c := range x {
			if k != "identifier" {
				logicalRefs(c, r, depth+1)
			}
		}
	case []any:
		for _, c := range x {
			logicalRefs(c, r, depth+1)
		}
	}
}

// firstIdentifier returns the first identifier of a resource with both a
// system and a value.
func firstIdentifier(body []byte) (system, value string) {
	var doc struct {
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "", ""
	}
	for _, id := range doc.Identifier {
		if id.System != "" && id.Value != "" {
			return id.System, id.Value
		}
	}
	return "", ""
}

// ResourceIdentifier returns the identifier a write-back of body is
// recognised by in the EMR: its first identifier with a system and a value,
// else socialrx's own (http://socialrx.dev/fhir/sid/<type>, id).
func ResourceIdentifier(typ, id string, body []byte) (system, value string) {
	if s, v := firstIdentifier(body); s != "" {
		return s, v
	}
	return "http://socialrx.dev/fhir/sid/" + strings.ToLower(typ), id
}
