package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

const patientJSON = `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"p-1"}],"birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://x","valueString":"y"}]},"extension":[{"url":"http://w","valueDecimal":1.50}]}`

func TestCRUD(t *testing.T) {
	ts := newServer(t, httpapi.Config{})

	// create
	r := ts.do(t, "POST", "/fhir/Patient", patientJSON).want(t, http.StatusCreated)
	loc := r.header.Get("Location")
	m := regexp.MustCompile(`^http://127\.0\.0\.1:\d+/fhir/Patient/([0-9a-f-]{36})/_history/1$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("Location %q is not {base}/Patient/{uuid}/_history/1", loc)
	}
	id := m[1]
	if got := r.header.Get("ETag"); got != `W/"1"` {
		t.Errorf("ETag: got %q, want W/\"1\"", got)
	}
	if _, err := time.Parse(http.TimeFormat, r.header.Get("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q is not RFC 1123: %v", r.header.Get("Last-Modified"), err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
		t.Errorf("Content-Type: got %q", ct)
	}
	if !strings.Contains(string(r.body), `"valueDecimal":1.50`) || !strings.Contains(string(r.body), `"_birthDate"`) {
		t.Errorf("create response lost content: %s", r.body)
	}

	// read, vread
	r = ts.do(t, "GET", "/fhir/Patient/"+id, "").want(t, http.StatusOK)
	if got := r.json(t)["id"]; got != id {
		t.Errorf("read id: got %v, want %s", got, id)
	}
	ts.do(t, "GET", "/fhir/Patient/"+id, "", "If-None-Match", `W/"1"`).want(t, http.StatusNotModified)
	ts.do(t, "GET", "/fhir/Patient/"+id+"/_history/1", "").want(t, http.StatusOK)
	ts.do(t, "GET", "/fhir/Patient/"+id+"/_history/7", "").want(t, http.StatusNotFound).outcome(t)
	ts.do(t, "GET", "/fhir/Patient/"+id+"/_history/x", "").want(t, http.StatusNotFound).outcome(t)

	// update with If-Match, then a stale If-Match
	upd := strings.Replace(patientJSON, `"resourceType":"Patient"`, `"resourceType":"Patient","id":"`+id+`","active":true`, 1)
	r = ts.do(t, "PUT", "/fhir/Patient/"+id, upd, "If-Match", `W/"1"`).want(t, http.StatusOK)
	if got := r.header.Get("ETag"); got != `W/"2"` {
		t.Errorf("ETag after update: got %q", got)
	}
	if !strings.HasSuffix(r.header.Get("Location"), "/fhir/Patient/"+id+"/_history/2") {
		t.Errorf("Location after update: %q", r.header.Get("Location"))
	}
	ts.do(t, "PUT", "/fhir/Patient/"+id, upd, "If-Match", `W/"1"`).want(t, http.StatusPreconditionFailed).outcome(t)
	ts.do(t, "PUT", "/fhir/Patient/"+id, upd, "If-Match", `nope`).want(t, http.StatusBadRequest).outcome(t)

	// update as create
	r = ts.do(t, "PUT", "/fhir/Patient/new-1", `{"resourceType":"Patient","id":"new-1"}`).want(t, http.StatusCreated)
	if got := r.header.Get("ETag"); got != `W/"1"` {
		t.Errorf("ETag of update-as-create: got %q", got)
	}

	// delete, then read is 410, instance history has 3 versions
	r = ts.do(t, "DELETE", "/fhir/Patient/"+id, "").want(t, http.StatusOK)
	r.outcome(t)
	if got := r.header.Get("ETag"); got != `W/"3"` {
		t.Errorf("ETag of delete: got %q", got)
	}
	ts.do(t, "GET", "/fhir/Patient/"+id, "").want(t, http.StatusGone).outcome(t)
	ts.do(t, "DELETE", "/fhir/Patient/"+id, "", "Prefer", "return=minimal").want(t, http.StatusNoContent)
	h := ts.do(t, "GET", "/fhir/Patient/"+id+"/_history", "").want(t, http.StatusOK).json(t)
	if h["type"] != "history" || h["total"].(float64) != 3 {
		t.Errorf("instance history: type %v total %v, want history 3", h["type"], h["total"])
	}
	es := entries(h)
	if len(es) != 3 || es[0]["request"].(map[string]any)["method"] != "DELETE" {
		t.Errorf("instance history entries: %v", es)
	}
}

func TestPrefer(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	r := ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "Prefer", "return=minimal").want(t, http.StatusCreated)
	if len(r.body) != 0 || r.header.Get("Location") == "" || r.header.Get("ETag") == "" {
		t.Errorf("return=minimal: body %q, Location %q, ETag %q", r.body, r.header.Get("Location"), r.header.Get("ETag"))
	}
	r = ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","unknownThing":1}`, "Prefer", "return=OperationOutcome").want(t, http.StatusCreated)
	r.hasIssue(t, "informational", "")
	r.hasIssue(t, "structure", "Patient.unknownThing") // the warning, not a failure
	r = ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","unknownThing":1}`).want(t, http.StatusCreated)
	if r.json(t)["resourceType"] != "Patient" {
		t.Errorf("representation: %s", r.body)
	}
}

