package httpapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/httpapi"
)

// largeBodies are request bodies of about 9.9 MB (issue 12: "a 9.9 MB body
// raising RSS from 46 to 513 MB"), of the shapes that cost most per byte.
func largeBodies() map[string]struct{ method, path, body string } {
	const size = 9_900_000
	text := bigPatient("text", size)
	var ids []string
	for i, n := 0, 0; n+60 < size; i++ {
		ids = append(ids, fmt.Sprintf(`{"system":"urn:s","value":"%08d"}`, i))
		n += len(ids[i]) + 1
	}
	identifiers := `{"resourceType":"Patient","id":"ids","identifier":[` + strings.Join(ids, ",") + `]}`
	var entries []string
	for i := 0; i < httpapi.DefaultMaxBundleEntries; i++ {
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-%012d","resource":{"resourceType":"Patient","name":[{"family":"f%d"}],"gender":"female"},"request":{"method":"POST","url":"Patient"}}`, i, i))
	}
	// A transaction at the entry limit, each entry padded to make 9.9 MB.
	pad := (size - len(strings.Join(entries, ","))) / len(entries)
	for i, e := range entries {
		entries[i] = strings.Replace(e, `"gender":"female"`, `"gender":"female","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">`+strings.Repeat("y", max(pad-120, 0))+`</div>"}`, 1)
	}
	return map[string]struct{ method, path, body string }{
		"PutText":         {"PUT", "/fhir/Patient/text", text},
		"PutIdentifiers":  {"PUT", "/fhir/Patient/ids", identifiers},
		"Transaction1000": {"POST", "/fhir", batchOf("transaction", entries)},
		"BatchSearch1000": {"POST", "/fhir", batchOf("batch", gets(httpapi.DefaultMaxBundleEntries, "Patient?gender=female&_count=1000"))},
	}
}

// BenchmarkLargeBody sends each large body to the handler, on each store,
// and reports, per request and relative to the body size, the bytes
// allocated (alloc/body) and the peak of live heap above what was live
// before the request (peak/body, sampled every 200 µs): socialrx's own
// process (PostgreSQL's server process is not counted). Run it with
//
//	SOCIALRX_REQUIRE_PG=1 go test ./adapter/httpapi -run '^$' -bench LargeBody -benchtime 5x
func BenchmarkLargeBody(b *testing.B) {
	stores := []struct {
		name string
		open func(testing.TB) socialrx.Store
	}{{"SQLite", func(t testing.TB) socialrx.Store { return openStore(t) }}, {"PostgreSQL", openPostgres}}
	bodies := largeBodies()
	for _, st := range stores {
		for _, name := range slices.Sorted(maps.Keys(bodies)) {
			req := bodies[name]
			b.Run(st.name+"/"+name, func(b *testing.B) {
				benchLargeBody(b, newServerWith(b, st.open(b), httpapi.Config{}), name, req.method, req.path, req.body)
			})
		}
	}
}

// benchLargeBody sends one large body b.N times to the handler of ts.
func benchLargeBody(b *testing.B, ts *testServer, name, method, path, body string) {
	h := ts.srv.Handler()
	if name == "BatchSearch1000" {
		// Something to find: 200 Patients of ~10 KB, so that the
		// response limit (32 MiB) is passed after 17 searches.
		for i := range 200 {
			id := fmt.Sprintf("p%d", i)
			p := strings.Replace(bigPatient(id, 10_000), `"resourceType":"Patient",`, `"resourceType":"Patient","gender":"female",`, 1)
			ts.do(b, "PUT", "/fhir/Patient/"+id, p).want(b, http.StatusCreated)
		}
	}
	size := float64(len(body))
	var allocated, peak float64
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Host = ts.Listener.Addr().String() // a Host the server answers for
		r.Header.Set("Content-Type", "application/fhir+json")
		w := httptest.NewRecorder()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		stop, top := sampleHeap()
		h.ServeHTTP(w, r)
		hi := stop()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if w.Code >= 300 {
			b.Fatalf("%s %s: status %d: %.300s", method, path, w.Code, w.Body.String())
		}
		allocated += float64(after.TotalAlloc - before.TotalAlloc)
		peak += float64(hi - top)
	}
	b.ReportMetric(size/1e6, "body-MB")
	b.ReportMetric(allocated/float64(b.N)/size, "alloc/body")
	b.ReportMetric(peak/float64(b.N)/size, "peak/body")
}

// sampleHeap samples the live heap every 200 µs until stop is called; it
// returns the heap before sampling began and stop, which returns the
// highest sample.
func sampleHeap() (stop func() uint64, before uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	before = read()
	var hi atomic.Uint64
	hi.Store(before)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > hi.Load() {
					hi.Store(v)
				}
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		if v := read(); v > hi.Load() {
			hi.Store(v)
		}
		return hi.Load()
	}, before
}
