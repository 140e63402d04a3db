package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

// The mapping benchmarks (docs/performance.md, "Issue 5"): the resources of
// the EMR encounter Bundle testdata/encounters/02 mapped to the domain and
// back, against encoding/json decoding the same Bundle into map[string]any
// and encoding it again.

const benchEncounter = "../testdata/encounters/02-housing-warm-handoff.json"

type benchResource struct {
	typ, id string
	body    []byte
}

// benchEncounterResources reads the Bundle and gives each entry an id
// ("bench-<n>") and its urn:uuid references as Type/id, once.
func benchEncounterResources(b *testing.B) (raw []byte, res []benchResource) {
	raw, err := os.ReadFile(benchEncounter)
	if err != nil {
		b.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		b.Fatal(err)
	}
	var pairs []string
	for k, e := range bundle.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("bench-%d", k)
		body := bytes.TrimSpace(e.Resource)
		body = append([]byte(`{"id":"`+id+`",`), body[1:]...)
		res = append(res, benchResource{typ: head.ResourceType, id: id, body: body})
		pairs = append(pairs, `"`+e.FullURL+`"`, `"`+head.ResourceType+"/"+id+`"`)
	}
	rp := strings.NewReplacer(pairs...)
	for i := range res {
		res[i].body = []byte(rp.Replace(string(res[i].body)))
		if !json.Valid(res[i].body) {
			b.Fatalf("%s/%s: invalid JSON after rewriting", res[i].typ, res[i].id)
		}
	}
	return raw, res
}

func BenchmarkMapEncounter(b *testing.B) {
	raw, res := benchEncounterResources(b)
	byRef := map[string][]byte{}
	for _, r := range res {
		byRef[r.typ+"/"+r.id] = r.body
	}
	resolve := Resolver(func(ref string) ([]byte, bool) { body, ok := byRef[ref]; return body, ok })
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	counts := map[string]int{}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		clear(counts)
		for _, r := range res {
			switch r.typ {
			case "Observation":
				fs, err := FindingsFromObservation(r.body)
				if err != nil {
					b.Fatal(err)
				}
				counts["findings"] += len(fs)
			case "Condition":
				n, ok, err := NeedFromCondition(r.body)
				if err != nil || !ok {
					b.Fatalf("need: %v %v", ok, err)
				}
				counts["needs"]++
				_ = ConditionFromNeed(*n, r.id)
			case "ServiceRequest":
				p, err := PrescriptionFromServiceRequest(r.body, resolve)
				if err != nil {
					b.Fatal(err)
				}
				q := *p
				if q.AuthoredOn.IsZero() {
					q.AuthoredOn = now
				}
				f := socialrx.FollowUp{PrescriptionID: p.ID, PatientID: p.PatientID, Status: "requested",
					Due: socialrx.FollowUpDue(q, nil), Owner: p.RequesterID, Channel: socialrx.ContactPhone}
				_ = FollowUpTask(f, "fu-"+p.ID, now)
				counts["prescriptions"]++
			case "Task":
				if _, ok, err := ReferralFromTask(r.body); err != nil || !ok {
					b.Fatalf("referral: %v %v", ok, err)
				}
				counts["referrals"]++
			}
		}
	}
	if counts["findings"] == 0 || counts["needs"] != 1 || counts["prescriptions"] != 1 || counts["referrals"] != 1 {
		b.Fatalf("mapped %v", counts)
	}
}

func BenchmarkMapEncounterBaselineJSON(b *testing.B) {
	raw, _ := benchEncounterResources(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
