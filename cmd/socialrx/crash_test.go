//go:build unix

package main

// Fault tests of delivery with real processes (issue 6): the socialrx binary
// run as a child process against a fake Ocean-style platform, killed with
// SIGKILL mid-delivery and started again, two of them on one PostgreSQL, and
// a platform that hangs. They assert what the outbox promises
// (docs/architecture.md, "Delivery: the outbox"): every referral arrives,
// each under one MessageHeader.id however often it is sent, nothing is
// lost, nothing ends failed. Unix only: they stop children with SIGTERM.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/pgtest"
)

// crashStores are the databases the process tests run on.
var crashStores = []struct {
	name string
	db   func(t *testing.T) string
}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}}

// TestDeliverySurvivesSIGKILL: socialrx is killed with SIGKILL while
// deliveries are in flight to a flaky platform (30% 503, 10% hanging past
// the HTTP timeout), and started again on the same database. Every referral
// still arrives, each under one MessageHeader.id; the message whose send had
// reached the platform when the process died is sent again under the same
// id; nothing is left pending or failed.
//
// A gate in front of the platform makes "in flight" exact rather than a
// matter of timing: once the platform has accepted a few messages it holds
// every further call, lets one more message through to the platform but
// holds its reply, and the test kills socialrx at that moment, so the
// platform has the message and socialrx never learnt it.
func TestDeliverySurvivesSIGKILL(t *testing.T) {
	socialrxBinary(t) // built (or skipped in -short mode) before any database is made
	for _, s := range crashStores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel() // each waits ~20 s for River to rescue the dead process's jobs
			testDeliverySurvivesSIGKILL(t, s.db(t))
		})
	}
}

func testDeliverySurvivesSIGKILL(t *testing.T, database string) {
	const n = 30
	p := NewFakePlatform(hoClient, hoSecret)
	p.FailRate, p.HangRate, p.Hang = 0.3, 0.1, 3*time.Second
	gate := &killGate{p: p, after: 5, held: make(chan string, 1), release: make(chan struct{})}
	env := newPlatformEnv(t, gate, database, crashTimings...)

	first := startChild(t, "serve-1", env.vars...)
	env.putEndpoints(t, first)
	srIDs := postEncounters(t, []*childProc{first}, 1000, n)
	within(t, 30*time.Second, "the platform to accept the first messages", func() bool { return len(p.Messages()) >= gate.after })
	gate.armed.Store(true)
	var heldID string
	select {
	case heldID = <-gate.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("no message got through the gate to be held")
	}
	first.kill()
	accepted, blocked := len(p.Messages()), gate.blocked.Load()
	close(gate.release)
	t.Logf("killed with %d of %d referrals accepted, %d calls held at the gate, the reply to %s lost", accepted, n, blocked, heldID)
	if accepted >= n {
		t.Fatalf("the platform had all %d referrals before the kill: nothing was in flight", accepted)
	}

	// Restarted on the same database: River rescues the jobs the dead
	// process left running once they are JobTimeout·1.5 old and the new
	// process holds the leadership (the dead one's lease runs out after up to
	// 15 s), and its scheduler (every 5 s) makes them available: some 20-30 s
	// in all. Faults go on, fewer: at 40% a message's retries (backing off
	// to 30 s apart) failed ten times in a row once, past the wait below;
	// what this test is about is the kill.
	p.SetFaults(0.1, 0.05)
	second := startChild(t, "serve-2", env.vars...)
	restarted := time.Now()
	within(t, 60*time.Second, "the platform to accept every referral after the restart", func() bool { return len(p.Messages()) >= n })
	checkOutboxDrained(t, env.database, n, max(60*time.Second-time.Since(restarted), 10*time.Second))
	t.Logf("all delivered and recorded %s after the restart", time.Since(restarted).Round(100*time.Millisecond))

	checkReferrals(t, p, srIDs)
	deliveries := p.Deliveries()
	if deliveries[heldID] < 2 {
		t.Errorf("message %s, accepted just before the kill, arrived %d times; want it resent under the same id", heldID, deliveries[heldID])
	}
	var resent []string
	for id, k := range deliveries {
		if k > 1 {
			resent = append(resent, fmt.Sprintf("%s×%d", id, k))
		}
	}
	slices.Sort(resent)
	t.Logf("resent under the same id (recognised by the platform): %v", resent)
	checkNoFailedTasks(t, second)
}

