package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/fhir/search"
)

// Issue 12, "Bounded work per request": each probe found by hand, on the
// real server and both stores.

func TestLimitsSQLite(t *testing.T) { testLimits(t, sqliteDatabase(t)) }

func TestLimitsPostgres(t *testing.T) { testLimits(t, pgtest.NewDatabase(t)) }

func testLimits(t *testing.T, database string) {
	m := startMainWith(t, database, func(c *Config) { c.MaxResponseBytes = 1 << 20 })
	base := m.URL() + "/fhir"
	for i := range 30 {
		resp, b := do(t, http.MethodPost, base+"/Patient", []byte(fmt.Sprintf(
			`{"resourceType":"Patient","identifier":[{"system":"s","value":"v%d"}],"name":[{"family":"n%d"}],"gender":"female","birthDate":"1980-01-%02d"}`, i, i, i%28+1)))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s", resp.StatusCode, truncate(b))
		}
	}
	t.Run("SearchProbes", func(t *testing.T) { testSearchProbes(t, base) })
	t.Run("SearchAtTheLimits", func(t *testing.T) { testSearchAtTheLimits(t, base) })
	t.Run("NUL", func(t *testing.T) { testNUL(t, base) })
	t.Run("BatchProbes", func(t *testing.T) { testBatchProbes(t, base) })
}

// wantOutcome checks the status and that the body is an OperationOutcome.
func wantStatusOutcome(t *testing.T, what string, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d: %s", what, resp.StatusCode, status, truncate(body))
		return
	}
	var oo struct{ ResourceType string }
	if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		t.Errorf("%s: body is not an OperationOutcome: %s", what, truncate(body))
	}
}

func params(name, prefix string, n int, sep string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%s%d", prefix, i)
		if sep == "&" {
			parts[i] = name + "=" + parts[i]
		}
	}
	if sep == "&" {
		return strings.Join(parts, "&")
	}
	return name + "=" + strings.Join(parts, ",")
}

// testSearchProbes: 400 comma-separated values and 500 repeated name= were
// 500 on SQLite ("Expression tree is too large"); 200 repeated name= ran
// 52 s on PostgreSQL. All are past the limits now: 400.
func testSearchProbes(t *testing.T, base string) {
	for what, q := range map[string]string{
		"400 comma-separated values": params("name", "n", 400, ","),
		"500 repeated name=":         params("name", "n", 500, "&"),
		"200 repeated name=":         params("name", "n", 200, "&"),
		"51 parameters":              params("name", "n", search.MaxParams+1, "&"),
		"201 values":                 params("_id", "i", search.MaxValues+1, ","),
	} {
		resp, b := do(t, http.MethodGet, base+"/Patient?"+q, nil)
		wantStatusOutcome(t, what, resp, b, http.StatusBadRequest)
	}
}

// testSearchAtTheLimits: searches at the maximum parameters and values, in
// several shapes, answer 200 within a deadline of a few seconds (the
// statements are planned and run in time linear in their size; 100
// repeated name= took 4 s on PostgreSQL before, 200 took 52 s).
func testSearchAtTheLimits(t *testing.T, base string) {
	n := search.MaxParams
	mixed := make([]string, 0, n)
	for i := range n {
		switch i % 5 {
		case 0:
			mixed = append(mixed, fmt.Sprintf("name=n%d", i))
		case 1:
			mixed = append(mixed, fmt.Sprintf("identifier:not=s|v%d", i))
		case 2:
			mixed = append(mixed, "birthdate=ge1900")
		case 3:
			mixed = append(mixed, "gender=female,male,other")
		default:
			mixed = append(mixed, "family:contains=n")
		}
	}
	for what, q := range map[string]string{
		"50 repeated name=":         params("name", "n", n, "&"),
		"200 comma-separated names": params("name", "n", search.MaxValues, ","),
		"200 birthdate ranges":      "birthdate=" + strings.TrimSuffix(strings.Repeat("ge1980-01-01,", search.MaxValues), ","),
		"200 ids":                   params("_id", "i", search.MaxValues, ","),
		"50 mixed":                  strings.Join(mixed, "&"),
		"50 mixed, sorted, counted": strings.Join(mixed[:n-3], "&") + "&_sort=-birthdate,name,gender&_total=accurate&_count=1000",
		"50 chained":                params("organization.name", "o", n, "&"),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/Patient?"+q, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v (the deadline is 10 s)", what, err)
			cancel()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d: %s", what, resp.StatusCode, truncate(b))
		}
	}
}

