package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAuditEndToEnd: on each store, serve with the default audit trail:
// a warm hand-off's encounter Bundle (one AuditEvent per entry, at once),
// its delivery to the platform (a transmit AuditEvent written with the
// delivery's outcome), a read (buffered), an export kick-off and file
// download; all found through the API by agent, entity, patient, date and
// subtype; and what is buffered when serve stops is written before the
// database closes.
func TestAuditEndToEnd(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			env := startHandoff(t, b.database(t), nil)
			m := env.m
			resp, body := do(t, "POST", m.URL()+"/fhir", []byte(demoEncounter("1")))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("encounter: %d %s", resp.StatusCode, body)
			}
			ids := entryIDs(body)
			patientID, taskID := ids[3], ids[5]
			search := func(q string) []map[string]any {
				t.Helper()
				resp, body := do(t, "GET", m.URL()+"/fhir/AuditEvent?"+q+"&_count=500", nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("AuditEvent?%s: %d %s", q, resp.StatusCode, body)
				}
				var out []map[string]any
				es, _ := decodeJSON(t, body)["entry"].([]any)
				for _, e := range es {
					out = append(out, e.(map[string]any)["resource"].(map[string]any))
				}
				return out
			}
			// Each entry of the Bundle, in its transaction: no flush needed.
			if n := len(search("entity=Task/" + taskID + "&action=C")); n != 1 {
				t.Errorf("AuditEvents of the Task's create: %d, want 1", n)
			}
			if n := len(search("patient=" + patientID + "&action=C")); n < 3 {
				t.Errorf("creates about the patient: %d, want the Bundle's entries about the patient", n)
			}

			// The delivery: one transmit event, outcome 0, naming the Task
			// and the patient.
			eventually(t, "the transmit AuditEvent", func() bool {
				return len(search("subtype=transmit&entity=Task/"+taskID+"&outcome=0")) == 1
			})
			tr := search("subtype=transmit&entity=Task/" + taskID)[0]
			if tr["type"].(map[string]any)["code"] != "110106" || !strings.Contains(mustJSON(tr), `"Patient/`+patientID+`"`) {
				t.Errorf("transmit AuditEvent: %s", mustJSON(tr))
			}

			// A read and an export, buffered.
			if resp, body := do(t, "GET", m.URL()+"/fhir/Patient/"+patientID, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("read: %d %s", resp.StatusCode, body)
			}
			status := kickOff(t, m, "/fhir/Patient/$export?_type=Patient")
			download(t, pollManifest(t, status, 30*time.Second))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := m.audit.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(search("entity=Patient/" + patientID + "&subtype=read")); n != 1 {
				t.Errorf("reads of the Patient: %d, want 1", n)
			}
			ops := search("subtype=operation&date=ge" + url.QueryEscape(time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)))
			var kick, file int
			for _, o := range ops {
				s := mustJSON(o)
				switch {
				case strings.Contains(s, `$export-file `):
					file++
				case strings.Contains(s, `"description":"$export Patient"`):
					kick++
				}
			}
			if kick != 1 || file != 1 {
				t.Errorf("export AuditEvents: %d kick-offs, %d downloads; want 1 each", kick, file)
			}
			// With authentication off the agent is socialrx itself.
			if n := len(search("agent=Device/socialrx&subtype=read")); n != 1 {
				t.Errorf("reads by Device/socialrx: %d, want 1", n)
			}

			// Buffered at shutdown: written before the database closes.
			if resp, _ := do(t, "GET", m.URL()+"/fhir/Task/"+taskID, nil); resp.StatusCode != http.StatusOK {
				t.Fatal("read Task")
			}
			db := m.Config.Database
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m2 := startMainWith(t, db, nil)
			resp, body = do(t, "GET", m2.URL()+"/fhir/AuditEvent?entity=Task/"+taskID+"&subtype=read", nil)
			if resp.StatusCode != http.StatusOK || fmt.Sprint(decodeJSON(t, body)["total"]) != "1" {
				t.Errorf("the read buffered when serve stopped: %d %s; want it written", resp.StatusCode, body)
			}
		})
	}
}
