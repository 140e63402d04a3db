package main

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/socialrx/socialrx"
)

// FakePlatform is an in-process Ocean-style referral platform for the demo
// and the tests: an OAuth2 token endpoint (POST /oauth2/token) and a FHIR
// messaging endpoint (POST /fhir/$process-messages) that records every
// message it accepts. It recognises a resend by MessageHeader.id, as a real
// platform must. FailRate and HangRate inject faults: that share of calls
// answers 503, or hangs for Hang before answering.
type FakePlatform struct {
	ClientID, ClientSecret string
	FailRate, HangRate     float64
	Hang                   time.Duration
	// Reject, when set, answers every message 400 with this diagnostics.
	Reject string

	mu        sync.Mutex
	tokens    map[string]bool
	messages  []FakeMessage  // accepted, first delivery of each id
	seen      map[string]int // MessageHeader.id → deliveries
	tokenHits int
	calls     int
}

// FakeMessage is one message the fake platform accepted.
type FakeMessage struct {
	ID    string
	Event string
	Focus string
	Body  []byte
}

// NewFakePlatform returns a platform accepting the given client credentials.
func NewFakePlatform(clientID, secret string) *FakePlatform {
	return &FakePlatform{ClientID: clientID, ClientSecret: secret, tokens: map[string]bool{}, seen: map[string]int{}}
}

// ServeHTTP serves the token and messaging endpoints.
func (p *FakePlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth2/token":
		p.token(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/fhir/$process-messages":
		p.process(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *FakePlatform) token(w http.ResponseWriter, r *http.Request) {
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

func (p *FakePlatform) process(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	p.mu.Lock()
	p.calls++
	authorized := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	roll := rand.Float64()
	p.mu.Unlock()
	if !authorized {
		writeOutcome(w, http.StatusUnauthorized, "invalid token")
		return
	}
	if p.Reject != "" {
		writeOutcome(w, http.StatusBadRequest, p.Reject)
		return
	}
	if roll < p.FailRate {
		writeOutcome(w, http.StatusServiceUnavailable, "injected failure")
		return
	}
	if roll < p.FailRate+p.HangRate {
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
		writeOutcome(w, http.StatusBadRequest, "not a FHIR message")
		return
	}
	p.mu.Lock()
	p.seen[h.ID]++
	if p.seen[h.ID] == 1 {
		m := FakeMessage{ID: h.ID, Event: h.EventCoding.Code, Body: body}
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
func (p *FakePlatform) Messages() []FakeMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]FakeMessage(nil), p.messages...)
}

// Deliveries returns how many times each MessageHeader.id arrived.
func (p *FakePlatform) Deliveries() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.seen))
	for k, v := range p.seen {
		out[k] = v
	}
	return out
}

// FakeEMR is an in-process EMR FHIR API for the demo and the tests: it
// records the conditional updates and creates socialrx writes back, keyed
// by identifier as a real EMR would (a repeat changes nothing).
type FakeEMR struct {
	mu     sync.Mutex
	writes []FakeWrite
	byKey  map[string][]byte
}

// FakeWrite is one write the fake EMR received.
type FakeWrite struct {
	Method, Type, Identifier string
	Body                     []byte
}

// NewFakeEMR returns an empty fake EMR.
func NewFakeEMR() *FakeEMR { return &FakeEMR{byKey: map[string][]byte{}} }

// ServeHTTP serves PUT /fhir/{type}?identifier= and POST /fhir/{type} with
// If-None-Exist.
func (e *FakeEMR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
		writeOutcome(w, http.StatusBadRequest, "want a conditional write by identifier")
		return
	}
	e.mu.Lock()
	_, exists := e.byKey[typ+"|"+key]
	if r.Method == http.MethodPut || !exists {
		e.byKey[typ+"|"+key] = body
		e.writes = append(e.writes, FakeWrite{Method: r.Method, Type: typ, Identifier: key, Body: body})
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	if r.Method == http.MethodPost && !exists {
		w.WriteHeader(http.StatusCreated)
	}
	_, _ = w.Write(body)
}

// Writes returns the writes received so far.
func (e *FakeEMR) Writes() []FakeWrite {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]FakeWrite(nil), e.writes...)
}

func writeOutcome(w http.ResponseWriter, status int, msg string) {
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

// writeCredentials writes a credentials file (CredentialsFile) at path
// naming an Ocean-style platform served at baseURL (FakePlatform's routes)
// as Endpoint ocean-east: its token endpoint, client credentials, and
// inbound as the bearer token it presents to socialrx.
func writeCredentials(path, baseURL, clientID, clientSecret, inbound string) error {
	b, err := json.Marshal(CredentialsFile{Endpoints: map[string]socialrx.Credentials{
		"ocean-east": {TokenURL: baseURL + "/oauth2/token", ClientID: clientID, ClientSecret: clientSecret, InboundBearer: inbound},
	}})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
