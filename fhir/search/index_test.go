package search

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/fhir"
)

func utc(y int, m time.Month, d, h, mi, s, us int) time.Time {
	return time.Date(y, m, d, h, mi, s, us*1000, time.UTC)
}

// entriesFor returns the entries of Index(typ, doc) for one parameter.
func entriesFor(t *testing.T, typ, doc, param string) []IndexEntry {
	t.Helper()
	all, err := Index(typ, []byte(doc))
	if err != nil {
		t.Fatalf("Index(%s): %v", typ, err)
	}
	var out []IndexEntry
	for _, e := range all {
		if e.Param == param {
			out = append(out, e)
		}
	}
	return out
}

func TestIndexValues(t *testing.T) {
	tok := func(p, sys, code, text string) IndexEntry {
		return IndexEntry{Param: p, Type: ParamToken, System: sys, Code: code, Text: text}
	}
	str := func(p, exact string) IndexEntry {
		return IndexEntry{Param: p, Type: ParamString, Value: normalizeSearchString(exact), Exact: exact}
	}
	date := func(p string, low, high time.Time) IndexEntry {
		return IndexEntry{Param: p, Type: ParamDate, Low: low, High: high}
	}
	ref := func(p, exact, typ, id string) IndexEntry {
		return IndexEntry{Param: p, Type: ParamReference, Exact: exact, RefType: typ, RefID: id}
	}
	tests := []struct {
		name, typ, doc, param string
		want                  []IndexEntry
	}{
		{"id", "Patient", `{"resourceType":"Patient","id":"p1"}`, "_id", []IndexEntry{tok("_id", "", "p1", "")}},
		{"lastUpdated", "Patient", `{"meta":{"lastUpdated":"2024-05-06T07:08:09.123456Z"}}`, "_lastUpdated",
			[]IndexEntry{date("_lastUpdated", utc(2024, 5, 6, 7, 8, 9, 123456), utc(2024, 5, 6, 7, 8, 9, 123456))}},
		{"tag coding", "Patient", `{"meta":{"tag":[{"system":"s","code":"c","display":"Ça Va"}]}}`, "_tag", []IndexEntry{tok("_tag", "s", "c", "ca va")}},
		{"profile uri", "Patient", `{"meta":{"profile":["http://p/x"]}}`, "_profile", []IndexEntry{{Param: "_profile", Type: ParamURI, Exact: "http://p/x"}}},
		{"code primitive", "Task", `{"status":"requested"}`, "status", []IndexEntry{tok("status", "", "requested", "")}},
		{"boolean", "Patient", `{"active":false}`, "active", []IndexEntry{tok("active", "", "false", "")}},
		{"codeable concept", "Condition", `{"code":{"coding":[{"system":"http://snomed.info/sct","code":"1","display":"A"},{"code":"2"}],"text":"Free  Text"}}`, "code",
			// The text goes in the first coding row without a display: one
			// row fewer, the same matches (a search matches any row).
			[]IndexEntry{tok("code", "http://snomed.info/sct", "1", "a"), tok("code", "", "2", "free text")}},
		{"codeable concept, text as display", "Condition", `{"code":{"coding":[{"system":"s","code":"1","display":"Same"}],"text":"same"}}`, "code",
			[]IndexEntry{tok("code", "s", "1", "same")}},
		{"codeable concept, every coding with another display", "Condition", `{"code":{"coding":[{"system":"s","code":"1","display":"A"}],"text":"B"}}`, "code",
			[]IndexEntry{tok("code", "s", "1", "a"), tok("code", "", "", "b")}},
		{"codeable concept text only", "Condition", `{"code":{"text":"x"}}`, "code", []IndexEntry{tok("code", "", "", "x")}},
		{"identifier", "Patient", `{"identifier":[{"system":"urn:oid:1","value":"42","type":{"text":"MRN"}},{"value":"7"}]}`, "identifier",
			[]IndexEntry{tok("identifier", "urn:oid:1", "42", ""), tok("identifier", "", "7", "")}},
		{"contact point", "Patient", `{"telecom":[{"system":"phone","value":"555"},{"system":"email","value":"a@b"}]}`, "telecom",
			[]IndexEntry{tok("telecom", "", "555", ""), tok("telecom", "", "a@b", "")}},
		{"contact point where", "Patient", `{"telecom":[{"system":"phone","value":"555"},{"system":"email","value":"a@b"}]}`, "email",
			[]IndexEntry{tok("email", "", "a@b", "")}},
		// name and address are union parameters (union.go): their own rows
		// are the members family, given and address-* do not hold.
		{"human name", "Patient", `{"name":[{"text":"Dr Éve Q","family":"Q","given":["Éve","Anne"],"prefix":["Dr"]}]}`, "name",
			[]IndexEntry{str("name", "Dr Éve Q"), str("name", "Dr")}},
		{"human name of a Location", "Location", `{"name":"Hub","alias":["Hub","H"]}`, "name",
			[]IndexEntry{str("name", "Hub"), str("name", "H")}},
		{"organization alias", "Organization", `{"name":"Hub","alias":["Hub","H"]}`, "name",
			[]IndexEntry{str("name", "H")}},
		{"family", "Patient", `{"name":[{"family":"Q"},{"family":"Q"}]}`, "family", []IndexEntry{str("family", "Q")}},
		{"given", "Practitioner", `{"name":[{"given":["A","B"]}]}`, "given", []IndexEntry{str("given", "A"), str("given", "B")}},
		{"address", "Patient", `{"address":[{"line":["1 Main St"],"city":"Montréal","postalCode":"H2X"}]}`, "address",
			[]IndexEntry{str("address", "1 Main St")}},
		{"address city", "Organization", `{"address":[{"city":"Ottawa"}]}`, "address-city", []IndexEntry{str("address-city", "Ottawa")}},
		{"birthdate", "Patient", `{"birthDate":"1974-12"}`, "birthdate",
			[]IndexEntry{date("birthdate", utc(1974, 12, 1, 0, 0, 0, 0), utc(1974, 12, 31, 23, 59, 59, 999999))}},
		{"dateTime with zone", "Observation", `{"effectiveDateTime":"2020-03-01T10:00:00+02:00"}`, "date",
			[]IndexEntry{date("date", utc(2020, 3, 1, 8, 0, 0, 0), utc(2020, 3, 1, 8, 0, 0, 999999))}},
		{"period open end", "Encounter", `{"period":{"start":"2020-01-01"}}`, "date",
			[]IndexEntry{date("date", utc(2020, 1, 1, 0, 0, 0, 0), searchDateMax)}},
		{"period open start", "Encounter", `{"period":{"end":"2020"}}`, "date",
			[]IndexEntry{date("date", searchDateMin, utc(2020, 12, 31, 23, 59, 59, 999999))}},
		{"timing events", "Observation", `{"effectiveTiming":{"event":["2021-01-05","2021-01-02"]}}`, "date",
			[]IndexEntry{date("date", utc(2021, 1, 2, 0, 0, 0, 0), utc(2021, 1, 5, 23, 59, 59, 999999))}},
		{"instant", "Observation", `{"effectiveInstant":"2021-01-02T03:04:05.5Z"}`, "date",
			[]IndexEntry{date("date", utc(2021, 1, 2, 3, 4, 5, 500000), utc(2021, 1, 2, 3, 4, 5, 599999))}},
		{"bad date skipped", "Observation", `{"effectiveDateTime":"yesterday"}`, "date", nil},
		{"task authored-on", "Task", `{"authoredOn":"2022-02-02"}`, "authored-on",
			[]IndexEntry{date("authored-on", utc(2022, 2, 2, 0, 0, 0, 0), utc(2022, 2, 2, 23, 59, 59, 999999))}},
		{"quantity", "Observation", `{"valueQuantity":{"value":1.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`, "value-quantity",
			[]IndexEntry{{Param: "value-quantity", Type: ParamQuantity, Number: 1.5, System: "http://unitsofmeasure.org", Code: "kg"}}},
		{"quantity unit fallback", "Observation", `{"valueQuantity":{"value":3,"unit":"mg"}}`, "value-quantity",
			[]IndexEntry{{Param: "value-quantity", Type: ParamQuantity, Number: 3, Code: "mg"}}},
		{"money", "ChargeItem", `{"priceOverride":{"value":10,"currency":"CAD"}}`, "price-override",
			[]IndexEntry{{Param: "price-override", Type: ParamQuantity, Number: 10, System: "urn:iso:std:iso:4217", Code: "CAD"}}},
		{"number", "ChargeItem", `{"factorOverride":0.8}`, "factor-override", []IndexEntry{{Param: "factor-override", Type: ParamNumber, Number: 0.8}}},
		{"reference relative", "Observation", `{"subject":{"reference":"Patient/p1"}}`, "subject", []IndexEntry{ref("subject", "Patient/p1", "Patient", "p1")}},
		{"reference history", "Observation", `{"subject":{"reference":"Patient/p1/_history/3"}}`, "subject", []IndexEntry{ref("subject", "Patient/p1/_history/3", "Patient", "p1")}},
		{"reference absolute", "Observation", `{"subject":{"reference":"https://ehr.example/fhir/Patient/p1"}}`, "patient",
			[]IndexEntry{ref("patient", "https://ehr.example/fhir/Patient/p1", "Patient", "p1")}},
		{"reference absolute unsupported type", "Observation", `{"subject":{"reference":"https://x/fhir/Device/d"}}`, "subject",
			[]IndexEntry{ref("subject", "https://x/fhir/Device/d", "", "")}},
		{"reference contained", "Observation", `{"subject":{"reference":"#p"}}`, "subject", []IndexEntry{ref("subject", "#p", "", "")}},
		{"reference identifier only skipped", "Observation", `{"subject":{"identifier":{"value":"x"}}}`, "subject", nil},
		{"patient excludes group", "Observation", `{"subject":{"reference":"Group/g"}}`, "patient", nil},
		{"canonical", "QuestionnaireResponse", `{"questionnaire":"http://q/Questionnaire/q1|2"}`, "questionnaire",
			[]IndexEntry{ref("questionnaire", "http://q/Questionnaire/q1|2", "Questionnaire", "q1")}},
		{"task owner", "Task", `{"owner":{"reference":"Organization/o"}}`, "owner", []IndexEntry{ref("owner", "Organization/o", "Organization", "o")}},
		{"task focus", "Task", `{"focus":{"reference":"ServiceRequest/s"}}`, "focus", []IndexEntry{ref("focus", "ServiceRequest/s", "ServiceRequest", "s")}},
		{"wrong shapes skipped", "Observation", `{"status":{"x":1},"subject":"Patient/1","valueQuantity":"1 kg","effectiveDateTime":5}`, "value-quantity", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := entriesFor(t, tt.typ, tt.doc, tt.param)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Index(%s) %s mismatch (-want +got):\n%s", tt.typ, tt.param, diff)
			}
		})
	}
}

