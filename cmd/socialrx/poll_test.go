package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

// restPlatform is a program's FHIR REST API that socialrx polls: it serves
// Task searches from a list the test edits.
type restPlatform struct {
	mu      sync.Mutex
	tasks   []string // Task JSON, each with meta.lastUpdated
	queries []string // the _lastUpdated parameters seen
}

func (p *restPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/fhir/Task" {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	p.queries = append(p.queries, r.URL.Query().Get("_lastUpdated"))
	since := strings.TrimPrefix(r.URL.Query().Get("_lastUpdated"), "ge")
	var entries []string
	for _, t := range p.tasks {
		var m struct{ Meta struct{ LastUpdated string } }
		_ = json.Unmarshal([]byte(t), &m)
		if since == "" || m.Meta.LastUpdated >= since {
			entries = append(entries, `{"resource":`+t+`}`)
		}
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Join(entries, ",") + `]}`))
}

func (p *restPlatform) set(tasks ...string) {
	p.mu.Lock()
	p.tasks = tasks
	p.mu.Unlock()
}

func (p *restPlatform) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.queries...)
}

// TestPollingPlatform: a program whose platform cannot push is polled: its
// Task changes move the referral and are written back to the EMR.
func TestPollingPlatform(t *testing.T) {
	rp := &restPlatform{}
	rs := httptest.NewServer(rp)
	t.Cleanup(rs.Close)
	env := startHandoffWith(t, sqliteDatabase(t), nil, func(c *Config) { c.PollEvery = time.Second })
	env.put(t, "Endpoint/program-rest", `{"resourceType":"Endpoint","id":"program-rest","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"hl7-fhir-rest"},
"payloadType":[{"text":"FHIR"}],"address":"`+rs.URL+`/fhir"}`)
	enc := strings.Replace(demoEncounter("31"), `"endpoint":[{"reference":"Endpoint/ocean-east"}]`, `"endpoint":[{"reference":"Endpoint/program-rest"}]`, 1)
	resp, body := do(t, "POST", env.m.URL()+"/fhir", []byte(enc))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encounter: %d %s", resp.StatusCode, body)
	}
	ids := entryIDs(body)
	patientID, srID := ids[3], ids[4]
	if r := env.referral(t, patientID); r.EndpointID != "program-rest" || r.DeliveryState != "" {
		t.Fatalf("referral: endpoint %q delivery %q; want program-rest and no message", r.EndpointID, r.DeliveryState)
	}
	// The program accepts it in its own system; socialrx finds out by polling.
	// (An invalid Task, output not an array, is skipped: it would have
	// completed the referral before the accepted one.)
	rp.set(`{"resourceType":"Task","id":"prog-0","meta":{"lastUpdated":"2026-11-25T09:00:00.000Z"},"status":"completed","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/`+srID+`"},"output":{"type":{"text":"x"}}}`,
		`{"resourceType":"Task","id":"prog-1","meta":{"lastUpdated":"2026-11-25T10:00:00.000Z"},"status":"accepted","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/`+srID+`"}}`,
		`{"resourceType":"Task","id":"other-practice","meta":{"lastUpdated":"2026-11-25T10:01:00.000Z"},"status":"completed","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/not-ours"}}`)
	eventually(t, "the polled status", func() bool { return env.referral(t, patientID).Status == socialrx.ReferralAccepted })
	if r := env.referral(t, patientID); r.Flag != "" {
		t.Errorf("the invalid polled Task was applied: flag %q", r.Flag)
	}
	eventually(t, "the write-back of the polled status", func() bool {
		for _, w := range env.emr.Writes() {
			if w.Type == "Task" && strings.Contains(string(w.Body), `"accepted"`) {
				return true
			}
		}
		return false
	})
	// Later polls ask only for what changed since the newest Task seen.
	eventually(t, "a poll from the mark", func() bool {
		for _, q := range rp.seen() {
			if q == "ge2026-11-25T10:01:00.000Z" {
				return true
			}
		}
		return false
	})
	if n := len(env.platform.Messages()); n != 0 {
		t.Errorf("messages sent to the eReferral platform: %d", n)
	}
}
