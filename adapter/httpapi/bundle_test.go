package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

const (
	patientUUID = "urn:uuid:0b1d7a4e-9c5f-4a7e-8f51-3a2b1c0d9e8f"
	otherUUID   = "urn:uuid:7f3e2d1c-0b9a-4876-9543-210fedcba987"
)

// encounterTx is a transaction creating a Patient and an Observation that
// refers to it by urn:uuid, and upserting a Practitioner by PUT.
const encounterTx = `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"` + patientUUID + `","resource":{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"tx-1"}]},
  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:sys|tx-1"}},
 {"fullUrl":"urn:uuid:5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
  "subject":{"reference":"` + patientUUID + `"},"performer":[{"reference":"Practitioner/pr-1"}]},
  "request":{"method":"POST","url":"Observation"}},
 {"resource":{"resourceType":"Practitioner","id":"pr-1"},"request":{"method":"PUT","url":"Practitioner/pr-1"}}
]}`

func TestTransaction(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	m := ts.do(t, "POST", "/fhir", encounterTx).want(t, http.StatusOK).json(t)
	if m["type"] != "transaction-response" {
		t.Fatalf("type %v, want transaction-response", m["type"])
	}
	es := entries(m)
	if len(es) != 3 {
		t.Fatalf("%d response entries, want 3", len(es))
	}
	for i, want := range []string{"201 Created", "201 Created", "201 Created"} {
		resp := es[i]["response"].(map[string]any)
		if resp["status"] != want {
			t.Errorf("entry %d status %v, want %s", i, resp["status"], want)
		}
		if resp["etag"] != `W/"1"` || resp["lastModified"] == nil || !strings.Contains(resp["location"].(string), "/_history/1") {
			t.Errorf("entry %d response %v", i, resp)
		}
	}
	pid := es[0]["resource"].(map[string]any)["id"].(string)
	oid := es[1]["resource"].(map[string]any)["id"].(string)

	obs := ts.do(t, "GET", "/fhir/Observation/"+oid, "").want(t, http.StatusOK).json(t)
	if got := obs["subject"].(map[string]any)["reference"]; got != "Patient/"+pid {
		t.Errorf("Observation.subject = %v, want Patient/%s", got, pid)
	}

	// Sent again: the conditional create matches, so the Patient is not
	// created twice.
	m = ts.do(t, "POST", "/fhir", encounterTx).want(t, http.StatusOK).json(t)
	es = entries(m)
	if es[0]["response"].(map[string]any)["status"] != "200 OK" || es[0]["resource"].(map[string]any)["id"] != pid {
		t.Errorf("resent: entry 0 %v, want 200 OK with Patient %s", es[0]["response"], pid)
	}
	obs2 := es[1]["resource"].(map[string]any)
	if got := obs2["subject"].(map[string]any)["reference"]; got != "Patient/"+pid {
		t.Errorf("resent: Observation.subject = %v, want Patient/%s", got, pid)
	}
	r := ts.do(t, "GET", "/fhir/Patient?identifier=urn:sys|tx-1", "").want(t, http.StatusOK).json(t)
	if r["total"].(float64) != 1 {
		t.Errorf("%v Patients with tx-1, want 1", r["total"])
	}
}

func TestTransactionConditionalReference(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	pid := ts.create(t, "Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"cr"}]}`)
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:sys|cr"}},
	  "request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"cr"}],"active":true},
	  "request":{"method":"PUT","url":"Patient?identifier=urn:sys|cr"}}]}`
	es := entries(ts.do(t, "POST", "/fhir", tx).want(t, http.StatusOK).json(t))
	if got := es[0]["resource"].(map[string]any)["subject"].(map[string]any)["reference"]; got != "Patient/"+pid {
		t.Errorf("conditional reference resolved to %v, want Patient/%s", got, pid)
	}
	if es[1]["response"].(map[string]any)["status"] != "200 OK" || es[1]["resource"].(map[string]any)["id"] != pid {
		t.Errorf("conditional update entry: %v", es[1]["response"])
	}

	obsOnly := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:sys|cr"}},
	  "request":{"method":"POST","url":"Observation"}}]}`
	before := ts.count(t)
	none := strings.Replace(obsOnly, "|cr\"}}", "|nobody\"}}", 1)
	ts.do(t, "POST", "/fhir", none).want(t, http.StatusBadRequest).hasIssue(t, "invalid", "Bundle.entry[0].resource.subject")
	ts.create(t, "Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"cr"}]}`)
	before++
	ts.do(t, "POST", "/fhir", obsOnly).want(t, http.StatusPreconditionFailed).hasIssue(t, "conflict", "Bundle.entry[0].resource.subject")
	ts.do(t, "POST", "/fhir", tx).want(t, http.StatusPreconditionFailed).hasIssue(t, "conflict", "Bundle.entry[1].request.url")
	if got := ts.count(t); got != before {
		t.Errorf("failed transactions wrote: %v versions, want %v", got, before)
	}
}

