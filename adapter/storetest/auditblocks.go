package storetest

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// auditBlockEvents is how many buffered events testAuditLog appends: more
// than the stores' default AuditKeyEvery (4096), so that the first blocks
// get their keys and the last ones wait for theirs.
const auditBlockEvents = 4700

// testAuditLog: the buffered audit trail (socialrx.AuditLog), thousands of
// events appended in batches of 100, found by every search as a model of
// the records says, across the blocks with keys and those still without,
// in pages with _cursor (newest first and oldest first, with records of
// the same time in different batches), with the total on each page; read
// by id, old and new; a batch past a block's 65535 records.
func testAuditLog(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	log, ok := s.(socialrx.AuditLog)
	if !ok {
		t.Skip("the store has no AuditLog")
	}
	ctx := t.Context()
	base := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	clients := []string{"emr", "analyst", "portal"}
	rec := func(i int, id string) socialrx.AuditRecord {
		ev := socialrx.AuditEvent{
			ID: id, Recorded: base.Add(time.Duration(i/3) * time.Second), // three of a time
			Kind: socialrx.AuditREST, Subtype: []string{"read", "search-type", "read", "update"}[i%4],
			ClientID: clients[i%len(clients)], Address: "127.0.0.1",
			Outcome: []socialrx.AuditOutcome{socialrx.AuditSuccess, socialrx.AuditSuccess, socialrx.AuditMinorFailure}[i%7%3],
		}
		ev.Action = socialrx.AuditActionOf(ev.Subtype)
		if i%5 != 0 {
			ev.Entity, ev.Patient, ev.Version = fmt.Sprintf("Observation/o%d", i%211), fmt.Sprintf("Patient/p%d", i%37), 1
		}
		if i%10 == 5 {
			ev.Entity, ev.Patient, ev.Version = fmt.Sprintf("Patient/p%d", i%37), fmt.Sprintf("Patient/p%d", i%37), 1
		}
		r, err := mapping.AuditRecordOf(ev)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	recs := make([]socialrx.AuditRecord, auditBlockEvents)
	for i := range recs {
		recs[i] = rec(i, uuid.Must(uuid.NewV7()).String())
	}
	for i := 0; i < len(recs); i += 100 {
		if err := log.AppendAuditLog(ctx, recs[i:min(i+100, len(recs))]); err != nil {
			t.Fatalf("AppendAuditLog of batch %d: %v", i/100, err)
		}
	}

	// The model: records in the order of the store (time, then the order
	// appended), filtered in Go.
	type model func(r *socialrx.AuditRecord) bool
	expect := func(m model, asc bool) []string {
		var out []string
		for i := range recs {
			if m(&recs[i]) {
				out = append(out, recs[i].ID)
			}
		}
		if !asc {
			slices.Reverse(out)
		}
		return out
	}
	search := func(params url.Values) *socialrx.SearchResult {
		t.Helper()
		sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: params})
		if err != nil {
			t.Fatalf("AuditEvent?%s: %v", params.Encode(), err)
		}
		return sr
	}
	paged := func(q string, asc bool, count int) (ids []string, totals []int) {
		t.Helper()
		params, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		params.Set("_count", fmt.Sprint(count))
		if asc {
			params.Set("_sort", "date")
		}
		for pages := 0; params != nil; pages++ {
			if pages > 200 {
				t.Fatalf("AuditEvent?%s: paging does not end", q)
			}
			sr := search(params)
			for _, m := range sr.Matches {
				ids = append(ids, m.ID)
			}
			totals = append(totals, sr.Total)
			params = sr.Next
		}
		return ids, totals
	}
	emr, portal := "Device/"+socialrx.AuditAgentID("emr"), "Device/"+socialrx.AuditAgentID("portal")
	late := base.Add(time.Duration(auditBlockEvents/3-100) * time.Second) // in the blocks without keys
	for _, tc := range []struct {
		q string
		m model
	}{
		{"patient=Patient/p3", func(r *socialrx.AuditRecord) bool { return r.Patient == "Patient/p3" }},
		{"entity=Patient/p4", func(r *socialrx.AuditRecord) bool { return r.Entity == "Patient/p4" || r.Patient == "Patient/p4" }},
		{"entity=Observation/o7,Observation/o8", func(r *socialrx.AuditRecord) bool {
			return r.Entity == "Observation/o7" || r.Entity == "Observation/o8"
		}},
		{"patient=p5&agent=" + url.QueryEscape(emr), func(r *socialrx.AuditRecord) bool { return r.Patient == "Patient/p5" && r.Agent == emr }},
		{"agent=" + url.QueryEscape(portal) + "&outcome=4&action=R", func(r *socialrx.AuditRecord) bool {
			return r.Agent == portal && r.Outcome == socialrx.AuditMinorFailure && r.Action == socialrx.AuditRead
		}},
		{"date=ge" + late.Format(time.RFC3339) + "&patient=p6,p7", func(r *socialrx.AuditRecord) bool {
			return !r.Recorded.Before(late) && (r.Patient == "Patient/p6" || r.Patient == "Patient/p7")
		}},
		{"date=lt" + base.Add(200*time.Second).Format(time.RFC3339) + "&subtype=http://hl7.org/fhir/restful-interaction|update", func(r *socialrx.AuditRecord) bool {
			return r.Recorded.Before(base.Add(200*time.Second)) && r.Subtype == "update"
		}},
		{"_id=" + recs[3].ID + "," + recs[auditBlockEvents-2].ID + ",no-such-id", func(r *socialrx.AuditRecord) bool {
			return r.ID == recs[3].ID || r.ID == recs[auditBlockEvents-2].ID
		}},
	} {
		for _, asc := range []bool{false, true} {
			want := expect(tc.m, asc)
			if len(want) == 0 {
				t.Fatalf("AuditEvent?%s: the test matches nothing", tc.q)
			}
			got, totals := paged(tc.q, asc, 7)
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("paged AuditEvent?%s, ascending %v (-want +got):\n%s", tc.q, asc, diff)
			}
			for p, n := range totals {
				if n != len(want) {
					t.Errorf("AuditEvent?%s, ascending %v, page %d: total %d, want %d", tc.q, asc, p, n, len(want))
				}
			}
		}
	}
	// No clause: the first pages and the total; an agent: its total.
	for _, asc := range []bool{false, true} {
		params := url.Values{"_count": {"50"}}
		if asc {
			params.Set("_sort", "date")
		}
		var got []string
		for range 3 {
			sr := search(params)
			if sr.Total != auditBlockEvents {
				t.Errorf("AuditEvent, ascending %v: total %d, want %d", asc, sr.Total, auditBlockEvents)
			}
			for _, m := range sr.Matches {
				got = append(got, m.ID)
			}
			params = sr.Next
		}
		if diff := gocmp.Diff(expect(func(*socialrx.AuditRecord) bool { return true }, asc)[:150], got); diff != "" {
			t.Errorf("the first 3 pages of AuditEvent, ascending %v (-want +got):\n%s", asc, diff)
		}
	}
	// Without the total: the page alone, the same records.
	for _, asc := range []bool{false, true} {
		params := url.Values{"_count": {"40"}, "_total": {"none"}, "date": {"le" + late.Format(time.RFC3339)}}
		if asc {
			params.Set("_sort", "date")
		}
		var got []string
		for range 2 {
			sr := search(params)
			if sr.Total != -1 {
				t.Errorf("AuditEvent?%s: total %d, want none (-1)", params.Encode(), sr.Total)
			}
			for _, m := range sr.Matches {
				got = append(got, m.ID)
			}
			params = sr.Next
		}
		want := expect(func(r *socialrx.AuditRecord) bool { return !r.Recorded.After(late) }, asc)[:80]
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("two pages of AuditEvent?date=le..&_total=none, ascending %v (-want +got):\n%s", asc, diff)
		}
	}
	if sr := search(url.Values{"agent": {emr}, "_summary": {"count"}}); sr.Total != len(expect(func(r *socialrx.AuditRecord) bool { return r.Agent == emr }, false)) || len(sr.Matches) != 0 {
		t.Errorf("AuditEvent?agent=%s&_summary=count: total %d, %d matches; want %d, none", emr, sr.Total, len(sr.Matches), auditBlockEvents/3)
	}

	// Read by id, in the first block and the last, and an id nobody has.
	for _, i := range []int{0, 1234, auditBlockEvents - 1} {
		got, err := s.Read(ctx, "AuditEvent", recs[i].ID)
		if err != nil {
			t.Errorf("Read AuditEvent of record %d: %v", i, err)
			continue
		}
		want, err := mapping.AuditEventBody(recs[i])
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Body) != string(want) || !got.LastUpdated.Equal(recs[i].Recorded) {
			t.Errorf("Read AuditEvent of record %d = %s at %s, want %s at %s", i, got.Body, got.LastUpdated, want, recs[i].Recorded)
		}
	}
	if _, err := s.Read(ctx, "AuditEvent", uuid.Must(uuid.NewV7()).String()); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("Read AuditEvent of an unknown id = %v, want ENOTFOUND", err)
	}
	// An id taken, old or in its own batch: the batch is refused whole.
	fresh := rec(0, uuid.Must(uuid.NewV7()).String())
	for name, batch := range map[string][]socialrx.AuditRecord{
		"an old id":       {fresh, recs[10]},
		"a new id":        {fresh, recs[auditBlockEvents-10]},
		"twice in itself": {fresh, fresh},
	} {
		if err := log.AppendAuditLog(ctx, batch); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
			t.Errorf("AppendAuditLog of %s = %v, want ECONFLICT", name, err)
		}
	}
	if _, err := s.Read(ctx, "AuditEvent", fresh.ID); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("the record batched with a taken id: Read = %v, want ENOTFOUND (nothing written)", err)
	}

	t.Run("LargeBatch", func(t *testing.T) {
		// More records than a block holds (65535): cut in blocks, one
		// order, every record found.
		s := open(t)
		const n = 70000
		big := make([]socialrx.AuditRecord, n)
		for i := range big {
			big[i] = rec(i, fmt.Sprintf("big-%06d", i))
			big[i].Recorded = base // all of one time: ordered by seq alone
		}
		if err := s.(socialrx.AuditLog).AppendAuditLog(ctx, big); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 65534, 65535, n - 1} {
			if got, err := s.Read(ctx, "AuditEvent", big[i].ID); err != nil || got.ID != big[i].ID {
				t.Errorf("Read AuditEvent of record %d: %v, %v", i, got, err)
			}
		}
		var ids []string
		params := url.Values{"_count": {"4"}, "_sort": {"date"}, "_id": {strings.Join([]string{big[1].ID, big[65534].ID, big[65535].ID, big[65536].ID, big[n-1].ID}, ",")}}
		for params != nil {
			sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: params})
			if err != nil {
				t.Fatal(err)
			}
			if sr.Total != 5 {
				t.Errorf("AuditEvent?_id=(5 ids): total %d, want 5", sr.Total)
			}
			for _, m := range sr.Matches {
				ids = append(ids, m.ID)
			}
			params = sr.Next
		}
		want := []string{big[1].ID, big[65534].ID, big[65535].ID, big[65536].ID, big[n-1].ID}
		if diff := gocmp.Diff(want, ids); diff != "" {
			t.Errorf("AuditEvent?_id= across blocks of one batch, oldest first (-want +got):\n%s", diff)
		}
		sr, err := s.Search(ctx, socialrx.SearchRequest{Type: "AuditEvent", Params: url.Values{"_count": {"3"}}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range sr.Matches {
			got = append(got, m.ID)
		}
		if diff := gocmp.Diff([]string{big[n-1].ID, big[n-2].ID, big[n-3].ID}, got); diff != "" || sr.Total != n {
			t.Errorf("AuditEvent newest first: total %d, want %d; (-want +got):\n%s", sr.Total, n, diff)
		}
	})
}
