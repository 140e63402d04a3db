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
	got := string(PrescriptionParameters(p, fus, refs))
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
		`{"name":"consentHold","valueCoding":{"system":"http://socialrx.dev/fhir/CodeSystem/referral-hold","code":"consent-needed","display":"Consent needed to share the referral"}}]}]}`
	if got != want {
		t.Errorf("PrescriptionParameters:\n got %s\nwant %s", got, want)
	}
}
