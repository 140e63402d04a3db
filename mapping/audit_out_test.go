package mapping

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// auditView is what the tests read back from an AuditEvent body.
type auditView struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Type         struct{ System, Code string }
	Subtype      []struct{ System, Code string }
	Action       string
	Recorded     string
	Outcome      string
	OutcomeDesc  string
	Agent        []struct {
		Who struct {
			Reference  string
			Identifier *struct{ System, Value string }
		}
		Requestor bool
		Network   *struct{ Address, Type string }
	}
	Source struct {
		Observer struct{ Reference string }
	}
	Entity []struct {
		What               *struct{ Reference string }
		Role               *struct{ Code string }
		Query, Description string
	}
}

func TestAuditRecordOf(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890000000, time.UTC)
	for _, tc := range []struct {
		name    string
		ev      socialrx.AuditEvent
		wantRec socialrx.AuditRecord // without Body
		check   func(t *testing.T, v auditView)
	}{
		{
			name: "read of an Observation by a client",
			ev: socialrx.AuditEvent{ID: "a1", Recorded: at, Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead,
				Outcome: socialrx.AuditSuccess, ClientID: "https://emr.example.org/app", Address: "10.1.2.3",
				Entity: "Observation/o1", Version: 3, Patient: "Patient/p1"},
			wantRec: socialrx.AuditRecord{ID: "a1", Recorded: at, Agent: "Device/" + socialrx.AuditAgentID("https://emr.example.org/app"),
				Entity: "Observation/o1", Patient: "Patient/p1", Subtype: "read", Action: "R", Outcome: "0"},
			check: func(t *testing.T, v auditView) {
				if v.Type.Code != "rest" || v.Subtype[0].Code != "read" || v.Subtype[0].System != "http://hl7.org/fhir/restful-interaction" {
					t.Errorf("type/subtype = %+v %+v, want rest/read", v.Type, v.Subtype)
				}
				a := v.Agent[0]
				if !a.Requestor || a.Who.Identifier == nil || a.Who.Identifier.Value != "https://emr.example.org/app" || a.Network == nil || a.Network.Address != "10.1.2.3" {
					t.Errorf("client agent = %+v", a)
				}
				if v.Source.Observer.Reference != "Device/socialrx" {
					t.Errorf("observer = %q", v.Source.Observer.Reference)
				}
				if len(v.Entity) != 2 || v.Entity[0].What.Reference != "Observation/o1/_history/3" || v.Entity[1].What.Reference != "Patient/p1" || v.Entity[1].Role.Code != "1" {
					t.Errorf("entities = %+v, want the version read and the patient (role 1)", v.Entity)
				}
			},
		},
		{
			name: "search with its query, authentication off",
			ev: socialrx.AuditEvent{ID: "a2", Recorded: at, Kind: socialrx.AuditREST, Subtype: "search-type", Action: socialrx.AuditRead,
				Outcome: socialrx.AuditMinorFailure, OutcomeDesc: "invalid search", QueryType: "Patient", Query: "family=Smith"},
			wantRec: socialrx.AuditRecord{ID: "a2", Recorded: at, Agent: "Device/socialrx", Subtype: "search-type", Action: "R", Outcome: "4"},
			check: func(t *testing.T, v auditView) {
				if len(v.Entity) != 1 || v.Entity[0].Role.Code != "24" || v.Entity[0].Description != "Patient" {
					t.Fatalf("entities = %+v, want one query entity", v.Entity)
				}
				q, _ := base64.StdEncoding.DecodeString(v.Entity[0].Query)
				if string(q) != "family=Smith" {
					t.Errorf("query = %q, want the base64 of family=Smith", q)
				}
				if v.OutcomeDesc != "invalid search" {
					t.Errorf("outcomeDesc = %q", v.OutcomeDesc)
				}
			},
		},
		{
			name: "a Patient read: the resource is the patient entity",
			ev: socialrx.AuditEvent{ID: "a3", Recorded: at, Kind: socialrx.AuditREST, Subtype: "update", Action: socialrx.AuditUpdate,
				Outcome: socialrx.AuditSuccess, ClientID: "emr", Entity: "Patient/p1", Version: 2, Patient: "Patient/p1"},
			wantRec: socialrx.AuditRecord{ID: "a3", Recorded: at, Agent: "Device/emr", Entity: "Patient/p1", Patient: "Patient/p1", Subtype: "update", Action: "U", Outcome: "0"},
			check: func(t *testing.T, v auditView) {
				if len(v.Entity) != 1 || v.Entity[0].Role.Code != "1" {
					t.Errorf("entities = %+v, want one with role patient", v.Entity)
				}
			},
		},
		{
			name: "an outbound message",
			ev: socialrx.AuditEvent{ID: "a4", Recorded: at, Kind: socialrx.AuditTransmit, Action: socialrx.AuditRead, Outcome: socialrx.AuditSeriousFail,
				OutcomeDesc: "failed for good: http 400", Entity: "Task/t1", Version: 1, Patient: "Patient/p1", Destination: "platform add-service-request", EndpointID: "ep1"},
			wantRec: socialrx.AuditRecord{ID: "a4", Recorded: at, Agent: "Device/socialrx", Entity: "Task/t1", Patient: "Patient/p1", Subtype: "transmit", Action: "R", Outcome: "8"},
			check: func(t *testing.T, v auditView) {
				if v.Type.Code != "110106" || v.Subtype[0].Code != "transmit" {
					t.Errorf("type/subtype = %+v %+v, want DCM 110106 / transmit", v.Type, v.Subtype)
				}
				if len(v.Agent) != 2 || v.Agent[0].Who.Reference != "Device/socialrx" || !v.Agent[0].Requestor || v.Agent[1].Who.Identifier == nil || v.Agent[1].Who.Identifier.Value != "ep1" {
					t.Errorf("agents = %+v, want socialrx then the Endpoint", v.Agent)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := AuditRecordOf(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			body, err := AuditEventBody(rec)
			if err != nil {
				t.Fatal(err)
			}
			rec.Body = nil
			if diff := cmp.Diff(tc.wantRec, rec); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
			// A valid R4 AuditEvent.
			if _, issues := fhir.Decode(body, "AuditEvent"); fhir.HasErrors(issues) {
				t.Errorf("not a valid AuditEvent: %+v\n%s", issues, body)
			}
			var v auditView
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if v.ResourceType != "AuditEvent" || v.ID != tc.ev.ID || v.Recorded != "2026-03-04T05:06:07.890000Z" || v.Action != string(tc.ev.Action) || v.Outcome != string(tc.ev.Outcome) {
				t.Errorf("header = %s %s %s %s %s", v.ResourceType, v.ID, v.Recorded, v.Action, v.Outcome)
			}
			tc.check(t, v)
		})
	}
}

// TestAuditRecordOfMalformedRefs: a malformed entity or patient (from a
// refused request's URL) is left out of the record and the body.
func TestAuditRecordOfMalformedRefs(t *testing.T) {
	for _, ref := range []string{"Patient/a\x00b", "Patient/" + strings.Repeat("x", 65), "Nonsense/1", "Patient/", "p1"} {
		rec, err := AuditRecordOf(socialrx.AuditEvent{ID: "m", Kind: socialrx.AuditREST, Subtype: "read", Action: "R", Outcome: "4", Entity: ref, Patient: ref})
		if err != nil {
			t.Fatal(err)
		}
		body, err := AuditEventBody(rec)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Entity != "" || rec.Patient != "" || strings.Contains(string(body), `"entity"`) {
			t.Errorf("%q: entity %q patient %q body %s; want them left out", ref, rec.Entity, rec.Patient, body)
		}
	}
}

func TestAuditPatient(t *testing.T) {
	for _, tc := range []struct {
		typ, id, body, want string
	}{
		{"Patient", "p1", `{}`, "Patient/p1"},
		{"Observation", "o1", `{"resourceType":"Observation","subject":{"reference":"Patient/p2"}}`, "Patient/p2"},
		{"Task", "t1", `{"resourceType":"Task","for":{"reference":"Patient/p3"}}`, "Patient/p3"},
		{"Consent", "c1", `{"resourceType":"Consent","patient":{"reference":"Patient/p4"}}`, "Patient/p4"},
		{"ChargeItem", "c1", `{"resourceType":"ChargeItem","subject":{"reference":"http://x.org/fhir/Patient/p5"}}`, "Patient/p5"},
		{"Observation", "o2", `{"resourceType":"Observation","subject":{"reference":"Group/g1"}}`, ""},
		{"Observation", "o3", `{"resourceType":"Observation","subject":[1],"patient":{"reference":"Patient/p6"}}`, "Patient/p6"},
		{"Organization", "x", `{"resourceType":"Organization"}`, ""},
		{"Observation", "o4", `not json`, ""},
	} {
		if got := AuditPatient(tc.typ, tc.id, []byte(tc.body)); got != tc.want {
			t.Errorf("AuditPatient(%s/%s, %s) = %q, want %q", tc.typ, tc.id, tc.body, got, tc.want)
		}
	}
}
