package mapping

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/socialrx/socialrx"
)

// testHeader is a MessageHeader entry with the members given after its id.
func testHeader(members string) string {
	return `{"fullUrl":"urn:uuid:9a3e2c1d-4b5f-4e6a-8c7d-0e1f2a3b4c5d","resource":{"resourceType":"MessageHeader"` + members + `}}`
}

const (
	testEvent   = `,"eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"notify-update-process-request"},"source":{"endpoint":"https://ocean.example/fhir"}`
	testTaskURL = "https://ocean.example/fhir/Task/ocean-77"
	testTaskEnt = `{"fullUrl":"` + testTaskURL + `","resource":{"resourceType":"Task","id":"ocean-77","status":"accepted","intent":"order"}}`
)

// testMessage is a message Bundle with the given entries.
func testMessage(entries ...string) string {
	return `{"resourceType":"Bundle","id":"b1","type":"message","timestamp":"2026-11-24T19:05:06Z","entry":[` + strings.Join(entries, ",") + `]}`
}

func TestParseMessageErrors(t *testing.T) {
	good := testHeader(`,"id":"h1"` + testEvent)
	tests := []struct {
		name      string
		body      string
		wantCode  string
		wantPaths []string
	}{
		{"not JSON", `{"resourceType":"Bundle",`, socialrx.EINVALID, []string{"Bundle"}},
		{"empty body", ``, socialrx.EINVALID, []string{"Bundle"}},
		{"an array", `[{"resourceType":"Bundle"}]`, socialrx.EINVALID, []string{"Bundle"}},
		{"null", `null`, socialrx.EINVALID, []string{"Bundle"}},
		{"a Patient", `{"resourceType":"Patient","id":"p"}`, socialrx.EINVALID, []string{"Bundle.resourceType"}},
		{"no resourceType", `{"type":"message"}`, socialrx.EINVALID, []string{"Bundle.resourceType"}},
		{"a transaction", strings.Replace(testMessage(good), `"message"`, `"transaction"`, 1), socialrx.EINVALID,
			[]string{"Bundle.entry[0].request", "Bundle.type"}},
		{"type missing", strings.Replace(testMessage(good), `"type":"message",`, ``, 1), socialrx.EINVALID, []string{"Bundle.type"}},
		{"empty entries", testMessage(), socialrx.EINVALID, []string{"Bundle.entry"}},
		{"no entry element", `{"resourceType":"Bundle","type":"message"}`, socialrx.EINVALID, []string{"Bundle.entry"}},
		{"entry not an array", `{"resourceType":"Bundle","type":"message","entry":{}}`, socialrx.EINVALID, []string{"Bundle.entry"}},
		{"MessageHeader second", testMessage(testTaskEnt, good), socialrx.EINVALID, []string{"Bundle.entry[0].resource.resourceType"}},
		{"no MessageHeader id", testMessage(testHeader(testEvent)), socialrx.EINVALID, []string{"Bundle.entry[0].resource.id"}},
		{"MessageHeader id not an id", testMessage(testHeader(`,"id":"a b"` + testEvent)), socialrx.EINVALID, []string{"Bundle.entry[0].resource.id"}},
		{"no event", testMessage(testHeader(`,"id":"h1"`)), socialrx.EINVALID, []string{"Bundle.entry[0].resource.eventCoding"}},
		{"eventCoding of the wrong kind", testMessage(testHeader(`,"id":"h1","eventCoding":"add-service-request"`)), socialrx.EINVALID,
			[]string{"Bundle.entry[0].resource.eventCoding"}},
		{"entry without a resource", testMessage(good, `{"fullUrl":"urn:uuid:1a3e2c1d-4b5f-4e6a-8c7d-0e1f2a3b4c5d"}`), socialrx.EINVALID,
			[]string{"Bundle.entry[1].resource"}},
		{"resource without resourceType", testMessage(good, `{"resource":{"id":"x"}}`), socialrx.EINVALID,
			[]string{"Bundle.entry[1].resource.resourceType"}},
		{"resource not an object", testMessage(good, `{"resource":[1]}`), socialrx.EINVALID, []string{"Bundle.entry[1].resource"}},
		{"entry not an object", testMessage(good, `"x"`), socialrx.EINVALID, []string{"Bundle.entry[1]"}},
		{"all at once", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"MessageHeader","eventUri":"x"}},{"resource":{}},{}]}`,
			socialrx.EINVALID, []string{"Bundle.entry[2]", "Bundle.type", "Bundle.entry[1].resource.resourceType", "Bundle.entry[2].resource", "Bundle.entry[0].resource.id"}},
		// Well-formed, but not an event socialrx handles.
		{"unknown event code", testMessage(testHeader(`,"id":"h1","eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"add-patient"}`)),
			socialrx.EUNPROCESSABLE, []string{"Bundle.entry[0].resource.eventCoding"}},
		{"wrong system", testMessage(testHeader(`,"id":"h1","eventCoding":{"system":"http://example.org/events","code":"add-service-request"}`)),
			socialrx.EUNPROCESSABLE, []string{"Bundle.entry[0].resource.eventCoding"}},
		{"eventUri", testMessage(testHeader(`,"id":"h1","eventUri":"http://example.org/fhir/message-events/referral"`)),
			socialrx.EUNPROCESSABLE, []string{"Bundle.entry[0].resource.eventUri"}},
		{"unknown event and a broken entry", testMessage(testHeader(`,"id":"h1","eventUri":"http://example.org/e"`), `{}`),
			socialrx.EINVALID, []string{"Bundle.entry[1]", "Bundle.entry[1].resource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.body))
			checkErr(t, err)
			code, paths := errCodePaths(t, err)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			// The message comes with an unsupported event only, for the response.
			if (m != nil) != (code == socialrx.EUNPROCESSABLE) {
				t.Errorf("message = %v with code %s", m, code)
			}
			if m != nil && m.ID != "h1" {
				t.Errorf("ID = %q, want h1", m.ID)
			}
		})
	}
}

