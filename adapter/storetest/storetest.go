// Package storetest is the conformance suite of socialrx.Store: the
// executable form of the contract written in the root package's store.go.
// Every store adapter (adapter/sqlite, adapter/postgres) runs it from its own
// tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) socialrx.Store { ... })
//	}
//
// Modelled on dexidp/dex's storage/conformance: one function per area, each
// on a store of its own, asserting only what the contract promises.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// Run runs the conformance suite. Each call to open must return a fresh,
// empty, migrated store, and close it when t ends (t.Cleanup); open is
// called from parallel subtests, so it must be safe for concurrent use.
func Run(t *testing.T, open func(t *testing.T) socialrx.Store) {
	run(t, open, areas)
}

// area is one group of conformance tests, run on a store of its own.
type area struct {
	name string
	fn   func(t *testing.T, open func(t *testing.T) socialrx.Store)
}

var areas = []area{
	{"CRUD", testCRUD},
	{"History", testHistory},
	{"Locking", testLocking},
	{"Transactions", testTransactions},
	// The search fixtures hold a social prescription: its follow-up and
	// patient Tasks, which the workflow creates, are among the matches.
	{"Search", func(t *testing.T, open func(t *testing.T) socialrx.Store) {
		testSearch(t, func(t *testing.T) socialrx.Store { return withWorkflow(open(t)) })
	}},
	{"SearchLastUpdated", testSearchLastUpdated},
	{"IndexConsistency", testIndexConsistency},
	{"UnionParams", testUnionParams},
	{"Paging", testPaging},
	{"PagingStableUnderWrites", testPagingStableUnderWrites},
	{"ConcurrentWriters", testConcurrentWriters},
	{"Ingest", testIngest},
	{"Outbox", testOutbox},
	{"JobsUnique", testJobsUnique},
	{"Consent", testConsent},
	{"ReadMany", testReadMany},
	{"Match", testMatch},
	{"StreamResources", testStreamResources},
	{"ExportJobs", testExportJobs},
	{"Audit", testAudit},
	{"ProgramReport", testProgramReport},
	{"ProgramReportMoved", testProgramReportMoved},
	{"Directory", testDirectory},
	{"UpsertMany", testUpsertMany},
	{"ProjectionsInTx", testProjectionsInTx},
}

func run(t *testing.T, open func(t *testing.T) socialrx.Store, areas []area) {
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			a.fn(t, open)
		})
	}
}

// --- writing -----------------------------------------------------------------

// ingesting is a store whose test writes go through the workflow
// (adapter/workflow), as every write of the running service does: the
// Ingest and Outbox areas check what writes cause (domain rows, follow-up
// Tasks, messages) on each store. The other areas write to the store
// directly: the store only stores.
type ingesting struct {
	socialrx.Store
	wf *workflow.Workflow
}

// withWorkflow wraps s for the Ingest and Outbox areas.
func withWorkflow(s socialrx.Store) *ingesting {
	return &ingesting{Store: s, wf: workflow.New(s, workflow.Options{})}
}

// JobCount counts the jobs of the wrapped store (see jobCounter).
func (w *ingesting) JobCount(ctx context.Context, kind string) (int, error) {
	jc, ok := w.Store.(jobCounter)
	if !ok {
		return 0, fmt.Errorf("store %T does not count jobs", w.Store)
	}
	return jc.JobCount(ctx, kind)
}

// writeTx runs fn in a transaction of s: a workflow one when s is
// ingesting, else the store's own.
// writeTxAs is writeTx with the workflow transaction's origin set to o
// (s must be ingesting: the origin is the workflow's).
func writeTxAs(s socialrx.Store, t *testing.T, o socialrx.Origin, fn func(tx socialrx.ResourceTx) error) error {
	w, ok := s.(*ingesting)
	if !ok {
		t.Fatalf("writeTxAs needs a workflow store, got %T", s)
	}
	return w.wf.Transact(t.Context(), func(tx *workflow.Tx) error {
		tx.SetOrigin(o)
		return fn(tx)
	})
}

func writeTx(s socialrx.Store, t *testing.T, fn func(tx socialrx.ResourceTx) error) error {
	if w, ok := s.(*ingesting); ok {
		return w.wf.Transact(t.Context(), func(tx *workflow.Tx) error { return fn(tx) })
	}
	return s.Transact(t.Context(), func(tx socialrx.Tx) error { return fn(tx) })
}

// workflowOf returns the workflow of an ingesting store.
func workflowOf(t *testing.T, s socialrx.Store) *workflow.Workflow {
	t.Helper()
	w, ok := s.(*ingesting)
	if !ok {
		t.Fatal("test bug: the area's store is not wrapped with withWorkflow")
	}
	return w.wf
}

// txCreate creates one resource in a transaction of its own.
func txCreate(s socialrx.Store, t *testing.T, typ, id, body string) (*socialrx.Resource, error) {
	var res *socialrx.Resource
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		var err error
		res, err = tx.Create(t.Context(), typ, id, []byte(body))
		return err
	})
	return res, err
}

