package mapping

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

// goldAuditEvents are events of every shape, for TestAuditEventBodyGolden.
func goldAuditEvents(at time.Time) []socialrx.AuditEvent {
	return []socialrx.AuditEvent{
		{ID: "g1", Recorded: at, Kind: socialrx.AuditREST, Subtype: "read", Action: "R", Outcome: "0", ClientID: "https://emr.example.org/app", Address: "10.0.0.7", Entity: "Observation/o1", Patient: "Patient/p1", RequestID: "r1"},
		{ID: "g2", Recorded: at, Kind: socialrx.AuditREST, Subtype: "search-type", Action: "R", Outcome: "4", OutcomeDesc: "unknown parameter", QueryType: "Observation", Query: "patient=p1&code=x"},
		{ID: "g3", Recorded: at, Kind: socialrx.AuditREST, Subtype: "update", Action: "U", Outcome: "0", ClientID: "emr", Entity: "Patient/p1", Version: 3, Patient: "Patient/p1"},
		{ID: "g4", Recorded: at, Kind: socialrx.AuditTransmit, Action: "R", Outcome: "8", OutcomeDesc: "platform down", Entity: "Task/t1", Patient: "Patient/p1", Destination: "platform", EndpointID: "ep1"},
		{ID: "g5", Recorded: at, Kind: socialrx.AuditREST, Subtype: "operation", Operation: "$export", Action: "E", Outcome: "0", ClientID: "analyst", QueryType: "Patient", Query: "_type=Patient"},
		{ID: "g6", Recorded: at, Kind: socialrx.AuditREST, Subtype: "operation", Operation: "$export-file abc/Patient.ndjson", Action: "E", Outcome: "0", ClientID: "analyst"},
		{ID: "g7", Recorded: at, Kind: socialrx.AuditREST, Subtype: "operation", Operation: "$prescription", Action: "E", Outcome: "0", Entity: "ServiceRequest/sr1", Version: 2},
		{ID: "g8", Recorded: at, Kind: socialrx.AuditREST, Subtype: "read", Action: "R", Outcome: "4", Entity: "Patient/a\x00b", Patient: "p1"},
		{ID: "g9", Recorded: at, Kind: socialrx.AuditREST, Action: "E", Outcome: "0", ClientID: "x y"},
	}
}

// TestAuditEventBodyGolden: the AuditEvent built from a stored record is,
// byte for byte, what the first version of the audit trail stored whole
// (testdata/audit_event_golden.tsv: the bodies AuditRecordOf returned
// then, for goldAuditEvents), and such a whole body is returned as stored.
// The record's body is a few bytes.
func TestAuditEventBodyGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "audit_event_golden.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		id, body, _ := strings.Cut(line, "\t")
		want[id] = body
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)
	events := goldAuditEvents(at)
	if len(want) != len(events) {
		t.Fatalf("%d golden bodies for %d events", len(want), len(events))
	}
	for _, ev := range events {
		rec, err := AuditRecordOf(ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Body) > 100 || bytes.Contains(rec.Body, []byte("resourceType")) {
			t.Errorf("%s: stored body %s; want only the details", ev.ID, rec.Body)
		}
		// As read back from a store: recorded to the microsecond.
		rec.Recorded = rec.Recorded.Truncate(time.Microsecond)
		got, err := AuditEventBody(rec)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want[ev.ID] {
			t.Errorf("%s:\n got %s\nwant %s", ev.ID, got, want[ev.ID])
		}
		// A record holding the whole AuditEvent (the first version's).
		old := rec
		old.Body = []byte(want[ev.ID])
		if got, err := AuditEventBody(old); err != nil || string(got) != want[ev.ID] {
			t.Errorf("%s: whole body read back as %s, %v", ev.ID, got, err)
		}
	}
	if _, err := AuditEventBody(socialrx.AuditRecord{ID: "x", Body: []byte("not json")}); socialrx.ErrorCode(err) != socialrx.EINTERNAL {
		t.Errorf("unreadable record: %v, want EINTERNAL", err)
	}
}
