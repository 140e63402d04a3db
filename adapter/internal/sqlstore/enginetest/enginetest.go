// Package enginetest tests the search SQL, paging and Reindex of
// adapter/internal/sqlstore against a real database, independently of the
// FHIR search-parameter table: the store under test is opened with a fake
// indexer (the index entries are written in the body, member "_idx") and a
// fake parser (the request names a *search.Query registered by the test).
// Both store packages run it.
package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// Store is what the tests need of a store.
type Store interface {
	socialrx.Store
	Reindex(ctx context.Context, types ...string) error
}

// Fakes holds the fake indexer and parser a store under test must use.
type Fakes struct {
	mu      sync.Mutex
	queries map[string]*search.Query
	n       atomic.Int64
	// extra, when set, is an index entry the indexer adds to every resource
	// (to prove Reindex).
	extra atomic.Pointer[search.IndexEntry]
}

// Options returns engine options with the fakes.
func (f *Fakes) Options() sqlstore.Options {
	return sqlstore.Options{Index: f.index, ParseQuery: f.parse}
}

func (f *Fakes) index(typ string, body []byte) (*search.Entries, error) {
	var doc struct {
		Idx []search.IndexEntry `json:"_idx"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	if e := f.extra.Load(); e != nil {
		doc.Idx = append(doc.Idx, *e)
	}
	return search.Pack(doc.Idx), nil
}

func (f *Fakes) parse(typ string, params url.Values, strict bool) (*search.Query, []fhir.Issue) {
	f.mu.Lock()
	q, ok := f.queries[params.Get("_q")]
	f.mu.Unlock()
	if !ok {
		return nil, []fhir.Issue{{Severity: "error", Code: "invalid", Path: "_q", Message: "unknown test query"}}
	}
	c := *q
	c.Cursor = params.Get("_cursor")
	c.Used = map[string][]string{"_q": {params.Get("_q")}}
	return &c, nil
}

// register returns the search parameters that stand for q.
func (f *Fakes) register(q *search.Query) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queries == nil {
		f.queries = make(map[string]*search.Query)
	}
	id := strconv.FormatInt(f.n.Add(1), 10)
	f.queries[id] = q
	return url.Values{"_q": {id}}
}

// Run runs the engine tests. open must return a fresh, empty, migrated
// store built with opts.
func Run(t *testing.T, open func(t *testing.T, opts sqlstore.Options) Store) {
	t.Run("Search", func(t *testing.T) {
		f := &Fakes{}
		s := open(t, f.Options())
		loadFixtures(t, s)
		testSearch(t, s, f)
	})
	t.Run("SearchBulkLoaded", func(t *testing.T) {
		// The same fixtures written with the bulk write (UpsertMany):
		// every search finds what it finds in the ones written one by
		// one, so the bulk path writes the same index rows.
		f := &Fakes{}
		s := open(t, f.Options())
		loadFixturesBulk(t, s)
		testSearch(t, s, f)
	})
	t.Run("BulkOrder", func(t *testing.T) {
		f := &Fakes{}
		opts := f.Options()
		at := mustTime("2026-01-02T03:04:05Z")
		opts.Now = func() time.Time { return at }
		testBulkOrder(t, open(t, opts))
	})
	t.Run("Paging", func(t *testing.T) {
		f := &Fakes{}
		testPaging(t, open(t, f.Options()), f)
	})
	t.Run("Reindex", func(t *testing.T) {
		f := &Fakes{}
		testReindex(t, open(t, f.Options()), f)
	})
	t.Run("ManyIndexRows", func(t *testing.T) {
		f := &Fakes{}
		testManyIndexRows(t, open(t, f.Options()), f)
	})
	t.Run("PageBytes", func(t *testing.T) {
		f := &Fakes{}
		opts := f.Options()
		opts.MaxPageBytes = 2500
		s := open(t, opts)
		testPageBytes(t, s, f)
		testHistoryBytes(t, s)
	})
}

// testHistoryBytes: instance, type and system history pages end before
// their bodies pass Options.MaxPageBytes, as a search page does (issue 12:
// eight 9 MB versions made a 72 MB history answer), one version at least;
// the next cursors still return every version once. Runs after
// testPageBytes, on its ten ~1 KB Patients and Observations.
func testHistoryBytes(t *testing.T, s socialrx.Store) {
	pad := strings.Repeat("y", 900)
	for v := range 4 {
		err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
			_, _, err := tx.Update(t.Context(), "Patient", "p0", []byte(fmt.Sprintf(`{"resourceType":"Patient","v":%d,"pad":%q}`, v, pad)), 0)
			return err
		})
		if err != nil {
			t.Fatalf("update Patient/p0: %v", err)
		}
	}
	for _, tc := range []struct {
		name string
		req  socialrx.HistoryRequest
		want int
	}{
		{"instance", socialrx.HistoryRequest{Type: "Patient", ID: "p0", Count: 100}, 5},
		{"type", socialrx.HistoryRequest{Type: "Patient", Count: 100}, 14},
		{"system", socialrx.HistoryRequest{Count: 1000}, 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, seen, pages := tc.req, map[string]int{}, 0
			for ; ; pages++ {
				h, err := s.History(t.Context(), req)
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				bytes := 0
				for _, v := range h.Versions {
					seen[fmt.Sprintf("%s/%s/%d", v.Type, v.ID, v.VersionID)]++
					bytes += len(v.Body)
				}
				if len(h.Versions) == 0 || (len(h.Versions) > 1 && bytes > 2500) {
					t.Errorf("page %d: %d versions of %d bytes, want at least one and at most 2500 bytes", pages, len(h.Versions), bytes)
				}
				if h.Total != tc.want {
					t.Errorf("page %d: total %d, want %d", pages, h.Total, tc.want)
				}
				if h.Next == "" {
					break
				}
				req.Cursor = h.Next
				if pages > 30 {
					t.Fatal("paging does not end")
				}
			}
			if pages < 2 {
				t.Errorf("%d pages, want the byte limit to cut the history into several", pages+1)
			}
			if len(seen) != tc.want {
				t.Errorf("%d distinct versions seen, want %d", len(seen), tc.want)
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("%s seen on %d pages, want 1", k, n)
				}
			}
		})
	}
}

// testPageBytes: a page of large resources ends before its bodies pass
// Options.MaxPageBytes (issue 12: a search page, or a batch of searches,
// held every body asked for), one match at least; paging still returns
// every match once. Included resources past the limit are ETOOLARGE.
func testPageBytes(t *testing.T, s socialrx.Store, f *Fakes) {
	pad := strings.Repeat("x", 900)
	for i := range 10 {
		b := strings.TrimSuffix(body("Patient", tok("active", "", "true")), "}") + `,"pad":"` + pad + `"}`
		create(t, s, "Patient", fmt.Sprintf("p%d", i), b)
		create(t, s, "Observation", fmt.Sprintf("o%d", i), strings.TrimSuffix(body("Observation", ref("subject", "Patient", fmt.Sprintf("p%d", i))), "}")+`,"pad":"`+pad+`"}`)
	}
	q := &search.Query{Type: "Patient", Count: 100, Total: "accurate",
		Clauses: []search.Clause{{Param: param("active", search.ParamToken), Values: []search.Value{{Code: "true"}}}}}
	params := f.register(q)
	seen := map[string]int{}
	for page := 0; ; page++ {
		res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Patient", Params: params})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		bytes := 0
		for _, m := range res.Matches {
			seen[m.ID]++
			bytes += len(m.Body)
		}
		if len(res.Matches) == 0 || (len(res.Matches) > 1 && bytes > 2500) {
			t.Errorf("page %d: %d matches of %d bytes, want at least one and at most 2500 bytes", page, len(res.Matches), bytes)
		}
		if res.Total != 10 {
			t.Errorf("page %d: total %d, want 10", page, res.Total)
		}
		if res.Next == nil {
			break
		}
		params = res.Next
		if page > 10 {
			t.Fatal("paging does not end")
		}
	}
	for i := range 10 {
		if id := fmt.Sprintf("p%d", i); seen[id] != 1 {
			t.Errorf("%s seen on %d pages, want 1", id, seen[id])
		}
	}
	// One match (~1 KB) and its Observations (~1 KB each) fit; all ten
	// Patients' Observations do not.
	inc := &search.Query{Type: "Patient", Count: 1,
		Clauses:    []search.Clause{{Param: param("active", search.ParamToken), Values: []search.Value{{Code: "true"}}}},
		RevInclude: []search.Include{{Source: "Observation", Param: search.SearchParam{Name: "subject"}}}}
	if _, err := searchQuery(t, s, f, inc); err != nil {
		t.Errorf("one match with its Observation: %v", err)
	}
	inc.Count = 10
	if _, err := searchQuery(t, s, f, inc); socialrx.ErrorCode(err) != socialrx.ETOOLARGE {
		t.Errorf("ten matches with their Observations: %v, want ETOOLARGE", err)
	}
}

// testManyIndexRows writes a resource with more index rows than a write
// passes with its version (the rest follow in chunks: write.go rowChunk),
// then replaces it: every row of every chunk is found, the date and
// quantity rows (pointer columns) too, and none of the old version's.
func testManyIndexRows(t *testing.T, s socialrx.Store, f *Fakes) {
	const n = 10_000 // three chunks of 4096
	ident := param("identifier", search.ParamToken)
	birth := param("birthdate", search.ParamDate)
	weight := param("weight", search.ParamQuantity)
	patient := func(from int) string {
		// The date first, the quantity last: on SQLite the first chunk
		// goes as JSON text, the last (a number) bound (adapter/sqlite
		// indexJSON).
		idx := make([]search.IndexEntry, 0, n+2)
		idx = append(idx, date("birthdate", "1980-05-01T00:00:00Z", "1980-05-01T23:59:59.999999Z"))
		for i := from; i < from+n; i++ {
			idx = append(idx, tok("identifier", "urn:s", strconv.Itoa(i)))
		}
		idx = append(idx, num("weight", float64(from), "kg"))
		return body("Patient", idx...)
	}
	find := func(c search.Clause) []string {
		t.Helper()
		res, err := searchQuery(t, s, f, &search.Query{Type: "Patient", Clauses: []search.Clause{c}})
		if err != nil {
			t.Fatal(err)
		}
		return ids(res.Matches)
	}
	code := func(i int) search.Clause {
		return search.Clause{Param: ident, Values: []search.Value{{System: "urn:s", Code: strconv.Itoa(i), HasSystem: true}}}
	}
	check := func(from int) {
		t.Helper()
		for _, i := range []int{from, from + 4095, from + 4096, from + 8191, from + 8192, from + n - 1} {
			if got := find(code(i)); !slices.Equal(got, []string{"Patient/big"}) {
				t.Errorf("identifier %d: %v, want Patient/big", i, got)
			}
		}
		for _, i := range []int{from - 1, from + n} {
			if got := find(code(i)); len(got) != 0 {
				t.Errorf("identifier %d (not in this version): %v", i, got)
			}
		}
		day := search.Value{Raw: "1980-05-01", Low: mustTime("1980-05-01T00:00:00Z"), High: mustTime("1980-05-01T23:59:59.999999Z")}
		if got := find(search.Clause{Param: birth, Values: []search.Value{day}}); !slices.Equal(got, []string{"Patient/big"}) {
			t.Errorf("birthdate: %v", got)
		}
		kg := search.Value{Raw: strconv.Itoa(from), Number: float64(from)}
		if got := find(search.Clause{Param: weight, Values: []search.Value{kg}}); !slices.Equal(got, []string{"Patient/big"}) {
			t.Errorf("weight %d: %v", from, got)
		}
	}
	create(t, s, "Patient", "big", patient(0))
	check(0)
	if err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
		_, _, err := tx.Update(t.Context(), "Patient", "big", []byte(patient(5000)), 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check(5000)
}

// --- fixtures ----------------------------------------------------------------

func tok(param, system, code string) search.IndexEntry {
	return search.IndexEntry{Param: param, Type: search.ParamToken, System: system, Code: code, Text: strings.ToLower(code + " text")}
}
func str(param, v string) search.IndexEntry {
	return search.IndexEntry{Param: param, Type: search.ParamString, Value: strings.ToLower(v), Exact: v}
}
func date(param, lo, hi string) search.IndexEntry {
	return search.IndexEntry{Param: param, Type: search.ParamDate, Low: mustTime(lo), High: mustTime(hi)}
}
func num(param string, n float64, unit string) search.IndexEntry {
	e := search.IndexEntry{Param: param, Type: search.ParamQuantity, Number: n}
	if unit != "" {
		e.System, e.Code = "http://unitsofmeasure.org", unit
	}
	return e
}
func ref(param, typ, id string) search.IndexEntry {
	return search.IndexEntry{Param: param, Type: search.ParamReference, RefType: typ, RefID: id, Exact: typ + "/" + id}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func body(typ string, idx ...search.IndexEntry) string {
	b, _ := json.Marshal(map[string]any{"resourceType": typ, "_idx": idx})
	return string(b)
}

func create(t *testing.T, s socialrx.Store, typ, id, b string) {
	t.Helper()
	err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
		_, err := tx.Create(t.Context(), typ, id, []byte(b))
		return err
	})
	if err != nil {
		t.Fatalf("create %s/%s: %v", typ, id, err)
	}
}

const loinc = "http://loinc.org"

func loadFixtures(t *testing.T, s socialrx.Store) {
	for _, w := range fixtureWrites() {
		create(t, s, w.Type, w.ID, string(w.Body))
		if w.ID == "o5" {
			deleteO5(t, s)
		}
	}
}

// fixtureWrites are the resources of the search fixtures, in order;
// Observation/o5 is deleted once written.
func fixtureWrites() []socialrx.Write {
	w := func(typ, id, b string) socialrx.Write { return socialrx.Write{Type: typ, ID: id, Body: []byte(b)} }
	return []socialrx.Write{
		w("Patient", "p1", body("Patient", str("name", "Ana María"), tok("identifier", "urn:hc", "111"), date("birthdate", "1980-05-01T00:00:00Z", "1980-05-01T23:59:59.999999Z"))),
		w("Patient", "p2", body("Patient", str("name", "Bob"), tok("identifier", "urn:hc", "222"))),
		w("Observation", "o1", body("Observation", ref("subject", "Patient", "p1"), tok("code", loinc, "A"), num("value-quantity", 100, "mg"), date("date", "2020-01-15T10:00:00Z", "2020-01-15T10:00:00Z"), tok("status", "", "final"))),
		w("Observation", "o2", body("Observation", ref("subject", "Patient", "p1"), tok("code", loinc, "B"), num("value-quantity", 5.5, "mg"), date("date", "2020-02-01T00:00:00Z", "2020-02-29T23:59:59.999999Z"))),
		w("Observation", "o3", body("Observation", ref("subject", "Patient", "p2"), tok("code", "urn:other", "A"), num("value-quantity", 99.6, "kg"), date("date", "2019-12-31T23:00:00Z", "2020-01-01T01:00:00Z"), tok("status", "", "preliminary"))),
		w("Observation", "o4", body("Observation", ref("subject", "Patient", "p2"), tok("code", "", "A"))),
		// A deleted resource never matches.
		w("Observation", "o5", body("Observation", ref("subject", "Patient", "p1"), tok("code", loinc, "A"))),
		w("Encounter", "e1", body("Encounter", ref("subject", "Patient", "p1"))),
	}
}

func deleteO5(t *testing.T, s socialrx.Store) {
	t.Helper()
	if err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
		_, err := tx.Delete(t.Context(), "Observation", "o5", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func param(name string, typ search.ParamType) search.SearchParam {
	return search.SearchParam{Name: name, Type: typ}
}

func ids(rs []socialrx.Resource) []string {
	if len(rs) == 0 {
		return nil
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Type + "/" + r.ID
	}
	return out
}

func searchQuery(t *testing.T, s socialrx.Store, f *Fakes, q *search.Query) (*socialrx.SearchResult, error) {
	t.Helper()
	return s.Search(t.Context(), socialrx.SearchRequest{Type: q.Type, Params: f.register(q)})
}

// --- search ------------------------------------------------------------------

func obs(clauses ...search.Clause) *search.Query {
	return &search.Query{Type: "Observation", Clauses: clauses}
}

func testSearch(t *testing.T, s socialrx.Store, f *Fakes) {
	code := param("code", search.ParamToken)
	date := param("date", search.ParamDate)
	qty := param("value-quantity", search.ParamQuantity)
	subject := search.SearchParam{Name: "subject", Type: search.ParamReference, Targets: []string{"Patient"}}
	name := param("name", search.ParamString)
	d := func(prefix, lo, hi string) search.Value {
		return search.Value{Raw: prefix + lo, Prefix: prefix, Low: mustTime(lo), High: mustTime(hi)}
	}
	month := func(prefix string) search.Value {
		return d(prefix, "2020-01-01T00:00:00Z", "2020-01-31T23:59:59.999999Z")
	}
	n := func(raw string) search.Value {
		v := search.Value{Raw: raw}
		s := raw
		if len(s) > 2 && s[0] >= 'a' && s[0] <= 'z' {
			v.Prefix, s = s[:2], s[2:]
		}
		parts := strings.Split(s, "|")
		v.Number, _ = strconv.ParseFloat(parts[0], 64)
		if len(parts) == 3 {
			v.System, v.Code = parts[1], parts[2]
		}
		return v
	}

	tests := []struct {
		name string
		q    *search.Query
		want []string
	}{
		{"token code", obs(search.Clause{Param: code, Values: []search.Value{{Code: "A"}}}), []string{"Observation/o1", "Observation/o3", "Observation/o4"}},
		{"token system|code", obs(search.Clause{Param: code, Values: []search.Value{{System: loinc, Code: "A", HasSystem: true}}}), []string{"Observation/o1"}},
		{"token |code", obs(search.Clause{Param: code, Values: []search.Value{{Code: "A", HasSystem: true}}}), []string{"Observation/o4"}},
		{"token system|", obs(search.Clause{Param: code, Values: []search.Value{{System: loinc, HasSystem: true}}}), []string{"Observation/o1", "Observation/o2"}},
		{"token OR", obs(search.Clause{Param: code, Values: []search.Value{{Code: "B"}, {System: "urn:other", Code: "A", HasSystem: true}}}), []string{"Observation/o2", "Observation/o3"}},
		{"token :not", obs(search.Clause{Param: param("status", search.ParamToken), Modifier: "not", Values: []search.Value{{Code: "final"}}}), []string{"Observation/o2", "Observation/o3", "Observation/o4"}},
		{"token :text", obs(search.Clause{Param: code, Modifier: "text", Values: []search.Value{{Raw: "b tex", String: "b tex"}}}), []string{"Observation/o2"}},
		{"token AND", obs(search.Clause{Param: code, Values: []search.Value{{Code: "A"}}}, search.Clause{Param: subject, Values: []search.Value{{RefType: "Patient", RefID: "p2"}}}), []string{"Observation/o3", "Observation/o4"}},
		{"missing true", obs(search.Clause{Param: param("status", search.ParamToken), Modifier: "missing", Values: []search.Value{{Missing: true}}}), []string{"Observation/o2", "Observation/o4"}},
		{"missing false", obs(search.Clause{Param: param("status", search.ParamToken), Modifier: "missing", Values: []search.Value{{Missing: false}}}), []string{"Observation/o1", "Observation/o3"}},
		{"date eq month", obs(search.Clause{Param: date, Values: []search.Value{month("")}}), []string{"Observation/o1"}},
		{"date ne month", obs(search.Clause{Param: date, Values: []search.Value{month("ne")}}), []string{"Observation/o2", "Observation/o3"}},
		{"date ge month", obs(search.Clause{Param: date, Values: []search.Value{month("ge")}}), []string{"Observation/o1", "Observation/o2"}},
		{"date gt month", obs(search.Clause{Param: date, Values: []search.Value{month("gt")}}), []string{"Observation/o2"}},
		{"date lt month", obs(search.Clause{Param: date, Values: []search.Value{month("lt")}}), []string{"Observation/o3"}},
		{"date le month", obs(search.Clause{Param: date, Values: []search.Value{month("le")}}), []string{"Observation/o1", "Observation/o3"}},
		{"date sa month", obs(search.Clause{Param: date, Values: []search.Value{month("sa")}}), []string{"Observation/o2"}},
		{"date eb month", obs(search.Clause{Param: date, Values: []search.Value{month("eb")}}), nil},
		{"date eq instant", obs(search.Clause{Param: date, Values: []search.Value{d("", "2020-01-15T10:00:00Z", "2020-01-15T10:00:00Z")}}), []string{"Observation/o1"}},
		{"quantity eq precision", obs(search.Clause{Param: qty, Values: []search.Value{n("100")}}), []string{"Observation/o1", "Observation/o3"}},
		{"quantity eq decimals", obs(search.Clause{Param: qty, Values: []search.Value{n("100.0")}}), []string{"Observation/o1"}},
		{"quantity unit", obs(search.Clause{Param: qty, Values: []search.Value{n("100|http://unitsofmeasure.org|mg")}}), []string{"Observation/o1"}},
		{"quantity gt", obs(search.Clause{Param: qty, Values: []search.Value{n("gt6")}}), []string{"Observation/o1", "Observation/o3"}},
		{"quantity le", obs(search.Clause{Param: qty, Values: []search.Value{n("le5.5")}}), []string{"Observation/o2"}},
		{"quantity ne", obs(search.Clause{Param: qty, Values: []search.Value{n("ne100")}}), []string{"Observation/o2"}},
		{"reference Type/id", obs(search.Clause{Param: subject, Values: []search.Value{{RefType: "Patient", RefID: "p1"}}}), []string{"Observation/o1", "Observation/o2"}},
		{"reference bare id", obs(search.Clause{Param: subject, Values: []search.Value{{RefID: "p2"}}}), []string{"Observation/o3", "Observation/o4"}},
		{"reference type modifier", obs(search.Clause{Param: subject, Modifier: "Patient", Values: []search.Value{{RefID: "p2"}}}), []string{"Observation/o3", "Observation/o4"}},
		{"reference absolute", obs(search.Clause{Param: subject, Values: []search.Value{{Exact: "Patient/p1"}}}), []string{"Observation/o1", "Observation/o2"}},
		{"chain", obs(search.Clause{Param: subject, Chain: &search.Chain{Type: "Patient", Clause: search.Clause{Param: param("identifier", search.ParamToken), Values: []search.Value{{System: "urn:hc", Code: "222", HasSystem: true}}}}}), []string{"Observation/o3", "Observation/o4"}},
		{"chain string", obs(search.Clause{Param: subject, Chain: &search.Chain{Type: "Patient", Clause: search.Clause{Param: name, Values: []search.Value{{String: "ana"}}}}}), []string{"Observation/o1", "Observation/o2"}},
		{"_id", obs(search.Clause{Param: param("_id", search.ParamToken), Values: []search.Value{{Code: "o2"}, {Code: "o5"}, {Code: "o4"}}}), []string{"Observation/o2", "Observation/o4"}},
		{"_lastUpdated", obs(search.Clause{Param: param("_lastUpdated", search.ParamDate), Values: []search.Value{d("ge", "2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z")}}), []string{"Observation/o1", "Observation/o2", "Observation/o3", "Observation/o4"}},
		{"string prefix", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: name, Values: []search.Value{{String: "ana m"}}}}}, []string{"Patient/p1"}},
		{"string prefix only", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: name, Values: []search.Value{{String: "maría"}}}}}, nil},
		{"string exact", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: name, Modifier: "exact", Values: []search.Value{{Exact: "Bob"}}}}}, []string{"Patient/p2"}},
		{"string exact case", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: name, Modifier: "exact", Values: []search.Value{{Exact: "bob"}}}}}, nil},
		{"string contains", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: name, Modifier: "contains", Values: []search.Value{{String: "marí"}}}}}, []string{"Patient/p1"}},
		{"string contains escapes", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: name, Modifier: "contains", Values: []search.Value{{String: "a%"}}}}}, nil},
		{"no clauses", &search.Query{Type: "Patient"}, []string{"Patient/p1", "Patient/p2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := searchQuery(t, s, f, tc.q)
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			if diff := cmp.Diff(tc.want, ids(res.Matches)); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
			if res.Total != len(tc.want) {
				t.Errorf("Total %d, want %d", res.Total, len(tc.want))
			}
		})
	}

	t.Run("sort", func(t *testing.T) {
		for _, tc := range []struct {
			keys []search.SortKey
			want []string
		}{
			{[]search.SortKey{{Param: date}}, []string{"o3", "o1", "o2", "o4"}},
			{[]search.SortKey{{Param: date, Descending: true}}, []string{"o2", "o1", "o3", "o4"}},
			{[]search.SortKey{{Param: qty, Descending: true}}, []string{"o1", "o3", "o2", "o4"}},
			{[]search.SortKey{{Param: code}, {Param: param("_id", search.ParamToken), Descending: true}}, []string{"o4", "o3", "o1", "o2"}},
			{[]search.SortKey{{Param: subject, Descending: true}, {Param: qty}}, []string{"o3", "o4", "o2", "o1"}},
			{[]search.SortKey{{Param: param("_lastUpdated", search.ParamDate), Descending: true}}, []string{"o4", "o3", "o2", "o1"}},
		} {
			for _, count := range []int{1, 3, 10} {
				var got []string
				q := &search.Query{Type: "Observation", Sort: tc.keys, Count: count}
				params := f.register(q)
				for page := 0; page < 10; page++ {
					res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Observation", Params: params})
					if err != nil {
						t.Fatalf("sort %v count %d: %v", tc.keys, count, err)
					}
					for _, m := range res.Matches {
						got = append(got, m.ID)
					}
					if res.Next == nil {
						break
					}
					params = res.Next
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("sort %+v, count %d (-want +got):\n%s", tc.keys, count, diff)
				}
			}
		}
	})

	t.Run("summary and total", func(t *testing.T) {
		res, err := searchQuery(t, s, f, &search.Query{Type: "Observation", Summary: "count"})
		if err != nil || res.Total != 4 || len(res.Matches) != 0 || res.Next != nil {
			t.Errorf("_summary=count: %v, %+v; want Total 4 and no matches", err, res)
		}
		res, err = searchQuery(t, s, f, &search.Query{Type: "Observation", Total: "none", Count: 2})
		if err != nil || res.Total != -1 || len(res.Matches) != 2 || res.Next == nil {
			t.Errorf("_total=none: %v, %+v; want Total -1, 2 matches and a next page", err, res)
		}
	})

	t.Run("include", func(t *testing.T) {
		subjInc := search.Include{Source: "Observation", Param: subject}
		for _, tc := range []struct {
			name        string
			q           *search.Query
			matches, in []string
		}{
			{"include", &search.Query{Type: "Observation", Clauses: []search.Clause{{Param: code, Values: []search.Value{{Code: "A"}}}}, Include: []search.Include{subjInc}},
				[]string{"Observation/o1", "Observation/o3", "Observation/o4"}, []string{"Patient/p1", "Patient/p2"}},
			{"include target", &search.Query{Type: "Observation", Include: []search.Include{{Source: "Observation", Param: subject, Target: "Group"}}},
				[]string{"Observation/o1", "Observation/o2", "Observation/o3", "Observation/o4"}, nil},
			{"include *", &search.Query{Type: "Observation", Clauses: []search.Clause{{Param: param("_id", search.ParamToken), Values: []search.Value{{Code: "o2"}}}}, Include: []search.Include{{Source: "Observation", Param: search.SearchParam{Name: "*"}}}},
				[]string{"Observation/o2"}, []string{"Patient/p1"}},
			{"revinclude", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: param("_id", search.ParamToken), Values: []search.Value{{Code: "p1"}}}}, RevInclude: []search.Include{{Source: "Observation", Param: subject}}},
				[]string{"Patient/p1"}, []string{"Observation/o1", "Observation/o2"}},
			{"revinclude * and duplicates", &search.Query{Type: "Patient", Clauses: []search.Clause{{Param: param("_id", search.ParamToken), Values: []search.Value{{Code: "p1"}}}}, RevInclude: []search.Include{{Source: "*", Param: search.SearchParam{Name: "*"}}, {Source: "Observation", Param: subject}}},
				[]string{"Patient/p1"}, []string{"Encounter/e1", "Observation/o1", "Observation/o2"}},
		} {
			res, err := searchQuery(t, s, f, tc.q)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if diff := cmp.Diff(tc.matches, ids(res.Matches)); diff != "" {
				t.Errorf("%s: matches (-want +got):\n%s", tc.name, diff)
			}
			if diff := cmp.Diff(tc.in, ids(res.Included)); diff != "" {
				t.Errorf("%s: included (-want +got):\n%s", tc.name, diff)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		params := f.register(&search.Query{Type: "Observation"})
		params.Set("_cursor", "bogus")
		_, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Observation", Params: params})
		if socialrx.ErrorCode(err) != socialrx.EINVALID {
			t.Errorf("bad cursor: %v, want EINVALID", err)
		}
		_, err = searchQuery(t, s, f, obs(search.Clause{Param: code, Modifier: "in", Values: []search.Value{{Raw: "http://vs"}}}))
		if socialrx.ErrorCode(err) != socialrx.EINVALID || len(socialrx.ErrorIssues(err)) == 0 || socialrx.ErrorIssues(err)[0].Path != "code:in" {
			t.Errorf("unsupported modifier: %v, want EINVALID naming code:in", err)
		}
		_, err = s.Search(t.Context(), socialrx.SearchRequest{Type: "Observation", Params: url.Values{"_q": {"nope"}}})
		if socialrx.ErrorCode(err) != socialrx.EINVALID || len(socialrx.ErrorIssues(err)) != 1 {
			t.Errorf("parse error: %v, want EINVALID with the parser's issue", err)
		}
	})
}

// --- paging ------------------------------------------------------------------

// testPaging reads a sorted search page by page while other resources are
// created, updated and deleted between pages: every match that is not
// changed appears on exactly one page.
func testPaging(t *testing.T, s socialrx.Store, f *Fakes) {
	const n = 40
	name := func(i int) string { return fmt.Sprintf("name%03d", (i*7)%n) }
	for i := 0; i < n; i++ {
		create(t, s, "Patient", fmt.Sprintf("p%02d", i), body("Patient", str("name", name(i)), tok("active", "", "true")))
	}
	churn := map[string]bool{} // ids written during paging
	for _, desc := range []bool{false, true} {
		q := &search.Query{Type: "Patient", Count: 7,
			Clauses: []search.Clause{{Param: param("active", search.ParamToken), Values: []search.Value{{Code: "true"}}}},
			Sort:    []search.SortKey{{Param: param("name", search.ParamString), Descending: desc}}}
		params := f.register(q)
		seen := map[string]int{}
		for page := 0; ; page++ {
			res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Patient", Params: params})
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			for _, m := range res.Matches {
				seen[m.ID]++
			}
			// Writes between pages: new matches at both ends of the
			// order, an update that moves one, a delete.
			id := fmt.Sprintf("new%v%d", desc, page)
			churn[id+"a"], churn[id+"b"] = true, true
			create(t, s, "Patient", id+"a", body("Patient", str("name", "aaa"), tok("active", "", "true")))
			create(t, s, "Patient", id+"b", body("Patient", str("name", "zzz"), tok("active", "", "true")))
			victim := fmt.Sprintf("p%02d", (page*11)%n)
			churn[victim] = true
			if err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
				_, _, err := tx.Update(t.Context(), "Patient", victim, []byte(body("Patient", str("name", "mmm"), tok("active", "", "true"))), 0)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if res.Next == nil {
				break
			}
			if res.Next.Get("_q") != params.Get("_q") || res.Next.Get("_cursor") == "" {
				t.Fatalf("Next %v: want the query and a _cursor", res.Next)
			}
			params = res.Next
			if page > 40 {
				t.Fatal("paging does not end")
			}
		}
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("p%02d", i)
			if !churn[id] && seen[id] != 1 {
				t.Errorf("descending %v: unchanged %s seen on %d pages, want 1", desc, id, seen[id])
			}
		}
		for id, c := range seen {
			if c > 1 {
				t.Errorf("descending %v: %s seen %d times", desc, id, c)
			}
		}
	}
}

// --- reindex -----------------------------------------------------------------

func testReindex(t *testing.T, s Store, f *Fakes) {
	const n = 1203 // more than two batches
	err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
		for i := 0; i < n; i++ {
			if _, err := tx.Create(t.Context(), "Task", fmt.Sprintf("t%04d", i), []byte(body("Task", tok("status", "", "ready")))); err != nil {
				return err
			}
		}
		if _, err := tx.Delete(t.Context(), "Task", "t0000", 0); err != nil {
			return err
		}
		// A derived fact (the workflow's, not the body's) must survive.
		return tx.PutFacts(t.Context(), "Task", "t0001", []socialrx.Fact{{Param: "work-list", System: "s", Code: "send-fax"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	factQ := &search.Query{Type: "Task", Summary: "count", Clauses: []search.Clause{{Param: param("work-list", search.ParamToken), Values: []search.Value{{Code: "send-fax"}}}}}
	if res, err := searchQuery(t, s, f, factQ); err != nil || res.Total != 1 {
		t.Fatalf("fact before reindex: %v, %+v; want Total 1", err, res)
	}
	q := &search.Query{Type: "Task", Summary: "count", Clauses: []search.Clause{{Param: param("owner", search.ParamReference), Values: []search.Value{{RefType: "Organization", RefID: "x"}}}}}
	res, err := searchQuery(t, s, f, q)
	if err != nil || res.Total != 0 {
		t.Fatalf("before reindex: %v, Total %+v; want 0", err, res)
	}
	f.extra.Store(&search.IndexEntry{Param: "owner", Type: search.ParamReference, RefType: "Organization", RefID: "x"})
	if err := s.Reindex(t.Context()); err != nil {
		t.Fatalf("reindex: %v", err)
	}
	res, err = searchQuery(t, s, f, q)
	if err != nil || res.Total != n-1 {
		t.Fatalf("after reindex: %v, Total %+v; want %d", err, res, n-1)
	}
	if res, err := searchQuery(t, s, f, factQ); err != nil || res.Total != 1 {
		t.Errorf("fact after reindex: %v, %+v; want Total 1 (reindex keeps the workflow's facts)", err, res)
	}
	// The old rows were replaced, not doubled.
	res, err = searchQuery(t, s, f, &search.Query{Type: "Task", Summary: "count", Clauses: []search.Clause{{Param: param("status", search.ParamToken), Values: []search.Value{{Code: "ready"}}}}})
	if err != nil || res.Total != n-1 {
		t.Fatalf("status after reindex: %v, %+v; want Total %d", err, res, n-1)
	}
}
