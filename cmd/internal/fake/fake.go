// Package fake holds the in-process stand-ins of socialrx's outside world
// that the demo, the tests and socialrx-bench share: an Ocean-style
// referral platform, an EMR's FHIR API, and the demo's EMR encounter.
package fake

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Platform is an in-process Ocean-style referral platform for the demo
// and the tests: an OAuth2 token endpoint (POST /oauth2/token) and a FHIR
// messaging endpoint (POST /fhir/$process-messages) that records every
// message it accepts. It recognises a resend by MessageHeader.id, as a real
// platform must. FailRate and HangRate inject faults: that share of calls
// answers 503, or hangs for Hang before answering (set them before serving,
// or with SetFaults while it serves).
type Platform struct {
	ClientID, ClientSecret string
	FailRate, HangRate     float64
	Hang                   time.Duration
	// Reject, when set, answers every message 400 with this diagnostics.
	Reject string

	mu        sync.Mutex
	tokens    map[string]bool
	messages  []Message      // accepted, first delivery of each id
	seen      map[string]int // MessageHeader.id → deliveries
	tokenHits int
	calls     int
}

// Message is one message the fake platform accepted.
type Message struct {
	ID    string
	Event string
	Focus string
	Body  []byte
}

// NewPlatform returns a platform accepting the given client credentials.
func NewPlatform(clientID, secret string) *Platform {
	return &Platform{ClientID: clientID, ClientSecret: secret, tokens: map[string]bool{}, seen: map[string]int{}}
}

// ServeHTTP serves the token and messaging endpoints.
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth2/token":
		p.token(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/fhir/$process-messages":
		p.process(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *Platform) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("client_id") != p.ClientID || r.PostForm.Get("client_secret") != p.ClientSecret {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	tok := randomToken()
	p.mu.Lock()
	p.tokens[tok] = true
	p.tokenHits++
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// SetFaults changes FailRate and HangRate while the platform serves.
func (p *Platform) SetFaults(fail, hang float64) {
	p.mu.Lock()
	p.FailRate, p.HangRate = fail, hang
	p.mu.Unlock()
}

func (p *Platform) process(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	p.mu.Lock()
	p.calls++
	authorized := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	roll := rand.Float64()
	failRate, hangRate := p.FailRate, p.HangRate
	p.mu.Unlock()
	if !authorized {
		WriteOutcome(w, http.StatusUnauthorized, "invalid token")
		return
	}
	if p.Reject != "" {
		WriteOutcome(w, http.StatusBadRequest, p.Reject)
		return
	}
	if roll < failRate {
		WriteOutcome(w, http.StatusServiceUnavailable, "injected failure")
		return
	}
	if roll < failRate+hangRate {
		select {
		case <-time.After(p.Hang):
		case <-r.Context().Done():
			return
		}
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	var h struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		EventCoding  struct {
			Code string `json:"code"`
		} `json:"eventCoding"`
		Focus []struct {
			Reference string `json:"reference"`
		} `json:"focus"`
	}
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" || b.Type != "message" || len(b.Entry) == 0 ||
		json.Unmarshal(b.Entry[0].Resource, &h) != nil || h.ResourceType != "MessageHeader" || h.ID == "" {
		WriteOutcome(w, http.StatusBadRequest, "not a FHIR message")
		return
	}
	p.mu.Lock()
	p.seen[h.ID]++
	if p.seen[h.ID] == 1 {
		m := Message{ID: h.ID, Event: h.EventCoding.Code, Body: body}
		if len(h.Focus) > 0 {
			m.Focus = h.Focus[0].Reference
		}
		p.messages = append(p.messages, m)
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":"urn:uuid:` + randomUUIDish() +
		`","resource":{"resourceType":"MessageHeader","id":"r","eventCoding":{"system":"https://ehealthontario.ca/fhir/CodeSystem/message-event-code","code":"` +
		h.EventCoding.Code + `"},"source":{"endpoint":"https://platform.example"},"response":{"identifier":"` + h.ID + `","code":"ok"}}}]}`))
}

// Messages returns the messages accepted so far (first delivery of each).
func (p *Platform) Messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Message(nil), p.messages...)
}

// Calls returns how many message calls arrived, answered or failed.
func (p *Platform) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// Deliveries returns how many times each MessageHeader.id arrived.
func (p *Platform) Deliveries() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.seen))
	for k, v := range p.seen {
		out[k] = v
	}
	return out
}

// EMR is an in-process EMR FHIR API for the demo and the tests: it
// records the conditional updates and creates socialrx writes back, keyed
// by identifier as a real EMR would (a repeat changes nothing).
type EMR struct {
	mu     sync.Mutex
	writes []Write
	byKey  map[string][]byte
}

// Write is one write the fake EMR received.
type Write struct {
	Method, Type, Identifier string
	Body                     []byte
}

// NewEMR returns an empty fake EMR.
func NewEMR() *EMR { return &EMR{byKey: map[string][]byte{}} }