func txUpdate(s socialrx.Store, t *testing.T, typ, id, body string, ifMatch int64) (*socialrx.Resource, bool, error) {
	var (
		res     *socialrx.Resource
		created bool
	)
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		var err error
		res, created, err = tx.Update(t.Context(), typ, id, []byte(body), ifMatch)
		return err
	})
	return res, created, err
}

func txDelete(s socialrx.Store, t *testing.T, typ, id string, ifMatch int64) (*socialrx.Resource, error) {
	var res *socialrx.Resource
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		var err error
		res, err = tx.Delete(t.Context(), typ, id, ifMatch)
		return err
	})
	return res, err
}

// mustCreate creates a resource and fails the test if that fails.
func mustCreate(t *testing.T, s socialrx.Store, typ, id, body string) *socialrx.Resource {
	t.Helper()
	res, err := txCreate(s, t, typ, id, body)
	if err != nil {
		t.Fatalf("create %s/%s: %v", typ, id, err)
	}
	if res == nil {
		t.Fatalf("create %s/%s: nil resource and nil error", typ, id)
	}
	return res
}

func mustUpdate(t *testing.T, s socialrx.Store, typ, id, body string, ifMatch int64) (*socialrx.Resource, bool) {
	t.Helper()
	res, created, err := txUpdate(s, t, typ, id, body, ifMatch)
	if err != nil {
		t.Fatalf("update %s/%s: %v", typ, id, err)
	}
	if res == nil {
		t.Fatalf("update %s/%s: nil resource and nil error", typ, id)
	}
	return res, created
}

func mustDelete(t *testing.T, s socialrx.Store, typ, id string) *socialrx.Resource {
	t.Helper()
	res, err := txDelete(s, t, typ, id, 0)
	if err != nil {
		t.Fatalf("delete %s/%s: %v", typ, id, err)
	}
	return res
}

// fixture is one resource to load.
type fixture struct {
	typ, id, body string
}

// load creates the fixtures, one transaction each, in order.
func load(t *testing.T, s socialrx.Store, fs []fixture) map[string]*socialrx.Resource {
	t.Helper()
	out := make(map[string]*socialrx.Resource, len(fs))
	for _, f := range fs {
		out[f.typ+"/"+f.id] = mustCreate(t, s, f.typ, f.id, f.body)
	}
	return out
}

// --- checking ----------------------------------------------------------------

// wantCode checks that err is a socialrx error with the given code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := socialrx.ErrorCode(err); got != code {
		t.Errorf("%s: got error code %q (err: %v), want %q", what, got, err, code)
	}
}

// decodeJSON decodes a document keeping numbers as written (1.50 stays "1.50").
func decodeJSON(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

func mustDecode(t *testing.T, what string, b []byte) map[string]any {
	t.Helper()
	v, err := decodeJSON(b)
	if err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", what, err, b)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: body is not a JSON object: %s", what, b)
	}
	return m
}

// stripServerMeta removes what the store owns (id, meta.versionId,
// meta.lastUpdated and their primitive extensions) from a decoded resource,
// and meta itself when nothing else is left in it.
func stripServerMeta(m map[string]any) {
	delete(m, "id")
	delete(m, "_id")
	meta, ok := m["meta"].(map[string]any)
	if !ok {
		return
	}
	for _, k := range []string{"versionId", "lastUpdated", "_versionId", "_lastUpdated"} {
		delete(meta, k)
	}
	if len(meta) == 0 {
		delete(m, "meta")
	}
}

// checkBody checks that res.Body is the document sent, with id,
// meta.versionId and meta.lastUpdated set by the store to res's values and
// every other member (numbers as written) unchanged.
func checkBody(t *testing.T, what string, res *socialrx.Resource, sent string) {
	t.Helper()
	if res == nil {
		t.Errorf("%s: nil resource", what)
		return
	}
	want := mustDecode(t, what+": sent", []byte(sent))
	got := mustDecode(t, what+": stored", res.Body)
	if got["resourceType"] != res.Type {
		t.Errorf("%s: body resourceType = %v, want %q", what, got["resourceType"], res.Type)
	}
	if got["id"] != res.ID {
		t.Errorf("%s: body id = %v, want %q (the store sets id)", what, got["id"], res.ID)
	}
	meta, _ := got["meta"].(map[string]any)
	if v := meta["versionId"]; v != strconv.FormatInt(res.VersionID, 10) {
		t.Errorf("%s: body meta.versionId = %v, want %q (Resource.VersionID)", what, v, strconv.FormatInt(res.VersionID, 10))
	}
	lu, _ := meta["lastUpdated"].(string)
	if ts, err := time.Parse(time.RFC3339Nano, lu); err != nil {
		t.Errorf("%s: body meta.lastUpdated = %q: %v", what, lu, err)
	} else if !ts.Equal(res.LastUpdated) {
		t.Errorf("%s: body meta.lastUpdated = %s, Resource.LastUpdated = %s; want them equal", what, ts, res.LastUpdated)
	}
	stripServerMeta(want)
	stripServerMeta(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: stored body differs from the one sent (-sent +stored):\n%s", what, diff)
	}
}

