package workflow

import (
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

func TestDerivedIDs(t *testing.T) {
	long := strings.Repeat("x", 200) + "/with a slash|and bars"
	ids := map[string]string{
		"follow-up": FollowUpTaskID("sr-1"),
		"patient":   PatientTaskID("sr-1"),
		"hand-off":  HandoffTaskID("sr-1"),
		"inbound":   InboundID("ocean", "Task", "sr-1"),
		"long key":  DerivedID("in-", long),
	}
	seen := map[string]string{}
	for name, id := range ids {
		if !fhir.ValidID(id) {
			t.Errorf("%s: %q is not a valid FHIR id", name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share id %q", name, other, id)
		}
		seen[id] = name
	}
	if FollowUpTaskID("sr-1") != FollowUpTaskID("sr-1") || FollowUpTaskID("sr-1") == FollowUpTaskID("sr-2") {
		t.Error("FollowUpTaskID must be the same for the same prescription and differ for another")
	}
	if InboundID("ocean", "Task", "1") == InboundID("other", "Task", "1") {
		t.Error("InboundID must differ between platforms: two platforms' Task/1 would collide")
	}
	if got := FollowUpTaskID("sr-1"); !strings.HasPrefix(got, "fu-") || len(got) != 43 {
		t.Errorf("FollowUpTaskID = %q, want fu- and 40 hex digits (ids already stored depend on it)", got)
	}
}

func TestMessageID(t *testing.T) {
	a := MessageID(socialrx.DestinationPlatform, "Task", "t1", 2, socialrx.EventNotifyUpdateServiceRequest)
	if a != MessageID(socialrx.DestinationPlatform, "Task", "t1", 2, socialrx.EventNotifyUpdateServiceRequest) {
		t.Error("MessageID must be stable: a retry resends the same MessageHeader.id")
	}
	for name, b := range map[string]string{
		"other version":     MessageID(socialrx.DestinationPlatform, "Task", "t1", 3, socialrx.EventNotifyUpdateServiceRequest),
		"other event":       MessageID(socialrx.DestinationPlatform, "Task", "t1", 2, socialrx.EventRevokeServiceRequest),
		"other destination": MessageID(socialrx.DestinationEMR, "Task", "t1", 2, socialrx.EventNotifyUpdateServiceRequest),
		"other resource":    MessageID(socialrx.DestinationPlatform, "Task", "t2", 2, socialrx.EventNotifyUpdateServiceRequest),
	} {
		if a == b {
			t.Errorf("%s: same id %s", name, a)
		}
	}
	// A UUID (version 5): MessageHeader.id and the outbox key.
	if len(a) != 36 || a[14] != '5' {
		t.Errorf("MessageID = %q, want a version 5 UUID", a)
	}
}
