package mapping

import (
	"encoding/json"

	"github.com/socialrx/socialrx"
)

// TaskStatusUpdate returns the partial Task that ApplyTaskUpdate applies to
// move a Task to status, with reason as Task.statusReason.text when not
// empty: how socialrx itself changes a referral's status (a revoked
// prescription cancels it; a program answers "received").
func TaskStatusUpdate(status socialrx.ReferralStatus, reason string) []byte {
	type text struct {
		Text string `json:"text"`
	}
	u := struct {
		ResourceType string `json:"resourceType"`
		Status       string `json:"status"`
		StatusReason *text  `json:"statusReason,omitempty"`
	}{ResourceType: "Task", Status: string(status)}
	if reason != "" {
		u.StatusReason = &text{reason}
	}
	b, _ := json.Marshal(u) // strings always marshal
	return b
}