func TestParseMessageUnsupportedEvent(t *testing.T) {
	m, err := ParseMessage([]byte(testMessage(testHeader(`,"id":"h1","eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"add-patient"}`))))
	if socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE || m == nil {
		t.Fatalf("ParseMessage = %v, %v; want the message and an unprocessable error", m, err)
	}
	if m.Event != "add-patient" || m.Event.Valid() {
		t.Errorf("Event = %q, want the code as written", m.Event)
	}
	if got := socialrx.ErrorIssues(err)[0].Code; got != "not-supported" {
		t.Errorf("issue code = %s, want not-supported", got)
	}
}

func TestParseMessageRoundTrip(t *testing.T) {
	nav := navigatorStore(t)
	res, err := MessageResources(nav["Task/rt-2"], nav.resolver())
	if err != nil {
		t.Fatal(err)
	}
	out, err := MessageBundle(OutMessage{ID: "msg-1", Event: socialrx.EventAddServiceRequest, Timestamp: testTime,
		Source: testSource, Destination: testDestination, Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseMessage(out)
	if err != nil {
		t.Fatal(err)
	}
	want := &InMessage{ID: "msg-1", Event: socialrx.EventAddServiceRequest, SourceEndpoint: testSource, Focus: []string{"ServiceRequest/sr-2"},
		Entries: []InEntry{{FullURL: testSource + "/MessageHeader/msg-1", Type: "MessageHeader", ID: "msg-1", Path: "Bundle.entry[0]"}}}
	for i, key := range keysOf(t, res) {
		typ, id, _ := strings.Cut(key, "/")
		want.Entries = append(want.Entries, InEntry{FullURL: testSource + "/" + key, Type: typ, ID: id, Path: idx("Bundle.entry", i+1)})
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(InEntry{}, "Resource")); diff != "" {
		t.Errorf("ParseMessage (-want +got):\n%s", diff)
	}
	for i, r := range res {
		if !bytes.Equal(got.Entries[i+1].Resource, r) {
			t.Errorf("entry %d: the resource is not the body sent", i+1)
		}
	}
	if diff := cmp.Diff([]string{"QuestionnaireResponse/qr-1"}, entryKeys(got.OfType("QuestionnaireResponse"))); diff != "" {
		t.Errorf("OfType (-want +got):\n%s", diff)
	}
	if got := got.OfType("Encounter"); got != nil {
		t.Errorf("OfType(Encounter) = %v, want none", got)
	}
	if e, ok := got.Find(got.Focus[0]); !ok || e.Type != "ServiceRequest" || !bytes.Equal(e.Resource, nav["ServiceRequest/sr-2"]) {
		t.Errorf("Find(focus) = %v, %v", e.Path, ok)
	}
}

func entryKeys(es []InEntry) []string {
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Type+"/"+e.ID)
	}
	return keys
}

