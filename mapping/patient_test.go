package mapping

import (
	"testing"

	"github.com/socialrx/socialrx"
)

func TestPreferredContact(t *testing.T) {
	tests := []struct {
		name, patient string
		want          socialrx.ContactChannel
	}{
		{"rank 1 wins over order", `{"resourceType":"Patient","telecom":[{"system":"phone","value":"555"},{"system":"email","value":"a@b","rank":1}]}`, socialrx.ContactEmail},
		{"ranked before unranked", `{"resourceType":"Patient","telecom":[{"system":"email","value":"a@b"},{"system":"sms","value":"555","rank":2}]}`, socialrx.ContactText},
		{"first of the unranked", `{"resourceType":"Patient","telecom":[{"system":"sms","value":"555"},{"system":"email","value":"a@b"}]}`, socialrx.ContactText},
		{"old and empty skipped", `{"resourceType":"Patient","telecom":[{"system":"email","value":"a@b","use":"old","rank":1},{"system":"sms","value":""},{"system":"phone","value":"555","rank":3}]}`, socialrx.ContactPhone},
		{"fax and url are not channels", `{"resourceType":"Patient","telecom":[{"system":"fax","value":"555","rank":1}],"address":[{"city":"Toronto"}]}`, socialrx.ContactMail},
		{"address only", `{"resourceType":"Patient","address":[{"city":"Toronto"}]}`, socialrx.ContactMail},
		{"a mobile phone is texted", `{"resourceType":"Patient","telecom":[{"system":"phone","value":"555","use":"mobile","rank":1},{"system":"email","value":"a@b","rank":2}]}`, socialrx.ContactText},
		{"a home phone is called", `{"resourceType":"Patient","telecom":[{"system":"phone","value":"555","use":"home","rank":1},{"system":"email","value":"a@b","rank":2}]}`, socialrx.ContactPhone},
		{"nothing", `{"resourceType":"Patient"}`, socialrx.ContactPhone},
		{"not JSON", `{`, socialrx.ContactPhone},
	}
	for _, tt := range tests {
		if got := PreferredContact([]byte(tt.patient)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