func TestIndexErrors(t *testing.T) {
	for _, body := range []string{``, `[]`, `"x"`, `{"a":`, `null`} {
		if _, err := Index("Patient", []byte(body)); err == nil {
			t.Errorf("Index(%q): no error", body)
		}
	}
	if got, err := Index("Medication", []byte(`{}`)); got != nil || err != nil {
		t.Errorf("Index(Medication) = %v, %v; want nil, nil", got, err)
	}
}

// TestIndexWhatTheTreeRefuses indexes bodies fhir.ParseTree refuses and
// encoding/json takes as Index did when it decoded with encoding/json: the
// last of two keys counts, invalid UTF-8 is U+FFFD, data after the value
// is ignored.
func TestIndexWhatTheTreeRefuses(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"duplicate key", `{"resourceType":"Patient","gender":"male","gender":"female"}`, "female"},
		{"invalid UTF-8", "{\"resourceType\":\"Patient\",\"gender\":\"f\xffe\"}", "f\uFFFDe"},
		{"data after the value", `{"resourceType":"Patient","gender":"other"} {}`, "other"},
	} {
		if _, err := fhir.ParseTree([]byte(tc.body)); err == nil {
			t.Fatalf("%s: fhir.ParseTree took it; the case tests nothing", tc.name)
		}
		got, err := Index("Patient", []byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var codes []string
		for _, e := range got {
			if e.Param == "gender" {
				codes = append(codes, e.Code)
			}
		}
		if diff := cmp.Diff([]string{tc.want}, codes); diff != "" {
			t.Errorf("%s: gender entries (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestIndexObservationExample(t *testing.T) {
	all, err := Index("Observation", readExample(t, "Observation-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []IndexEntry{
		{Param: "subject", Type: ParamReference, Exact: "Patient/example", RefType: "Patient", RefID: "example"},
		{Param: "patient", Type: ParamReference, Exact: "Patient/example", RefType: "Patient", RefID: "example"},
		{Param: "code", Type: ParamToken, System: "http://loinc.org", Code: "29463-7", Text: "body weight"},
		{Param: "date", Type: ParamDate, Low: utc(2016, 3, 28, 0, 0, 0, 0), High: utc(2016, 3, 28, 23, 59, 59, 999999)},
		{Param: "status", Type: ParamToken, Code: "final"},
		{Param: "_id", Type: ParamToken, Code: "example"},
		{Param: "value-quantity", Type: ParamQuantity, Number: 185, System: "http://unitsofmeasure.org", Code: "[lb_av]"},
	}
	for _, w := range want {
		found := false
		for _, e := range all {
			if e == w {
				found = true
			}
		}
		if !found {
			t.Errorf("Index(Observation-example): missing %+v", w)
		}
	}
}

// TestIndexAllExamples indexes every R4 example of a supported type: no
// error, an _id entry, no entry for a parameter the type does not serve,
// and every entry filled as its type requires.
func TestIndexAllExamples(t *testing.T) {
	dir := exampleDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		typ, _, _ := strings.Cut(filepath.Base(f), "-")
		if typeSearchParams(typ) == nil {
			continue
		}
		n++
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := Index(typ, body)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		hasID := false
		for _, e := range entries {
			sp, ok := LookupParam(typ, e.Param)
			if !ok || sp.Type != e.Type {
				t.Errorf("%s: entry for %s of type %s not served", f, e.Param, e.Type)
			}
			if e.Param == "_id" {
				hasID = true
			}
			if msg := checkEntry(e); msg != "" {
				t.Errorf("%s: %s: %s (%+v)", f, e.Param, msg, e)
			}
		}
		if !hasID {
			t.Errorf("%s: no _id entry", f)
		}
	}
	if n < 200 {
		t.Errorf("indexed %d examples, want at least 200", n)
	}
}

func checkEntry(e IndexEntry) string {
	switch e.Type {
	case ParamDate:
		if e.High.IsZero() || e.High.Before(e.Low) || e.Low.Location() != time.UTC || e.High.Location() != time.UTC {
			return "bad date range"
		}
	case ParamString:
		if e.Value == "" || e.Value != normalizeSearchString(e.Value) {
			return "string value not normalized"
		}
	case ParamReference:
		if e.Exact == "" || (e.RefType == "") != (e.RefID == "") {
			return "reference without Exact, or half a Type/id"
		}
	case ParamToken:
		if e.System == "" && e.Code == "" && e.Text == "" {
			return "empty token"
		}
	case ParamURI:
		if e.Exact == "" {
			return "empty uri"
		}
	}
	return ""
}

func TestParseDateRange(t *testing.T) {
	tests := []struct {
		in        string
		low, high time.Time
		ok        bool
	}{
		{"2020", utc(2020, 1, 1, 0, 0, 0, 0), utc(2020, 12, 31, 23, 59, 59, 999999), true},
		{"2020-02", utc(2020, 2, 1, 0, 0, 0, 0), utc(2020, 2, 29, 23, 59, 59, 999999), true},
		{"2021-02-28", utc(2021, 2, 28, 0, 0, 0, 0), utc(2021, 2, 28, 23, 59, 59, 999999), true},
		{"2021-02-28T10:30", utc(2021, 2, 28, 10, 30, 0, 0), utc(2021, 2, 28, 10, 30, 59, 999999), true},
		{"2021-02-28T10:30Z", utc(2021, 2, 28, 10, 30, 0, 0), utc(2021, 2, 28, 10, 30, 59, 999999), true},
		{"2021-02-28T10:30:15", utc(2021, 2, 28, 10, 30, 15, 0), utc(2021, 2, 28, 10, 30, 15, 999999), true},
		{"2021-02-28T10:30:15.25-05:00", utc(2021, 2, 28, 15, 30, 15, 250000), utc(2021, 2, 28, 15, 30, 15, 259999), true},
		{"2021-02-28T10:30:15.123456789Z", utc(2021, 2, 28, 10, 30, 15, 123456), utc(2021, 2, 28, 10, 30, 15, 123456), true},
		{"2021-12-31T23:00:00-02:00", utc(2022, 1, 1, 1, 0, 0, 0), utc(2022, 1, 1, 1, 0, 0, 999999), true},
		{"2021-02-29", time.Time{}, time.Time{}, false},
		{"2021-13", time.Time{}, time.Time{}, false},
		{"0000", time.Time{}, time.Time{}, false},
		{"20210101", time.Time{}, time.Time{}, false},
		{"2021-01-01T", time.Time{}, time.Time{}, false},
		{"2021-01-01T24:00", time.Time{}, time.Time{}, false},
		{"2021-01-01T10:00:00.Z", time.Time{}, time.Time{}, false},
		{"2021-01-01T10:00:00+5", time.Time{}, time.Time{}, false},
		{"2021-01-01 10:00", time.Time{}, time.Time{}, false},
		{"", time.Time{}, time.Time{}, false},
	}
	for _, tt := range tests {
		low, high, ok := parseDateRange(tt.in)
		if ok != tt.ok {
			t.Errorf("parseDateRange(%q): ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if diff := cmp.Diff([]time.Time{tt.low, tt.high}, []time.Time{low, high}); ok && diff != "" {
			t.Errorf("parseDateRange(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestNormalizeSearchString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"ABC", "abc"},
		{"  a \t\n b  ", "a b"},
		{"Éve Çaçé", "eve cace"},
		{"Ǆ", "ǆ"},
		{"ſtraße", "ſtraße"},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		if got := normalizeSearchString(tt.in); got != tt.want {
			t.Errorf("normalizeSearchString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSearchRefTypeID(t *testing.T) {
	tests := []struct {
		in, typ, id string
		ok          bool
	}{
		{"Patient/1", "Patient", "1", true},
		{"Group/g.1-2", "Group", "g.1-2", true},
		{"Patient/1/_history/2", "Patient", "1", true},
		{"http://x/fhir/Patient/1", "Patient", "1", true},
		{"https://x/fhir/Patient/1/_history/9", "Patient", "1", true},
		{"http://x/fhir/Device/1", "", "", false},
		{"x/Patient/1", "", "", false},
		{"patient/1", "", "", false},
		{"Patient/", "", "", false},
		{"Patient/a b", "", "", false},
		{"#c1", "", "", false},
		{"urn:uuid:0f3b", "", "", false},
		{"1", "", "", false},
	}
	for _, tt := range tests {
		typ, id, ok := searchRefTypeID(tt.in)
		if diff := cmp.Diff([]any{tt.typ, tt.id, tt.ok}, []any{typ, id, ok}); diff != "" {
			t.Errorf("searchRefTypeID(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestIndexDeterministic indexes the same resource twice.
func TestIndexDeterministic(t *testing.T) {
	body := readExample(t, "Observation-glasgow.json")
	a, _ := Index("Observation", body)
	b, _ := Index("Observation", body)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("Index not deterministic (-first +second):\n%s", diff)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
}
