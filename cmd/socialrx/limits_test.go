package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the test's own connection to the SQLite file

	"github.com/socialrx/socialrx/adapter/pgtest"
)

// testRESTGaps runs the REST probes of issue 12 ("small REST gaps") against
// a running server.
func testRESTGaps(t *testing.T, m *Main) {
	base := m.URL() + "/fhir"
	resp, body := do(t, "POST", base+"/Patient", []byte(`{"resourceType":"Patient","active":true}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	id := decodeJSON(t, body)["id"].(string)

	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		check                    func(t *testing.T, resp *http.Response, m map[string]any)
	}{
		{name: "transaction at [base]/", method: "POST", path: "/",
			body:   `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`,
			status: 200, check: wantType("transaction-response")},
		{name: "search at Patient/", method: "GET", path: "/Patient/?_id=" + id, status: 200, check: func(t *testing.T, _ *http.Response, m map[string]any) {
			if n := len(m["entry"].([]any)); n != 1 {
				t.Errorf("%d entries, want 1", n)
			}
		}},
		{name: "vread of a non-numeric version", method: "GET", path: "/Patient/" + id + "/_history/abc", status: 404, check: wantOutcome("not-found")},
		{name: "vread of a version that does not exist", method: "GET", path: "/Patient/" + id + "/_history/2", status: 404, check: wantOutcome("not-found")},
		{name: "PUT metadata", method: "PUT", path: "/metadata", body: `{"resourceType":"CapabilityStatement"}`, status: 405, check: wantAllow("GET")},
		{name: "GET $process-messages", method: "GET", path: "/$process-messages", status: 405, check: wantAllow("POST")},
		{name: "empty transaction", method: "POST", path: "", body: `{"resourceType":"Bundle","type":"transaction","entry":[]}`, status: 200, check: func(t *testing.T, _ *http.Response, m map[string]any) {
			if m["type"] != "transaction-response" || m["entry"] != nil {
				t.Errorf("got type %v entry %v, want an empty transaction-response", m["type"], m["entry"])
			}
		}},
		{name: "empty transaction without entry", method: "POST", path: "", body: `{"resourceType":"Bundle","type":"transaction"}`, status: 200, check: wantType("transaction-response")},
		{name: "arbitrary Host", method: "POST", path: "/Patient", body: `{"resourceType":"Patient"}`, header: []string{"Host", "evil.example"}, status: 421, check: wantOutcome("not-supported")},
		{name: "arbitrary Host, paging", method: "GET", path: "/Patient?_count=1", header: []string{"Host", "evil.example"}, status: 421, check: wantOutcome("not-supported")},
		{name: "localhost Host", method: "POST", path: "/Patient", body: `{"resourceType":"Patient"}`, header: []string{"Host", "localhost:8080"}, status: 201, check: func(t *testing.T, resp *http.Response, _ map[string]any) {
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "http://localhost:8080/fhir/Patient/") {
				t.Errorf("Location %q, want it on localhost:8080", loc)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			if tt.body != "" {
				b = []byte(tt.body)
			}
			resp, body := do(t, tt.method, base+tt.path, b, tt.header...)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			}
			var got map[string]any
			if len(body) > 0 {
				got = decodeJSON(t, body)
			}
			tt.check(t, resp, got)
		})
	}
}

func wantType(typ string) func(*testing.T, *http.Response, map[string]any) {
	return func(t *testing.T, _ *http.Response, m map[string]any) {
		if m["type"] != typ {
			t.Errorf("Bundle.type %v, want %s", m["type"], typ)
		}
	}
}

func wantOutcome(code string) func(*testing.T, *http.Response, map[string]any) {
	return func(t *testing.T, _ *http.Response, m map[string]any) {
		if m["resourceType"] != "OperationOutcome" {
			t.Fatalf("got %v, want an OperationOutcome", m["resourceType"])
		}
		issue := m["issue"].([]any)[0].(map[string]any)
		if issue["code"] != code {
			t.Errorf("issue code %v, want %s", issue["code"], code)
		}
	}
}

func wantAllow(allow string) func(*testing.T, *http.Response, map[string]any) {
	return func(t *testing.T, resp *http.Response, m map[string]any) {
		wantOutcome("not-supported")(t, resp, m)
		if got := resp.Header.Get("Allow"); got != allow {
			t.Errorf("Allow %q, want %q", got, allow)
		}
	}
}

func TestRESTGapsSQLite(t *testing.T) {
	testRESTGaps(t, startMain(t, sqliteDatabase(t)))
}

func TestRESTGapsPostgres(t *testing.T) {
	testRESTGaps(t, startMain(t, pgtest.NewDatabase(t)))
}

// lockResource holds, from a connection of the test's own, the database
// lock a write of Patient/id waits for, until release is called: the row
// locked FOR UPDATE on PostgreSQL, the write lock of the file on SQLite.
type lockResource func(t *testing.T, database, id string) (release func())

func lockPostgres(t *testing.T, database, id string) func() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM resources WHERE type = 'Patient' AND id = $1 FOR UPDATE) x`, id).Scan(&n); err != nil || n != 1 {
		t.Fatalf("lock Patient/%s: %d rows, %v", id, n, err)
	}
	return func() {
		_ = tx.Rollback(ctx)
		_ = conn.Close(ctx)
	}
}

func lockSQLite(t *testing.T, database, _ string) func() {
	db, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(database, "sqlite:")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		_ = conn.Close()
		_ = db.Close()
	}
}