// TestTwoProcessesOnePostgres: two socialrx processes with workers share one
// PostgreSQL database; encounters come in to both. Each message is sent by
// one of them, once.
func TestTwoProcessesOnePostgres(t *testing.T) {
	socialrxBinary(t) // built (or skipped in -short mode) before any database is made
	const n = 40
	p := NewFakePlatform(hoClient, hoSecret)
	env := newPlatformEnv(t, p, pgtest.NewDatabase(t), crashTimings...)
	a := startChild(t, "serve-a", env.vars...) // sets up the schema
	b := startChild(t, "serve-b", env.vars...)
	env.putEndpoints(t, a)
	srIDs := postEncounters(t, []*childProc{a, b}, 2000, n)
	within(t, 30*time.Second, "every referral to arrive", func() bool { return len(p.Messages()) >= n })
	checkOutboxDrained(t, env.database, n, 30*time.Second)

	checkReferrals(t, p, srIDs)
	for id, k := range p.Deliveries() {
		if k != 1 {
			t.Errorf("message %s delivered %d times, want once", id, k)
		}
	}
	checkNoFailedTasks(t, b)
	t.Logf("messages delivered by process a: %d, by process b: %d", strings.Count(a.logText(), "message delivered"), strings.Count(b.logText(), "message delivered"))
}

// TestDeliveryAfterPlatformHang: the platform's first calls hang longer than
// socialrx's HTTP timeout (but less than its job timeout, so only the HTTP
// timeout can cut them short). socialrx abandons each, retries, and every
// referral arrives once, those that hung later.
func TestDeliveryAfterPlatformHang(t *testing.T) {
	socialrxBinary(t) // built (or skipped in -short mode) before any database is made
	for _, s := range crashStores {
		t.Run(s.name, func(t *testing.T) {
			const n = 10
			p := NewFakePlatform(hoClient, hoSecret)
			hang := &hangFirst{p: p, n: 5, hang: 3 * time.Second}
			env := newPlatformEnv(t, hang, s.db(t), crashTimings...)
			c := startChild(t, "serve", env.vars...)
			env.putEndpoints(t, c)
			srIDs := postEncounters(t, []*childProc{c}, 3000, n)
			within(t, 30*time.Second, "every referral to arrive", func() bool { return len(p.Messages()) >= n })
			checkOutboxDrained(t, env.database, n, 30*time.Second)

			checkReferrals(t, p, srIDs)
			for id, k := range p.Deliveries() {
				if k != 1 {
					t.Errorf("message %s delivered %d times, want once (a hung call never reached the platform)", id, k)
				}
			}
			got := map[string]bool{}
			for _, m := range p.Messages() {
				got[m.ID] = true
			}
			hung := hang.hung()
			if len(hung) != hang.n {
				t.Fatalf("%d calls hung, want %d", len(hung), hang.n)
			}
			for _, h := range hung {
				if !h.abandoned {
					t.Errorf("call for message %s hung the full %s: socialrx's HTTP timeout did not cut it short", h.id, hang.hang)
				}
				if !got[h.id] {
					t.Errorf("message %s hung and never arrived later", h.id)
				}
			}
		})
	}
}

// crashTimings are short job timings, as an operator could set them: a
// quick first retry, a 1 s HTTP timeout, jobs cut (and rescued after a
// crash, at 1.5 times this) at 4 s.
var crashTimings = []string{"SOCIALRX_RETRY_BASE=50ms", "SOCIALRX_HTTP_TIMEOUT=1s", "SOCIALRX_JOB_TIMEOUT=4s"}

// platformEnv is what the children share: the database, a credentials file
// for Endpoint/ocean-east, the platform and a fake EMR.
type platformEnv struct {
	database    string
	vars        []string // SOCIALRX_* for the children
	platformURL string
	emrURL      string
}

// newPlatformEnv serves platform (a FakePlatform or a handler in front of
// one) and a fake EMR, and writes the credentials file as startHandoff does.
func newPlatformEnv(t *testing.T, platform http.Handler, database string, vars ...string) *platformEnv {
	t.Helper()
	ps := httptest.NewServer(platform)
	t.Cleanup(ps.Close)
	es := httptest.NewServer(NewFakeEMR())
	t.Cleanup(es.Close)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	if err := writeCredentials(creds, ps.URL, hoClient, hoSecret, hoInbound); err != nil {
		t.Fatal(err)
	}
	return &platformEnv{
		database:    database,
		vars:        append([]string{"SOCIALRX_DATABASE=" + database, "SOCIALRX_CREDENTIALS=" + creds}, vars...),
		platformURL: ps.URL,
		emrURL:      es.URL,
	}
}

