package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// TestPatch: a JSON Patch updates the current version as a PUT of the
// result would, on both stores; members it does not touch keep their
// bytes (1.50 stays 1.50) and order.
func TestPatch(t *testing.T) {
	for _, store := range bothStores {
		t.Run(store.name, func(t *testing.T) {
			ts := newServerWith(t, store.open(t), httpapi.Config{})
			ts.do(t, "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","extension":[{"url":"http://example.org/w","valueDecimal":1.50}],"name":[{"family":"Old","given":["Pat"]}],"gender":"female"}`).want(t, http.StatusCreated)
			patch := `[{"op":"test","path":"/name/0/family","value":"Old"},{"op":"replace","path":"/name/0/family","value":"New"},{"op":"add","path":"/birthDate","value":"1970-01-02"}]`
			r := ts.do(t, "PATCH", "/fhir/Patient/p1", patch, "Content-Type", "application/json-patch+json").want(t, http.StatusOK)
			if r.header.Get("ETag") != `W/"2"` {
				t.Errorf("ETag %q, want W/\"2\"", r.header.Get("ETag"))
			}
			got := string(ts.do(t, "GET", "/fhir/Patient/p1", "").want(t, http.StatusOK).body)
			for _, want := range []string{`"valueDecimal":1.50`, `"family":"New"`, `"birthDate":"1970-01-02"`, `"versionId":"2"`} {
				if !strings.Contains(got, want) {
					t.Errorf("patched Patient lacks %s: %s", want, got)
				}
			}
			if strings.Index(got, `"extension"`) > strings.Index(got, `"name"`) || strings.Index(got, `"name"`) > strings.Index(got, `"gender"`) {
				t.Errorf("member order changed: %s", got)
			}
			// If-Match as for an update.
			ts.do(t, "PATCH", "/fhir/Patient/p1", `[{"op":"replace","path":"/gender","value":"male"}]`, "Content-Type", "application/json-patch+json", "If-Match", `W/"1"`).want(t, http.StatusPreconditionFailed)
			ts.do(t, "PATCH", "/fhir/Patient/p1", `[{"op":"replace","path":"/gender","value":"male"}]`, "Content-Type", "application/json-patch+json", "If-Match", `W/"2"`).want(t, http.StatusOK)
		})
	}
}

// TestPatchRefused: what cannot be patched is a 4xx OperationOutcome and
// writes nothing.
func TestPatchRefused(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, "PUT", "/fhir/Task/t1", `{"resourceType":"Task","id":"t1","status":"requested","intent":"order"}`).want(t, http.StatusCreated)
	ts.do(t, "PUT", "/fhir/Patient/gone", `{"resourceType":"Patient","id":"gone"}`).want(t, http.StatusCreated)
	ts.do(t, "DELETE", "/fhir/Patient/gone", "").want(t, http.StatusOK)
	const jp = "application/json-patch+json"
	for _, c := range []struct {
		name, path, body, ct string
		status               int
		says                 string
	}{
		{"not a patch", "/fhir/Task/t1", `{"op":"replace"}`, jp, http.StatusBadRequest, "not a JSON Patch"},
		{"empty patch", "/fhir/Task/t1", `[]`, jp, http.StatusBadRequest, "not a JSON Patch"},
		{"FHIR JSON body", "/fhir/Task/t1", `[{"op":"replace","path":"/status","value":"ready"}]`, "application/fhir+json", http.StatusUnsupportedMediaType, "JSON Patch"},
		{"test fails", "/fhir/Task/t1", `[{"op":"test","path":"/status","value":"ready"},{"op":"replace","path":"/status","value":"cancelled"}]`, jp, http.StatusUnprocessableEntity, "test operation failed"},
		{"missing path", "/fhir/Task/t1", `[{"op":"remove","path":"/note"}]`, jp, http.StatusUnprocessableEntity, "path"},
		{"invalid result", "/fhir/Task/t1", `[{"op":"replace","path":"/status","value":"bogus"}]`, jp, http.StatusUnprocessableEntity, "Task.status"},
		{"required element removed", "/fhir/Task/t1", `[{"op":"remove","path":"/intent"}]`, jp, http.StatusUnprocessableEntity, "Task.intent"},
		{"id changed", "/fhir/Task/t1", `[{"op":"replace","path":"/id","value":"t2"}]`, jp, http.StatusUnprocessableEntity, "id"},
		{"type changed", "/fhir/Task/t1", `[{"op":"replace","path":"/resourceType","value":"Patient"}]`, jp, http.StatusUnprocessableEntity, ""},
		{"not found", "/fhir/Task/nobody", `[{"op":"add","path":"/note","value":[]}]`, jp, http.StatusNotFound, ""},
		{"deleted", "/fhir/Patient/gone", `[{"op":"add","path":"/active","value":true}]`, jp, http.StatusGone, ""},
		{"AuditEvent", "/fhir/AuditEvent/a1", `[{"op":"add","path":"/x","value":1}]`, jp, http.StatusMethodNotAllowed, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "PATCH", c.path, c.body, "Content-Type", c.ct).want(t, c.status)
			if oo := r.json(t); oo["resourceType"] != "OperationOutcome" || !strings.Contains(string(r.body), c.says) {
				t.Errorf("%s, want an OperationOutcome saying %q", r.body, c.says)
			}
		})
	}
	// Copying the resource into itself doubles it at each operation: a
	// 2 KB patch of 40 copies would make a resource of terabytes.
	var copies []string
	copies = append(copies, `{"op":"add","path":"/note","value":[{"text":"x"}]}`)
	for range 40 {
		copies = append(copies, `{"op":"copy","from":"/note","path":"/note/-"}`, `{"op":"copy","from":"/note","path":"/note/0/text"}`)
	}
	r := ts.do(t, "PATCH", "/fhir/Task/t1", "["+strings.Join(copies, ",")+"]", "Content-Type", jp).want(t, http.StatusRequestEntityTooLarge)
	if oo := r.json(t); oo["resourceType"] != "OperationOutcome" || !strings.Contains(string(r.body), "copy operations") {
		t.Errorf("doubling copies: %s, want the copies refused", r.body)
	}
	if got := string(ts.do(t, "GET", "/fhir/Task/t1", "").want(t, http.StatusOK).body); !strings.Contains(got, `"versionId":"1"`) || !strings.Contains(got, `"status":"requested"`) {
		t.Errorf("a refused patch changed the Task: %s", got)
	}
}

// TestPatchInBundles: a PATCH entry carries its JSON Patch as a Binary
// (R4): in a transaction it is applied with the other entries (ifMatch
// honoured), and a patch that cannot be applied fails the whole
// transaction; in a batch it fails alone.
func TestPatchInBundles(t *testing.T) {
	ts := newServer(t, httpapi.Config{})
	ts.do(t, http.MethodPut, "/fhir/Patient/pp1", `{"resourceType":"Patient","id":"pp1","gender":"female"}`).want(t, http.StatusCreated)
	binary := func(patch string) string {
		return `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` + base64.StdEncoding.EncodeToString([]byte(patch)) + `"}`
	}
	entry := func(patch, ifMatch string) string {
		req := `"method":"PATCH","url":"Patient/pp1"`
		if ifMatch != "" {
			req += `,"ifMatch":"` + ifMatch + `"`
		}
		return `{"resource":` + binary(patch) + `,"request":{` + req + `}}`
	}
	bundle := func(typ string, entries ...string) string {
		return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
	}
	create := `{"resource":{"resourceType":"Patient","identifier":[{"system":"urn:t","value":"other"}]},"request":{"method":"POST","url":"Patient"}}`

	r := ts.do(t, http.MethodPost, "/fhir", bundle("transaction", create,
		entry(`[{"op":"test","path":"/gender","value":"female"},{"op":"add","path":"/birthDate","value":"1970-01-02"}]`, `W/\"1\"`))).want(t, http.StatusOK)
	if s := string(r.body); !strings.Contains(s, `"status":"200 OK"`) || !strings.Contains(s, `W/\"2\"`) {
		t.Errorf("transaction with a patch: %s", s)
	}
	p := ts.do(t, http.MethodGet, "/fhir/Patient/pp1", "").want(t, http.StatusOK).json(t)
	if p["birthDate"] != "1970-01-02" || p["gender"] != "female" {
		t.Errorf("patched Patient: %v", p)
	}

	// A test that fails: the whole transaction fails, nothing written.
	ts.do(t, http.MethodPost, "/fhir", bundle("transaction",
		`{"resource":{"resourceType":"Patient","identifier":[{"system":"urn:t","value":"third"}]},"request":{"method":"POST","url":"Patient"}}`,
		entry(`[{"op":"test","path":"/gender","value":"male"},{"op":"remove","path":"/birthDate"}]`, ""))).want(t, http.StatusUnprocessableEntity)
	if r := ts.do(t, http.MethodGet, "/fhir/Patient?identifier=urn:t|third", "").want(t, http.StatusOK).json(t); r["total"] != float64(0) {
		t.Errorf("the failed transaction's create was stored: total %v", r["total"])
	}
	ts.do(t, http.MethodGet, "/fhir/Patient/pp1/_history/3", "").want(t, http.StatusNotFound)

	// In a batch, a stale ifMatch fails that entry alone.
	r = ts.do(t, http.MethodPost, "/fhir", bundle("batch",
		entry(`[{"op":"replace","path":"/gender","value":"other"}]`, `W/\"1\"`),
		`{"resource":{"resourceType":"Patient","identifier":[{"system":"urn:t","value":"fourth"}]},"request":{"method":"POST","url":"Patient"}}`)).want(t, http.StatusOK)
	var out struct {
		Entry []struct{ Response struct{ Status string } }
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Entry) != 2 || !strings.HasPrefix(out.Entry[0].Response.Status, "412") || !strings.HasPrefix(out.Entry[1].Response.Status, "201") {
		t.Errorf("batch statuses: %+v, want 412 and 201", out.Entry)
	}
}
