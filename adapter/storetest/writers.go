package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// testConcurrentWriters proves that concurrent creates across types are all
// kept and all indexed: 8 goroutines × 25 creates, then exact counts by
// search and by history.
func testConcurrentWriters(t *testing.T, open func(t *testing.T) socialrx.Store) {
	const (
		writers = 8
		each    = 25
	)
	s := open(t)
	types := []string{"Patient", "Observation", "Condition", "Task", "ServiceRequest"}
	body := func(typ string, g, i int) string {
		switch typ {
		case "Patient":
			return patientBody("Writer", fmt.Sprintf("G%dI%d", g, i), day(g*100+i))
		case "Observation":
			return obsBody(fmt.Sprintf("Patient/w%d-%d", g, i), "8302-2", "Body height", "2024-01-01", `"valueQuantity":{"value":160.0,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}`)
		case "Condition":
			return `{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"733423003"}]},"subject":{"reference":"Patient/w0-0"}}`
		case "Task":
			return taskBody("requested", fmt.Sprintf("Organization/org%d", g))
		default:
			// draft: a prescription not yet active gets no follow-up Tasks,
			// which would change the Task counts below.
			return `{"resourceType":"ServiceRequest","status":"draft","intent":"order","code":{"coding":[{"system":"http://snomed.info/sct","code":"464131000124100"}]},"subject":{"reference":"Patient/w0-0"}}`
		}
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := make(chan struct{})
	for g := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				typ := types[(g+i)%len(types)]
				id := fmt.Sprintf("w%d-%d", g, i)
				r, err := txCreate(s, t, typ, id, body(typ, g, i))
				if err == nil && (r == nil || r.VersionID != 1 || r.ID != id || r.Type != typ) {
					err = fmt.Errorf("got %+v, want %s/%s version 1", r, typ, id)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("writer %d: create %s/%s: %w", g, typ, id, err))
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}

	want := make(map[string]int)
	for g := range writers {
		for i := range each {
			want[types[(g+i)%len(types)]]++
		}
	}
	got := make(map[string]int)
	for _, typ := range types {
		res := searchPage(t, s, typ, "_summary=count")
		got[typ] = res.Total
		matches, _, _ := searchAll(t, s, typ, "_count=15")
		if len(matches) != want[typ] {
			t.Errorf("%s: %d matches across pages, want %d", typ, len(matches), want[typ])
		}
		if dups := duplicates(keys(matches)); len(dups) > 0 {
			t.Errorf("%s: on more than one page: %v", typ, dups)
		}
		versions, total := historyAll(t, s, socialrx.HistoryRequest{Type: typ, Count: 40})
		if total != want[typ] || len(versions) != want[typ] {
			t.Errorf("%s history: %d versions, Total %d; want %d", typ, len(versions), total, want[typ])
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("search totals per type (-want +got):\n%s", diff)
	}
	versions, total := historyAll(t, s, socialrx.HistoryRequest{Count: 64})
	if total != writers*each || len(versions) != writers*each {
		t.Errorf("system history: %d versions, Total %d; want %d", len(versions), total, writers*each)
	}
	if dups := duplicates(versionKeys(versions)); len(dups) > 0 {
		t.Errorf("system history: versions on more than one page: %v", dups)
	}
	for i := 1; i < len(versions); i++ {
		if versions[i].LastUpdated.After(versions[i-1].LastUpdated) {
			t.Errorf("system history not newest first: %s (%s) before %s (%s)",
				versionKey(versions[i-1]), versions[i-1].LastUpdated, versionKey(versions[i]), versions[i].LastUpdated)
			break
		}
	}
	if res := searchPage(t, s, "Patient", "family=writer&_summary=count"); res.Total != want["Patient"] {
		t.Errorf("Patient?family=writer: Total %d, want %d", res.Total, want["Patient"])
	}
}
