package mapping

import (
	"encoding/json"
	"strings"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
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
// set to state (and reason, when not empty), replacing any it had; state ""
// removes them. Only Task.extension changes (written compactly, the other
// extensions with their bytes; added after the element before it in the
// Task's order when absent); every other member keeps its bytes and place.
func MarkDelivery(task []byte, state, reason string) ([]byte, error) {
	doc, ok := parseTask(task)
	if !ok {
		return nil, issueErr(socialrx.EINVALID, "structure", "Task", "not a Task")
	}
	var keep [][]byte
	if raw, has := doc.Get("extension"); has {
		exts, _ := arrayElements(raw) // not an array: replaced
		for _, e := range exts {
			var x struct {
				URL string `json:"url"`
			}
			if json.Unmarshal(e, &x) == nil && (x.URL == ExtensionDeliveryState || x.URL == ExtensionDeliveryError) {
				continue
			}
			keep = append(keep, e)
		}
	}
	if state != "" {
		keep = append(keep, marshal(deliveryExt{URL: ExtensionDeliveryState, ValueCode: state}))
		if reason != "" {
			keep = append(keep, marshal(deliveryExt{URL: ExtensionDeliveryError, ValueString: reason}))
		}
	}
	if len(keep) == 0 {
		doc.Del("extension")
	} else {
		setTaskMember(doc, "extension", joinArray(keep))
	}
	return doc.Bytes(), nil
}

type deliveryExt struct {
	URL         string `json:"url"`
	ValueCode   string `json:"valueCode,omitempty"`
	ValueString string `json:"valueString,omitempty"`
}

// WriteBackBody returns a resource to write back to an EMR: body without
// socialrx's id and meta (the EMR has ids of its own; a conditional update
// finds its copy by identifier), with each reference "Type/id" to a resource
// socialrx holds rewritten as a logical reference (Reference.type and
// Reference.identifier, the first identifier with a system and a value of
// the target, written where Reference.reference was), which the EMR can
// match against its own records; a target without one is named by
// socialrx's identifier for it (ResourceIdentifier: the identifier its own
// write-back would carry), never by socialrx's id, which means nothing in
// the EMR. References to resources socialrx does not hold, and absolute
// ones, are kept as they are. identifier (system,
// value) is added to body's identifier list when body lacks it, so the EMR
// finds the copy next time (set as the one identifier of a type that has
// one, when it has none). Every other member keeps its bytes and order.
func WriteBackBody(body []byte, r Resolver, system, value string) ([]byte, error) {
	doc, err := fhir.ParseObject(body)
	if err != nil {
		return nil, issueErr(socialrx.EINVALID, "structure", "", "invalid JSON")
	}
	doc.Del("id")
	doc.Del("meta")
	var typ string
	if raw, ok := doc.Get("resourceType"); ok {
		_ = json.Unmarshal(raw, &typ)
	}
	if system != "" && value != "" && singleIdentifier[typ] {
		// One Identifier: kept when it is the key (ResourceIdentifier's,
		// whenever it has a system and a value); else the key takes its
		// place, so that the EMR finds this copy next time rather than
		// making another.
		if s, v := firstIdentifier(body); s != system || v != value {
			add := marshal(identifierJSON{System: system, Value: value})
			if _, ok := doc.Get("identifier"); ok {
				doc.Set("identifier", add)
			} else {
				doc.SetAfter("identifier", add, "modifierExtension", "extension", "contained", "text", "language", "implicitRules", "resourceType")
			}
		}
	} else if system != "" && value != "" {
		raw, _ := doc.Get("identifier")
		ids, isArray := arrayElements(raw)
		has := false
		for _, x := range ids {
			var id identifierJSON
			if json.Unmarshal(x, &id) == nil && id.System == system && id.Value == value {
				has = true
			}
		}
		add := marshal(identifierJSON{System: system, Value: value})
		switch {
		case has:
		case isArray:
			doc.Set("identifier", appendToArray(raw, [][]byte{add}))
		default: // absent or not an array: replaced, after the DomainResource elements
			doc.SetAfter("identifier", joinArray([][]byte{add}),
				"modifierExtension", "extension", "contained", "text", "language", "implicitRules", "resourceType")
		}
	}
	for _, k := range doc.Keys() {
		if k == "identifier" {
			continue
		}
		v, _ := doc.Get(k)
		if nv, ok := logicalRefs(v, r, 1); ok {
			doc.Set(k, nv)
		}
	}
	return doc.Bytes(), nil
}

// logicalRefs returns v with every Reference object in or below it
// rewritten (see WriteBackBody); changed is false, and v returned, when
// there was none to rewrite.
func logicalRefs(v json.RawMessage, r Resolver, depth int) (out json.RawMessage, changed bool) {
	if depth > 64 || len(v) == 0 {
		return v, false
	}
	switch v[0] {
	case '[':
		return editArray(v, func(e json.RawMessage) (json.RawMessage, bool) { return logicalRefs(e, r, depth+1) })
	case '{':
	default:
		return v, false
	}
	obj, err := fhir.ParseObject(v)
	if err != nil {
		return v, false
	}
	var ref string
	if raw, ok := obj.Get("reference"); ok && json.Unmarshal(raw, &ref) == nil {
		if typ, id, ok := refTypeID(ref); ok && !strings.Contains(ref, "://") {
			if b, ok := r.resolve(ref); ok {
				// The target's own identifier, else socialrx's for it
				// (ResourceIdentifier): "Type/id" names socialrx's copy,
				// which means nothing in the EMR.
				sys, val := ResourceIdentifier(typ, id, b)
				obj.SetAfter("type", marshal(typ), "reference")
				obj.SetAfter("identifier", marshal(identifierJSON{System: sys, Value: val}), "type")
				obj.Del("reference")
				changed = true
			}
		}
	}
	for _, k := range obj.Keys() {
		if k == "identifier" {
			continue
		}
		c, _ := obj.Get(k)
		if nc, ok := logicalRefs(c, r, depth+1); ok {
			obj.Set(k, nc)
			changed = true
		}
	}
	if !changed {
		return v, false
	}
	return obj.Bytes(), true
}

// firstIdentifier returns the first identifier of a resource with both a
// system and a value: of its identifier list, or its one identifier where
// R4 allows one (QuestionnaireResponse, Composition, Bundle: 0..1).
func firstIdentifier(body []byte) (system, value string) {
	var doc struct {
		Identifier json.RawMessage `json:"identifier"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "", ""
	}
	type ident struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	var ids []ident
	if one := (ident{}); len(doc.Identifier) > 0 && doc.Identifier[0] == '{' {
		if json.Unmarshal(doc.Identifier, &one) == nil {
			ids = append(ids, one)
		}
	} else if json.Unmarshal(doc.Identifier, &ids) != nil {
		return "", ""
	}
	for _, id := range ids {
		if id.System != "" && id.Value != "" {
			return id.System, id.Value
		}
	}
	return "", ""
}

// singleIdentifier are the types of socialrx's FHIR surface whose
// identifier is one Identifier (R4 0..1), not a list.
var singleIdentifier = map[string]bool{"QuestionnaireResponse": true, "Composition": true, "Bundle": true}

// ResourceIdentifier returns the identifier a write-back of body is
// recognised by in the EMR: its first identifier with a system and a value,
// else socialrx's own (http://socialrx.dev/fhir/sid/<type>, id).
func ResourceIdentifier(typ, id string, body []byte) (system, value string) {
	if s, v := firstIdentifier(body); s != "" {
		return s, v
	}
	return "http://socialrx.dev/fhir/sid/" + strings.ToLower(typ), id
}
