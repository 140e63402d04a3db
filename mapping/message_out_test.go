package mapping

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// headerView is what the tests read back from a MessageHeader.
type headerView struct {
	ID          string `json:"id"`
	EventCoding coding `json:"eventCoding"`
	Destination []struct{ Endpoint string }
	Sender      *reference `json:"sender"`
	Author      *reference `json:"author"`
	Source      struct{ Name, Endpoint string }
	Focus       []reference `json:"focus"`
	Response    *struct {
		Identifier string
		Code       string
		Details    *reference
	} `json:"response"`
}

// checkFHIR fails when body is not a valid FHIR R4 Bundle.
func checkFHIR(t *testing.T, body []byte) {
	t.Helper()
	if is := fhir.ValidateSchema(body); fhir.HasErrors(is) {
		t.Errorf("ValidateSchema: %v", is)
	}
	if is := fhir.Validate(body, "Bundle"); fhir.HasErrors(is) {
		t.Errorf("Validate: %v", is)
	}
}

const (
	testSource      = "https://socialrx.example/fhir"
	testDestination = "https://ocean.example/fhir"
)

var testTime = time.Date(2026, 11, 24, 14, 5, 6, 789, time.FixedZone("EST", -5*3600))

func TestMessageBundle(t *testing.T) {
	enc, encTask := encounterStore(t)
	nav := navigatorStore(t)
	tests := []struct {
		name       string
		store      msgStore
		task       string
		event      socialrx.MessageEvent
		wantFocus  string
		wantSender string
	}{
		{"encounter 02 add", enc, encTask, socialrx.EventAddServiceRequest, "ServiceRequest/8e7cf393-0eb4-5fe5-a923-b82482c624c0", "Practitioner/0b7a1098-e88c-5566-8f56-7079c280d886"},
		{"navigator add", nav, "Task/rt-2", socialrx.EventAddServiceRequest, "ServiceRequest/sr-2", "PractitionerRole/prr-gp"},
		{"navigator revoke", nav, "Task/rt-2", socialrx.EventRevokeServiceRequest, "ServiceRequest/sr-2", "PractitionerRole/prr-gp"},
		{"process request focuses the Task", nav, "Task/rt-2", socialrx.EventNotifyUpdateProcessRequest, "Task/rt-2", "PractitionerRole/prr-gp"},
		{"communication without one falls back", nav, "Task/rt-2", socialrx.EventCommunicationFromRequester, "ServiceRequest/sr-2", "PractitionerRole/prr-gp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := MessageResources(tt.store[tt.task], tt.store.resolver())
			if err != nil {
				t.Fatal(err)
			}
			m := OutMessage{ID: "5d0d8a43-8f0a-4a55-9d3c-1f7a3b9f0c11", Event: tt.event, Timestamp: testTime,
				Source: testSource + "/", Destination: testDestination, Resources: res}
			out, err := MessageBundle(m)
			if err != nil {
				t.Fatal(err)
			}
			checkFHIR(t, out)
			again, _ := MessageBundle(m)
			if !bytes.Equal(out, again) {
				t.Error("MessageBundle is not deterministic")
			}

			var b struct {
				ResourceType, ID, Type, Timestamp string
				Identifier                        identifier
				Entry                             []struct {
					FullURL  string          `json:"fullUrl"`
					Resource json.RawMessage `json:"resource"`
				}
			}
			if err := json.Unmarshal(out, &b); err != nil {
				t.Fatal(err)
			}
			if b.ResourceType != "Bundle" || b.Type != "message" || b.Timestamp != "2026-11-24T19:05:06Z" ||
				b.ID == "" || b.ID == m.ID || b.Identifier != (identifier{"urn:ietf:rfc:3986", "urn:uuid:" + b.ID}) {
				t.Errorf("Bundle = %s %s %s id %s identifier %v", b.ResourceType, b.Type, b.Timestamp, b.ID, b.Identifier)
			}
			if len(b.Entry) != len(res)+1 {
				t.Fatalf("entries = %d, want %d", len(b.Entry), len(res)+1)
			}
			var mh headerView
			if h, _ := readHead(b.Entry[0].Resource); h.ResourceType != "MessageHeader" {
				t.Fatalf("entry[0] is a %s", h.ResourceType)
			}
			if err := json.Unmarshal(b.Entry[0].Resource, &mh); err != nil {
				t.Fatal(err)
			}
			got := []string{b.Entry[0].FullURL, mh.ID, mh.EventCoding.System, mh.EventCoding.Code, mh.Source.Name,
				mh.Source.Endpoint, mh.Destination[0].Endpoint, mh.Sender.Reference, mh.Author.Reference, mh.Focus[0].Reference}
			want := []string{testSource + "/MessageHeader/" + m.ID, m.ID, socialrx.MessageEventSystem, string(tt.event), "socialrx",
				testSource + "/", testDestination, tt.wantSender, tt.wantSender, tt.wantFocus}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("MessageHeader fullUrl, id, system, code, source name and endpoint, destination, sender, author, focus (-want +got):\n%s", diff)
			}
			if len(mh.Focus) != 1 || mh.Response != nil {
				t.Errorf("focus %v, response %v", mh.Focus, mh.Response)
			}
			for i, r := range res {
				e := b.Entry[i+1]
				h, _ := readHead(r)
				if want := testSource + "/" + h.ResourceType + "/" + h.ID; e.FullURL != want {
					t.Errorf("entry[%d].fullUrl = %s, want %s", i+1, e.FullURL, want)
				}
				if !bytes.Equal(e.Resource, r) {
					t.Errorf("entry[%d].resource is not the stored body byte for byte", i+1)
				}
			}
		})
	}
}