// TestTransactionFailures checks that a failing entry fails the whole
// Bundle with the entry's path and that nothing is stored.
func TestTransactionFailures(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "PUT", "/fhir/Patient/p9", `{"resourceType":"Patient","id":"p9"}`).want(t, http.StatusCreated)
	baseline := ts.count(t)
	good := `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`
	tx := func(entries ...string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	tests := []struct {
		name, body      string
		status          int
		code, issuePath string
	}{
		{"urn:uuid to nothing", tx(good, `{"fullUrl":"`+patientUUID+`","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"`+otherUUID+`"}},"request":{"method":"POST","url":"Observation"}}`),
			400, "invalid", "Bundle.entry[1].resource.subject"},
		{"invalid date mid-transaction", tx(good, `{"resource":{"resourceType":"Patient","birthDate":"1970-02-30x"},"request":{"method":"POST","url":"Patient"}}`, good),
			422, "value", "Bundle.entry[1].resource.birthDate"},
		{"missing required element mid-transaction", tx(good, `{"resource":{"resourceType":"Task","status":"requested"},"request":{"method":"POST","url":"Task"}}`, good),
			422, "required", "Bundle.entry[1].resource.intent"},
		{"code outside its required value set", tx(good, `{"resource":{"resourceType":"Task","status":"bogus","intent":"order"},"request":{"method":"PUT","url":"Task/t1"}}`),
			422, "code-invalid", "Bundle.entry[1].resource.status"},
		{"duplicate fullUrl", tx(`{"fullUrl":"`+patientUUID+`","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`, good, `{"fullUrl":"`+patientUUID+`","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`),
			400, "invalid", "Bundle.entry[2].fullUrl"},
		{"stale ifMatch", tx(good, `{"resource":{"resourceType":"Patient","id":"p9"},"request":{"method":"PUT","url":"Patient/p9","ifMatch":"W/\"4\""}}`),
			412, "conflict", "Bundle.entry[1]"},
		{"ifMatch on a missing resource", tx(good, `{"resource":{"resourceType":"Patient","id":"p8"},"request":{"method":"PUT","url":"Patient/p8","ifMatch":"W/\"1\""}}`),
			404, "not-found", "Bundle.entry[1]"},
		{"bad ifMatch", tx(good, `{"resource":{"resourceType":"Patient","id":"p9"},"request":{"method":"PUT","url":"Patient/p9","ifMatch":"four"}}`),
			400, "invalid", "Bundle.entry[1].request.ifMatch"},
		{"conditional delete without a search", tx(good, `{"request":{"method":"DELETE","url":"Patient?_format=json"}}`),
			400, "invalid", "Bundle.entry[1].request.url"},
		{"type mismatch", tx(good, `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}`),
			400, "invalid", "Bundle.entry[1].resource"},
		{"unknown type", tx(good, `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Foo"}}`),
			404, "not-supported", "Bundle.entry[1].request.url"},
		{"put id mismatch", tx(good, `{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/b"}}`),
			400, "invalid", "Bundle.entry[1].resource.id"},
		{"patch without a JSON Patch Binary", tx(good, `{"resource":{"resourceType":"Binary"},"request":{"method":"PATCH","url":"Patient/a"}}`),
			415, "not-supported", "Bundle.entry[1].resource"},
		{"FHIRPath patch", tx(good, `{"resource":{"resourceType":"Parameters"},"request":{"method":"PATCH","url":"Patient/a"}}`),
			415, "not-supported", "Bundle.entry[1].resource"},
		{"conditional patch", tx(good, `{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W10="},"request":{"method":"PATCH","url":"Patient?identifier=x"}}`),
			400, "invalid", "Bundle.entry[1].request.url"},
		{"same resource twice", tx(`{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}}`, `{"request":{"method":"DELETE","url":"Patient/a"}}`),
			400, "invalid", "Bundle.entry[1]"},
		{"missing request", tx(good, `{"resource":{"resourceType":"Patient"}}`),
			400, "required", "Bundle.entry[1].request"},
		{"a Bundle as an entry", tx(good, `{"resource":{"resourceType":"Bundle","type":"collection"},"request":{"method":"POST","url":"Bundle"}}`),
			404, "not-supported", "Bundle.entry[1].request.url"},
		{"a Bundle posted to the base in an entry", tx(good, `{"resource":{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]},"request":{"method":"POST","url":"/"}}`),
			400, "invalid", "Bundle.entry[1].request.url"},
		{"not a bundle type we run", `{"resourceType":"Bundle","type":"collection"}`,
			400, "invalid", "Bundle.type"},
		{"not a bundle", `{"resourceType":"Patient"}`,
			400, "invalid", "Bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/fhir", tt.body).want(t, tt.status)
			r.hasIssue(t, tt.code, tt.issuePath)
			if got := ts.count(t); got != baseline {
				t.Errorf("failed transaction stored %v versions", got-baseline)
			}
		})
	}
	ts.do(t, "POST", "/fhir", tx(good)).want(t, http.StatusOK)
}

