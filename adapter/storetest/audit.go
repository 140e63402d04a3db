package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/mapping"
)

// testAudit: the audit trail (socialrx.AuditTx). AuditEvents appended in a
// transaction are kept only when it commits; they are read and searched as
// type AuditEvent by agent, entity, patient, date, action, outcome,
// subtype and _id, newest first, in pages; a write through the workflow
// and its AuditEvent commit together or not at all; buffered events are
// written by the Auditor.
func testAudit(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	ev := func(i int, client, entity, patient, subtype string, outcome socialrx.AuditOutcome) socialrx.AuditEvent {
		return socialrx.AuditEvent{
			ID: fmt.Sprintf("ae-%d", i), Recorded: base.Add(time.Duration(i) * time.Hour), Kind: socialrx.AuditREST,
			Subtype: subtype, Action: socialrx.AuditActionOf(subtype), Outcome: outcome, ClientID: client,
			Entity: entity, Patient: patient, Address: "127.0.0.1",
		}
	}
	events := []socialrx.AuditEvent{
		ev(0, "emr", "Patient/p1", "Patient/p1", "read", socialrx.AuditSuccess),
		ev(1, "emr", "Observation/o1", "Patient/p1", "update", socialrx.AuditSuccess),
		ev(2, "analyst", "", "", "search-type", socialrx.AuditSuccess),
		ev(3, "analyst", "Observation/o2", "Patient/p2", "read", socialrx.AuditMinorFailure),
		ev(4, "emr", "Task/t1", "Patient/p2", "create", socialrx.AuditSuccess),
	}
	var recs []socialrx.AuditRecord
	for _, e := range events {
		r, err := mapping.AuditRecordOf(e)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	// Rolled back: nothing kept.
	boom := errors.New("boom")
	if err := s.Transact(ctx, func(tx socialrx.Tx) error {
		if err := tx.AppendAudit(ctx, recs[:1]); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Transact = %v, want boom", err)
	}
	if _, err := s.Read(ctx, "AuditEvent", "ae-0"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Fatalf("AuditEvent of a rolled back transaction: Read = %v, want ENOTFOUND", err)
	}
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, recs) }); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	// An id is appended once.
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, recs[:1]) }); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
		t.Errorf("AppendAudit of a taken id = %v, want ECONFLICT", err)
	}

	got, err := s.Read(ctx, "AuditEvent", "ae-1")
	if err != nil {
		t.Fatalf("Read AuditEvent: %v", err)
	}
	want, err := mapping.AuditEventBody(recs[1])
	if err != nil {
		t.Fatal(err)
	}
	if got.VersionID != 1 || !got.LastUpdated.Equal(events[1].Recorded) || string(got.Body) != string(want) {
		t.Errorf("Read AuditEvent/ae-1 = version %d at %s, body %s; want version 1 at %s, the AuditEvent of the record appended: %s", got.VersionID, got.LastUpdated, got.Body, events[1].Recorded, want)
	}
	if _, err := s.VRead(ctx, "AuditEvent", "ae-1", 1); err != nil {
		t.Errorf("VRead AuditEvent/ae-1/_history/1: %v", err)
	}
	if _, err := s.VRead(ctx, "AuditEvent", "ae-1", 2); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("VRead AuditEvent/ae-1/_history/2 = %v, want ENOTFOUND", err)
	}

	search := func(q string) []string {
		t.Helper()
		params, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: params})
		if err != nil {
			t.Fatalf("search AuditEvent?%s: %v", q, err)
		}
		ids := []string{}
		for _, m := range sr.Matches {
			ids = append(ids, m.ID)
		}
		if sr.Total >= 0 && sr.Next == nil && sr.Total != len(ids) {
			t.Errorf("AuditEvent?%s: total %d, %d matches", q, sr.Total, len(ids))
		}
		return ids
	}
	analyst := "Device/" + socialrx.AuditAgentID("analyst")
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", []string{"ae-4", "ae-3", "ae-2", "ae-1", "ae-0"}},
		{"agent=Device/emr", []string{"ae-4", "ae-1", "ae-0"}},
		{"agent=" + url.QueryEscape(analyst), []string{"ae-3", "ae-2"}},
		{"agent=emr", []string{"ae-4", "ae-1", "ae-0"}},
		{"entity=Observation/o1", []string{"ae-1"}},
		{"entity=Patient/p2", []string{"ae-4", "ae-3"}}, // the patient entity
		{"patient=Patient/p1", []string{"ae-1", "ae-0"}},
		{"patient=p2", []string{"ae-4", "ae-3"}},
		{"patient=p1,p2&agent=Device/emr", []string{"ae-4", "ae-1", "ae-0"}},
		{"date=2026-05-01", []string{"ae-4", "ae-3", "ae-2", "ae-1", "ae-0"}},
		{"date=ge2026-05-01T12:00:00Z", []string{"ae-4", "ae-3", "ae-2"}},
		{"date=lt2026-05-01T12:00:00Z", []string{"ae-1", "ae-0"}},
		{"date=gt2026-05-01T11:00:00Z&date=le2026-05-01T13:00:00Z", []string{"ae-3", "ae-2"}},
		{"date=2026-05-02", []string{}},
		{"action=R", []string{"ae-3", "ae-2", "ae-0"}},
		{"outcome=4", []string{"ae-3"}},
		{"subtype=http://hl7.org/fhir/restful-interaction|create", []string{"ae-4"}},
		{"_id=ae-2,ae-0", []string{"ae-2", "ae-0"}},
		{"_sort=date&agent=Device/emr", []string{"ae-0", "ae-1", "ae-4"}},
	} {
		if diff := cmp.Diff(tc.want, search(tc.q)); diff != "" {
			t.Errorf("AuditEvent?%s (-want +got):\n%s", tc.q, diff)
		}
	}

	// Pages: every event once, newest first, the total on each page.
	var paged []string
	params := url.Values{"_count": {"2"}}
	for pages := 0; params != nil; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: params})
		if err != nil {
			t.Fatal(err)
		}
		if sr.Total != 5 {
			t.Errorf("page %d: total %d, want 5", pages, sr.Total)
		}
		for _, m := range sr.Matches {
			paged = append(paged, m.ID)
		}
		params = sr.Next
	}
	if diff := cmp.Diff([]string{"ae-4", "ae-3", "ae-2", "ae-1", "ae-0"}, paged); diff != "" {
		t.Errorf("paged (-want +got):\n%s", diff)
	}

	// A parameter the audit table does not answer: ignored with a
	// warning, refused when strict; a bare entity id is refused.
	sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"source": {"Device/x"}, "agent": {"Device/emr"}}})
	if err != nil || len(sr.Matches) != 3 || len(sr.Ignored) == 0 {
		t.Errorf("AuditEvent?source=...&agent=Device/emr: %d matches, ignored %v, err %v; want 3, source ignored", len(sr.Matches), sr.Ignored, err)
	}
	if _, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"source": {"Device/x"}}, Strict: true}); socialrx.ErrorCode(err) != socialrx.EINVALID {
		t.Errorf("strict AuditEvent?source= = %v, want EINVALID", err)
	}
	if _, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"entity": {"o1"}}}); socialrx.ErrorCode(err) != socialrx.EINVALID {
		t.Errorf("AuditEvent?entity=o1 = %v, want EINVALID", err)
	}

	// A record whose body is a whole AuditEvent (as the first version of
	// the audit trail stored them) is read back as stored.
	whole := recs[1]
	whole.ID, whole.Body = "ae-whole", []byte(strings.Replace(string(want), `"id":"ae-1"`, `"id":"ae-whole"`, 1))
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { return tx.AppendAudit(ctx, []socialrx.AuditRecord{whole}) }); err != nil {
		t.Fatalf("AppendAudit of a whole AuditEvent: %v", err)
	}
	if got, err := s.Read(ctx, "AuditEvent", "ae-whole"); err != nil || string(got.Body) != string(whole.Body) {
		t.Errorf("Read AuditEvent/ae-whole = %v, %v; want the body as stored", got, err)
	}

	t.Run("WorkflowWrite", func(t *testing.T) { testAuditWorkflow(t, open(t)) })
	t.Run("Log", func(t *testing.T) { testAuditLog(t, open) })
}

