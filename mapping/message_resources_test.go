package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// msgStore is a resource store keyed "Type/id", read through its resolver.
type msgStore map[string][]byte

func (s msgStore) resolver() Resolver {
	return func(ref string) ([]byte, bool) {
		b, ok := s[ref]
		return b, ok
	}
}

// keysOf returns "Type/id" of each body.
func keysOf(t *testing.T, bodies [][]byte) []string {
	t.Helper()
	var keys []string
	for _, b := range bodies {
		h, ok := readHead(b)
		if !ok {
			t.Fatalf("not a resource: %.80s", b)
		}
		keys = append(keys, h.ResourceType+"/"+h.ID)
	}
	return keys
}

// navigatorStore reads testdata/messages/navigator-referral.json: each
// entry resource, bytes as in the file, under "Type/id".
func navigatorStore(t testing.TB) msgStore {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "messages", "navigator-referral.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, issues := fhir.ParseBundle(body)
	if b == nil {
		t.Fatalf("navigator-referral.json: %v", issues)
	}
	s := msgStore{}
	for _, e := range b.Entries {
		h, _ := readHead(e.Resource)
		s[h.ResourceType+"/"+h.ID] = e.Resource
	}
	return s
}

// encounterStore turns the transaction Bundle
// testdata/encounters/02-housing-warm-handoff.json into stored resources:
// each resource gets the UUID of its fullUrl as id, every urn:uuid
// reference becomes "Type/<uuid>", and the body is written indented (so
// that a re-encoded body would show). It returns the store and the key of
// the referral Task.
func encounterStore(t testing.TB) (msgStore, string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "testdata", "encounters", "02-housing-warm-handoff.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, issues := fhir.ParseBundle(body)
	if b == nil {
		t.Fatalf("02-housing-warm-handoff.json: %v", issues)
	}
	refs := map[string]string{}
	for _, e := range b.Entries {
		h, _ := readHead(e.Resource)
		refs[e.FullURL] = h.ResourceType + "/" + strings.TrimPrefix(e.FullURL, "urn:uuid:")
	}
	s := msgStore{}
	task := ""
	for _, e := range b.Entries {
		res, err := fhir.RewriteReferences(e.Resource, func(ref string) (string, bool) {
			r, ok := refs[ref]
			return r, ok
		})
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(res))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		key := refs[e.FullURL]
		doc["id"] = strings.TrimPrefix(e.FullURL, "urn:uuid:")
		out, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		s[key] = out
		if doc["resourceType"] == "Task" {
			task = key
		}
	}
	return s, task
}

// errCodePaths returns the code and issue paths of a *socialrx.Error.
func errCodePaths(t *testing.T, err error) (string, []string) {
	t.Helper()
	if err == nil {
		return "", nil
	}
	var e *socialrx.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *socialrx.Error", err)
	}
	var paths []string
	for _, is := range e.Issues {
		paths = append(paths, is.Path)
	}
	return e.Code, paths
}

