package mapping

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMarkDelivery(t *testing.T) {
	const task = `{"resourceType":"Task","id":"t1","status":"requested","_status":{"extension":[{"url":"http://x/e","valueString":"kept"}]},
"extension":[{"url":"http://other/ext","valueDecimal":1.50},{"url":"` + ExtensionDeliveryState + `","valueCode":"pending"}]}`
	cases := []struct {
		name, state, reason string
		want                []string // substrings
		not                 []string
	}{
		{"failed with reason", "failed", "http 400: unknown program", []string{`"valueCode":"failed"`, `"valueString":"http 400: unknown program"`, `"valueDecimal":1.50`, `"_status"`}, []string{`"valueCode":"pending"`}},
		{"cleared", "", "", []string{`"valueDecimal":1.50`}, []string{ExtensionDeliveryState, ExtensionDeliveryError}},
		{"no reason", "failed", "", []string{`"valueCode":"failed"`}, []string{ExtensionDeliveryError}},
		{"html kept as written", "failed", "<b>&</b>", []string{`"valueString":"<b>&</b>"`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := MarkDelivery([]byte(task), c.state, c.reason)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(string(out), n) {
					t.Errorf("output has %s:\n%s", n, out)
				}
			}
		})
	}
	if _, err := MarkDelivery([]byte(`{"resourceType":"Patient"}`), "failed", ""); err == nil {
		t.Error("MarkDelivery(Patient): no error")
	}
}