// putEndpoints is the operator's set-up, as in startHandoff: the platform's
// hl7-fhir-msg Endpoint and the practice EMR's hl7-fhir-rest one.
func (env *platformEnv) putEndpoints(t *testing.T, c *childProc) {
	t.Helper()
	for _, ep := range []struct{ id, kind, payload, addr string }{
		{"ocean-east", "hl7-fhir-msg", "Ontario eReferral", env.platformURL + "/fhir"},
		{"emr-riverdale", "hl7-fhir-rest", "FHIR", env.emrURL + "/fhir"},
	} {
		body := `{"resourceType":"Endpoint","id":"` + ep.id + `","status":"active",
"connectionType":{"system":"http://terminology.hl7.org/CodeSystem/endpoint-connection-type","code":"` + ep.kind + `"},
"payloadType":[{"text":"` + ep.payload + `"}],"address":"` + ep.addr + `"}`
		resp, b := do(t, "PUT", c.url+"/fhir/Endpoint/"+ep.id, []byte(body))
		if resp.StatusCode/100 != 2 {
			t.Fatalf("PUT Endpoint/%s: %d %s", ep.id, resp.StatusCode, truncate(b))
		}
	}
}

// postEncounters posts n demo encounters numbered from first, round robin
// over servers, and returns the ids of their referral ServiceRequests.
func postEncounters(t *testing.T, servers []*childProc, first, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		c := servers[i%len(servers)]
		resp, body := do(t, "POST", c.url+"/fhir", []byte(demoEncounter(fmt.Sprint(first+i))))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("encounter %d to %s: %d %s", first+i, c.name, resp.StatusCode, truncate(body))
		}
		var tx struct {
			Entry []struct{ Response struct{ Location string } }
		}
		if err := json.Unmarshal(body, &tx); err != nil || len(tx.Entry) != 6 {
			t.Fatalf("encounter %d: transaction-response %s (%v)", first+i, truncate(body), err)
		}
		loc := strings.Split(tx.Entry[4].Response.Location, "/_history/")[0] // [base/]ServiceRequest/id
		ids = append(ids, loc[strings.LastIndex(loc, "/")+1:])
	}
	return ids
}

// checkReferrals: the platform accepted one add-service-request per
// referral, for exactly the ServiceRequests posted, and no referral under
// two MessageHeader.ids (the platform records the first delivery of each id,
// so a second id for a referral shows as a second message on its focus).
func checkReferrals(t *testing.T, p *FakePlatform, srIDs []string) {
	t.Helper()
	var want, got []string
	for _, id := range srIDs {
		want = append(want, "ServiceRequest/"+id)
	}
	ids := map[string]bool{}
	for _, m := range p.Messages() {
		if m.Event != string(socialrx.EventAddServiceRequest) {
			t.Errorf("message %s: event %s, want add-service-request", m.ID, m.Event)
		}
		got = append(got, m.Focus)
		ids[m.ID] = true
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("focus of the messages the platform accepted (-posted referrals +accepted):\n%s", diff)
	}
	for id := range p.Deliveries() {
		if !ids[id] {
			t.Errorf("message %s reached the platform but was never accepted", id)
		}
	}
}

// checkOutboxDrained waits until `socialrx jobs` shows nothing pending, then
// checks that nothing failed and that n add-service-requests are delivered.
func checkOutboxDrained(t *testing.T, database string, n int, timeout time.Duration) {
	t.Helper()
	within(t, timeout, "socialrx jobs --state pending to be empty", func() bool {
		return strings.Contains(socialrxJobs(t, database, "pending"), "(no messages in state pending)")
	})
	if out := socialrxJobs(t, database, "failed"); !strings.Contains(out, "(no messages in state failed)") {
		t.Errorf("socialrx jobs --state failed:\n%s", out)
	}
	if out := socialrxJobs(t, database, "delivered"); strings.Count(out, " add-service-request ") != n {
		t.Errorf("socialrx jobs --state delivered: want %d add-service-requests:\n%s", n, out)
	}
}