func TestInMessageFind(t *testing.T) {
	body := testMessage(testHeader(`,"id":"h1"`+testEvent+`,"focus":[{"reference":"Task/ocean-77"}]`), testTaskEnt,
		`{"fullUrl":"urn:uuid:2b3e2c1d-4b5f-4e6a-8c7d-0e1f2a3b4c5d","resource":{"resourceType":"Communication","status":"completed"}}`,
		`{"fullUrl":"https://ocean.example/fhir/Patient/p9","resource":{"resourceType":"Patient","id":"p9"}}`)
	m, err := ParseMessage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref      string
		wantPath string // "" for not found
	}{
		{"Task/ocean-77", "Bundle.entry[1]"},
		{testTaskURL, "Bundle.entry[1]"},
		{"https://elsewhere.example/fhir/Task/ocean-77", "Bundle.entry[1]"},
		{"Task/ocean-77/_history/3", "Bundle.entry[1]"},
		{"urn:uuid:2b3e2c1d-4b5f-4e6a-8c7d-0e1f2a3b4c5d", "Bundle.entry[2]"},
		{"urn:uuid:9a3e2c1d-4b5f-4e6a-8c7d-0e1f2a3b4c5d", "Bundle.entry[0]"},
		{"Patient/p9", "Bundle.entry[3]"},
		{"MessageHeader/h1", "Bundle.entry[0]"},
		{"Task/other", ""},
		{"Patient/ocean-77", ""},
		{"urn:uuid:3c3e2c1d-4b5f-4e6a-8c7d-0e1f2a3b4c5d", ""},
		{"#contained", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			e, ok := m.Find(tt.ref)
			if ok != (tt.wantPath != "") || e.Path != tt.wantPath {
				t.Errorf("Find(%q) = %q, %v; want %q", tt.ref, e.Path, ok, tt.wantPath)
			}
		})
	}
	if diff := cmp.Diff([]string{"Task/ocean-77"}, m.Focus); diff != "" {
		t.Errorf("Focus (-want +got):\n%s", diff)
	}
	if m.Event != socialrx.EventNotifyUpdateProcessRequest || m.SourceEndpoint != "https://ocean.example/fhir" {
		t.Errorf("Event, SourceEndpoint = %s, %s", m.Event, m.SourceEndpoint)
	}
}

func FuzzParseMessage(f *testing.F) {
	good := testHeader(`,"id":"h1"` + testEvent)
	f.Add([]byte(testMessage(good, testTaskEnt)))
	f.Add([]byte(testMessage(good, `{"resource":{}}`, `{}`, `1`)))
	f.Add([]byte(testMessage(testHeader(`,"id":"h1","eventUri":"x","focus":[{"reference":"Task/1"}],"response":{"identifier":"r","code":"ok"}`))))
	f.Add([]byte(`{"resourceType":"Bundle","type":"message","entry":[{"resource":{"resourceType":"MessageHeader","id":1}}]}`))
	f.Add([]byte(`[]`))
	nav := navigatorStore(f)
	f.Add(nav["Task/rt-2"])
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMessage(body)
		checkErr(t, err)
		if err != nil && socialrx.ErrorCode(err) != socialrx.EINVALID && socialrx.ErrorCode(err) != socialrx.EUNPROCESSABLE {
			t.Fatalf("code %s", socialrx.ErrorCode(err))
		}
		if m == nil {
			if socialrx.ErrorCode(err) != socialrx.EINVALID {
				t.Fatalf("no message with %v", err)
			}
			return
		}
		if len(m.Entries) == 0 || m.Entries[0].Type != "MessageHeader" || m.ID == "" {
			t.Fatalf("message without a MessageHeader or id: %+v", m)
		}
		for _, e := range m.Entries {
			if e.Type == "" || len(e.Resource) == 0 {
				t.Fatalf("entry %s without a resource type", e.Path)
			}
			m.Find(e.FullURL)
			m.Find(e.Type + "/" + e.ID)
		}
		for _, f := range m.Focus {
			m.Find(f)
		}
	})
}