// TestMarkDeliveryKeepsBytes: only Task.extension changes; the other
// members keep their bytes, order and layout.
func TestMarkDeliveryKeepsBytes(t *testing.T) {
	const state = `{"url":"` + ExtensionDeliveryState + `","valueCode":"failed"}`
	for _, c := range []struct{ name, in, state, want string }{
		{"replaced in place",
			"{\n  \"resourceType\": \"Task\",\n  \"extension\": [ {\"url\":\"http://other\", \"valueDecimal\": 1.50}, {\"url\":\"" + ExtensionDeliveryState + "\",\"valueCode\":\"pending\"} ],\n  \"status\": \"requested\"\n}",
			"failed",
			"{\n  \"resourceType\": \"Task\",\n  \"extension\": [{\"url\":\"http://other\", \"valueDecimal\": 1.50}," + state + "],\n  \"status\": \"requested\"\n}"},
		{"added at its place", `{"resourceType":"Task","id":"t1","meta":{},"status":"requested","intent":"order"}`, "failed",
			`{"resourceType":"Task","id":"t1","meta":{},"extension":[` + state + `],"status":"requested","intent":"order"}`},
		{"removed", `{"resourceType":"Task", "extension":[` + state + `], "status":"failed"}`, "",
			`{"resourceType":"Task", "status":"failed"}`},
		{"nothing to remove", `{"status":"failed" , "resourceType":"Task"}`, "", `{"status":"failed" , "resourceType":"Task"}`},
	} {
		got, err := MarkDelivery([]byte(c.in), c.state, "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if diff := cmp.Diff(c.want, string(got)); diff != "" {
			t.Errorf("%s: MarkDelivery (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestWriteBackBody(t *testing.T) {
	store := map[string]string{
		"Patient/p1":            `{"resourceType":"Patient","id":"p1","identifier":[{"value":"no-system"},{"system":"https://health.gov.on.ca/ohip","value":"9876543210"}]}`,
		"ServiceRequest/sr1":    `{"resourceType":"ServiceRequest","id":"sr1","identifier":[{"system":"https://emr/sr","value":"SR-1"}]}`,
		"PractitionerRole/noid": `{"resourceType":"PractitionerRole","id":"noid"}`,
	}
	r := Resolver(func(ref string) ([]byte, bool) { b, ok := store[ref]; return []byte(b), ok })
	body := `{"resourceType":"Task","id":"t1","meta":{"versionId":"3"},"status":"accepted","for":{"reference":"Patient/p1","display":"x"},
"focus":{"reference":"ServiceRequest/sr1"},"requester":{"reference":"PractitionerRole/noid"},"owner":{"reference":"https://elsewhere/Organization/o"},
"input":[{"type":{"text":"n"},"valueDecimal":2.50}]}`
	out, err := WriteBackBody([]byte(body), r, "https://emr/task", "T-1")
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	want := decode(t, []byte(`{"resourceType":"Task","status":"accepted",
"identifier":[{"system":"https://emr/task","value":"T-1"}],
"for":{"type":"Patient","identifier":{"system":"https://health.gov.on.ca/ohip","value":"9876543210"},"display":"x"},
"focus":{"type":"ServiceRequest","identifier":{"system":"https://emr/sr","value":"SR-1"}},
"requester":{"type":"PractitionerRole","identifier":{"system":"http://socialrx.dev/fhir/sid/practitionerrole","value":"noid"}},"owner":{"reference":"https://elsewhere/Organization/o"},
"input":[{"type":{"text":"n"},"valueDecimal":2.50}]}`))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("write-back body (-want +got):\n%s", diff)
	}
	// Order and layout are kept; type and identifier take the place of
	// reference.
	out, err = WriteBackBody([]byte(body), r, "https://emr/task", "T-1")
	if err != nil {
		t.Fatal(err)
	}
	wantBytes := `{"resourceType":"Task","identifier":[{"system":"https://emr/task","value":"T-1"}],"status":"accepted","for":{"type":"Patient","identifier":{"system":"https://health.gov.on.ca/ohip","value":"9876543210"},"display":"x"},
"focus":{"type":"ServiceRequest","identifier":{"system":"https://emr/sr","value":"SR-1"}},"requester":{"type":"PractitionerRole","identifier":{"system":"http://socialrx.dev/fhir/sid/practitionerrole","value":"noid"}},"owner":{"reference":"https://elsewhere/Organization/o"},
"input":[{"type":{"text":"n"},"valueDecimal":2.50}]}`
	if diff := cmp.Diff(wantBytes, string(out)); diff != "" {
		t.Errorf("write-back bytes (-want +got):\n%s", diff)
	}
	nested, _ := WriteBackBody([]byte(`{"resourceType":"Bundle","entry":[ {"resource":{"subject":{"reference":"Patient/p1"}}} ]}`), r, "", "")
	if want := `{"resourceType":"Bundle","entry":[ {"resource":{"subject":{"type":"Patient","identifier":{"system":"https://health.gov.on.ca/ohip","value":"9876543210"}}}} ]}`; string(nested) != want {
		t.Errorf("nested reference:\n got %s\nwant %s", nested, want)
	}
	// A reference to a resource socialrx does not hold is kept.
	kept, _ := WriteBackBody([]byte(`{"resourceType":"Task","owner":{"reference":"Organization/not-held"}}`), r, "", "")
	if want := `{"resourceType":"Task","owner":{"reference":"Organization/not-held"}}`; string(kept) != want {
		t.Errorf("reference to a resource not held:\n got %s\nwant %s", kept, want)
	}
	// An identifier it already has is not added twice.
	out2, _ := WriteBackBody([]byte(`{"resourceType":"Task","identifier":[{"system":"s","value":"v"}]}`), r, "s", "v")
	if strings.Count(string(out2), `"value":"v"`) != 1 {
		t.Errorf("identifier duplicated: %s", out2)
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func TestResourceIdentifier(t *testing.T) {
	for _, c := range []struct{ body, sys, val string }{
		{`{"identifier":[{"system":"s","value":"v"}]}`, "s", "v"},
		{`{"identifier":[{"value":"v"}]}`, "http://socialrx.dev/fhir/sid/appointment", "a1"},
		{`{}`, "http://socialrx.dev/fhir/sid/appointment", "a1"},
	} {
		s, v := ResourceIdentifier("Appointment", "a1", []byte(c.body))
		if s != c.sys || v != c.val {
			t.Errorf("ResourceIdentifier(%s) = %s|%s, want %s|%s", c.body, s, v, c.sys, c.val)
		}
	}
}

// TestWriteBackSingleIdentifier: a QuestionnaireResponse has one
// Identifier (R4 0..1), not a list: its own is its key and is kept; one
// without gets socialrx's as an object; one without a system gets the key
// in its place, so the EMR finds the copy next time.
func TestWriteBackSingleIdentifier(t *testing.T) {
	r := Resolver(func(string) ([]byte, bool) { return nil, false })
	for _, c := range []struct {
		name, body, wantSys, wantVal, wantIdent string
	}{
		{"own", `{"resourceType":"QuestionnaireResponse","id":"q1","identifier":{"system":"https://emr/qr","value":"QR-1"},"status":"completed"}`,
			"https://emr/qr", "QR-1", `{"system":"https://emr/qr","value":"QR-1"}`},
		{"none", `{"resourceType":"QuestionnaireResponse","id":"q1","status":"completed"}`,
			"http://socialrx.dev/fhir/sid/questionnaireresponse", "q1", `{"system":"http://socialrx.dev/fhir/sid/questionnaireresponse","value":"q1"}`},
		{"no system", `{"resourceType":"QuestionnaireResponse","id":"q1","identifier":{"value":"x"},"status":"completed"}`,
			"http://socialrx.dev/fhir/sid/questionnaireresponse", "q1", `{"system":"http://socialrx.dev/fhir/sid/questionnaireresponse","value":"q1"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			sys, val := ResourceIdentifier("QuestionnaireResponse", "q1", []byte(c.body))
			if sys != c.wantSys || val != c.wantVal {
				t.Fatalf("ResourceIdentifier = %s|%s, want %s|%s", sys, val, c.wantSys, c.wantVal)
			}
			out, err := WriteBackBody([]byte(c.body), r, sys, val)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Identifier json.RawMessage `json:"identifier"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Identifier) != c.wantIdent {
				t.Errorf("identifier %s, want %s (body %s)", got.Identifier, c.wantIdent, out)
			}
			// Its key reads back from the copy: the EMR's next conditional
			// write finds it.
			if s, v := ResourceIdentifier("QuestionnaireResponse", "other", out); s != sys || v != val {
				t.Errorf("the copy's key %s|%s, want %s|%s", s, v, sys, val)
			}
		})
	}
}
