package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// The encounter used by both stores' ingest benchmarks
// (BenchmarkIngestEncounter, docs/performance.md "Issue 5"): the resources
// of an EMR encounter Bundle with ids that change per op.

// EncounterResource is one resource of an encounter to write.
type EncounterResource struct {
	Type, ID string
	Body     []byte
}

// EncounterTag is the part of every id that changes per op.
func EncounterTag(op int) string { return fmt.Sprintf("op%07d", op) }

// EncounterTemplate reads the Bundle: resources with ids "e-<tag>-<n>" and
// urn:uuid references rewritten to Type/id, for tag EncounterTag(0).
func EncounterTemplate(b testing.TB, path string) []EncounterResource {
	raw, err := os.ReadFile(path)
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
	var res []EncounterResource
	var pairs []string
	for k, e := range bundle.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("e-%s-%d", EncounterTag(0), k)
		body := bytes.TrimSpace(e.Resource)
		body = append([]byte(`{"id":"`+id+`",`), body[1:]...)
		res = append(res, EncounterResource{Type: head.ResourceType, ID: id, Body: body})
		pairs = append(pairs, `"`+e.FullURL+`"`, `"`+head.ResourceType+"/"+id+`"`)
	}
	rp := strings.NewReplacer(pairs...)
	for i := range res {
		res[i].Body = []byte(rp.Replace(string(res[i].Body)))
	}
	return res
}

// EncounterReplacer rewrites the ids of op 0 to those of op, the store's
// derived Task ids (a hash of the ServiceRequest id) included.
func EncounterReplacer(tmpl []EncounterResource, op int) *strings.Replacer {
	pairs := []string{EncounterTag(0), EncounterTag(op)}
	for _, r := range tmpl {
		if r.Type == "ServiceRequest" {
			to := strings.ReplaceAll(r.ID, EncounterTag(0), EncounterTag(op))
			pairs = append(pairs, workflow.FollowUpTaskID(r.ID), workflow.FollowUpTaskID(to),
				workflow.PatientTaskID(r.ID), workflow.PatientTaskID(to))
		}
	}
	return strings.NewReplacer(pairs...)
}

// EncounterOps gives n encounters, ops first..first+n-1 (built before the timer).
func EncounterOps(tmpl []EncounterResource, first, n int) [][]EncounterResource {
	ops := make([][]EncounterResource, n)
	for i := range ops {
		rp := EncounterReplacer(tmpl, first+i)
		ops[i] = make([]EncounterResource, len(tmpl))
		for k, r := range tmpl {
			ops[i][k] = EncounterResource{Type: r.Type, ID: rp.Replace(r.ID), Body: []byte(rp.Replace(string(r.Body)))}
		}
	}
	return ops
}

// IngestEncounter writes one encounter in one transaction through the
// workflow, as the REST API does.
func IngestEncounter(ctx context.Context, s socialrx.Store, enc []EncounterResource) error {
	return workflow.New(s, workflow.Options{}).Transact(ctx, func(tx *workflow.Tx) error {
		for _, r := range enc {
			if _, err := tx.Create(ctx, r.Type, r.ID, r.Body); err != nil {
				return fmt.Errorf("%s/%s: %w", r.Type, r.ID, err)
			}
		}
		return nil
	})
}
