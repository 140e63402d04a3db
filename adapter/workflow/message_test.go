package workflow

import (
	"testing"
)

// The edits the workflow makes to what platforms send keep every other
// member's bytes and order (fhir.Object).
func TestMessageEdits(t *testing.T) {
	appt := `{"resourceType":"Appointment","id":"A-9","meta":{"versionId":"7"},"status":"booked","basedOn":[{"reference":"ServiceRequest/theirs"}],"start":"2026-03-10T15:00:00Z","_start":{"extension":[{"url":"u"}]}}`
	got, err := linkTo([]byte(appt), "Appointment", "sr-1", "t-1")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Appointment","status":"booked","basedOn":[{"reference":"ServiceRequest/sr-1"}],"start":"2026-03-10T15:00:00Z","_start":{"extension":[{"url":"u"}]}}`
	if string(got) != want {
		t.Errorf("linkTo Appointment:\n got %s\nwant %s", got, want)
	}
	comm := `{"resourceType":"Communication","status":"completed","payload":[{"contentString":"hi"}]}`
	got, err = linkTo([]byte(comm), "Communication", "sr-1", "t-1")
	if err != nil {
		t.Fatal(err)
	}
	want = `{"resourceType":"Communication","status":"completed","payload":[{"contentString":"hi"}],"basedOn":[{"reference":"ServiceRequest/sr-1"}],"partOf":[{"reference":"Task/t-1"}]}`
	if string(got) != want {
		t.Errorf("linkTo Communication:\n got %s\nwant %s", got, want)
	}
	if _, err := linkTo([]byte(`[1]`), "Communication", "sr-1", "t-1"); err == nil {
		t.Error("linkTo of a JSON array: want an error")
	}

	if got := withoutID([]byte(`{"resourceType":"Patient","id":"p","meta":{},"name":[{"family":"X"}]}`)); string(got) != `{"resourceType":"Patient","name":[{"family":"X"}]}` {
		t.Errorf("withoutID = %s", got)
	}
	same := `{"resourceType":"Patient", "name":[]}`
	if got := withoutID([]byte(same)); string(got) != same {
		t.Errorf("withoutID without id or meta changed the bytes: %s", got)
	}

	sr := `{"resourceType":"ServiceRequest","status":"active","intent":"order","quantityQuantity":{"value":1.50}}`
	got, ok := withStatus([]byte(sr), "revoked")
	if !ok || string(got) != `{"resourceType":"ServiceRequest","status":"revoked","intent":"order","quantityQuantity":{"value":1.50}}` {
		t.Errorf("withStatus = %s, %v", got, ok)
	}
	if _, ok := withStatus([]byte(sr), "active"); ok {
		t.Error("withStatus to the status it has: want no change")
	}
}
