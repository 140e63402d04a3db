package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
)

// streamIDs returns the ids StreamResources gives for req, in the order
// given, failing the test on an error.
func streamIDs(t *testing.T, s socialrx.Store, req socialrx.StreamRequest) []string {
	t.Helper()
	var ids []string
	err := s.StreamResources(t.Context(), req, func(r *socialrx.Resource) error {
		if r.Type != req.Type || len(r.Body) == 0 || r.VersionID == 0 || r.LastUpdated.IsZero() {
			return fmt.Errorf("resource %s/%s: type %q, %d body bytes, version %d, lastUpdated %v",
				req.Type, r.ID, r.Type, len(r.Body), r.VersionID, r.LastUpdated)
		}
		ids = append(ids, r.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("StreamResources(%+v): %v", req, err)
	}
	n, err := s.CountResources(t.Context(), req)
	if err != nil {
		t.Fatalf("CountResources(%+v): %v", req, err)
	}
	if req.AfterID == "" && n != int64(len(ids)) {
		t.Errorf("CountResources(%+v) = %d, StreamResources gave %d", req, n, len(ids))
	}
	return ids
}

// testStreamResources: StreamResources gives the current, live resources of
// one type in id order, past more than one batch, bounded by
// lastUpdated (since exclusive, until inclusive), by keyset position, by
// ids and by references (the patient compartment).
func testStreamResources(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	// 5,105 patients in one transaction: more than one batch (the SQL
	// engine reads 5,000 rows or 8 MB per query).
	const many = 5105
	var want []string
	err := s.Transact(ctx, func(tx socialrx.Tx) error {
		for i := range many {
			id := fmt.Sprintf("p-%05d", (i*7919)%many) // not written in id order
			if _, err := tx.Create(ctx, "Patient", id, []byte(`{"resourceType":"Patient","active":true}`)); err != nil {
				return err
			}
			want = append(want, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	mustDelete(t, s, "Patient", "p-00003")
	want = slices.DeleteFunc(want, func(id string) bool { return id == "p-00003" })
	if diff := cmp.Diff(want, streamIDs(t, s, socialrx.StreamRequest{Type: "Patient"})); diff != "" {
		t.Errorf("all live patients in id order (-want +got):\n%s", diff)
	}
	if got := streamIDs(t, s, socialrx.StreamRequest{Type: "Patient", AfterID: "p-05099"}); !slices.Equal(got, want[len(want)-5:]) {
		t.Errorf("after p-05099: %v, want %v", got, want[len(want)-5:])
	}
	if got := streamIDs(t, s, socialrx.StreamRequest{Type: "Organization"}); len(got) != 0 {
		t.Errorf("a type with no resources gave %v", got)
	}

	// lastUpdated bounds, against the times the store stamped.
	times := map[string]time.Time{}
	for _, id := range []string{"t-a", "t-b", "t-c", "t-d"} {
		times[id] = mustCreate(t, s, "Observation", id, `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`).LastUpdated
	}
	upd, _ := mustUpdate(t, s, "Observation", "t-a", `{"resourceType":"Observation","status":"amended","code":{"text":"x"}}`, 0)
	times["t-a"] = upd.LastUpdated
	since, until := times["t-b"], times["t-c"]
	var between []string
	for id, lu := range times {
		if lu.After(since) && !lu.After(until) {
			between = append(between, id)
		}
	}
	slices.Sort(between)
	if got := streamIDs(t, s, socialrx.StreamRequest{Type: "Observation", Since: since, Until: until}); !slices.Equal(got, between) {
		t.Errorf("since %v until %v: %v, want %v", since, until, got, between)
	}
	if got := streamIDs(t, s, socialrx.StreamRequest{Type: "Observation", Since: times["t-a"]}); len(got) != 0 {
		t.Errorf("since the last write: %v, want none", got)
	}

	// References: the patient compartment of p-00001 and p-00002.
	load(t, s, []fixture{
		{"Condition", "c-1", `{"resourceType":"Condition","subject":{"reference":"Patient/p-00001"}}`},
		{"Condition", "c-2", `{"resourceType":"Condition","subject":{"reference":"Patient/p-00002"}}`},
		{"Condition", "c-3", `{"resourceType":"Condition","subject":{"reference":"Patient/p-00004"}}`},
		{"Condition", "c-4", `{"resourceType":"Condition","subject":{"reference":"Group/p-00001"}}`},
		{"Condition", "c-5", `{"resourceType":"Condition","asserter":{"reference":"Patient/p-00001"},"subject":{"reference":"Patient/p-00009"}}`},
	})
	req := socialrx.StreamRequest{Type: "Condition", RefParams: []string{"subject", "patient"}, RefType: "Patient", RefIDs: []string{"p-00001", "p-00002"}}
	if diff := cmp.Diff([]string{"c-1", "c-2"}, streamIDs(t, s, req)); diff != "" {
		t.Errorf("compartment of two patients (-want +got):\n%s", diff)
	}
	req.RefIDs = nil
	if diff := cmp.Diff([]string{"c-1", "c-2", "c-3", "c-5"}, streamIDs(t, s, req)); diff != "" {
		t.Errorf("compartment of every patient (-want +got):\n%s", diff)
	}
	req.RefIDs = []string{}
	if got := streamIDs(t, s, req); len(got) != 0 {
		t.Errorf("compartment of no patients: %v", got)
	}
	if diff := cmp.Diff([]string{"p-00002", "p-00010"}, streamIDs(t, s, socialrx.StreamRequest{Type: "Patient", IDs: []string{"p-00010", "p-00002", "p-00003", "nobody"}})); diff != "" {
		t.Errorf("by ids (-want +got):\n%s", diff)
	}

	// fn's error stops the stream and comes back.
	stop := errors.New("stop")
	calls := 0
	err = s.StreamResources(ctx, socialrx.StreamRequest{Type: "Patient"}, func(*socialrx.Resource) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn error: got %v after %d calls, want stop after 1", err, calls)
	}
	tooMany := make([]string, socialrx.MaxStreamIDs+1)
	err = s.StreamResources(ctx, socialrx.StreamRequest{Type: "Patient", IDs: tooMany}, func(*socialrx.Resource) error { return nil })
	if socialrx.ErrorCode(err) != socialrx.EINVALID {
		t.Errorf("%d ids: %v, want EINVALID", len(tooMany), err)
	}
}

// testExportJobs: an export job is recorded with its River job in one
// transaction, read back as written, saved only while unfinished, listed
// when expired and deleted.
func testExportJobs(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	job := &socialrx.ExportJob{
		ID: "exp-1", Owner: "client-a", Level: socialrx.ExportGroup, GroupID: "g1",
		Types: []string{"Patient", "ServiceRequest"}, Since: now.Add(-time.Hour), TransactionTime: now,
		Request: "http://x/fhir/Group/g1/$export?_type=Patient,ServiceRequest", Facts: true, FactsFrom: []string{"Task"}, CreatedAt: now,
	}
	if err := s.CreateExport(ctx, job); err != nil {
		t.Fatalf("CreateExport: %v", err)
	}
	if job.Status != socialrx.ExportAccepted {
		t.Errorf("status after create %q, want accepted", job.Status)
	}
	if err := s.CreateExport(ctx, &socialrx.ExportJob{ID: "exp-1", Types: []string{"Patient"}, CreatedAt: now, TransactionTime: now, Level: "system"}); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
		t.Errorf("second CreateExport of one id: %v, want ECONFLICT", err)
	}
	if jc, ok := s.(jobCounter); ok {
		if n, err := jc.JobCount(ctx, socialrx.KindExport); err != nil || n != 1 {
			t.Errorf("export jobs enqueued: %d, %v; want 1 (the conflicting create enqueues none)", n, err)
		}
	} else {
		t.Errorf("store %T does not count jobs", s)
	}
	got, err := s.Export(ctx, "exp-1")
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if diff := cmp.Diff(job, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("read back (-created +read):\n%s", diff)
	}
	if _, err := s.Export(ctx, "nope"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("Export of a missing id: %v, want ENOTFOUND", err)
	}

	// Progress is saved while the job runs.
	got.Status = socialrx.ExportInProgress
	got.Total, got.Done = 10, 4
	got.Cursor = socialrx.ExportCursor{TypeIndex: 1, AfterID: "sr-9"}
	got.Outputs = []socialrx.ExportOutput{{Type: "Patient", File: "Patient.ndjson", Count: 3, Bytes: 120}, {Type: "ServiceRequest", File: "ServiceRequest.ndjson", Count: 1, Bytes: 40}}
	got.UpdatedAt = now.Add(time.Second)
	if ok, err := s.SaveExport(ctx, got); err != nil || !ok {
		t.Fatalf("SaveExport in progress: %v, %v", ok, err)
	}
	again, err := s.Export(ctx, "exp-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("saved progress (-saved +read):\n%s", diff)
	}
	// Finishing is the last save.
	got.Status = socialrx.ExportCompleted
	got.ExpiresAt = now.Add(time.Hour)
	if ok, err := s.SaveExport(ctx, got); err != nil || !ok {
		t.Fatalf("SaveExport completing: %v, %v", ok, err)
	}
	got.Status = socialrx.ExportInProgress
	if ok, err := s.SaveExport(ctx, got); err != nil || ok {
		t.Errorf("SaveExport of a finished job: %v, %v; want false and nothing written", ok, err)
	}
	if again, _ := s.Export(ctx, "exp-1"); again == nil || again.Status != socialrx.ExportCompleted {
		t.Errorf("finished job changed by a later save: %+v", again)
	}

	// A second job, not finished: never expired.
	if err := s.CreateExport(ctx, &socialrx.ExportJob{ID: "exp-2", Level: socialrx.ExportSystem, Types: []string{"Task"}, TransactionTime: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ids, err := s.ExportIDs(ctx)
	if err != nil || !slices.Equal(ids, []string{"exp-1", "exp-2"}) {
		t.Errorf("ExportIDs = %v, %v", ids, err)
	}
	if exp, err := s.ExpiredExports(ctx, now.Add(59*time.Minute), 10); err != nil || len(exp) != 0 {
		t.Errorf("expired before its time: %v, %v", exp, err)
	}
	exp, err := s.ExpiredExports(ctx, now.Add(time.Hour), 10)
	if err != nil || len(exp) != 1 || exp[0].ID != "exp-1" {
		t.Errorf("ExpiredExports at expiry = %v, %v; want exp-1", exp, err)
	}

	if ok, err := s.DeleteExport(ctx, "exp-2"); err != nil || !ok {
		t.Errorf("DeleteExport: %v, %v", ok, err)
	}
	if ok, err := s.DeleteExport(ctx, "exp-2"); err != nil || ok {
		t.Errorf("DeleteExport again: %v, %v; want false", ok, err)
	}
	if ok, err := s.SaveExport(ctx, &socialrx.ExportJob{ID: "exp-2", Status: socialrx.ExportInProgress}); err != nil || ok {
		t.Errorf("SaveExport of a deleted job: %v, %v; want false (cancelled)", ok, err)
	}
	if _, err := s.Export(ctx, "exp-2"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("deleted export: %v, want ENOTFOUND", err)
	}
}