// testRequestTimeout: a write that waits for a lock past --request-timeout
// is answered 503 with an OperationOutcome (issue code timeout) soon after
// the deadline, changes nothing, and the server keeps serving. waiting,
// when set, counts the statements still waiting for the lock: it must come
// to 0 while the lock is still held (the statement was stopped, not left
// to finish once the lock goes).
func testRequestTimeout(t *testing.T, database string, lock lockResource, waiting func(t *testing.T) int) {
	const timeout = 500 * time.Millisecond
	m := startMainWith(t, database, func(c *Config) { c.RequestTimeout = timeout })
	base := m.URL() + "/fhir"
	resp, body := do(t, "PUT", base+"/Patient/slow", []byte(`{"resourceType":"Patient","id":"slow"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	release := lock(t, database, "slow")
	start := time.Now()
	resp, body = do(t, "PUT", base+"/Patient/slow", []byte(`{"resourceType":"Patient","id":"slow","active":true}`))
	took := time.Since(start)
	if waiting != nil {
		deadline := time.Now().Add(5 * time.Second)
		for n := waiting(t); n > 0; n = waiting(t) {
			if time.Now().After(deadline) {
				t.Errorf("%d statements still wait for the lock after the request timed out", n)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	release()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("PUT behind a lock: status %d, want 503; body %s", resp.StatusCode, body)
	}
	wantOutcome("timeout")(t, resp, decodeJSON(t, body))
	if !strings.Contains(string(body), "time limit (500ms)") {
		t.Errorf("the outcome does not name the limit: %s", body)
	}
	if took > timeout+3*time.Second {
		t.Errorf("answered %s after the request; its deadline was %s", took, timeout)
	}
	resp, body = do(t, "GET", base+"/Patient/slow", nil)
	var p struct{ Active *bool }
	_ = json.Unmarshal(body, &p)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `W/"1"` || p.Active != nil {
		t.Errorf("after the timed-out update: %d %s %s; want version 1 unchanged", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
}

func TestRequestTimeoutSQLite(t *testing.T) {
	testRequestTimeout(t, sqliteDatabase(t), lockSQLite, nil)
}

func TestRequestTimeoutPostgres(t *testing.T) {
	database := pgtest.NewDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	waiting := func(t *testing.T) int {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	testRequestTimeout(t, database, lockPostgres, waiting)
}