// resourceOpts compares Resources with Body as decoded JSON.
var resourceOpts = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && sf.Name() == "Body"
	}, cmp.Transformer("decodeJSON", func(b []byte) any {
		v, err := decodeJSON(b)
		if err != nil {
			return "invalid JSON: " + string(b)
		}
		return v
	})),
}

// sameResource checks that got is the same version as want.
func sameResource(t *testing.T, what string, want, got *socialrx.Resource) {
	t.Helper()
	if diff := cmp.Diff(want, got, resourceOpts); diff != "" {
		t.Errorf("%s: resource differs (-want +got):\n%s", what, diff)
	}
}

// key names a resource as Type/ID.
func key(r socialrx.Resource) string { return r.Type + "/" + r.ID }

// keys returns Type/ID of each resource, in order.
func keys(rs []socialrx.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, key(r))
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// --- searching ---------------------------------------------------------------

func mustParseQuery(t *testing.T, query string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("bad test query %q: %v", query, err)
	}
	return v
}

// searchPage runs one strict search (one page) and fails the test on error.
func searchPage(t *testing.T, s socialrx.Store, typ, query string) *socialrx.SearchResult {
	t.Helper()
	res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: typ, Params: mustParseQuery(t, query), Strict: true})
	if err != nil {
		t.Fatalf("search %s?%s: %v", typ, query, err)
	}
	if res == nil {
		t.Fatalf("search %s?%s: nil result and nil error", typ, query)
	}
	return res
}

// maxPages bounds the pages a test follows, so that a Next that never ends
// fails instead of hanging.
const maxPages = 100

// searchAll runs a strict search and follows Next to the last page. It
// returns the matches of all pages in order, the included resources of all
// pages and the first page.
func searchAll(t *testing.T, s socialrx.Store, typ, query string) (matches, included []socialrx.Resource, first *socialrx.SearchResult) {
	t.Helper()
	first = searchPage(t, s, typ, query)
	res := first
	for page := 1; ; page++ {
		for _, m := range res.Matches {
			if m.Type != typ {
				t.Errorf("search %s?%s: page %d holds a match of type %s", typ, query, page, m.Type)
			}
			if m.Deleted || m.Body == nil {
				t.Errorf("search %s?%s: page %d holds %s deleted=%v with body %q", typ, query, page, key(m), m.Deleted, m.Body)
			}
		}
		matches = append(matches, res.Matches...)
		included = append(included, res.Included...)
		if res.Next == nil {
			return matches, included, first
		}
		if page == maxPages {
			t.Fatalf("search %s?%s: still a Next after %d pages", typ, query, maxPages)
		}
		next := res.Next
		var err error
		res, err = s.Search(t.Context(), socialrx.SearchRequest{Type: typ, Params: next, Strict: true})
		if err != nil {
			t.Fatalf("search %s?%s: page %d (params %v): %v", typ, query, page+1, next, err)
		}
		if res == nil {
			t.Fatalf("search %s?%s: page %d: nil result and nil error", typ, query, page+1)
		}
	}
}

// historyAll reads every page of a history, checking that Total is the same
// on each page, and returns the versions in order.
func historyAll(t *testing.T, s socialrx.Store, req socialrx.HistoryRequest) ([]socialrx.Resource, int) {
	t.Helper()
	var out []socialrx.Resource
	total := -1
	for page := 1; ; page++ {
		h, err := s.History(t.Context(), req)
		if err != nil {
			t.Fatalf("history %+v: page %d: %v", req, page, err)
		}
		if total == -1 {
			total = h.Total
		} else if h.Total != total {
			t.Errorf("history %+v: page %d has Total %d, the first page %d", req, page, h.Total, total)
		}
		out = append(out, h.Versions...)
		if h.Next == "" {
			return out, total
		}
		if page == maxPages {
			t.Fatalf("history %+v: still a Next after %d pages", req, maxPages)
		}
		req.Cursor = h.Next
	}
}

// versionKey names one version as Type/ID/_history/N (with " deleted").
func versionKey(r socialrx.Resource) string {
	k := fmt.Sprintf("%s/%s/_history/%d", r.Type, r.ID, r.VersionID)
	if r.Deleted {
		k += " deleted"
	}
	return k
}

func versionKeys(rs []socialrx.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, versionKey(r))
	}
	return out
}

// duplicates returns the strings that occur more than once in s.
func duplicates(s []string) []string {
	seen := make(map[string]int)
	var out []string
	for _, k := range s {
		seen[k]++
		if seen[k] == 2 {
			out = append(out, k)
		}
	}
	return out
}

// hasIssueFor reports whether one of issues names param in its Path.
func hasIssueFor(issues []socialrx.Issue, param string) bool {
	for _, i := range issues {
		if strings.Contains(i.Path, param) {
			return true
		}
	}
	return false
}