// testNUL: a NUL byte in a search value was 500 on PostgreSQL.
func testNUL(t *testing.T, base string) {
	for _, q := range []string{"name=x%00y", "identifier=s|a%00b", "_id=x%00y", "organization.name=x%00", "family:exact=%00"} {
		resp, b := do(t, http.MethodGet, base+"/Patient?"+q, nil)
		wantStatusOutcome(t, "GET Patient?"+q, resp, b, http.StatusBadRequest)
	}
	resp, b := do(t, http.MethodPost, base+"/Patient", []byte(`{"resourceType":"Patient"}`), "If-None-Exist", "identifier=s|a%00b")
	wantStatusOutcome(t, "If-None-Exist with a NUL", resp, b, http.StatusBadRequest)
	resp, b = do(t, http.MethodPut, base+"/Patient?identifier=s|a%00b", []byte(`{"resourceType":"Patient"}`))
	wantStatusOutcome(t, "conditional update with a NUL", resp, b, http.StatusBadRequest)
	// In a resource body (not a search, but the same bytes on their way
	// to PostgreSQL text columns): never a 5xx.
	resp, b = do(t, http.MethodPost, base+"/Patient", []byte(`{"resourceType":"Patient","name":[{"family":"a\u0000b"}],"identifier":[{"system":"s","value":"\u0000"}]}`))
	if resp.StatusCode >= 500 {
		t.Errorf("Patient with a NUL in a string: status %d: %s", resp.StatusCode, truncate(b))
	}
	bundle := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"request":{"method":"GET","url":"Patient?name=x%00y"}},
	 {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=s|a%00b"}}]}`
	resp, b = do(t, http.MethodPost, base, []byte(bundle))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch: %d %s", resp.StatusCode, truncate(b))
	}
	for i, st := range entryStatuses(t, b) {
		if st != "400 Bad Request" {
			t.Errorf("batch entry %d with a NUL: %s, want 400 Bad Request", i, st)
		}
	}
}

func entryStatuses(t *testing.T, body []byte) []string {
	t.Helper()
	var bundle struct {
		Entry []struct {
			Response struct{ Status string }
		}
	}
	if err := json.Unmarshal(body, &bundle); err != nil {
		t.Fatalf("response is not a Bundle: %s", truncate(body))
	}
	out := make([]string, len(bundle.Entry))
	for i, e := range bundle.Entry {
		out[i] = e.Response.Status
	}
	return out
}

// testBatchProbes: a 5 KB batch of 100 GET Patient/big returned 968 MB; a
// batch of 10k searches reached 12.5 GB of RSS. Entries are capped (413),
// and a batch's reads stop at the response limit (1 MiB in this test).
func testBatchProbes(t *testing.T, base string) {
	entries := func(n int, url string) []byte {
		es := make([]string, n)
		for i := range es {
			es[i] = `{"request":{"method":"GET","url":"` + url + `"}}`
		}
		return []byte(`{"resourceType":"Bundle","type":"batch","entry":[` + strings.Join(es, ",") + `]}`)
	}
	resp, b := do(t, http.MethodPost, base, entries(10_000, "Patient?_count=1000"))
	wantStatusOutcome(t, "batch of 10k searches", resp, b, http.StatusRequestEntityTooLarge)

	big := `{"resourceType":"Patient","id":"big","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("x", 300_000) + `</div>"}}`
	resp, b = do(t, http.MethodPut, base+"/Patient/big", []byte(big))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT Patient/big: %d %s", resp.StatusCode, truncate(b))
	}
	resp, b = do(t, http.MethodPost, base, entries(100, "Patient/big"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch of 100 GET Patient/big: %d %s", resp.StatusCode, truncate(b))
	}
	if most := 1<<20 + 100*1000; len(b) > most {
		t.Errorf("batch of 100 GET Patient/big: %d bytes, want at most %d", len(b), most)
	}
	for i, st := range entryStatuses(t, b) {
		if want := map[bool]string{true: "200 OK", false: "413 Request Entity Too Large"}[i < 3]; st != want {
			t.Errorf("entry %d: %s, want %s (3 reads of 300 KB fit in 1 MiB)", i, st, want)
		}
	}
	resp, b = do(t, http.MethodPost, base, entries(1000, "Patient?_count=1000"))
	if resp.StatusCode != http.StatusOK || len(b) > 1<<20+1000*1000 {
		t.Errorf("batch of 1000 searches: status %d, %d bytes; want 200 within the limit", resp.StatusCode, len(b))
	}
}