func TestConditionalCreate(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	id := ts.create(t, "Patient", patientJSON)
	r := ts.do(t, "POST", "/fhir/Patient", patientJSON, "If-None-Exist", "identifier=urn:sys|p-1").want(t, http.StatusOK)
	if got := r.json(t)["id"]; got != id {
		t.Errorf("If-None-Exist with one match: got id %v, want %s", got, id)
	}
	r = ts.do(t, "POST", "/fhir/Patient", patientJSON, "If-None-Exist", "identifier=urn:sys|p-2").want(t, http.StatusCreated)
	if r.json(t)["id"] == id {
		t.Error("If-None-Exist with no match did not create")
	}
	ts.create(t, "Patient", patientJSON) // now two carry p-1
	before := ts.count(t)
	ts.do(t, "POST", "/fhir/Patient", patientJSON, "If-None-Exist", "identifier=urn:sys|p-1").want(t, http.StatusPreconditionFailed).outcome(t)
	ts.do(t, "POST", "/fhir/Patient", patientJSON, "If-None-Exist", "nosuchparam=1").want(t, http.StatusBadRequest).outcome(t)
	if got := ts.count(t); got != before {
		t.Errorf("refused conditional creates wrote: %v versions, want %v", got, before)
	}
}

func TestConditionalUpdate(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	body := `{"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"cu"}]}`
	r := ts.do(t, "PUT", "/fhir/Patient?identifier=urn:sys|cu", body).want(t, http.StatusCreated)
	id := r.json(t)["id"].(string)
	r = ts.do(t, "PUT", "/fhir/Patient?identifier=urn:sys|cu", strings.Replace(body, `}]}`, `}],"active":true}`, 1)).want(t, http.StatusOK)
	if got := r.json(t)["id"]; got != id {
		t.Errorf("conditional update updated %v, want %s", got, id)
	}
	ts.create(t, "Patient", body)
	ts.do(t, "PUT", "/fhir/Patient?identifier=urn:sys|cu", body).want(t, http.StatusPreconditionFailed).outcome(t)
}