func TestMessageResources(t *testing.T) {
	enc, encTask := encounterStore(t)
	nav := navigatorStore(t)
	const (
		srU   = "ServiceRequest/8e7cf393-0eb4-5fe5-a923-b82482c624c0"
		patU  = "Patient/5f37733e-7343-5779-96a8-97de8db10d66"
		pracU = "Practitioner/0b7a1098-e88c-5566-8f56-7079c280d886"
		hcsU  = "HealthcareService/bfa30bcf-114d-51f7-a7a0-8678922fab4e"
		orgU  = "Organization/537278bc-cb97-5def-aece-147728bda481"
	)
	// small is a referral whose ServiceRequest has no subject, an
	// Organization requester only on the Task, and a HealthcareService
	// performer whose providedBy is also the Task.owner.
	small := msgStore{
		"Task/t":              []byte(`{"resourceType":"Task","id":"t","status":"requested","intent":"order","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/s"},"for":{"reference":"Patient/p"},"requester":{"reference":"Organization/req"},"owner":{"reference":"http://elsewhere.example/fhir/Organization/prov"}}`),
		"ServiceRequest/s":    []byte(`{"resourceType":"ServiceRequest","id":"s","status":"active","intent":"order","subject":{"reference":"urn:uuid:0b7a1098-e88c-5566-8f56-7079c280d886"},"requester":{"reference":"Practitioner/gone"},"performer":[{"reference":"HealthcareService/h"},{"reference":"Organization/second"}],"supportingInfo":[{"reference":"QuestionnaireResponse/wrongtype"}]}`),
		"Patient/p":           []byte(`{"resourceType":"Patient","id":"p"}`),
		"Organization/req":    []byte(`{"resourceType":"Organization","id":"req"}`),
		"HealthcareService/h": []byte(`{"resourceType":"HealthcareService","id":"h","providedBy":{"reference":"Organization/prov"}}`),
		"Organization/prov":   []byte(`{"resourceType":"Organization","id":"prov"}`),
		"Organization/second": []byte(`{"resourceType":"Organization","id":"second"}`),
		// A body of another type than its key is left out.
		"QuestionnaireResponse/wrongtype": []byte(`{"resourceType":"Observation","id":"wrongtype"}`),
	}
	// others has a requester and a performer of types not carried.
	others := msgStore{
		"Task/t":           []byte(`{"resourceType":"Task","id":"t","code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/s"},"requester":{"reference":"Device/d"}}`),
		"ServiceRequest/s": []byte(`{"resourceType":"ServiceRequest","id":"s","subject":{"reference":"Patient/p"},"performer":[{"reference":"RelatedPerson/rp"}]}`),
		"Patient/p":        []byte(`{"resourceType":"Patient","id":"p"}`),
		"Device/d":         []byte(`{"resourceType":"Device","id":"d"}`),
		"RelatedPerson/rp": []byte(`{"resourceType":"RelatedPerson","id":"rp","patient":{"reference":"Patient/p"}}`),
	}
	tests := []struct {
		name  string
		store msgStore
		task  string
		want  []string
	}{
		{"encounter 02 warm hand-off", enc, encTask, []string{encTask, srU, patU, pracU, hcsU, orgU}},
		{"navigator referral", nav, "Task/rt-2", []string{
			"Task/rt-2", "ServiceRequest/sr-2", "Patient/pat-2",
			"PractitionerRole/prr-gp", "Practitioner/prac-gp", "Organization/org-fht",
			"PractitionerRole/prr-nav", "Organization/org-cc", "QuestionnaireResponse/qr-1",
		}},
		{"fallbacks to the Task", small, "Task/t", []string{
			"Task/t", "ServiceRequest/s", "Patient/p", "Organization/req", "HealthcareService/h", "Organization/prov",
		}},
		{"requester and performer of other types", others, "Task/t", []string{"Task/t", "ServiceRequest/s", "Patient/p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MessageResources(tt.store[tt.task], tt.store.resolver())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, keysOf(t, got)); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			for i, b := range got {
				if !bytes.Equal(b, tt.store[tt.want[i]]) {
					t.Errorf("resource %d (%s) is not the stored body", i, tt.want[i])
				}
			}
		})
	}
}

func TestMessageResourcesErrors(t *testing.T) {
	const fulfill = `"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]}`
	store := msgStore{"ServiceRequest/s": []byte(`{"resourceType":"ServiceRequest","id":"s"}`), "ServiceRequest/p": []byte(`{"resourceType":"Patient","id":"p"}`)}
	tests := []struct {
		name      string
		task      string
		wantCode  string
		wantPaths []string
	}{
		{"not JSON", `{"resourceType":`, socialrx.EINVALID, []string{"Task"}},
		{"not a Task", `{"resourceType":"Patient","id":"t"}`, socialrx.EINVALID, []string{"Task.resourceType"}},
		{"not a fulfill Task", `{"resourceType":"Task","id":"t","focus":{"reference":"ServiceRequest/s"}}`, socialrx.EUNPROCESSABLE, []string{"Task.code"}},
		{"no focus, no code, no id", `{"resourceType":"Task"}`, socialrx.EUNPROCESSABLE, []string{"Task.id", "Task.code", "Task.focus"}},
		{"focus not a ServiceRequest", `{"resourceType":"Task","id":"t",` + fulfill + `,"focus":{"reference":"Patient/s"}}`, socialrx.EUNPROCESSABLE, []string{"Task.focus.reference"}},
		{"focus urn", `{"resourceType":"Task","id":"t",` + fulfill + `,"focus":{"reference":"urn:uuid:0b7a1098-e88c-5566-8f56-7079c280d886"}}`, socialrx.EUNPROCESSABLE, []string{"Task.focus.reference"}},
		{"focus not found", `{"resourceType":"Task","id":"t",` + fulfill + `,"focus":{"reference":"ServiceRequest/missing"}}`, socialrx.EUNPROCESSABLE, []string{"Task.focus"}},
		{"focus body of another type", `{"resourceType":"Task","id":"t",` + fulfill + `,"focus":{"reference":"ServiceRequest/p"}}`, socialrx.EUNPROCESSABLE, []string{"Task.focus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MessageResources([]byte(tt.task), store.resolver())
			if got != nil {
				t.Errorf("resources = %d, want none", len(got))
			}
			checkErr(t, err)
			code, paths := errCodePaths(t, err)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}
