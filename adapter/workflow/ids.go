package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/google/uuid"

	"github.com/socialrx/socialrx"
)

// The ids socialrx gives what it creates or receives are derived from what
// they stand for, so that a resend, a retry or a second process finds the
// same resource instead of making another, and any input gives a valid
// FHIR id: a prefix and the first 40 hex digits of a SHA-256 (DerivedID).
const (
	followUpTaskPrefix = "fu-" // the follow-up Task of a prescription
	patientTaskPrefix  = "pt-" // the patient Task of a self-directed prescription
	handoffTaskPrefix  = "hf-" // the work-list Task of a fax or phone hand-off
	inboundPrefix      = "in-" // what a platform sent, and a received referral's Task
)

// DerivedID is prefix + 40 hex digits of SHA-256(key): a valid FHIR id.
func DerivedID(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:])[:40]
}

// FollowUpTaskID returns the id of the follow-up Task socialrx creates for
// the prescription held by ServiceRequest/srID.
func FollowUpTaskID(srID string) string { return DerivedID(followUpTaskPrefix, srID) }

// PatientTaskID returns the id of the patient Task socialrx creates for a
// self-directed prescription held by ServiceRequest/srID.
func PatientTaskID(srID string) string { return DerivedID(patientTaskPrefix, srID) }

// HandoffTaskID returns the id of the referral Task socialrx creates for
// the fax or phone hand-off of ServiceRequest/srID.
func HandoffTaskID(srID string) string { return DerivedID(handoffTaskPrefix, srID) }

// InboundID is the local id of resource typ/id received from platform
// endpointID (socialrx stores what platforms send under ids of its own, so
// that two platforms never collide and a resend lands on the same
// resource).
func InboundID(endpointID, typ, id string) string {
	return DerivedID(inboundPrefix, endpointID+"|"+typ+"|"+id)
}

// deliveryNamespace is the UUID namespace of outbox message ids.
var deliveryNamespace = uuid.MustParse("5b0c8f53-7f0e-4a55-9d77-3a1f1f6f1c02")

// MessageID returns the id of the message that carries version of typ/id
// to destination for event: a UUIDv5, the same for the same change, so a
// retry or a resend after a crash carries the same MessageHeader.id.
func MessageID(destination, typ, id string, version int64, event socialrx.MessageEvent) string {
	key := destination + "|" + typ + "/" + id + "/_history/" + strconv.FormatInt(version, 10) + "|" + string(event)
	return uuid.NewSHA1(deliveryNamespace, []byte(key)).String()
}