// testAuditWorkflow: Tx.Audit commits with the write or not at all; the
// Auditor writes buffered events in batches, finds the patient in the
// resource read, and writes what it holds on Close.
func testAuditWorkflow(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	a := workflow.NewAuditor(s, workflow.AuditorOptions{MaxBatch: 7})
	wf := workflow.New(s, workflow.Options{Audit: a})
	obs := obsBody("Patient/wp1", "1234-5", "x", "2026-01-01", `"valueString": "1"`)
	write := func(id string, fail bool) error {
		return wf.Transact(ctx, func(tx *workflow.Tx) error {
			res, err := tx.Create(ctx, "Observation", id, []byte(obs))
			if err != nil {
				return err
			}
			if err := tx.Audit(ctx, socialrx.AuditEvent{Kind: socialrx.AuditREST, Subtype: "create", Action: socialrx.AuditCreate,
				Outcome: socialrx.AuditSuccess, ClientID: "emr", Entity: "Observation/" + id, Version: res.VersionID, Read: res.Body}); err != nil {
				return err
			}
			if fail {
				return errors.New("later step failed")
			}
			return nil
		})
	}
	if err := write("w-fail", true); err == nil {
		t.Fatal("failing write succeeded")
	}
	if err := write("w-ok", false); err != nil {
		t.Fatal(err)
	}
	entity := func(ref string) []socialrx.Resource {
		t.Helper()
		sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"entity": {ref}}})
		if err != nil {
			t.Fatal(err)
		}
		return sr.Matches
	}
	if n := len(entity("Observation/w-fail")); n != 0 {
		t.Errorf("a failed write left %d AuditEvents, want none", n)
	}
	if n := len(entity("Observation/w-ok")); n != 1 {
		t.Errorf("a write left %d AuditEvents, want 1", n)
	}
	if n := len(entity("Patient/wp1")); n != 1 {
		t.Errorf("the write's patient is on %d AuditEvents, want 1 (read from the body written)", n)
	}

	// Buffered: 20 reads, written in batches of at most 7.
	for i := range 20 {
		a.Record(ctx, socialrx.AuditEvent{Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead,
			Outcome: socialrx.AuditSuccess, ClientID: "reader", Entity: "Observation/w-ok", Version: 1, Read: []byte(obs),
			RequestID: fmt.Sprint(i)})
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"agent": {"Device/reader"}, "patient": {"wp1"}, "_count": {"100"}}})
	if err != nil {
		t.Fatal(err)
	}
	if sr.Total != 20 {
		t.Errorf("after Flush: %d buffered reads found by agent and patient, want 20", sr.Total)
	}
	// One event the database refuses (its id is taken) does not take the
	// rest of its batch with it.
	a.Record(ctx, socialrx.AuditEvent{ID: "dup", Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead, Outcome: socialrx.AuditSuccess})
	if err := a.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	a.Record(ctx, socialrx.AuditEvent{ID: "dup", Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead, Outcome: socialrx.AuditSuccess})
	a.Record(ctx, socialrx.AuditEvent{ID: "beside-dup", Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead, Outcome: socialrx.AuditSuccess})
	if err := a.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, "AuditEvent", "beside-dup"); err != nil {
		t.Errorf("the event batched with a refused one: %v, want it written", err)
	}
	a.Record(ctx, socialrx.AuditEvent{Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead, Outcome: socialrx.AuditSuccess, ClientID: "last", Entity: "Patient/wp1"})
	if err := a.Close(fctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"agent": {"Device/last"}}})
	if err != nil || len(got.Matches) != 1 {
		t.Errorf("an event recorded before Close: %d found, err %v; want 1 (Close writes the buffer)", len(got.Matches), err)
	}
	st := a.Stats()
	if st.Written != 23 || st.Dropped != 0 || st.Failed != 1 {
		t.Errorf("stats = %+v, want 23 written, none dropped, 1 failed (the taken id)", st)
	}
	// After Close: dropped and counted, not lost silently.
	a.Record(ctx, socialrx.AuditEvent{Kind: socialrx.AuditREST, Subtype: "read", Action: socialrx.AuditRead, Outcome: socialrx.AuditSuccess})
	if a.Stats().Dropped != 1 {
		t.Errorf("dropped after Close = %d, want 1", a.Stats().Dropped)
	}
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}