func TestTransactionOrderAndGet(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "PUT", "/fhir/Patient/old", `{"resourceType":"Patient","id":"old"}`).want(t, http.StatusCreated)
	// GET listed first runs last and sees the transaction's writes; DELETE
	// listed last runs first.
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"request":{"method":"GET","url":"Patient?_id=new"}},
	 {"resource":{"resourceType":"Patient","id":"new"},"request":{"method":"PUT","url":"Patient/new"}},
	 {"request":{"method":"DELETE","url":"Patient/old"}}]}`
	es := entries(ts.do(t, "POST", "/fhir", tx, "Prefer", "return=minimal").want(t, http.StatusOK).json(t))
	search := es[0]["resource"].(map[string]any)
	if search["type"] != "searchset" || search["total"].(float64) != 1 {
		t.Errorf("GET entry saw %v, want a searchset with the new Patient", search)
	}
	if _, ok := es[1]["resource"]; ok {
		t.Error("return=minimal: write entry carries its resource")
	}
	if es[2]["response"].(map[string]any)["status"] != "200 OK" {
		t.Errorf("DELETE entry: %v", es[2]["response"])
	}
	ts.do(t, "GET", "/fhir/Patient/old", "").want(t, http.StatusGone)
}

func TestBatch(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	pid := ts.create(t, "Patient", `{"resourceType":"Patient"}`)
	b := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":{"resourceType":"Patient","gender":"male"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Patient","birthDate":"1970-99-99"},"request":{"method":"POST","url":"Patient"}},
	 {"request":{"method":"GET","url":"Patient/` + pid + `"}},
	 {"request":{"method":"GET","url":"Patient?gender=male"}},
	 {"request":{"method":"GET","url":"Patient/` + pid + `/_history/1"}},
	 {"request":{"method":"GET","url":"Patient/missing"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"` + patientUUID + `"}},"request":{"method":"POST","url":"Observation"}}
	]}`
	m := ts.do(t, "POST", "/fhir", b).want(t, http.StatusOK).json(t)
	if m["type"] != "batch-response" {
		t.Fatalf("type %v", m["type"])
	}
	es := entries(m)
	want := []string{"201 Created", "422 Unprocessable Entity", "200 OK", "200 OK", "200 OK", "404 Not Found", "400 Bad Request"}
	if len(es) != len(want) {
		t.Fatalf("%d entries, want %d", len(es), len(want))
	}
	for i, w := range want {
		resp := es[i]["response"].(map[string]any)
		if resp["status"] != w {
			t.Errorf("entry %d: status %v, want %s", i, resp["status"], w)
		}
		if strings.HasPrefix(w, "4") {
			oo, _ := resp["outcome"].(map[string]any)
			if oo["resourceType"] != "OperationOutcome" {
				t.Errorf("entry %d: no outcome: %v", i, resp)
			}
		}
	}
	bad := es[1]["response"].(map[string]any)["outcome"].(map[string]any)["issue"].([]any)[0].(map[string]any)
	if bad["expression"].([]any)[0] != "Bundle.entry[1].resource.birthDate" {
		t.Errorf("entry 1 outcome path: %v", bad["expression"])
	}
	if total := es[3]["resource"].(map[string]any)["total"].(float64); total != 1 {
		t.Errorf("batch search total %v, want 1", total)
	}
	// Only the good POST was stored: the first Patient plus one.
	if got := ts.count(t); got != 2 {
		t.Errorf("%v versions stored, want 2", got)
	}
}

