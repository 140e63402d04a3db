package mapping

import (
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

func TestPrescriptionParameters(t *testing.T) {
	p := socialrx.Prescription{ID: "sr1", Form: socialrx.FormWarmHandoff, FormDerived: true, Channel: socialrx.ChannelEFax,
		Needs: []socialrx.NeedDomain{socialrx.DomainFood}, Status: "active", Target: "HealthcareService/fb"}
	fus := []socialrx.FollowUp{{PrescriptionID: "sr1", Due: time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC), Channel: socialrx.ContactText, Status: "requested"}}
	refs := []socialrx.Referral{{ID: "t1", Status: socialrx.ReferralAccepted, DeliveryState: socialrx.DeliveryDelivered},
		{ID: "t2", Status: socialrx.ReferralOnHold, DeliveryState: socialrx.DeliveryHeld, DeliveryError: socialrx.HoldConsentNeeded}}
	results := []socialrx.FollowUpResult{{ResponseID: "qr0", PrescriptionID: "sr1", Pursued: socialrx.PursuedNo, AnsweredAt: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)},
		{ResponseID: "qr1", PrescriptionID: "sr1", Pursued: socialrx.PursuedPartly, Satisfaction: 4, Wellbeing: socialrx.WellbeingBetter,
			NextStep: socialrx.NextKeepGoing, AnsweredAt: time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC)}}
	got := string(PrescriptionParameters(socialrx.PrescriptionRecord{Prescription: p, FollowUps: fus, Referrals: refs, Results: results}))
	want := `{"resourceType":"Parameters","parameter":[` +
		`{"name":"prescription","valueReference":{"reference":"ServiceRequest/sr1"}},` +
		`{"name":"form","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/prescription-form","code":"warm-handoff","display":"Warm hand-off"}},` +
		`{"name":"formDerived","valueBoolean":true},` +
		`{"name":"channel","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/prescription-channel","code":"efax","display":"eFax"}},` +
		`{"name":"needDomain","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food","display":"Food"}},` +
		`{"name":"status","valueCode":"active"},` +
		`{"name":"target","valueReference":{"reference":"HealthcareService/fb"}},` +
		`{"name":"followUp","part":[{"name":"due","valueDateTime":"2026-03-23T15:30:00Z"},{"name":"channel","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/follow-up-channel","code":"text","display":"Text message"}},{"name":"status","valueCode":"requested"}]},` +
		`{"name":"referral","part":[{"name":"task","valueReference":{"reference":"Task/t1"}},{"name":"status","valueCode":"accepted"},{"name":"deliveryState","valueCode":"delivered"}]},` +
		`{"name":"referral","part":[{"name":"task","valueReference":{"reference":"Task/t2"}},{"name":"status","valueCode":"on-hold"},{"name":"deliveryState","valueCode":"held"},` +
		`{"name":"consentHold","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/referral-hold","code":"consent-needed","display":"Consent needed to share the referral"}}]},` +
		`{"name":"outcome","part":[{"name":"response","valueReference":{"reference":"QuestionnaireResponse/qr1"}},{"name":"answered","valueDateTime":"2026-04-20T09:00:00Z"},` +
		`{"name":"pursued","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/follow-up-pursued","code":"partly","display":"Partly"}},` +
		`{"name":"satisfaction","valueInteger":4},` +
		`{"name":"wellbeing","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/follow-up-wellbeing","code":"better","display":"Better"}},` +
		`{"name":"nextStep","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/follow-up-next-step","code":"keep-going","display":"Keep going"}},` +
		`{"name":"followUpsAnswered","valueInteger":2}]}]}`
	if got != want {
		t.Errorf("PrescriptionParameters:\n got %s\nwant %s", got, want)
	}
}
