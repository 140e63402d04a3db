package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/fhir"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from what the server does (SQLite); review the diff")

// The EMR encounter Bundles (testdata/encounters/README.md says what each
// one is) and the goldens recorded from them.
const (
	encounterDir = "../../testdata/encounters"
	goldenDir    = "../../testdata/golden"
)

// encounterCases are the Bundles posted one per fresh server, with the
// HTTP status the POST must answer. The resend (07) is not here: it only
// means something after 01 (TestEncounterResend).
var encounterCases = []struct {
	name   string // file name in encounterDir, without .json
	status int
}{
	{"01-food-insecurity-self-directed", http.StatusOK},
	{"02-housing-warm-handoff", http.StatusOK},
	{"03-loneliness-navigator", http.StatusOK},
	{"04-multiple-needs", http.StatusOK},
	{"05-icd10ca-only", http.StatusOK},
	{"06-unknown-codes", http.StatusOK},
	{"08-invalid-prescription", http.StatusUnprocessableEntity},
}

const (
	resendFirst  = "01-food-insecurity-self-directed"
	resendSecond = "07-resend-food-insecurity"
)

// encounterBackends are the stores every encounter test runs on; the
// goldens are the same for both. PostgreSQL skips when not installed.
var encounterBackends = []struct {
	name     string
	database func(t *testing.T) string
}{
	{"SQLite", sqliteDatabase},
	{"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
}

// TestEncounterFiles keeps the case table and the folder in step: every
// Bundle in testdata/encounters is posted by some test, and each is
// described in the folder's README.
func TestEncounterFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(encounterDir, "*.json"))
	if err != nil || len(files) < 8 {
		t.Fatalf("want at least 8 Bundles in %s, found %d (err %v)", encounterDir, len(files), err)
	}
	known := map[string]bool{resendSecond: true}
	for _, c := range encounterCases {
		known[c.name] = true
	}
	readme, err := os.ReadFile(filepath.Join(encounterDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !known[name] {
			t.Errorf("%s is posted by no test: add it to encounterCases", name)
		}
		if !bytes.Contains(readme, []byte(name+".json")) {
			t.Errorf("%s is not described in %s/README.md", name, encounterDir)
		}
		// The Bundles are what a correct EMR sends: valid FHIR R4, but for
		// the one made to be refused.
		if name == "08-invalid-prescription" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range fhir.Validate(b, "Bundle") {
			if is.Severity == "error" || is.Severity == "fatal" {
				t.Errorf("%s: %s %s: %s", name, is.Code, is.Path, is.Message)
			}
		}
	}
}

// TestEncounters posts each EMR encounter Bundle to a fresh server and
// compares what socialrx made of it with the goldens:
//
//   - the HTTP status, and for a refused Bundle the OperationOutcome's issue
//     codes and paths (<name>.outcome.json); nothing of it may be stored;
//   - the patient's domain projection, Store.Projection
//     (<name>.projection.json);
//   - the FHIR socialrx emitted: the stored ServiceRequests with their
//     derived categories and the Tasks socialrx created (follow-up, patient
//     Task) (<name>.emitted.json), each of which must pass fhir.Validate.
//
// Server-assigned ids become placeholders named after the Bundle entry they
// were created from ("{entry 11}") or, for resources socialrx created, after
// their role ("{follow-up of entry 11}"); timestamps taken during the POST
// become "{now}". Dates the Bundle carries (authoredOn and what is computed
// from it, such as a follow-up's due date) are kept.
// noWorkers runs the server without job workers: the encounter files'
// follow-ups fall due in the past (Bundle 01's on 2026-12-04), so a worker
// would send a reminder, and make a letter Task, while a test compares what
// the encounter itself wrote with its golden files.
func noWorkers(c *Config) { c.Workers = 0 }

func TestEncounters(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			for _, c := range encounterCases {
				t.Run(c.name, func(t *testing.T) {
					if !*update {
						t.Parallel()
					}
					m := startMainWith(t, be.database(t), noWorkers)
					bundle := readEncounter(t, c.name)
					post := postEncounter(t, m, bundle)
					if post.status != c.status {
						t.Fatalf("POST %s: status %d, want %d: %s", c.name, post.status, c.status, truncate(post.body))
					}
					if c.status != http.StatusOK {
						checkRefused(t, m, c.name, bundle, post, be.name == "SQLite")
						return
					}
					got := observeEncounter(t, m, bundle, post)
					checkGolden(t, c.name+".projection.json", got.projection, be.name == "SQLite")
					checkGolden(t, c.name+".emitted.json", got.emitted, be.name == "SQLite")
				})
			}
		})
	}
}