// TestSpecBatchOfGets runs a batch of GETs shaped like the R4 example
// Bundle-bundle-request-simplesummary.
func TestSpecBatchOfGets(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "PUT", "/fhir/Patient/example", `{"resourceType":"Patient","id":"example"}`).want(t, http.StatusCreated)
	b := `{"resourceType":"Bundle","id":"bundle-request-simplesummary","type":"batch","entry":[
	 {"request":{"method":"GET","url":"/Patient/example"}},
	 {"request":{"method":"GET","url":"/MedicationStatement?patient=example&_list=$current-medications"}},
	 {"request":{"method":"GET","url":"/AllergyIntolerance?patient=example&_list=$current-allergies"}},
	 {"request":{"method":"GET","url":"/Condition?patient=example&_list=$current-problems"}},
	 {"request":{"method":"GET","url":"/MedicationStatement?patient=example&notgiven:not=true"}}]}`
	es := entries(ts.do(t, "POST", "/fhir", b).want(t, http.StatusOK).json(t))
	want := []string{"200 OK", "404 Not Found", "404 Not Found", "200 OK", "404 Not Found"}
	for i, w := range want {
		if got := es[i]["response"].(map[string]any)["status"]; got != w {
			t.Errorf("entry %d: %v, want %s", i, got, w)
		}
	}
}

// badBundles are odd bodies for the base; FuzzParseOp fuzzes the same
// parsing without a store.
var badBundles = []string{
	`{`,
	`[]`,
	`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?_id=1"}}]}`,
	`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:x","resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?x=1"}}]}`,
	`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"Patient/1/_history/0"}},{"request":{"method":"POST","url":"/"}}]}`,
	`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Observation","subject":{"reference":"Patient?"}},"request":{"method":"POST","url":"Observation"}}]}`,
	`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"metadata"}},{"request":{"method":"GET","url":"Patient/_history"}},{"request":{"method":"POST","url":"$process-message"}}]}`,
	`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PUT","url":"Patient/a%zz?b=%"}}]}`,
}

// TestBadBundles checks that bad input is never a 5xx and every error an
// OperationOutcome.
func TestBadBundles(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	for _, body := range badBundles {
		r := ts.do(t, "POST", "/fhir", body)
		if r.status >= 500 {
			t.Errorf("status %d for %s: %s", r.status, body, r.body)
		}
		if r.status >= 400 {
			r.outcome(t)
		}
	}
	if got := ts.count(t); got != 0 {
		t.Errorf("bad bundles stored %v versions", got)
	}
}

// TestEmptyBundles: a transaction or batch with no entries, written without
// entry or (as many clients do) with "entry": [], is 200 with an empty
// response Bundle; an empty entry array does not excuse other errors.
func TestEmptyBundles(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	tests := []struct {
		body, want string
	}{
		{`{"resourceType":"Bundle","type":"transaction"}`, "transaction-response"},
		{`{"resourceType":"Bundle","type":"transaction","entry":[]}`, "transaction-response"},
		{`{"resourceType":"Bundle","type":"transaction","entry":[ ]}`, "transaction-response"},
		{`{"resourceType":"Bundle","type":"batch","entry":[]}`, "batch-response"},
	}
	for _, tt := range tests {
		r := ts.do(t, "POST", "/fhir", tt.body).want(t, http.StatusOK)
		m := r.json(t)
		if m["type"] != tt.want || m["entry"] != nil {
			t.Errorf("POST %s: type %v, entry %v; want type %s and no entry", tt.body, m["type"], m["entry"], tt.want)
		}
	}
	ts.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"nope","entry":[]}`).want(t, http.StatusBadRequest).outcome(t)
	ts.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":{}}`).want(t, http.StatusBadRequest).outcome(t)
	if n := ts.count(t); n != 0 {
		t.Errorf("empty Bundles stored %v versions, want 0", n)
	}
}

