package mapping

import (
	"bytes"
	"encoding/json"

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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
