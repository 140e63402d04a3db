package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// auditServer is a test server with the audit trail on and authentication
// by testTokens (client ids "client-<token>").
type auditServer struct {
	*testServer
	a     *workflow.Auditor
	store socialrx.Store
}

func newAuditServer(t testing.TB) *auditServer {
	t.Helper()
	st := openStore(t)
	a := workflow.NewAuditor(st, workflow.AuditorOptions{})
	t.Cleanup(func() { _ = a.Close(context.Background()) }) // before the store closes
	ts := newServerWith(t, st, httpapi.Config{Auth: testTokens, Workflow: workflow.Options{Audit: a}})
	return &auditServer{testServer: ts, a: a, store: st}
}

// flush waits until the buffered AuditEvents are written.
func (as *auditServer) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := as.a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// audit is what the tests read of an AuditEvent.
type audit struct {
	subtype, action, outcome, agent, query string
	entities                               []string
}

// events searches AuditEvent in the store (not through the API: that
// would be audited too) and returns them newest first.
func (as *auditServer) events(t testing.TB, q string) []audit {
	t.Helper()
	params, _ := url.ParseQuery(q)
	params.Set("_count", "1000")
	sr, err := as.store.Search(context.Background(), socialrx.SearchRequest{Type: "AuditEvent", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit
	for _, m := range sr.Matches {
		out = append(out, auditOf(t, m.Body))
	}
	return out
}

func auditOf(t testing.TB, body []byte) audit {
	t.Helper()
	var ae struct {
		Subtype []struct{ Code string }
		Action  string
		Outcome string
		Agent   []struct {
			Who struct{ Reference string }
		}
		Entity []struct {
			What  *struct{ Reference string }
			Query string
		}
	}
	if err := jsonUnmarshal(body, &ae); err != nil {
		t.Fatal(err)
	}
	a := audit{action: ae.Action, outcome: ae.Outcome, agent: ae.Agent[0].Who.Reference}
	if len(ae.Subtype) > 0 {
		a.subtype = ae.Subtype[0].Code
	}
	for _, e := range ae.Entity {
		if e.What != nil {
			a.entities = append(a.entities, e.What.Reference)
		}
		if e.Query != "" {
			q, _ := base64.StdEncoding.DecodeString(e.Query)
			a.query = string(q)
		}
	}
	return a
}

// TestAuditREST: reads, searches, writes and failures each leave one
// AuditEvent naming the client, the interaction, the resource, the patient
// and the outcome; writes in their transaction (found at once), reads
// after the buffer is flushed; a 401 leaves none.
func TestAuditREST(t *testing.T) {
	as := newAuditServer(t)
	all, read := bearer("all"), bearer("read")
	pid := as.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","active":true}`, all...).want(t, http.StatusCreated).json(t)["id"].(string)
	// The write's AuditEvent is there before any flush: written in the
	// write's transaction.
	got := as.events(t, "entity=Patient/"+pid)
	if len(got) != 1 || got[0].action != "C" || got[0].subtype != "create" || got[0].outcome != "0" || got[0].agent != "Device/client-all" {
		t.Fatalf("after the create: %+v, want one C create by Device/client-all", got)
	}
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + pid + `"}}`
	oid := as.do(t, "POST", "/fhir/Observation", obs, all...).want(t, http.StatusCreated).json(t)["id"].(string)

	as.do(t, "GET", "/fhir/Observation/"+oid, "", read...).want(t, http.StatusOK)
	as.do(t, "GET", "/fhir/Observation/"+oid+"/_history/1", "", read...).want(t, http.StatusOK)
	as.do(t, "GET", "/fhir/Observation?patient="+pid+"&code:text=x", "", read...).want(t, http.StatusOK)
	as.do(t, "GET", "/fhir/Observation/"+oid+"/_history", "", read...).want(t, http.StatusOK)
	as.do(t, "GET", "/fhir/Observation/nosuch", "", read...).want(t, http.StatusNotFound)
	as.do(t, "DELETE", "/fhir/Observation/"+oid, "", read...).want(t, http.StatusForbidden)
	as.do(t, "GET", "/fhir/Observation/"+oid, "").want(t, http.StatusUnauthorized)
	as.do(t, "PUT", "/fhir/Observation/"+oid, strings.Replace(obs, `{"resourceType":"Observation"`, `{"resourceType":"Observation","id":"`+oid+`"`, 1), append(all, "If-Match", `W/"9"`)...).want(t, http.StatusPreconditionFailed)
	as.flush(t)

	byReader := as.events(t, "agent=Device/client-read")
	want := []audit{
		{subtype: "delete", action: "D", outcome: "4", agent: "Device/client-read", entities: []string{"Observation/" + oid}},
		{subtype: "read", action: "R", outcome: "4", agent: "Device/client-read", entities: []string{"Observation/nosuch"}},
		{subtype: "history-instance", action: "R", outcome: "0", agent: "Device/client-read", entities: []string{"Observation/" + oid}},
		{subtype: "search-type", action: "R", outcome: "0", agent: "Device/client-read", entities: []string{"Patient/" + pid}, query: "code%3Atext=x&patient=" + pid},
		{subtype: "vread", action: "R", outcome: "0", agent: "Device/client-read", entities: []string{"Observation/" + oid + "/_history/1", "Patient/" + pid}},
		{subtype: "read", action: "R", outcome: "0", agent: "Device/client-read", entities: []string{"Observation/" + oid + "/_history/1", "Patient/" + pid}},
	}
	if len(byReader) != len(want) {
		t.Fatalf("AuditEvents of client-read: %+v, want %d", byReader, len(want))
	}
	for i := range want {
		if !auditEqual(want[i], byReader[i]) {
			t.Errorf("event %d: got %+v, want %+v", i, byReader[i], want[i])
		}
	}
	// The failed update (412) left a failure, not an update.
	upd := as.events(t, "entity=Observation/"+oid+"&subtype=update")
	if len(upd) != 1 || upd[0].outcome != "4" {
		t.Errorf("the refused update: %+v, want one with outcome 4", upd)
	}
	// The 401 left nothing (no one to name); every other request one.
	if n := len(as.events(t, "agent=Device/socialrx")); n != 0 {
		t.Errorf("%d AuditEvents without a client, want 0 (401 is not audited)", n)
	}
	// By patient: the create of the Patient and Observation, and the reads.
	// By patient: the creates of the Patient and the Observation, the
	// read, vread and search (history and failures read no body).
	if n := len(as.events(t, "patient="+pid)); n != 5 {
		t.Errorf("%d AuditEvents with patient %s, want 5", n, pid)
	}
}

// auditEqual compares the fields the tests set.
func auditEqual(want, got audit) bool {
	return want.subtype == got.subtype && want.action == got.action && want.outcome == got.outcome &&
		want.agent == got.agent && want.query == got.query && slices.Equal(want.entities, got.entities)
}

// TestAuditSearchAPI: AuditEvents are searched through the API by agent,
// entity, patient and date; that search is audited once (no AuditEvent of
// writing AuditEvents); clients cannot write AuditEvents (405), alone or
// in a Bundle; the CapabilityStatement says so.
func TestAuditSearchAPI(t *testing.T) {
	as := newAuditServer(t)
	all := bearer("all")
	pid := as.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, all...).want(t, http.StatusCreated).json(t)["id"].(string)
	as.do(t, "GET", "/fhir/Patient/"+pid, "", bearer("read")...).want(t, http.StatusOK)
	as.flush(t)
	today := time.Now().UTC().Format("2006-01-02")
	// Each search below is audited too (buffered, so written at some
	// point during the loop): the queries leave those out by subtype.
	for _, tc := range []struct {
		q     string
		wantN int
	}{
		{"agent=Device/client-all&subtype=create", 1},
		{"agent=Device/client-read", 1},
		{"entity=Patient/" + pid + "&subtype=create", 1},
		{"entity=Patient/" + pid + "&subtype=read", 1},
		{"patient=" + pid + "&subtype=read", 1},
		{"date=" + today + "&subtype=read", 1},
		{"date=lt2000-01-01", 0},
	} {
		m := as.do(t, "GET", "/fhir/AuditEvent?"+tc.q, "", all...).want(t, http.StatusOK).json(t)
		if n := len(entries(m)); n != tc.wantN || m["total"].(float64) != float64(tc.wantN) {
			t.Errorf("AuditEvent?%s: %d entries (total %v), want %d", tc.q, n, m["total"], tc.wantN)
		}
	}
	as.flush(t)
	// Each of the 7 searches is audited once, as a search of AuditEvent.
	searches := as.events(t, "agent=Device/client-all&subtype=search-type")
	if len(searches) != 7 {
		t.Errorf("%d audited searches of AuditEvent, want 7", len(searches))
	}
	m := as.do(t, "GET", "/fhir/AuditEvent?agent=Device/client-read", "", all...).want(t, http.StatusOK).json(t)
	aid := entries(m)[0]["resource"].(map[string]any)["id"].(string)
	as.do(t, "GET", "/fhir/AuditEvent/"+aid, "", all...).want(t, http.StatusOK)

	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/fhir/AuditEvent", `{"resourceType":"AuditEvent"}`},
		{"PUT", "/fhir/AuditEvent/" + aid, `{"resourceType":"AuditEvent","id":"` + aid + `"}`},
		{"PUT", "/fhir/AuditEvent?_id=" + aid, `{"resourceType":"AuditEvent"}`},
		{"DELETE", "/fhir/AuditEvent/" + aid, ""},
	} {
		as.do(t, tc.method, tc.path, tc.body, all...).want(t, http.StatusMethodNotAllowed)
	}
	r := as.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"AuditEvent/`+aid+`"}}]}`, all...).want(t, http.StatusOK).json(t)
	if st := entries(r)[0]["response"].(map[string]any)["status"]; st != "405 Method Not Allowed" {
		t.Errorf("batch DELETE of an AuditEvent: %v, want 405", st)
	}
	if _, err := as.store.Read(context.Background(), "AuditEvent", aid); err != nil {
		t.Errorf("the AuditEvent after the refused writes: %v", err)
	}

	cs := as.do(t, "GET", "/fhir/metadata", "").want(t, http.StatusOK).json(t)
	for _, res := range cs["rest"].([]any)[0].(map[string]any)["resource"].([]any) {
		rm := res.(map[string]any)
		if rm["type"] != "AuditEvent" {
			continue
		}
		var codes []string
		for _, i := range rm["interaction"].([]any) {
			codes = append(codes, i.(map[string]any)["code"].(string))
		}
		slices.Sort(codes)
		if !slices.Equal(codes, []string{"read", "search-type", "vread"}) {
			t.Errorf("CapabilityStatement AuditEvent interactions %v, want read, search-type, vread", codes)
		}
	}
}

// TestAuditBundles: one AuditEvent per entry; a transaction's commit with
// its entries (a failed transaction leaves only its failure), a batch's
// per entry.
func TestAuditBundles(t *testing.T) {
	as := newAuditServer(t)
	all := bearer("all")
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:00000000-0000-0000-0000-000000000001","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-0000-0000-000000000001"}},"request":{"method":"POST","url":"Observation"}}]}`
	m := as.do(t, "POST", "/fhir", tx, all...).want(t, http.StatusOK).json(t)
	pid := entries(m)[0]["resource"].(map[string]any)["id"].(string)
	got := as.events(t, "patient="+pid)
	if len(got) != 2 || got[0].action != "C" || got[1].action != "C" {
		t.Fatalf("a transaction of two creates: %+v, want two C events at once", got)
	}
	// A transaction that fails on its second entry: nothing of it stored,
	// one failure recorded.
	bad := strings.Replace(tx, `"status":"final"`, `"status":"nonsense"`, 1)
	as.do(t, "POST", "/fhir", bad, all...).want(t, http.StatusUnprocessableEntity)
	as.flush(t)
	creates := as.events(t, "agent=Device/client-all&action=C")
	if len(creates) != 2 {
		t.Errorf("after a failed transaction: %d create events, want still 2", len(creates))
	}
	failed := as.events(t, "agent=Device/client-all&subtype=transaction")
	if len(failed) != 1 || failed[0].outcome != "4" {
		t.Errorf("the failed transaction: %+v, want one failure (outcome 4)", failed)
	}

	batch := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"request":{"method":"GET","url":"Patient/` + pid + `"}},
	 {"request":{"method":"GET","url":"Patient/nosuch"}},
	 {"resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient"}}]}`
	as.do(t, "POST", "/fhir", batch, bearer("read")...).want(t, http.StatusOK)
	as.flush(t)
	got = as.events(t, "agent=Device/client-read")
	var summary []string
	for _, e := range got {
		summary = append(summary, e.subtype+":"+e.outcome)
	}
	if want := []string{"create:4", "read:4", "read:0"}; !slices.Equal(summary, want) {
		t.Errorf("batch events %v, want %v (newest first)", summary, want)
	}
}

// TestAuditLogsHoldNoPHI: with the audit trail on, search values and
// resource contents still stay out of the logs (the query is in the
// AuditEvent, protected data, not in a log line).
func TestAuditLogsHoldNoPHI(t *testing.T) {
	as := newAuditServer(t)
	const family = "Quuxworthington"
	all := bearer("all")
	as.do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"`+family+`"}]}`, all...).want(t, http.StatusCreated)
	as.do(t, "GET", "/fhir/Patient?family="+family, "", all...).want(t, http.StatusOK)
	as.do(t, "GET", "/fhir/Patient?family="+family, "", bearer("patient-r")...).want(t, http.StatusForbidden)
	as.flush(t)
	if got := as.events(t, "agent=Device/client-all&subtype=search-type"); len(got) != 1 || got[0].query != "family="+family {
		t.Errorf("the search's AuditEvent: %+v, want its query", got)
	}
	if logs := as.logs.String(); strings.Contains(logs, family) {
		t.Errorf("logs hold %q:\n%s", family, logs)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
