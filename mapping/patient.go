package mapping

import (
	"github.com/socialrx/socialrx"
)

// PreferredContact reads the channel a Patient prefers to be followed up
// by, as socialrx.ReminderChannel decides it with no recorded preference
// and every channel possible: the telecom with the best rank
// (Patient.telecom.rank 1 first, unranked last, then in order; use "old"
// and empty values skipped), email → email, sms or a phone with use mobile
// → text, other phone → phone; with no usable telecom, mail when the
// Patient has an address; else phone, the channel every practice can use.
// A body that cannot be read gives phone. It is what the follow-up Task
// records as its contact channel, which staff may change.
func PreferredContact(patient []byte) socialrx.ContactChannel {
	ch, _ := socialrx.ReminderChannel(PatientContactOf(patient), "",
		map[socialrx.ContactChannel]bool{socialrx.ContactEmail: true, socialrx.ContactText: true})
	return ch
}
