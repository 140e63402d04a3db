package main

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/adapter/workflow"
)

// The systems the work lists search by.
const (
	wlTaskCode      = "http://socialrx.dev/fhir/CodeSystem/task-code"
	wlFHIRTaskCode  = "http://hl7.org/fhir/CodeSystem/task-code"
	wlNeedDomain    = "http://socialrx.dev/fhir/CodeSystem/need-domain"
	wlForm          = "http://socialrx.dev/fhir/CodeSystem/prescription-form"
	wlSRSystem      = "https://riverdale-fht.example/oscar/sid/service-request"
	wlReferralTask  = "https://riverdale-fht.example/oscar/sid/referral-task"
	wlPhysician     = "https://fhir.infoway-inforoute.ca/NamingSystem/ca-on-license-physician"
	wlProgramSystem = "https://riverdale-fht.example/oscar/sid/program"
	wlOHIP          = "https://health.gov.on.ca/ohip"
)

// TestWorkLists posts encounters 01–06 to one server (SQLite) and runs the
// work lists of the README as FHIR searches, each compared with the exact
// set of resources it must find: ServiceRequests by their EMR identifier,
// follow-up Tasks by the prescription they focus, referral Tasks by their
// EMR identifier.
//
// The data (testdata/encounters/README.md): physician 91234 prescribes in
// 01 (SR-118204-1, self-directed, due 2026-12-04T15:42Z) and 03
// (SR-118451-1, navigator, due 2026-12-24T14:58Z); 87421 in 02
// (SR-118377-1, warm hand-off, due 2026-12-14T19:28Z) and 04 (SR-118502-1,
// warm hand-off, due 2026-12-16T16:38Z; SR-118502-2, self-directed, due
// 2026-12-09T16:39Z); 90077 in 05 (SR-118633-1, due 2026-12-10T20:33Z) and
// 06 (SR-118710-1, due 2026-12-11T18:28Z). The referral Tasks, all
// requested: RT-118377-1 (authored 2026-11-23), RT-118451-1 (11-24),
// RT-118502-1 (11-25).
func TestWorkLists(t *testing.T) {
	t.Parallel()
	m := startMain(t, sqliteDatabase(t))
	for _, name := range []string{
		"01-food-insecurity-self-directed", "02-housing-warm-handoff", "03-loneliness-navigator",
		"04-multiple-needs", "05-icd10ca-only", "06-unknown-codes",
	} {
		post := postEncounter(t, m, readEncounter(t, name))
		if post.status != http.StatusOK {
			t.Fatalf("POST %s: status %d: %s", name, post.status, truncate(post.body))
		}
	}

	// srIdentifier maps each stored ServiceRequest id to its EMR identifier
	// value, to name follow-up Tasks by the prescription they focus.
	srIdentifier := map[string]string{}
	for _, sr := range searchMatches(t, m, "ServiceRequest", url.Values{"identifier": {wlSRSystem + "|"}}) {
		srIdentifier[sr["id"].(string)] = identifierValue(sr, wlSRSystem)
	}
	if len(srIdentifier) != 7 {
		t.Fatalf("%d ServiceRequests stored, want the 7 of encounters 01-06: %v", len(srIdentifier), srIdentifier)
	}
	one := func(typ, param, value string) string {
		t.Helper()
		got := searchMatches(t, m, typ, url.Values{param: {value}})
		if len(got) != 1 {
			t.Fatalf("%s?%s=%s: %d matches, want 1", typ, param, value, len(got))
		}
		return got[0]["id"].(string)
	}

	// byFocus names Tasks by the EMR identifier of the ServiceRequest they
	// focus; byIdentifier names resources by their identifier in system.
	byFocus := func(tasks []map[string]any) []string {
		var out []string
		for _, task := range tasks {
			ref, _ := dig(task, "focus", "reference").(string)
			id, ok := strings.CutPrefix(ref, "ServiceRequest/")
			if !ok || srIdentifier[id] == "" {
				t.Errorf("Task/%v focuses %q, not a ServiceRequest of the encounters", task["id"], ref)
				continue
			}
			out = append(out, srIdentifier[id])
		}
		sort.Strings(out)
		return out
	}
	byIdentifier := func(system string) func([]map[string]any) []string {
		return func(rs []map[string]any) []string {
			out := []string{}
			for _, r := range rs {
				out = append(out, identifierValue(r, system))
			}
			sort.Strings(out)
			return out
		}
	}
	check := func(typ string, q url.Values, name func([]map[string]any) []string, want ...string) {
		t.Helper()
		got := name(searchMatches(t, m, typ, q))
		if got == nil {
			got = []string{}
		}
		if want == nil {
			want = []string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET %s?%s (-want +got):\n%s", typ, q.Encode(), diff)
		}
	}

	t.Run("follow-ups due by owner", func(t *testing.T) {
		owner := map[string]string{}
		for _, cpso := range []string{"91234", "87421", "90077"} {
			owner[cpso] = "Practitioner/" + one("Practitioner", "identifier", wlPhysician+"|"+cpso)
		}
		due := func(cpso, date string) url.Values {
			return url.Values{
				"code":     {wlTaskCode + "|follow-up"},
				"status":   {"requested"},
				"owner":    {owner[cpso]},
				"due-date": {date},
			}
		}
		check("Task", due("91234", "le2026-12-31"), byFocus, "SR-118204-1", "SR-118451-1")
		check("Task", due("91234", "le2026-12-04"), byFocus, "SR-118204-1")
		check("Task", due("87421", "le2026-12-31"), byFocus, "SR-118377-1", "SR-118502-1", "SR-118502-2")
		check("Task", due("87421", "le2026-12-14"), byFocus, "SR-118377-1", "SR-118502-2")
		check("Task", due("90077", "le2026-12-10"), byFocus, "SR-118633-1")
		check("Task", due("90077", "le2026-12-11"), byFocus, "SR-118633-1", "SR-118710-1")
		// The day before every due date: nothing is due yet.
		for cpso := range owner {
			check("Task", due(cpso, "le2026-12-03"), byFocus)
		}
		// Without the owner: every follow-up due by the 10th.
		q := due("", "le2026-12-10")
		q.Del("owner")
		check("Task", q, byFocus, "SR-118204-1", "SR-118502-2", "SR-118633-1")
	})

	t.Run("referrals by status and age", func(t *testing.T) {
		name := byIdentifier(wlReferralTask)
		q := func(status, authored string) url.Values {
			return url.Values{
				"code":        {wlFHIRTaskCode + "|fulfill"},
				"status":      {status},
				"authored-on": {authored},
			}
		}
		check("Task", q("requested", "lt2026-11-25"), name, "RT-118377-1", "RT-118451-1")
		check("Task", q("requested", "lt2026-11-26"), name, "RT-118377-1", "RT-118451-1", "RT-118502-1")
		check("Task", q("requested", "lt2026-11-23"), name)
		check("Task", q("accepted", "lt2026-11-26"), name)
		check("Task", q("requested,received", "lt2026-11-26"), name, "RT-118377-1", "RT-118451-1", "RT-118502-1")
		// Every one was written just now: none was last updated a day ago.
		check("Task", url.Values{"code": {wlFHIRTaskCode + "|fulfill"}, "status": {"requested"}, "_lastUpdated": {"gt2000-01-01"}},
			name, "RT-118377-1", "RT-118451-1", "RT-118502-1")
		check("Task", url.Values{"code": {wlFHIRTaskCode + "|fulfill"}, "status": {"requested"}, "_lastUpdated": {"lt2000-01-01"}}, name)
	})

	t.Run("prescriptions by need domain, form and program", func(t *testing.T) {
		name := byIdentifier(wlSRSystem)
		// The derived facts are searched by socialrx's derived parameters;
		// the ServiceRequests are stored as the EMR sent them.
		need := func(v string) url.Values { return url.Values{"need-domain": {v}} }
		form := func(v string) url.Values { return url.Values{"prescription-form": {v}} }
		check("ServiceRequest", need(wlNeedDomain+"|housing"), name, "SR-118377-1", "SR-118633-1")
		check("ServiceRequest", need("food"), name, "SR-118204-1")
		check("ServiceRequest", need(wlNeedDomain+"|unspecified"), name, "SR-118710-1")
		check("ServiceRequest", form(wlForm+"|warm-handoff"), name, "SR-118377-1", "SR-118502-1")
		check("ServiceRequest", form("navigator"), name, "SR-118451-1")
		check("ServiceRequest", url.Values{"prescription-form": {"warm-handoff"}, "need-domain": {"housing"}}, name, "SR-118377-1")
		check("ServiceRequest", form(wlForm+"|self-directed"), name, "SR-118204-1", "SR-118502-2", "SR-118633-1", "SR-118710-1")
		for program, want := range map[string]string{
			"east-end-food-bank-hamper":             "SR-118204-1",
			"east-housing-help-eviction-prevention": "SR-118377-1",
			"east-toronto-legal-clinic-income":      "SR-118502-1",
			"eastview-settlement-counselling":       "SR-118710-1",
		} {
			hs := one("HealthcareService", "identifier", wlProgramSystem+"|"+program)
			check("ServiceRequest", url.Values{"performer": {"HealthcareService/" + hs}}, name, want)
		}
	})

	t.Run("a patient's open prescriptions", func(t *testing.T) {
		name := byIdentifier(wlSRSystem)
		open := func(ohip string) url.Values {
			return url.Values{"subject:Patient.identifier": {wlOHIP + "|" + ohip}, "status": {"active"}}
		}
		check("ServiceRequest", open("6639204817"), name, "SR-118502-1", "SR-118502-2")
		check("ServiceRequest", open("4917284063"), name, "SR-118204-1")
		check("ServiceRequest", open("0000000000"), name)
		q := open("6639204817")
		q.Set("status", "completed")
		check("ServiceRequest", q, name)
	})

	// What socialrx derived of a prescription is read with $prescription
	// (the ServiceRequest comes back as the EMR sent it), and the derived
	// search parameters are served as SearchParameter resources.
	t.Run("derived facts: $prescription and SearchParameter", func(t *testing.T) {
		sr := one("ServiceRequest", "identifier", wlSRSystem+"|SR-118377-1")
		resp, body := do(t, http.MethodGet, m.URL()+"/fhir/ServiceRequest/"+sr+"/$prescription", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("$prescription: status %d: %s", resp.StatusCode, truncate(body))
		}
		got := decodeJSON(t, body)
		params := map[string]any{}
		for _, p := range asSlice(got["parameter"]) {
			pm := asMap(p)
			params[pm["name"].(string)] = pm
		}
		form := asMap(asMap(params["form"])["valueCoding"])
		if got["resourceType"] != "Parameters" || form["code"] != "warm-handoff" || form["system"] != wlForm {
			t.Errorf("$prescription of SR-118377-1: %s", truncate(body))
		}
		for _, want := range []string{"needDomain", "channel", "followUp", "referral", "formDerived"} {
			if params[want] == nil {
				t.Errorf("$prescription lacks %s: %s", want, truncate(body))
			}
		}
		for path, status := range map[string]int{
			"/fhir/Patient/" + sr + "/$prescription":           http.StatusNotFound,
			"/fhir/ServiceRequest/nope/$prescription":          http.StatusNotFound,
			"/fhir/SearchParameter/Task-work-list":             http.StatusOK,
			"/fhir/SearchParameter/ServiceRequest-need-domain": http.StatusOK,
		} {
			if resp, body := do(t, http.MethodGet, m.URL()+path, nil); resp.StatusCode != status {
				t.Errorf("GET %s: status %d, want %d: %s", path, resp.StatusCode, status, truncate(body))
			}
		}
		// SearchParameter/Task-work-list names every work list the server
		// answers (roles-walk finding 14), and each is searchable.
		_, body = do(t, http.MethodGet, m.URL()+"/fhir/SearchParameter/Task-work-list", nil)
		desc, _ := decodeJSON(t, body)["description"].(string)
		for _, code := range workflow.WorkLists() {
			if !strings.Contains(desc, code) {
				t.Errorf("SearchParameter/Task-work-list's description lacks %s: %q", code, desc)
			}
			if resp, body := do(t, http.MethodGet, m.URL()+"/fhir/Task?work-list="+code, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET Task?work-list=%s: status %d: %s", code, resp.StatusCode, truncate(body))
			}
		}
		defs := searchMatches(t, m, "SearchParameter", url.Values{"url": {"http://socialrx.dev/fhir/SearchParameter/ServiceRequest-prescription-form"}})
		if len(defs) != 1 || defs[0]["code"] != "prescription-form" {
			t.Errorf("SearchParameter?url=...prescription-form: %v", defs)
		}
	})
}

// identifierValue returns the value of r's identifier in system, or "".
func identifierValue(r map[string]any, system string) string {
	for _, idf := range asSlice(r["identifier"]) {
		if m := asMap(idf); m["system"] == system {
			v, _ := m["value"].(string)
			return v
		}
	}
	return ""
}