// TestWriteErrors checks that each bad write is refused with the right
// status and an OperationOutcome naming the path, writes nothing, and that
// the server keeps serving.
func TestWriteErrors(t *testing.T) {
	ts := newServer(t, httpapi.Config{MaxBodyBytes: 2048})
	big := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("x", 4096) + `</div>"}}`
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code, issuePath          string
	}{
		{"malformed JSON", "POST", "/fhir/Patient", `{"resourceType":`, nil, 400, "structure", "Patient"},
		{"type mismatch", "POST", "/fhir/Patient", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, nil, 400, "invalid", "Observation"},
		{"invalid date", "POST", "/fhir/Patient", `{"resourceType":"Patient","birthDate":"1970-13-45"}`, nil, 422, "value", "Patient.birthDate"},
		{"wrong JSON type stays 400", "POST", "/fhir/Patient", `{"resourceType":"Patient","birthDate":1970}`, nil, 400, "structure", "Patient.birthDate"},
		{"code outside its required value set", "POST", "/fhir/Task", `{"resourceType":"Task","status":"bogus","intent":"order"}`, nil, 422, "code-invalid", "Task.status"},
		{"missing required element", "PUT", "/fhir/Task/t1", `{"resourceType":"Task","id":"t1","status":"requested"}`, nil, 422, "required", "Task.intent"},
		{"unknown type", "POST", "/fhir/Foo", `{"resourceType":"Foo"}`, nil, 404, "not-supported", ""},
		{"unsupported type", "POST", "/fhir/Medication", `{"resourceType":"Medication"}`, nil, 404, "not-supported", ""},
		{"too large", "POST", "/fhir/Patient", big, nil, 413, "too-long", ""},
		{"bad id", "PUT", "/fhir/Patient/bad_id!", `{"resourceType":"Patient","id":"bad_id!"}`, nil, 400, "invalid", "Patient.id"},
		{"id mismatch", "PUT", "/fhir/Patient/a1", `{"resourceType":"Patient","id":"a2"}`, nil, 400, "invalid", "Patient.id"},
		{"id missing", "PUT", "/fhir/Patient/a1", `{"resourceType":"Patient"}`, nil, 400, "invalid", "Patient.id"},
		{"empty body", "POST", "/fhir/Patient", ``, nil, 400, "invalid", ""},
		{"xml content type", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, []string{"Content-Type", "application/fhir+xml"}, 415, "not-supported", ""},
		{"gzip body", "POST", "/fhir/Patient", "\x1f\x8b\x08\x00", []string{"Content-Encoding", "gzip"}, 415, "not-supported", ""},
		{"gzip body in a Bundle", "POST", "/fhir", "\x1f\x8b\x08\x00", []string{"Content-Encoding", "identity, gzip"}, 415, "not-supported", ""},
		{"_format xml", "POST", "/fhir/Patient?_format=xml", `{"resourceType":"Patient"}`, nil, 406, "not-supported", ""},
		{"accept xml", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, []string{"Accept", "application/fhir+xml"}, 406, "not-supported", ""},
		{"FHIRPath patch", "PATCH", "/fhir/Patient/a1", `{"resourceType":"Parameters"}`, []string{"Content-Type", "application/fhir+json"}, 415, "not-supported", ""},
		{"conditional delete without a search", "DELETE", "/fhir/Patient?_format=json", ``, nil, 400, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, tt.body, tt.headers...).want(t, tt.status)
			r.hasIssue(t, tt.code, tt.issuePath)
			if got := ts.count(t); got != 0 {
				t.Errorf("a refused request wrote %v versions", got)
			}
			ts.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK)
		})
	}
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	ts := newServer(t, httpapi.Config{MaxBodyBytes: 1024})
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"resourceType":"Patient","gender":"` + strings.Repeat("a", 4096) + `"}`))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", ts.URL+"/fhir/Patient", pr)
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: got %d, want 413", resp.StatusCode)
	}
	if resp.ContentLength == 0 {
		t.Error("413 without an OperationOutcome body")
	}
}

func TestReadErrors(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "GET", "/fhir/Patient/nope", "").want(t, http.StatusNotFound).hasIssue(t, "not-found", "")
	ts.do(t, "GET", "/fhir/Foo/1", "").want(t, http.StatusNotFound).hasIssue(t, "not-supported", "")
	ts.do(t, "GET", "/fhir/Medication/1", "").want(t, http.StatusNotFound).hasIssue(t, "not-supported", "")
	ts.do(t, "GET", "/fhir/Patient/a$b", "").want(t, http.StatusBadRequest).hasIssue(t, "invalid", "Patient.id")
	ts.do(t, "GET", "/nothing/here", "").want(t, http.StatusNotFound).outcome(t)
	ts.do(t, "GET", "/fhir/Patient/1/_history/1/extra", "").want(t, http.StatusNotFound).outcome(t)
	r := ts.do(t, "PURGE", "/fhir/Patient/1", "").want(t, http.StatusMethodNotAllowed)
	r.outcome(t)
	if r.header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}

func TestSummaryOnRead(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	id := ts.create(t, "Patient", patientJSON)
	m := ts.do(t, "GET", "/fhir/Patient/"+id+"?_elements=birthDate", "").want(t, http.StatusOK).json(t)
	if _, ok := m["identifier"]; ok {
		t.Errorf("_elements=birthDate kept identifier: %v", m)
	}
	if m["birthDate"] != "1970-01-01" {
		t.Errorf("_elements=birthDate dropped birthDate: %v", m)
	}
	ts.do(t, "GET", "/fhir/Patient/"+id+"?_summary=count", "").want(t, http.StatusBadRequest).outcome(t)
	r := ts.do(t, "GET", "/fhir/Patient/"+id+"?_pretty=true", "").want(t, http.StatusOK)
	if !strings.Contains(string(r.body), "\n  \"resourceType\"") || !strings.Contains(string(r.body), "1.50") {
		t.Errorf("_pretty=true: %s", r.body)
	}
}

func TestFormats(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	for _, accept := range []string{"application/fhir+json", "application/json", "application/json+fhir", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", ""} {
		ts.do(t, "GET", "/fhir/metadata", "", "Accept", accept).want(t, http.StatusOK)
	}
	for _, f := range []string{"json", "application/fhir%2Bjson", "application/fhir+json", "application/json"} {
		ts.do(t, "GET", "/fhir/metadata?_format="+f, "").want(t, http.StatusOK)
	}
	for _, f := range []string{"xml", "application/fhir%2Bxml", "ttl"} {
		ts.do(t, "GET", "/fhir/metadata?_format="+f, "").want(t, http.StatusNotAcceptable).outcome(t)
	}
	ts.do(t, "GET", "/fhir/metadata", "", "Accept", "application/fhir+xml").want(t, http.StatusNotAcceptable).outcome(t)
	ts.do(t, "GET", "/fhir/metadata", "", "Accept", "application/fhir+json;q=0").want(t, http.StatusNotAcceptable)
	ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "Content-Type", "application/json; charset=utf-8").want(t, http.StatusCreated)
	ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "Content-Type", "application/json+fhir").want(t, http.StatusCreated)
	ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "Content-Type", "application/fhir+json; charset=iso-8859-1").want(t, http.StatusUnsupportedMediaType)
	ts.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, "Content-Type", "text/plain").want(t, http.StatusUnsupportedMediaType)
}

// TestVReadUnknownVersion: a versionId is an R4 id, so one that is not a
// version of the resource (not a number, 0, a number written otherwise)
// is not found (404), never a bad request.
func TestVReadUnknownVersion(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	id := ts.create(t, "Patient", `{"resourceType":"Patient"}`)
	for _, vid := range []string{"2", "abc", "0", "01", "-1", "1.0", "99999999999999999999999", "a_b"} {
		t.Run(vid, func(t *testing.T) {
			r := ts.do(t, "GET", "/fhir/Patient/"+id+"/_history/"+vid, "").want(t, http.StatusNotFound)
			if got := r.outcome(t); len(got) != 1 || got[0] != "not-found@" {
				t.Errorf("issues: got %v, want one not-found", got)
			}
		})
	}
	ts.do(t, "GET", "/fhir/Patient/"+id+"/_history/1", "").want(t, http.StatusOK)
	ts.do(t, "GET", "/fhir/Patient/nobody/_history/abc", "").want(t, http.StatusNotFound)
}

// TestWriteR4Rules: a create or update that breaks R4 rules is refused with
// 422 and an OperationOutcome naming every element path, and nothing is
// stored (issue 12: a Task with a bogus status and an Observation without
// status and code were stored with 201).
func TestWriteR4Rules(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	tests := []struct {
		name, method, path, body string
		want                     []string // code@path of every issue
	}{
		{"task with a bogus status", "POST", "/fhir/Task", `{"resourceType":"Task","status":"bogus","intent":"order"}`,
			[]string{"code-invalid@Task.status"}},
		{"observation without status and code", "POST", "/fhir/Observation", `{"resourceType":"Observation","subject":{"reference":"Patient/p"}}`,
			[]string{"required@Observation.status", "required@Observation.code"}},
		{"update: every problem, nested and contained", "PUT", "/fhir/Task/t1",
			`{"resourceType":"Task","id":"t1","status":"requested","intent":" plan","contained":[{"resourceType":"Observation","id":"o"}],"input":[{"type":{"text":"x"}}],"extension":[{"valueString":"x"}]}`,
			[]string{"value@Task.intent", "required@Task.contained[0].status", "required@Task.contained[0].code", "required@Task.input[0].value[x]", "required@Task.extension[0].url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, tt.body).want(t, http.StatusUnprocessableEntity)
			if diff := cmp.Diff(tt.want, r.outcome(t)); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if got := ts.count(t); got != 0 {
				t.Errorf("a refused write stored %v versions", got)
			}
		})
	}
	// The primitive extension stands in for a required value (FHIR JSON).
	ts.do(t, "POST", "/fhir/Task", `{"resourceType":"Task","_status":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]},"intent":"order"}`).want(t, http.StatusCreated)
}

// TestServerIDsGrow: the ids the server gives (create, a transaction's
// create entries, a conditional update that matches nothing) are UUIDv7,
// increasing with time, so that new rows go to the end of the indexes keyed
// by id.
func TestServerIDsGrow(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	var ids []string
	idOf := func(loc string) string {
		t.Helper()
		m := regexp.MustCompile(`/fhir/\w+/([^/]+)/_history/1$`).FindStringSubmatch(loc)
		if m == nil {
			t.Fatalf("Location %q has no id", loc)
		}
		return m[1]
	}
	for i := range 3 {
		ids = append(ids, idOf(ts.do(t, "POST", "/fhir/Patient", patientJSON).want(t, http.StatusCreated).header.Get("Location")))
		time.Sleep(2 * time.Millisecond)
		r := ts.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:5f1d3c52-0d4e-4c59-9d39-8a3b1f2f7a10","resource":{"resourceType":"Organization","name":"x"},"request":{"method":"POST","url":"Organization"}}]}`).want(t, http.StatusOK)
		entries, _ := r.json(t)["entry"].([]any)
		if len(entries) != 1 {
			t.Fatalf("transaction response: %s", r.body)
		}
		ids = append(ids, idOf(entries[0].(map[string]any)["response"].(map[string]any)["location"].(string)))
		time.Sleep(2 * time.Millisecond)
		r = ts.do(t, "PUT", "/fhir/Observation?identifier=urn:sys|o-"+strconv.Itoa(i), `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`).want(t, http.StatusCreated)
		ids = append(ids, idOf(r.header.Get("Location")))
		time.Sleep(2 * time.Millisecond)
	}
	for i, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Errorf("id %d %q: not a UUIDv7 (%v)", i, id, err)
		}
		if i > 0 && id <= ids[i-1] {
			t.Errorf("id %d %q does not sort after %q", i, id, ids[i-1])
		}
	}
}