func TestMessageBundleRequester(t *testing.T) {
	sr := []byte(`{"resourceType":"ServiceRequest","id":"s","status":"active","intent":"order","subject":{"reference":"Patient/p"},"requester":{"reference":"Practitioner/sr-req"}}`)
	tests := []struct {
		name                   string
		task                   string
		wantSender, wantAuthor string
	}{
		{"Organization: sender only", `{"resourceType":"Task","id":"t","status":"requested","intent":"order","requester":{"reference":"Organization/o"}}`, "Organization/o", ""},
		{"absolute URL read as Type/id", `{"resourceType":"Task","id":"t","status":"requested","intent":"order","requester":{"reference":"https://emr.example/fhir/PractitionerRole/r/_history/2"}}`, "PractitionerRole/r", "PractitionerRole/r"},
		{"none on the Task: the ServiceRequest's", `{"resourceType":"Task","id":"t","status":"requested","intent":"order"}`, "Practitioner/sr-req", "Practitioner/sr-req"},
		{"Patient: neither", `{"resourceType":"Task","id":"t","status":"requested","intent":"order","requester":{"reference":"Patient/p"}}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := MessageBundle(OutMessage{ID: "m1", Event: socialrx.EventAddServiceRequest, Timestamp: testTime,
				Source: testSource, Resources: [][]byte{[]byte(tt.task), sr}})
			if err != nil {
				t.Fatal(err)
			}
			checkFHIR(t, out)
			msg, err := ParseMessage(out)
			if err != nil {
				t.Fatal(err)
			}
			var mh headerView
			if err := json.Unmarshal(msg.Entries[0].Resource, &mh); err != nil {
				t.Fatal(err)
			}
			got := []string{refString(mh.Sender), refString(mh.Author)}
			if diff := cmp.Diff([]string{tt.wantSender, tt.wantAuthor}, got); diff != "" {
				t.Errorf("sender, author (-want +got):\n%s", diff)
			}
			if mh.Destination != nil {
				t.Errorf("destination = %v, want none", mh.Destination)
			}
		})
	}
}

func TestMessageBundleErrors(t *testing.T) {
	task := []byte(`{"resourceType":"Task","id":"t"}`)
	sr := []byte(`{"resourceType":"ServiceRequest","id":"s"}`)
	good := OutMessage{ID: "m1", Event: socialrx.EventAddServiceRequest, Timestamp: testTime, Source: testSource, Resources: [][]byte{task, sr}}
	tests := []struct {
		name      string
		edit      func(m *OutMessage)
		wantPaths []string
	}{
		{"no id", func(m *OutMessage) { m.ID = "" }, []string{"MessageHeader.id"}},
		{"id not a FHIR id", func(m *OutMessage) { m.ID = "a b" }, []string{"MessageHeader.id"}},
		{"unknown event", func(m *OutMessage) { m.Event = "add-something" }, []string{"MessageHeader.eventCoding.code"}},
		{"no source", func(m *OutMessage) { m.Source = "" }, []string{"MessageHeader.source.endpoint"}},
		{"no timestamp", func(m *OutMessage) { m.Timestamp = time.Time{} }, []string{"Bundle.timestamp"}},
		{"no resources", func(m *OutMessage) { m.Resources = nil }, []string{"Bundle.entry"}},
		{"no ServiceRequest", func(m *OutMessage) { m.Resources = [][]byte{task} }, []string{"Bundle.entry"}},
		{"not JSON", func(m *OutMessage) { m.Resources = [][]byte{task, sr, []byte(`{"resourceType":"Patient"`)} }, []string{"Bundle.entry[3].resource"}},
		{"an array", func(m *OutMessage) { m.Resources = [][]byte{task, sr, []byte(`[]`)} }, []string{"Bundle.entry[3].resource"}},
		{"no id on a resource", func(m *OutMessage) { m.Resources = [][]byte{task, sr, []byte(`{"resourceType":"Patient"}`)} }, []string{"Bundle.entry[3].resource.id"}},
		{"twice the same", func(m *OutMessage) { m.Resources = [][]byte{task, sr, task} }, []string{"Bundle.entry[3].fullUrl"}},
		{"everything", func(m *OutMessage) { *m = OutMessage{} }, []string{"MessageHeader.id", "MessageHeader.eventCoding.code", "MessageHeader.source.endpoint", "Bundle.timestamp", "Bundle.entry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			tt.edit(&m)
			out, err := MessageBundle(m)
			if out != nil {
				t.Errorf("MessageBundle wrote %d bytes, want none", len(out))
			}
			checkErr(t, err)
			code, paths := errCodePaths(t, err)
			if code != socialrx.EINVALID {
				t.Errorf("code = %s, want %s", code, socialrx.EINVALID)
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := MessageBundle(good); err != nil {
		t.Errorf("the good message: %v", err)
	}
}

func TestMessageBundleGolden(t *testing.T) {
	nav := navigatorStore(t)
	res, err := MessageResources(nav["Task/rt-2"], nav.resolver())
	if err != nil {
		t.Fatal(err)
	}
	out, err := MessageBundle(OutMessage{ID: "5d0d8a43-8f0a-4a55-9d3c-1f7a3b9f0c11", Event: socialrx.EventAddServiceRequest,
		Timestamp: testTime, Source: testSource, Destination: testDestination, Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "messages", "navigator-referral.message.json")
	if *update {
		if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./mapping -run TestMessageBundleGolden -update writes it)", err)
	}
	if diff := cmp.Diff(string(bytes.TrimSuffix(want, []byte("\n"))), string(out)); diff != "" {
		t.Errorf("MessageBundle (-want +got):\n%s", diff)
	}
}
