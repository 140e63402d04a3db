package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// TestTerminologyServed checks that socialrx's CodeSystems and ValueSets are
// readable and searchable after start-up, and that a restart on the same
// database writes no new versions.
func TestTerminologyServed(t *testing.T) {
	db := sqliteDatabase(t)
	m := startMain(t, db)
	resp, body := do(t, http.MethodGet, m.URL()+"/fhir/CodeSystem/need-domain", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET CodeSystem/need-domain: %d %s", resp.StatusCode, truncate(body))
	}
	cs := decodeJSON(t, body)
	if cs["url"] != socialrx.CodeSystemBase+"need-domain" {
		t.Errorf("url = %v", cs["url"])
	}
	concepts, _ := cs["concept"].([]any)
	if len(concepts) != len(socialrx.AllNeedDomains()) {
		t.Errorf("need-domain has %d concepts, want %d", len(concepts), len(socialrx.AllNeedDomains()))
	}
	resp, body = do(t, http.MethodGet, m.URL()+"/fhir/ValueSet?url="+mapping.ValueSetBase+"prescription-form", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("search ValueSet by url: %d", resp.StatusCode)
	}
	if total := decodeJSON(t, body)["total"]; total != json.Number("1") {
		t.Errorf("ValueSet?url=...prescription-form total = %v, want 1", total)
	}

	resp, body = do(t, http.MethodGet, m.URL()+"/fhir/Questionnaire/"+mapping.FollowUpQuestionnaireID, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the follow-up Questionnaire: %d", resp.StatusCode)
	}
	if q := decodeJSON(t, body); q["url"] != socialrx.FollowUpQuestionnaire || q["version"] != socialrx.FollowUpQuestionnaireVersion || q["status"] != "active" {
		t.Errorf("follow-up Questionnaire: url %v version %v status %v", q["url"], q["version"], q["status"])
	}

	// The program report's Measures, and the OHIP fee codes.
	for _, id := range mapping.MeasureIDs {
		resp, body = do(t, http.MethodGet, m.URL()+"/fhir/Measure?url="+mapping.MeasureBase+id, nil)
		if resp.StatusCode != http.StatusOK || decodeJSON(t, body)["total"] != json.Number("1") {
			t.Errorf("Measure?url=...%s: %d %s", id, resp.StatusCode, truncate(body))
		}
	}
	resp, body = do(t, http.MethodGet, m.URL()+"/fhir/CodeSystem/ohip-fee-code", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "K037") {
		t.Errorf("CodeSystem/ohip-fee-code: %d %s", resp.StatusCode, truncate(body))
	}

	n, err := seedTerminology(context.Background(), m.Store)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("seeding again wrote %d resources, want 0", n)
	}
	res, err := m.Store.Read(context.Background(), "CodeSystem", "need-domain")
	if err != nil || res.VersionID != 1 {
		t.Errorf("CodeSystem/need-domain after a second seed: version %v, err %v; want 1", res, err)
	}
}