// ServeHTTP serves PUT /fhir/{type}?identifier= and POST /fhir/{type} with
// If-None-Exist.
func (e *EMR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	typ := strings.TrimPrefix(r.URL.Path, "/fhir/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	var key string
	switch r.Method {
	case http.MethodPut:
		key = r.URL.Query().Get("identifier")
	case http.MethodPost:
		q, _ := url.ParseQuery(r.Header.Get("If-None-Exist"))
		key = q.Get("identifier")
	}
	if key == "" || strings.Contains(typ, "/") || !json.Valid(body) {
		WriteOutcome(w, http.StatusBadRequest, "want a conditional write by identifier")
		return
	}
	e.mu.Lock()
	_, exists := e.byKey[typ+"|"+key]
	if r.Method == http.MethodPut || !exists {
		e.byKey[typ+"|"+key] = body
		e.writes = append(e.writes, Write{Method: r.Method, Type: typ, Identifier: key, Body: body})
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	if r.Method == http.MethodPost && !exists {
		w.WriteHeader(http.StatusCreated)
	}
	_, _ = w.Write(body)
}

// Writes returns the writes received so far.
func (e *EMR) Writes() []Write {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Write(nil), e.writes...)
}

// WriteOutcome answers status with an OperationOutcome of msg.
func WriteOutcome(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{"severity": "error", "code": "processing", "diagnostics": msg}}})
	_, _ = w.Write(b)
}

func randomToken() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

func randomUUIDish() string {
	t := randomToken()
	return t[:8] + "-" + t[8:12] + "-4" + t[13:16] + "-8" + t[17:20] + "-" + t[20:32]
}

// Encounter is an EMR encounter with a warm hand-off to a housing program
// on the platform, referred by a clinician whose clinic's EMR takes
// write-backs (Endpoint/ocean-east and Endpoint/emr-riverdale, which
// EndpointBody makes). n makes its identifiers distinct.
func Encounter(n string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000a1","resource":{"resourceType":"Organization","identifier":[{"system":"https://riverdale.example/org","value":"riverdale"}],"name":"Riverdale FHT","endpoint":[{"reference":"Endpoint/emr-riverdale"}]},
 "request":{"method":"POST","url":"Organization","ifNoneExist":"identifier=https://riverdale.example/org|riverdale"}},
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000a2","resource":{"resourceType":"PractitionerRole","identifier":[{"system":"https://riverdale.example/role","value":"gp-1"}],"organization":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000a1"}},
 "request":{"method":"POST","url":"PractitionerRole","ifNoneExist":"identifier=https://riverdale.example/role|gp-1"}},
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000a3","resource":{"resourceType":"HealthcareService","identifier":[{"system":"https://riverdale.example/program","value":"east-housing"}],"active":true,"name":"East Housing Help","endpoint":[{"reference":"Endpoint/ocean-east"}]},
 "request":{"method":"POST","url":"HealthcareService","ifNoneExist":"identifier=https://riverdale.example/program|east-housing"}},
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000b1","resource":{"resourceType":"Patient","identifier":[{"system":"https://health.gov.on.ca/ohip","value":"90000` + n + `"}],"name":[{"family":"Test","given":["Pat"]}]},
 "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=https://health.gov.on.ca/ohip|90000` + n + `"}},
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000b2","resource":{"resourceType":"ServiceRequest","status":"active","intent":"order",
  "identifier":[{"system":"https://riverdale.example/sr","value":"SR-` + n + `"}],
  "category":[{"coding":[{"system":"http://snomed.info/sct","code":"410606002","display":"Social service procedure"}]}],
  "code":{"coding":[{"system":"http://snomed.info/sct","code":"710925007","display":"Provision of social service"}]},
  "subject":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000b1"},"authoredOn":"2026-11-23T19:28:00Z",
  "requester":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000a2"},"performer":[{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000a3"}]},
 "request":{"method":"POST","url":"ServiceRequest","ifNoneExist":"identifier=https://riverdale.example/sr|SR-` + n + `"}},
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000b3","resource":{"resourceType":"Task","status":"requested","intent":"order",
  "identifier":[{"system":"https://riverdale.example/referral-task","value":"RT-` + n + `"}],
  "code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},
  "focus":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000b2"},"for":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000b1"},
  "authoredOn":"2026-11-23T19:28:00Z","requester":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000a2"},
  "owner":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000a3"}},
 "request":{"method":"POST","url":"Task","ifNoneExist":"identifier=https://riverdale.example/referral-task|RT-` + n + `"}}]}`
}

// EndpointBody is Endpoint id (ocean-east: the platform's messaging,
// hl7-fhir-msg; emr-riverdale: the practice EMR's REST API,
// hl7-fhir-rest) at address, as Encounter's resources name them.
func EndpointBody(id, address string) string {
	kind := "hl7-fhir-rest"
	if id == "ocean-east" {
		kind = "hl7-fhir-msg"
	}
	return `{"resourceType":"Endpoint","id":"` + id + `","status":"active","connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"` + kind + `"},"payloadType":[{"text":"FHIR"}],"address":"` + address + `"}`
}
