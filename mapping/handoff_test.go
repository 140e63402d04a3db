package mapping

import (
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

func TestHandoffCode(t *testing.T) {
	for c, want := range map[socialrx.Channel]string{socialrx.ChannelEFax: TaskSendFax, socialrx.ChannelPhone: TaskCallToConfirm, socialrx.ChannelOceanEReferral: "", socialrx.ChannelSelf: ""} {
		got, ok := HandoffCode(c)
		if got != want || ok != (want != "") {
			t.Errorf("HandoffCode(%s) = %q, %v; want %q", c, got, ok, want)
		}
	}
}

func TestHandoffTask(t *testing.T) {
	p := socialrx.Prescription{ID: "sr1", PatientID: "p1", Form: socialrx.FormWarmHandoff, Channel: socialrx.ChannelEFax,
		Target: "HealthcareService/legal", RequesterID: "PractitionerRole/gp"}
	body := HandoffTask(p, "hf-1", time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	if is := fhir.ValidateSchema(body); fhir.HasErrors(is) {
		t.Errorf("HandoffTask is not valid R4: %+v", is)
	}
	r, isReferral, err := ReferralFromTask(body)
	if err != nil || !isReferral || r.Status != socialrx.ReferralRequested || r.Performer != "HealthcareService/legal" || r.PrescriptionID != "sr1" {
		t.Errorf("HandoffTask read back: %+v, %v, %v", r, isReferral, err)
	}
	if !strings.Contains(string(body), `"code":"send-fax"`) || !strings.Contains(string(body), HandoffTaskIdentifierSystem) {
		t.Errorf("HandoffTask lacks the work-list code or identifier: %s", body)
	}
	rt := ReferralTask(p, "in-1", "requested", time.Now())
	if _, ok, err := ReferralFromTask(rt); !ok || err != nil || strings.Contains(string(rt), "send-fax") {
		t.Errorf("ReferralTask: ok %v err %v body %s", ok, err, rt)
	}
}
