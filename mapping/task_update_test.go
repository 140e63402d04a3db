package mapping

import (
	"testing"

	"github.com/socialrx/socialrx"
)

func TestTaskStatusUpdate(t *testing.T) {
	for _, c := range []struct {
		status socialrx.ReferralStatus
		reason string
		want   string
	}{
		{socialrx.ReferralReceived, "", `{"resourceType":"Task","status":"received"}`},
		{socialrx.ReferralCancelled, `revoked by "the requester"`, `{"resourceType":"Task","status":"cancelled","statusReason":{"text":"revoked by \"the requester\""}}`},
	} {
		if got := string(TaskStatusUpdate(c.status, c.reason)); got != c.want {
			t.Errorf("TaskStatusUpdate(%s, %q) = %s, want %s", c.status, c.reason, got, c.want)
		}
	}
}
