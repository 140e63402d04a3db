package mapping

import (
	"encoding/json"
	"math"

	"github.com/socialrx/socialrx"
)

// PreferredContact reads the channel a Patient prefers to be followed up
// by: the telecom with the best rank (Patient.telecom.rank 1 first,
// unranked last, then in order; use "old" and empty values skipped),
// email → email, sms → text, phone → phone; with no usable telecom, mail
// when the Patient has an address; else phone, the channel every practice
// can use. A body that cannot be read (not JSON, or a telecom of the wrong
// JSON type) gives phone; the resourceType is not checked: the caller
// reads a Patient.
func PreferredContact(patient []byte) socialrx.ContactChannel {
	var pt struct {
		Telecom []struct {
			System string `json:"system"`
			Value  string `json:"value"`
			Use    string `json:"use"`
			Rank   int    `json:"rank"`
		} `json:"telecom"`
		Address []json.RawMessage `json:"address"`
	}
	if json.Unmarshal(patient, &pt) != nil {
		return socialrx.ContactPhone
	}
	best, bestRank := socialrx.ContactChannel(""), math.MaxInt
	for _, t := range pt.Telecom {
		if t.Value == "" || t.Use == "old" {
			continue
		}
		var c socialrx.ContactChannel
		switch t.System {
		case "email":
			c = socialrx.ContactEmail
		case "sms":
			c = socialrx.ContactText
		case "phone":
			c = socialrx.ContactPhone
		default:
			continue
		}
		rank := t.Rank
		if rank <= 0 {
			rank = math.MaxInt - 1
		}
		if rank < bestRank {
			best, bestRank = c, rank
		}
	}
	switch {
	case best != "":
		return best
	case len(pt.Address) > 0:
		return socialrx.ContactMail
	}
	return socialrx.ContactPhone
}
