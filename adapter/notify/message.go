package notify

import (
	"fmt"
	"strings"

	"github.com/socialrx/socialrx"
)

// The texts of a reminder. They name the clinic (Reminder.Clinic) and carry
// the link and its expiry date; nothing about the patient, the program or
// the need.

// subject is the email subject.
func subject(r socialrx.Reminder) string {
	if r.Clinic == "" {
		return "A quick question about your care"
	}
	return "A quick question from " + oneLine(r.Clinic)
}

// expiryDay is the link's last day, in words a person reads (UTC).
func expiryDay(r socialrx.Reminder) string {
	return r.Expires.UTC().AddDate(0, 0, -1).Format("Monday 2 January 2006")
}

// emailText is the plain-text body of the email.
func emailText(r socialrx.Reminder) string {
	who := "Your clinic"
	if r.Clinic != "" {
		who = oneLine(r.Clinic)
	}
	return fmt.Sprintf(`Hello,

%s would like to know how things went with the support suggested at your last visit. It takes about two minutes:

%s

The link works until %s and can be used once. If you would rather talk to someone, call the clinic.

Please do not reply to this email.
`, who, r.Link, expiryDay(r))
}

// smsText is the text message: short, with the link.
func smsText(r socialrx.Reminder) string {
	who := "Your clinic"
	if r.Clinic != "" {
		who = oneLine(r.Clinic)
	}
	return fmt.Sprintf("%s: how did it go with the support suggested at your visit? Tell us in 2 minutes: %s (until %s)",
		who, r.Link, r.Expires.UTC().AddDate(0, 0, -1).Format("2 Jan"))
}

// oneLine keeps a configured name on one line (a header cannot be split).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
