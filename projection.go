package socialrx

// PatientProjection is what the store derived from a patient's FHIR
// resources (see Store.Projection): the domain rows written, in the same
// transaction as the resources, by the ingest hook of the store's write
// path. Each list is sorted deterministically by its source: Findings by
// Source (then question code), Needs by Source, Prescriptions by ID,
// Referrals by ID, FollowUps by PrescriptionID. Prescriptions carry no
// FollowUp: follow-ups are listed in FollowUps.
type PatientProjection struct {
	Findings      []Finding
	Needs         []Need
	Prescriptions []Prescription
	Referrals     []Referral
	FollowUps     []FollowUp
}