// TestUpdateIfNoneMatch: If-None-Match on PUT is HTTP's write
// precondition: "*" writes only a resource that does not exist (412
// otherwise, nothing written), version tags refuse a current version they
// name; request.ifNoneMatch in a transaction or batch entry the same.
func TestUpdateIfNoneMatch(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	body := `{"resourceType":"Patient","id":"inm","gender":"female"}`
	ts.do(t, "PUT", "/fhir/Patient/inm", body, "If-None-Match", "*").want(t, http.StatusCreated)
	ts.do(t, "PUT", "/fhir/Patient/inm", `{"resourceType":"Patient","id":"inm","gender":"male"}`, "If-None-Match", "*").
		want(t, http.StatusPreconditionFailed).hasIssue(t, "conflict", "")
	ts.do(t, "PUT", "/fhir/Patient/inm", body, "If-None-Match", `W/"1"`).want(t, http.StatusPreconditionFailed)
	ts.do(t, "PUT", "/fhir/Patient/inm", body, "If-None-Match", `W/"7", W/"8"`).want(t, http.StatusOK) // version 2
	ts.do(t, "PUT", "/fhir/Patient/inm", body, "If-None-Match", "yes").want(t, http.StatusBadRequest)
	ts.do(t, "PUT", "/fhir/Patient?identifier=x|1", `{"resourceType":"Patient","id":"inm"}`, "If-None-Match", "*").
		want(t, http.StatusPreconditionFailed) // a conditional update with no match writes the body's id, which exists

	tx := func(typ, noneMatch string) string {
		return `{"resourceType":"Bundle","type":"` + typ + `","entry":[
		 {"resource":{"resourceType":"Patient","id":"inm2"},"request":{"method":"PUT","url":"Patient/inm2"}},
		 {"resource":{"resourceType":"Patient","id":"inm","gender":"other"},"request":{"method":"PUT","url":"Patient/inm","ifNoneMatch":"` + noneMatch + `"}}]}`
	}
	ts.do(t, "POST", "/fhir", tx("transaction", "*")).want(t, http.StatusPreconditionFailed).hasIssue(t, "conflict", "Bundle.entry[1]")
	ts.do(t, "GET", "/fhir/Patient/inm2", "").want(t, http.StatusNotFound) // the transaction wrote nothing
	r := ts.do(t, "POST", "/fhir", tx("batch", "*")).want(t, http.StatusOK).json(t)
	entries := r["entry"].([]any)
	if got := entries[1].(map[string]any)["response"].(map[string]any)["status"]; !strings.HasPrefix(got.(string), "412") {
		t.Errorf("batch entry with ifNoneMatch * on an existing resource: %v, want 412", got)
	}
	if got := entries[0].(map[string]any)["response"].(map[string]any)["status"]; !strings.HasPrefix(got.(string), "201") {
		t.Errorf("the batch's other entry: %v, want 201", got)
	}
	ts.do(t, "POST", "/fhir", tx("transaction", `W/\"x\"`)).want(t, http.StatusBadRequest).hasIssue(t, "invalid", "Bundle.entry[1].request.ifNoneMatch")
	got := ts.do(t, "GET", "/fhir/Patient/inm", "").want(t, http.StatusOK).json(t)
	if got["gender"] != "female" || got["meta"].(map[string]any)["versionId"] != "2" {
		t.Errorf("Patient/inm after the refused writes: gender %v, version %v; want female, 2", got["gender"], got["meta"].(map[string]any)["versionId"])
	}
}

// TestHead: HEAD is GET without the body: the same status and headers
// (ETag, Last-Modified), 404 for what GET does not find.
func TestHead(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "PUT", "/fhir/Patient/hd", `{"resourceType":"Patient","id":"hd"}`).want(t, http.StatusCreated)
	r := ts.do(t, "HEAD", "/fhir/Patient/hd", "").want(t, http.StatusOK)
	if r.header.Get("ETag") != `W/"1"` || r.header.Get("Last-Modified") == "" || len(r.body) != 0 {
		t.Errorf("HEAD of a Patient: ETag %q, Last-Modified %q, %d body bytes; want W/\"1\", a date, none", r.header.Get("ETag"), r.header.Get("Last-Modified"), len(r.body))
	}
	ts.do(t, "HEAD", "/fhir/Patient/nope", "").want(t, http.StatusNotFound)
	ts.do(t, "HEAD", "/fhir/Patient?_id=hd", "").want(t, http.StatusOK)
	ts.do(t, "HEAD", "/fhir/metadata", "").want(t, http.StatusOK)
}