// TestEncounterResend posts Bundle 01 and then 07, the same encounter sent
// again by the EMR with the same identifiers (and new urn:uuid fullUrls):
// the second POST must answer with the same resources and versions, write
// nothing (the server's history does not grow), and leave the projection
// and the emitted FHIR exactly as the first left them (one prescription, one
// follow-up Task), which are also 01's goldens.
func TestEncounterResend(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			m := startMainWith(t, be.database(t), noWorkers)
			first := readEncounter(t, resendFirst)
			post1 := postEncounter(t, m, first)
			if post1.status != http.StatusOK {
				t.Fatalf("POST %s: status %d: %s", resendFirst, post1.status, truncate(post1.body))
			}
			before := observeEncounter(t, m, first, post1)
			historyBefore := historyTotal(t, m)

			second := readEncounter(t, resendSecond)
			post2 := postEncounter(t, m, second)
			if post2.status != http.StatusOK {
				t.Fatalf("POST %s: status %d: %s", resendSecond, post2.status, truncate(post2.body))
			}
			if diff := cmp.Diff(post1.answers(), post2.answers()); diff != "" {
				t.Errorf("the resend answered with other resources or versions (-first +resend):\n%s", diff)
			}
			for i, st := range post2.statuses() {
				if !strings.HasPrefix(st, "2") {
					t.Errorf("resend entry %d: status %q", i, st)
				}
			}
			if got := historyTotal(t, m); got != historyBefore {
				t.Errorf("the resend wrote %d resource version(s): history total %d, was %d", got-historyBefore, got, historyBefore)
			}
			after := observeEncounter(t, m, second, post2)
			if diff := cmp.Diff(string(before.projection), string(after.projection)); diff != "" {
				t.Errorf("projection changed by the resend (-first +after resend):\n%s", diff)
			}
			if diff := cmp.Diff(string(before.emitted), string(after.emitted)); diff != "" {
				t.Errorf("emitted FHIR changed by the resend (-first +after resend):\n%s", diff)
			}
			// And both are what 01 records (without rewriting it here).
			checkGolden(t, resendFirst+".projection.json", after.projection, false)
			checkGolden(t, resendFirst+".emitted.json", after.emitted, false)
		})
	}
}

// TestEncounterFollowUpWorkList is the work list of the README: after
// Bundle 01 (a self-directed prescription authored 2026-11-20T10:42-05:00,
// so due 14 days later, 2026-12-04T15:42Z), the follow-ups due by the due
// day are exactly its follow-up Task; none are due the day before.
func TestEncounterFollowUpWorkList(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			m := startMainWith(t, be.database(t), noWorkers)
			bundle := readEncounter(t, resendFirst)
			post := postEncounter(t, m, bundle)
			if post.status != http.StatusOK {
				t.Fatalf("POST %s: status %d: %s", resendFirst, post.status, truncate(post.body))
			}
			patientID := findPatient(t, m, bundle)
			srID := post.idOf(t, "ServiceRequest")
			workList := func(due string) []map[string]any {
				q := url.Values{
					"code":     {"http://socialrx.dev/fhir/CodeSystem/task-code|follow-up"},
					"due-date": {due},
					"subject":  {"Patient/" + patientID},
				}
				return searchMatches(t, m, "Task", q)
			}
			got := workList("le2026-12-04")
			if len(got) != 1 {
				t.Fatalf("Task?code=...|follow-up&due-date=le2026-12-04&subject=Patient/<id>: %d matches, want exactly the follow-up Task", len(got))
			}
			task := got[0]
			if diff := cmp.Diff(map[string]any{"reference": "ServiceRequest/" + srID}, task["focus"]); diff != "" {
				t.Errorf("follow-up Task.focus (-want +got):\n%s", diff)
			}
			end := dig(task, "restriction", "period", "end")
			if end != "2026-12-04T15:42:00Z" {
				t.Errorf("follow-up Task.restriction.period.end = %v, want 2026-12-04T15:42:00Z (authoredOn + 14 days)", end)
			}
			if n := len(workList("le2026-12-03")); n != 0 {
				t.Errorf("due-date=le2026-12-03: %d matches, want none (the follow-up is due on the 4th)", n)
			}
			if n := len(workList("ge2026-12-04")); n != 1 {
				t.Errorf("due-date=ge2026-12-04: %d matches, want 1", n)
			}
		})
	}
}

// ---- posting and reading back -------------------------------------------

