package socialrx

// OHIP billing: the Ontario guide for health professionals on social
// prescribing bills the visit in which a clinician prescribes (or follows
// up) a social prescription under general OHIP fee codes; socialrx records
// the code billed on the encounter (a ChargeItem, mapping/billing_in.go),
// checks it against this table and counts visits by code in the program
// report. It submits no claims.

// OHIPFeeCodeSystem is the canonical of socialrx's OHIP fee-code
// CodeSystem (served at /fhir/CodeSystem/ohip-fee-code). socialrx knows
// of no published FHIR canonical for the Ontario Schedule of Benefits, so
// the system is socialrx's own; its codes are the Schedule's.
const OHIPFeeCodeSystem = CodeSystemBase + "ohip-fee-code"

// OHIPFeeCode is one fee code of the Schedule of Benefits that social
// prescribing visits are billed under.
type OHIPFeeCode struct {
	Code    string
	Display string
	// Source says where the code and its description come from.
	Source string
}

// ohipSchedule is the source of the codes: the Ontario Ministry of
// Health's Schedule of Benefits: Physician Services under the Health
// Insurance Act, where the descriptions are abridged from; the five codes
// are those the Ontario guide on social prescribing names.
const ohipSchedule = "Ontario Schedule of Benefits, Physician Services (Ministry of Health); named by the Ontario guide for health professionals on social prescribing"

// OHIPFeeCodes returns the OHIP fee codes socialrx accepts, in code order;
// the slice is new on every call.
func OHIPFeeCodes() []OHIPFeeCode {
	return []OHIPFeeCode{
		{"K005", "Primary mental health care, individual care (per unit)", ohipSchedule},
		{"K013", "Counselling, individual care: first three units per patient per 12 months", ohipSchedule},
		{"K030", "Diabetic management assessment", ohipSchedule},
		{"K033", "Counselling, individual care: additional units", ohipSchedule},
		{"K037", "Fibromyalgia / myalgic encephalomyelitis care (per unit)", ohipSchedule},
	}
}

// IsOHIPFeeCode reports whether code is one of OHIPFeeCodes.
func IsOHIPFeeCode(code string) bool {
	for _, c := range OHIPFeeCodes() {
		if c.Code == code {
			return true
		}
	}
	return false
}