// TestBundleR4Rules: in a transaction the first entry that breaks R4 rules
// fails the Bundle (422) with every issue of that entry, and nothing is
// stored; in a batch each such entry gets its own 422 and outcome, the
// others succeed; a transaction or batch with a duplicate fullUrl is
// refused (400).
func TestBundleR4Rules(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	good := `{"resource":{"resourceType":"Task","status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}}`
	badTask := `{"resource":{"resourceType":"Task","status":"bogus"},"request":{"method":"POST","url":"Task"}}`
	badObs := `{"resource":{"resourceType":"Observation"},"request":{"method":"POST","url":"Observation"}}`
	bundle := func(typ string, entries ...string) string {
		return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
	}

	r := ts.do(t, "POST", "/fhir", bundle("transaction", good, badTask, badObs)).want(t, http.StatusUnprocessableEntity)
	if diff := cmp.Diff([]string{"code-invalid@Bundle.entry[1].resource.status", "required@Bundle.entry[1].resource.intent"}, r.outcome(t)); diff != "" {
		t.Errorf("transaction issues (-want +got):\n%s", diff)
	}
	if got := ts.count(t); got != 0 {
		t.Errorf("a refused transaction stored %v versions", got)
	}

	// bdl-7 holds for a batch as for a transaction (issue 12: a batch with
	// a duplicate fullUrl was run).
	for _, typ := range []string{"transaction", "batch"} {
		r = ts.do(t, "POST", "/fhir", bundle(typ,
			`{"fullUrl":"urn:uuid:3f1d2c8e-0b7a-4c55-9f0e-1a2b3c4d5e6f",`+good[1:],
			`{"fullUrl":"urn:uuid:3f1d2c8e-0b7a-4c55-9f0e-1a2b3c4d5e6f",`+good[1:],
			good,
			`{"fullUrl":"urn:uuid:3f1d2c8e-0b7a-4c55-9f0e-1a2b3c4d5e6f",`+badObs[1:])).want(t, http.StatusBadRequest)
		if diff := cmp.Diff([]string{"invalid@Bundle.entry[1].fullUrl", "invalid@Bundle.entry[3].fullUrl"}, r.outcome(t)); diff != "" {
			t.Errorf("%s: duplicate fullUrl issues (-want +got):\n%s", typ, diff)
		}
		if !strings.Contains(string(r.body), "Bundle.entry[0]") {
			t.Errorf("%s: the outcome does not name the first entry with the fullUrl: %s", typ, r.body)
		}
		if got := ts.count(t); got != 0 {
			t.Errorf("a refused %s stored %v versions", typ, got)
		}
	}
	// bdl-7 lets entries share a fullUrl when their meta.versionId differ:
	// a batch runs them; a transaction, whose references resolve by
	// fullUrl, still refuses them.
	withVersion := func(v string) string {
		return `{"fullUrl":"urn:uuid:3f1d2c8e-0b7a-4c55-9f0e-1a2b3c4d5e6f","resource":{"resourceType":"Task","meta":{"versionId":"` + v + `"},"status":"requested","intent":"order"},"request":{"method":"POST","url":"Task"}}`
	}
	ts.do(t, "POST", "/fhir", bundle("transaction", withVersion("1"), withVersion("2"))).want(t, http.StatusBadRequest)
	es := entries(ts.do(t, "POST", "/fhir", bundle("batch", withVersion("1"), withVersion("2"))).want(t, http.StatusOK).json(t))
	for i, e := range es {
		if st := e["response"].(map[string]any)["status"]; st != "201 Created" {
			t.Errorf("batch entry %d with its own versionId: %v, want 201 Created", i, st)
		}
	}
	if got := ts.count(t); got != 2 {
		t.Errorf("the batch of two versionIds stored %v versions, want 2", got)
	}

	es = entries(ts.do(t, "POST", "/fhir", bundle("batch", good, badTask, badObs, good)).want(t, http.StatusOK).json(t))
	wantStatus := []string{"201 Created", "422 Unprocessable Entity", "422 Unprocessable Entity", "201 Created"}
	wantIssues := [][]string{nil,
		{"code-invalid@Bundle.entry[1].resource.status", "required@Bundle.entry[1].resource.intent"},
		{"required@Bundle.entry[2].resource.status", "required@Bundle.entry[2].resource.code"}, nil}
	if len(es) != len(wantStatus) {
		t.Fatalf("%d batch entries, want %d", len(es), len(wantStatus))
	}
	for i, e := range es {
		resp := e["response"].(map[string]any)
		if resp["status"] != wantStatus[i] {
			t.Errorf("batch entry %d: status %v, want %s", i, resp["status"], wantStatus[i])
		}
		var got []string
		if oo, ok := resp["outcome"].(map[string]any); ok {
			for _, is := range oo["issue"].([]any) {
				im := is.(map[string]any)
				got = append(got, im["code"].(string)+"@"+im["expression"].([]any)[0].(string))
			}
		}
		if diff := cmp.Diff(wantIssues[i], got); diff != "" {
			t.Errorf("batch entry %d outcome (-want +got):\n%s", i, diff)
		}
	}
	if got := ts.count(t); got != 4 {
		t.Errorf("batch stored %v versions, want the 2 good Tasks besides the 2 before", got)
	}
}

