package mapping

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

func TestResponseMessage(t *testing.T) {
	oo := fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "not-found", Path: "Bundle.entry[1].resource.focus", Message: "the focus ServiceRequest was not found"}})
	// A hand-laid-out OperationOutcome, to see it embedded byte for byte.
	ooSpaced := []byte("{\n  \"resourceType\": \"OperationOutcome\",\n  \"issue\": [ { \"severity\": \"information\", \"code\": \"informational\", \"diagnostics\": \"1.50 <ok>\" } ]\n}")
	tests := []struct {
		name        string
		r           Response
		wantCode    string
		wantOutcome []byte // nil: no OperationOutcome entry
	}{
		{"ok without outcome", Response{Code: ResponseOK}, "ok", nil},
		{"fatal error with outcome", Response{Code: ResponseFatalError, Outcome: oo}, "fatal-error", oo},
		{"transient error", Response{Code: ResponseTransientError, Outcome: oo}, "transient-error", oo},
		{"outcome kept byte for byte", Response{Code: ResponseOK, Outcome: ooSpaced}, "ok", ooSpaced},
		{"empty code with an error outcome", Response{Outcome: oo}, "fatal-error", oo},
		{"empty code without outcome", Response{}, "ok", nil},
		{"not an OperationOutcome is replaced", Response{Code: ResponseFatalError, Outcome: []byte(`{"resourceType":"Patient"}`)}, "fatal-error",
			fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "exception", Message: "the outcome of processing could not be written"}})},
		{"not JSON is replaced", Response{Code: ResponseFatalError, Outcome: []byte(`{"resourceType":"OperationOutcome"`)}, "fatal-error",
			fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "exception", Message: "the outcome of processing could not be written"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.ID, r.RequestID, r.Event = "resp-1", "req-1", socialrx.EventAddServiceRequest
			r.Source, r.Destination, r.Timestamp = testSource, testDestination, testTime
			out := ResponseMessage(r)
			checkFHIR(t, out)
			if again := ResponseMessage(r); !bytes.Equal(out, again) {
				t.Error("ResponseMessage is not deterministic")
			}
			m, err := ParseMessage(out)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{m.ID, string(m.Event), m.ResponseTo, m.ResponseCode, m.SourceEndpoint}
			want := []string{"resp-1", string(socialrx.EventAddServiceRequest), "req-1", tt.wantCode, testSource}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("id, event, response identifier and code, source (-want +got):\n%s", diff)
			}
			var mh headerView
			if err := json.Unmarshal(m.Entries[0].Resource, &mh); err != nil {
				t.Fatal(err)
			}
			if len(mh.Destination) != 1 || mh.Destination[0].Endpoint != testDestination || len(mh.Focus) != 0 {
				t.Errorf("destination %v, focus %v", mh.Destination, mh.Focus)
			}
			if tt.wantOutcome == nil {
				if len(m.Entries) != 1 || mh.Response.Details != nil {
					t.Errorf("entries = %d, details %v; want the MessageHeader alone", len(m.Entries), mh.Response.Details)
				}
				return
			}
			if len(m.Entries) != 2 {
				t.Fatalf("entries = %d, want 2", len(m.Entries))
			}
			e := m.Entries[1]
			if e.Type != "OperationOutcome" || mh.Response.Details == nil || mh.Response.Details.Reference != e.FullURL {
				t.Errorf("entry[1] %s %s, details %v", e.Type, e.FullURL, mh.Response.Details)
			}
			if got, ok := m.Find(mh.Response.Details.Reference); !ok || got.Path != "Bundle.entry[1]" {
				t.Errorf("details does not resolve in the message")
			}
			if !bytes.Equal(e.Resource, tt.wantOutcome) {
				t.Errorf("outcome = %s, want %s", e.Resource, tt.wantOutcome)
			}
		})
	}
}

func TestResponseMessageIDs(t *testing.T) {
	a := ResponseMessage(Response{ID: "resp-1", RequestID: "req-1", Code: "ok", Event: socialrx.EventAddServiceRequest, Source: testSource, Timestamp: testTime, Outcome: fhir.OperationOutcome(nil)})
	b := ResponseMessage(Response{ID: "resp-2", RequestID: "req-1", Code: "ok", Event: socialrx.EventAddServiceRequest, Source: testSource, Timestamp: testTime, Outcome: fhir.OperationOutcome(nil)})
	ma, _ := ParseMessage(a)
	mb, _ := ParseMessage(b)
	var ba, bb struct{ ID string }
	_ = json.Unmarshal(a, &ba)
	_ = json.Unmarshal(b, &bb)
	if ba.ID == bb.ID || ma.Entries[1].FullURL == mb.Entries[1].FullURL {
		t.Errorf("two responses share Bundle.id %s or outcome fullUrl %s", ba.ID, ma.Entries[1].FullURL)
	}
}