// encounterPost is the answer to one POST of a Bundle, with the window of
// time it was made in.
type encounterPost struct {
	status   int
	body     []byte
	entries  []map[string]any // transaction-response entries
	from, to time.Time
}

func readEncounter(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(encounterDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func postEncounter(t *testing.T, m *Main, bundle []byte) encounterPost {
	t.Helper()
	p := encounterPost{from: time.Now()}
	resp, body := do(t, http.MethodPost, m.URL()+"/fhir", bundle)
	p.to = time.Now()
	p.status, p.body = resp.StatusCode, body
	if p.status == http.StatusOK {
		got := decodeJSON(t, body)
		if got["type"] != "transaction-response" {
			t.Fatalf("POST: Bundle.type %v, want transaction-response", got["type"])
		}
		for _, e := range asSlice(got["entry"]) {
			p.entries = append(p.entries, asMap(e))
		}
		if n := len(asSlice(decodeJSON(t, bundle)["entry"])); n != len(p.entries) {
			t.Fatalf("POST: %d response entries for %d entries", len(p.entries), n)
		}
	}
	return p
}

// ids returns the server id of each entry ("" when it has none), in Bundle
// order, read from response.location (or fullUrl).
func (p encounterPost) ids() []string {
	out := make([]string, len(p.entries))
	for i, e := range p.entries {
		loc, _ := dig(e, "response", "location").(string)
		if loc == "" {
			loc, _ = e["fullUrl"].(string)
		}
		loc, _, _ = strings.Cut(loc, "/_history/")
		if j := strings.LastIndexByte(loc, '/'); j >= 0 {
			out[i] = loc[j+1:]
		}
	}
	return out
}

// idOf returns the id of the only entry of type typ.
func (p encounterPost) idOf(t *testing.T, typ string) string {
	t.Helper()
	found := ""
	for i, id := range p.ids() {
		loc, _ := dig(p.entries[i], "response", "location").(string)
		if strings.Contains(loc, "/"+typ+"/"+id) {
			if found != "" {
				t.Fatalf("more than one %s in the Bundle", typ)
			}
			found = id
		}
	}
	if found == "" {
		t.Fatalf("no %s in the transaction-response", typ)
	}
	return found
}

// answers is what the server says it stored for each entry: the resource
// and its version.
func (p encounterPost) answers() []string {
	out := make([]string, len(p.entries))
	for i, e := range p.entries {
		loc, _ := dig(e, "response", "location").(string)
		etag, _ := dig(e, "response", "etag").(string)
		out[i] = loc + " " + etag
	}
	return out
}

func (p encounterPost) statuses() []string {
	out := make([]string, len(p.entries))
	for i, e := range p.entries {
		out[i], _ = dig(e, "response", "status").(string)
	}
	return out
}

// observed is what the tests compare, normalized and indented.
type observed struct {
	projection []byte
	emitted    []byte
}

// observeEncounter reads the patient's projection and the FHIR socialrx
// emitted for the Bundle, and normalizes both.
func observeEncounter(t *testing.T, m *Main, bundle []byte, post encounterPost) observed {
	t.Helper()
	patientID := findPatient(t, m, bundle)
	norm := newNormalizer(post)

	store, ok := m.Store.(interface {
		Projection(ctx context.Context, patientID string) (*socialrx.PatientProjection, error)
	})
	if !ok {
		t.Fatalf("store %T has no Projection method", m.Store)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proj, err := store.Projection(ctx, patientID)
	if err != nil {
		t.Fatalf("Projection(%s): %v", patientID, err)
	}
	raw, err := json.Marshal(proj)
	if err != nil {
		t.Fatal(err)
	}

	// The emitted FHIR: the patient's ServiceRequests, and the Tasks focused
	// on them or for the patient that the Bundle did not hold.
	inBundle := map[string]bool{}
	for _, id := range post.ids() {
		inBundle[id] = true
	}
	srs := searchMatches(t, m, "ServiceRequest", url.Values{"subject": {"Patient/" + patientID}})
	tasks := map[string]map[string]any{}
	for _, sr := range srs {
		id, _ := sr["id"].(string)
		for _, task := range searchMatches(t, m, "Task", url.Values{"focus": {"ServiceRequest/" + id}}) {
			tasks[task["id"].(string)] = task
		}
	}
	for _, task := range searchMatches(t, m, "Task", url.Values{"subject": {"Patient/" + patientID}}) {
		tasks[task["id"].(string)] = task
	}
	var emittedTasks []map[string]any
	for id, task := range tasks {
		if !inBundle[id] {
			emittedTasks = append(emittedTasks, task)
		}
	}
	for _, task := range emittedTasks {
		norm.nameTask(task)
	}
	for _, r := range append(append([]map[string]any{}, srs...), emittedTasks...) {
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		typ, _ := r["resourceType"].(string)
		for _, is := range fhir.Validate(body, typ) {
			if is.Severity == "error" || is.Severity == "fatal" {
				t.Errorf("emitted %s %s does not pass fhir.Validate: %s %s: %s", typ, norm.name(r["id"]), is.Code, is.Path, is.Message)
			}
		}
	}

	emitted := map[string]any{"ServiceRequest": norm.resources(srs), "Task": norm.resources(emittedTasks)}
	// The store sorts by source, which holds server ids: sort again once
	// they are placeholders, so that the order is the same on every run.
	projection := asMap(norm.value(decodeJSON(t, raw)))
	for k, v := range projection {
		projection[k] = sortedByJSON(asSlice(v))
	}
	return observed{
		projection: norm.encode(t, projection),
		emitted:    norm.encode(t, emitted),
	}
}

// checkRefused checks a refused Bundle: its OperationOutcome's issues
// against <name>.outcome.json, and that nothing of it was stored.
func checkRefused(t *testing.T, m *Main, name string, bundle []byte, post encounterPost, write bool) {
	t.Helper()
	oo := decodeJSON(t, post.body)
	if oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("refused Bundle answered with a %v, want an OperationOutcome", oo["resourceType"])
	}
	type issue struct {
		Severity   string   `json:"severity"`
		Code       string   `json:"code"`
		Expression []string `json:"expression"`
	}
	var issues []issue
	for _, i := range asSlice(oo["issue"]) {
		im := asMap(i)
		is := issue{}
		is.Severity, _ = im["severity"].(string)
		is.Code, _ = im["code"].(string)
		for _, e := range asSlice(im["expression"]) {
			s, _ := e.(string)
			is.Expression = append(is.Expression, s)
		}
		issues = append(issues, is)
	}
	// Whatever the golden says: each issue names the element at fault, inside
	// an entry's resource (Bundle.entry[5].resource.subject), not just the
	// entry. A refusal that does not is not recorded by -update.
	for _, is := range issues {
		if len(is.Expression) == 0 || !elementInEntry.MatchString(is.Expression[0]) {
			t.Errorf("issue %s %v does not name an element of an entry's resource (want Bundle.entry[n].resource.<element>)", is.Code, is.Expression)
			write = false
		}
	}
	b, err := json.MarshalIndent(map[string]any{"status": post.status, "issue": issues}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, name+".outcome.json", append(b, '\n'), write)
	for _, typ := range []string{"Patient", "Encounter", "Condition", "ServiceRequest", "Task", "Observation"} {
		if n := len(searchMatches(t, m, typ, url.Values{})); n != 0 {
			t.Errorf("the refused Bundle left %d %s(s) stored, want none", n, typ)
		}
	}
}

var elementInEntry = regexp.MustCompile(`^Bundle\.entry\[[0-9]+\]\.resource\.[a-z]`)

// findPatient returns the id of the Bundle's Patient, found by searching
// Patient?identifier= with its (first) identifier.
func findPatient(t *testing.T, m *Main, bundle []byte) string {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string          `json:"resourceType"`
				Identifier   json.RawMessage `json:"identifier"` // an object in QuestionnaireResponse
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entry {
		var idfs []struct{ System, Value string }
		if e.Resource.ResourceType != "Patient" || json.Unmarshal(e.Resource.Identifier, &idfs) != nil || len(idfs) == 0 {
			continue
		}
		idf := idfs[0]
		got := searchMatches(t, m, "Patient", url.Values{"identifier": {idf.System + "|" + idf.Value}})
		if len(got) != 1 {
			t.Fatalf("Patient?identifier=%s|...: %d matches, want 1", idf.System, len(got))
		}
		return got[0]["id"].(string)
	}
	t.Fatal("the Bundle has no Patient with an identifier")
	return ""
}

// searchMatches runs GET /fhir/<typ>?q and returns the matches (all pages).
func searchMatches(t *testing.T, m *Main, typ string, q url.Values) []map[string]any {
	t.Helper()
	next := m.URL() + "/fhir/" + typ + "?" + q.Encode()
	var out []map[string]any
	for next != "" {
		resp, body := do(t, http.MethodGet, next, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", next, resp.StatusCode, truncate(body))
		}
		b := decodeJSON(t, body)
		for _, e := range asSlice(b["entry"]) {
			em := asMap(e)
			if mode, _ := dig(em, "search", "mode").(string); mode != "" && mode != "match" {
				continue
			}
			out = append(out, asMap(em["resource"]))
		}
		next = ""
		for _, l := range asSlice(b["link"]) {
			if lm := asMap(l); lm["relation"] == "next" {
				next, _ = lm["url"].(string)
			}
		}
	}
	return out
}

// historyTotal is the number of resource versions the server holds.
func historyTotal(t *testing.T, m *Main) int {
	t.Helper()
	resp, body := do(t, http.MethodGet, m.URL()+"/fhir/_history?_count=1", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /fhir/_history: status %d: %s", resp.StatusCode, truncate(body))
	}
	n, err := strconv.Atoi(string(decodeJSON(t, body)["total"].(json.Number)))
	if err != nil {
		t.Fatalf("history total: %v", err)
	}
	return n
}

// ---- normalizing ---------------------------------------------------------

// normalizer replaces server-assigned ids with placeholders and timestamps
// taken during the POST with "{now}".
type normalizer struct {
	names    map[string]string // server id -> placeholder
	from, to time.Time
	unknown  int
}

func newNormalizer(p encounterPost) *normalizer {
	n := &normalizer{names: map[string]string{}, from: p.from.Add(-time.Second), to: p.to.Add(time.Second)}
	for i, id := range p.ids() {
		if id != "" {
			n.names[id] = fmt.Sprintf("{entry %02d}", i)
		}
	}
	return n
}

// nameTask names a Task socialrx created after its role and the
// ServiceRequest it is for.
func (n *normalizer) nameTask(task map[string]any) {
	id, _ := task["id"].(string)
	focus, _ := dig(task, "focus", "reference").(string)
	sr := n.name(strings.TrimPrefix(focus, "ServiceRequest/"))
	role := "task"
	for _, c := range asSlice(dig(task, "code", "coding")) {
		cm := asMap(c)
		if cm["system"] == socialrx.CodeSystemBase+"task-code" {
			role, _ = cm["code"].(string)
		}
	}
	n.names[id] = "{" + role + " of " + strings.Trim(sr, "{}") + "}"
}

// name returns the placeholder of id (a new "{unknown n}" for an id not
// seen before).
func (n *normalizer) name(v any) string {
	id, _ := v.(string)
	if p, ok := n.names[id]; ok {
		return p
	}
	n.unknown++
	p := "{unknown " + strconv.Itoa(n.unknown) + "}"
	n.names[id] = p
	return p
}

// resources normalizes resources read back from the server (meta.versionId
// and meta.lastUpdated dropped), sorted by their placeholder id.
func (n *normalizer) resources(rs []map[string]any) []any {
	out := make([]any, 0, len(rs))
	for _, r := range rs {
		out = append(out, n.value(withoutServerMeta(r)))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, _ := asMap(out[i])["id"].(string)
		b, _ := asMap(out[j])["id"].(string)
		return a < b
	})
	return out
}

// value normalizes every string in v: ids, longest first (an id derived
// from another contains it), and timestamps within the POST.
func (n *normalizer) value(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = n.value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = n.value(e)
		}
		return out
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, x); err == nil && !ts.Before(n.from) && !ts.After(n.to) {
			return "{now}"
		}
		ids := make([]string, 0, len(n.names))
		for id := range n.names {
			if id != "" && strings.Contains(x, id) {
				ids = append(ids, id)
			}
		}
		sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) })
		for _, id := range ids {
			x = strings.ReplaceAll(x, id, n.names[id])
		}
		return x
	}
	return v
}

// encode writes v as indented JSON without HTML escaping, keys sorted.
func (n *normalizer) encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkGolden compares got with testdata/golden/<file>, or writes it there
// when -update is set and write is true (one backend writes, the others
// compare against what it wrote).
func checkGolden(t *testing.T, file string, got []byte, write bool) {
	t.Helper()
	path := filepath.Join(goldenDir, file)
	if *update && write {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/socialrx -run TestEncounters -update to record it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got):\n%s", file, diff)
	}
}

// ---- JSON helpers --------------------------------------------------------

// sortedByJSON sorts vs by their JSON encoding (map keys sorted), in place.
func sortedByJSON(vs []any) []any {
	key := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	sort.SliceStable(vs, func(i, j int) bool { return key(vs[i]) < key(vs[j]) })
	return vs
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// dig returns v's member at path, or nil.
func dig(v any, path ...string) any {
	for _, p := range path {
		v = asMap(v)[p]
	}
	return v
}