// TestTransactionConditionsTogether: a transaction's ifNoneExist
// conditions, searched together (matchCreates), answer as one by one would:
// each entry its own match or none, several matches a 412 at that entry's
// path, and a condition that matched lately but matches nothing now (the
// resource deleted) creates anew.
func TestTransactionConditionsTogether(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	tx := func(entries ...string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	create := func(typ, ident string) string {
		return `{"resource":{"resourceType":"` + typ + `","identifier":[{"system":"urn:sys","value":"` + ident + `"}]},"request":{"method":"POST","url":"` + typ + `","ifNoneExist":"identifier=urn:sys|` + ident + `"}}`
	}
	ids := func(m map[string]any) (ids, statuses []string) {
		for _, e := range entries(m) {
			ids = append(ids, e["resource"].(map[string]any)["id"].(string))
			statuses = append(statuses, e["response"].(map[string]any)["status"].(string))
		}
		return ids, statuses
	}
	first, st := ids(ts.do(t, "POST", "/fhir", tx(create("Organization", "o-1"), create("Patient", "p-1"), create("Patient", "p-2"))).want(t, http.StatusOK).json(t))
	if diff := cmp.Diff([]string{"201 Created", "201 Created", "201 Created"}, st); diff != "" {
		t.Errorf("first transaction (-want +got):\n%s", diff)
	}
	again, st := ids(ts.do(t, "POST", "/fhir", tx(create("Organization", "o-1"), create("Patient", "p-1"), create("Patient", "p-3"))).want(t, http.StatusOK).json(t))
	if diff := cmp.Diff([]string{"200 OK", "200 OK", "201 Created"}, st); diff != "" {
		t.Errorf("second transaction (-want +got):\n%s", diff)
	}
	if again[0] != first[0] || again[1] != first[1] || again[2] == first[2] {
		t.Errorf("second transaction ids %v; first %v: the matches must be the same resources, the new one another", again, first)
	}
	// Two Patients with one identifier: that entry's condition fails.
	ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"twin"}]}`).want(t, http.StatusCreated)
	ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"twin"}]}`).want(t, http.StatusCreated)
	r := ts.do(t, "POST", "/fhir", tx(create("Organization", "o-1"), create("Patient", "twin"))).want(t, http.StatusPreconditionFailed)
	r.outcome(t)
	if !strings.Contains(string(r.body), `Bundle.entry[1].request.ifNoneExist`) {
		t.Errorf("412 outcome does not name entry 1's ifNoneExist: %s", r.body)
	}
	// A condition with a NUL byte among them: that entry's 400, not a 5xx.
	nul := `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a%00b"}}`
	ts.do(t, "POST", "/fhir", tx(create("Organization", "o-1"), nul)).want(t, http.StatusBadRequest).outcome(t)
	// The Organization's condition matched lately; with the Organization
	// gone, it matches nothing and the entry creates it again.
	ts.do(t, "DELETE", "/fhir/Organization/"+first[0], "").want(t, http.StatusOK)
	third, st := ids(ts.do(t, "POST", "/fhir", tx(create("Organization", "o-1"), create("Patient", "p-1"))).want(t, http.StatusOK).json(t))
	if diff := cmp.Diff([]string{"201 Created", "200 OK"}, st); diff != "" {
		t.Errorf("after the delete (-want +got):\n%s", diff)
	}
	if third[0] == first[0] || third[1] != first[1] {
		t.Errorf("after the delete ids %v; first %v", third, first)
	}
}