// checkNoFailedTasks: GET Task?delivery-state=failed on c finds nothing.
func checkNoFailedTasks(t *testing.T, c *childProc) {
	t.Helper()
	resp, body := do(t, "GET", c.url+"/fhir/Task?delivery-state=failed", nil)
	var b struct {
		Total *int
		Entry []json.RawMessage
	}
	if err := json.Unmarshal(body, &b); resp.StatusCode != http.StatusOK || err != nil || b.Total == nil || *b.Total != 0 || len(b.Entry) != 0 {
		t.Errorf("GET Task?delivery-state=failed: %d %s; want a searchset of none", resp.StatusCode, truncate(body))
	}
}

// socialrxJobs runs `socialrx jobs --state state` on database.
func socialrxJobs(t *testing.T, database, state string) string {
	t.Helper()
	cmd := exec.Command(socialrxBinary(t), "jobs", "--state", state, "--limit", "1000")
	cmd.Env = childEnv("SOCIALRX_DATABASE=" + database)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("socialrx jobs --state %s: %v\n%s", state, err, out)
	}
	return string(out)
}

// within polls cond every 20 ms until it holds, failing t after timeout.
func within(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killGate stands in front of a FakePlatform (see
// TestDeliverySurvivesSIGKILL). Open until the platform has accepted after
// messages; then it holds every call (until the caller gives up or release
// closes, and then answers 503 without passing it on), except, once armed,
// one call it passes to the platform: when the platform accepts it, its id
// goes to held and the reply never comes.
type killGate struct {
	p       *FakePlatform
	after   int
	armed   atomic.Bool
	holding atomic.Bool
	held    chan string   // buffered 1: the id accepted whose reply is held
	release chan struct{} // closed after the kill: open for good
	blocked atomic.Int64  // calls being held now
}

func (g *killGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/fhir/$process-messages" || isClosed(g.release) || len(g.p.Messages()) < g.after {
		g.p.ServeHTTP(w, r)
		return
	}
	if g.armed.Load() && g.holding.CompareAndSwap(false, true) {
		rec := httptest.NewRecorder()
		g.p.ServeHTTP(rec, r)
		if id := responseTo(rec.Body.Bytes()); rec.Code == http.StatusOK && id != "" && r.Context().Err() == nil {
			g.held <- id
			<-r.Context().Done() // the kill (or, failing that, the caller's timeout) ends it
			return
		}
		g.holding.Store(false) // a 503 or an injected hang: pass it on, hold the next
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	g.blocked.Add(1)
	defer g.blocked.Add(-1)
	select {
	case <-r.Context().Done():
	case <-g.release:
		// Its caller died with the killed process; the server may not have
		// noticed yet. Not passed on: the platform must not count it.
		writeOutcome(w, http.StatusServiceUnavailable, "held at the gate")
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// responseTo returns MessageHeader.response.identifier of a FHIR response
// message, "" if b is not one.
func responseTo(b []byte) string {
	var m struct {
		Entry []struct {
			Resource struct {
				Response struct{ Identifier string }
			}
		}
	}
	if json.Unmarshal(b, &m) != nil || len(m.Entry) == 0 {
		return ""
	}
	return m.Entry[0].Resource.Response.Identifier
}

// hangFirst stands in front of a FakePlatform and hangs its first n
// $process-messages calls for hang (or until the caller gives up), then passes each
// on to the platform.
type hangFirst struct {
	p    *FakePlatform
	n    int // calls to hang
	hang time.Duration

	mu        sync.Mutex
	seen      int
	hungCalls []hungCall
}

// hungCall is one call hangFirst hung: the message's id, and whether the
// caller gave up before the hang ended.
type hungCall struct {
	id        string
	abandoned bool
}

func (h *hangFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/fhir/$process-messages" {
		h.p.ServeHTTP(w, r)
		return
	}
	h.mu.Lock()
	h.seen++
	hangThis := h.seen <= h.n
	h.mu.Unlock()
	if hangThis {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var m struct {
			Entry []struct{ Resource struct{ ID string } }
		}
		_ = json.Unmarshal(body, &m)
		c := hungCall{}
		if len(m.Entry) > 0 {
			c.id = m.Entry[0].Resource.ID
		}
		timer := time.NewTimer(h.hang)
		select {
		case <-r.Context().Done():
			c.abandoned = true
		case <-timer.C:
		}
		timer.Stop()
		h.mu.Lock()
		h.hungCalls = append(h.hungCalls, c)
		h.mu.Unlock()
		if c.abandoned {
			return
		}
	}
	h.p.ServeHTTP(w, r)
}

func (h *hangFirst) hung() []hungCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hungCall(nil), h.hungCalls...)
}
