package search

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/socialrx/socialrx/fhir"
)

// sp returns a served search parameter; the test fails at once if it is not.
func sp(t testing.TB, typ, name string) SearchParam {
	t.Helper()
	p, ok := LookupParam(typ, name)
	if !ok {
		t.Fatalf("LookupParam(%s, %s): not served", typ, name)
	}
	return p
}

func parse(t testing.TB, typ, query string, strict bool) (*Query, []fhir.Issue) {
	t.Helper()
	vals, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("url.ParseQuery(%q): %v", query, err)
	}
	return ParseQuery(typ, vals, strict)
}

var ignoreMessage = cmpopts.IgnoreFields(fhir.Issue{}, "Message")

func TestParseQueryClauses(t *testing.T) {
	day := func(y int, m time.Month, d int) (time.Time, time.Time) {
		return utc(y, m, d, 0, 0, 0, 0), utc(y, m, d, 23, 59, 59, 999999)
	}
	d1l, d1h := day(2020, 3, 1)
	yl, yh := utc(2020, 1, 1, 0, 0, 0, 0), utc(2020, 12, 31, 23, 59, 59, 999999)
	tests := []struct {
		name, typ, query string
		want             func(t testing.TB) []Clause
	}{
		{"token code", "Observation", "code=29463-7", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "code"), Values: []Value{{Raw: "29463-7", Code: "29463-7"}}}}
		}},
		{"token system|code, |code, system|, OR", "Observation", "code=http://loinc.org|29463-7,|x,http://snomed.info/sct|", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "code"), Values: []Value{
				{Raw: "http://loinc.org|29463-7", System: "http://loinc.org", Code: "29463-7", HasSystem: true},
				{Raw: "|x", Code: "x", HasSystem: true},
				{Raw: "http://snomed.info/sct|", System: "http://snomed.info/sct", HasSystem: true},
			}}}
		}},
		{"token escapes", "Observation", `identifier=a\|b|c\,d,e\\`, func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "identifier"), Values: []Value{
				{Raw: `a\|b|c\,d`, System: "a|b", Code: "c,d", HasSystem: true},
				{Raw: `e\\`, Code: `e\`},
			}}}
		}},
		{"token :not", "Task", "status:not=completed", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Task", "status"), Modifier: "not", Values: []Value{{Raw: "completed", Code: "completed"}}}}
		}},
		{"token :text", "Condition", "code:text=Héart  Attack", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Condition", "code"), Modifier: "text", Values: []Value{{Raw: "Héart  Attack", String: "heart attack"}}}}
		}},
		{"boolean token", "Patient", "active=true", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Patient", "active"), Values: []Value{{Raw: "true", Code: "true"}}}}
		}},
		{"_id", "Patient", "_id=a,b", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Patient", "_id"), Values: []Value{{Raw: "a", Code: "a"}, {Raw: "b", Code: "b"}}}}
		}},
		{"string", "Patient", "name=Éve", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Patient", "name"), Values: []Value{{Raw: "Éve", String: "eve", Exact: "Éve"}}}}
		}},
		{"string :exact and :contains", "Patient", "family:exact=Chalmers&given:contains=et", func(t testing.TB) []Clause {
			return []Clause{
				{Param: sp(t, "Patient", "family"), Modifier: "exact", Values: []Value{{Raw: "Chalmers", String: "chalmers", Exact: "Chalmers"}}},
				{Param: sp(t, "Patient", "given"), Modifier: "contains", Values: []Value{{Raw: "et", String: "et", Exact: "et"}}},
			}
		}},
		{"missing", "Patient", "birthdate:missing=true&gender:missing=false", func(t testing.TB) []Clause {
			return []Clause{
				{Param: sp(t, "Patient", "birthdate"), Modifier: "missing", Values: []Value{{Raw: "true", Missing: true}}},
				{Param: sp(t, "Patient", "gender"), Modifier: "missing", Values: []Value{{Raw: "false"}}},
			}
		}},
		{"date default eq", "Patient", "birthdate=2020-03-01", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Patient", "birthdate"), Values: []Value{{Raw: "2020-03-01", Prefix: "eq", Low: d1l, High: d1h}}}}
		}},
		{"date repeated is AND", "Observation", "date=ge2020&date=lt2021-01-01T00:00:00Z", func(t testing.TB) []Clause {
			return []Clause{
				{Param: sp(t, "Observation", "date"), Values: []Value{{Raw: "ge2020", Prefix: "ge", Low: yl, High: yh}}},
				{Param: sp(t, "Observation", "date"), Values: []Value{{Raw: "lt2021-01-01T00:00:00Z", Prefix: "lt", Low: utc(2021, 1, 1, 0, 0, 0, 0), High: utc(2021, 1, 1, 0, 0, 0, 999999)}}},
			}
		}},
		{"lastUpdated with zone", "Task", "_lastUpdated=gt2020-03-01T10:00:00%2B02:00", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Task", "_lastUpdated"), Values: []Value{{Raw: "gt2020-03-01T10:00:00+02:00", Prefix: "gt", Low: utc(2020, 3, 1, 8, 0, 0, 0), High: utc(2020, 3, 1, 8, 0, 0, 999999)}}}}
		}},
		{"number prefixes", "ChargeItem", "factor-override=ap0.8,ne-1e2", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "ChargeItem", "factor-override"), Values: []Value{{Raw: "ap0.8", Prefix: "ap", Number: 0.8}, {Raw: "ne-1e2", Prefix: "ne", Number: -100}}}}
		}},
		{"quantity", "Observation", "value-quantity=le5.4|http://unitsofmeasure.org|mg,5||mg,sa7", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "value-quantity"), Values: []Value{
				{Raw: "le5.4|http://unitsofmeasure.org|mg", Prefix: "le", Number: 5.4, System: "http://unitsofmeasure.org", Code: "mg", HasSystem: true},
				{Raw: "5||mg", Prefix: "eq", Number: 5, Code: "mg"},
				{Raw: "sa7", Prefix: "sa", Number: 7},
			}}}
		}},
		{"uri :below", "ValueSet", "url:below=http://hl7.org/fhir", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "ValueSet", "url"), Modifier: "below", Values: []Value{{Raw: "http://hl7.org/fhir", Exact: "http://hl7.org/fhir"}}}}
		}},
		{"reference forms", "Observation", "subject=Patient/1,Group/g/_history/2,x,http://other/fhir/Patient/1", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "subject"), Values: []Value{
				{Raw: "Patient/1", RefType: "Patient", RefID: "1"},
				{Raw: "Group/g/_history/2", RefType: "Group", RefID: "g"},
				{Raw: "x", RefID: "x"},
				{Raw: "http://other/fhir/Patient/1", Exact: "http://other/fhir/Patient/1"},
			}}}
		}},
		{"reference single target types a bare id", "Observation", "patient=p1", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "patient"), Values: []Value{{Raw: "p1", RefType: "Patient", RefID: "p1"}}}}
		}},
		{"reference :Type modifier", "Task", "owner:Organization=o1", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Task", "owner"), Values: []Value{{Raw: "o1", RefType: "Organization", RefID: "o1"}}}}
		}},
		{"reference :missing", "Task", "focus:missing=true", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Task", "focus"), Modifier: "missing", Values: []Value{{Raw: "true", Missing: true}}}}
		}},
		{"chain with type", "Observation", "subject:Patient.identifier=urn:oid:1|42", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "subject"), Chain: &Chain{Type: "Patient", Clause: Clause{
				Param: sp(t, "Patient", "identifier"), Values: []Value{{Raw: "urn:oid:1|42", System: "urn:oid:1", Code: "42", HasSystem: true}},
			}}}}
		}},
		{"chain with single target", "Observation", "patient.name:exact=Eve", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Observation", "patient"), Chain: &Chain{Type: "Patient", Clause: Clause{
				Param: sp(t, "Patient", "name"), Modifier: "exact", Values: []Value{{Raw: "Eve", String: "eve", Exact: "Eve"}},
			}}}}
		}},
		{"chain on date", "Task", "focus:ServiceRequest.authored=ge2020", func(t testing.TB) []Clause {
			return []Clause{{Param: sp(t, "Task", "focus"), Chain: &Chain{Type: "ServiceRequest", Clause: Clause{
				Param: sp(t, "ServiceRequest", "authored"), Values: []Value{{Raw: "ge2020", Prefix: "ge", Low: yl, High: yh}},
			}}}}
		}},
		{"order: by name, then key, then position", "Observation", "status=final&code:text=b&code=a&_id=z&code=c", func(t testing.TB) []Clause {
			return []Clause{
				{Param: sp(t, "Observation", "_id"), Values: []Value{{Raw: "z", Code: "z"}}},
				{Param: sp(t, "Observation", "code"), Values: []Value{{Raw: "a", Code: "a"}}},
				{Param: sp(t, "Observation", "code"), Values: []Value{{Raw: "c", Code: "c"}}},
				{Param: sp(t, "Observation", "code"), Modifier: "text", Values: []Value{{Raw: "b", String: "b"}}},
				{Param: sp(t, "Observation", "status"), Values: []Value{{Raw: "final", Code: "final"}}},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, issues := parse(t, tt.typ, tt.query, true)
			if len(issues) > 0 {
				t.Fatalf("ParseQuery(%s, %q): issues %+v", tt.typ, tt.query, issues)
			}
			if diff := cmp.Diff(tt.want(t), q.Clauses, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseQuery(%s, %q) clauses mismatch (-want +got):\n%s", tt.typ, tt.query, diff)
			}
		})
	}
}

func TestParseQueryIssues(t *testing.T) {
	errIssue := func(code, path string) fhir.Issue { return fhir.Issue{Severity: "error", Code: code, Path: path} }
	warn := func(path string) fhir.Issue {
		return fhir.Issue{Severity: "warning", Code: "not-supported", Path: path}
	}
	tests := []struct {
		name, typ, query string
		strict           bool
		issues, ignored  []fhir.Issue
	}{
		{"unknown lenient", "Patient", "foo=1&name=x", false, nil, []fhir.Issue{warn("foo")}},
		{"unknown strict", "Patient", "foo=1&name=x", true, []fhir.Issue{errIssue("not-supported", "foo")}, nil},
		{"dropped deceased is unknown", "Patient", "deceased=true", false, nil, []fhir.Issue{warn("deceased")}},
		{"unsupported lenient", "Patient", "_has:Observation:patient:code=1&_text=x&_list=l&_filter=f&_contained=true&_containedType=x&_content=c&_query=q", false, nil,
			[]fhir.Issue{warn("_contained"), warn("_containedType"), warn("_content"), warn("_filter"), warn("_has:Observation:patient:code"), warn("_list"), warn("_query"), warn("_text")}},
		{"unsupported strict", "Patient", "_text=x", true, []fhir.Issue{errIssue("not-supported", "_text")}, nil},
		{"format and pretty ignored silently", "Patient", "_format=json&_pretty=true", true, nil, nil},
		{"bad date", "Patient", "birthdate=1980-13-01", false, []fhir.Issue{errIssue("value", "birthdate")}, nil},
		{"bad prefix", "Patient", "birthdate=xx1980", false, []fhir.Issue{errIssue("value", "birthdate")}, nil},
		{"prefix on token is a code", "Patient", "gender=gtmale", false, nil, nil},
		{"bad number", "ChargeItem", "factor-override=1.2.3", false, []fhir.Issue{errIssue("value", "factor-override")}, nil},
		{"bad quantity", "Observation", "value-quantity=5|mg", false, []fhir.Issue{errIssue("value", "value-quantity")}, nil},
		{"bad missing", "Patient", "gender:missing=yes", false, []fhir.Issue{errIssue("value", "gender:missing")}, nil},
		{"unknown modifier", "Patient", "name:fuzzy=x", false, []fhir.Issue{errIssue("invalid", "name:fuzzy")}, nil},
		{"modifier wrong type", "Patient", "birthdate:exact=2020", false, []fhir.Issue{errIssue("not-supported", "birthdate:exact")}, nil},
		{"token :in unsupported", "Observation", "code:in=http://vs", false, []fhir.Issue{errIssue("not-supported", "code:in")}, nil},
		{"empty alternative", "Patient", "gender=male,", false, []fhir.Issue{errIssue("value", "gender")}, nil},
		{"empty value lenient", "Patient", "gender=", false, nil, []fhir.Issue{warn("gender")}},
		{"too many pipes", "Patient", "identifier=a|b|c", false, []fhir.Issue{errIssue("value", "identifier")}, nil},
		{"reference bad target", "Observation", "patient=Group/1", false, []fhir.Issue{errIssue("value", "patient")}, nil},
		{"reference type modifier not a target", "Observation", "subject:Practitioner=1", false, []fhir.Issue{errIssue("invalid", "subject:Practitioner")}, nil},
		{"reference type modifier conflict", "Observation", "subject:Patient=Group/1", false, []fhir.Issue{errIssue("value", "subject:Patient")}, nil},
		{"reference bad id", "Observation", "subject=Patient/a b", false, []fhir.Issue{errIssue("value", "subject")}, nil},
		{"chain ambiguous", "Observation", "subject.identifier=x", false, []fhir.Issue{errIssue("invalid", "subject.identifier")}, nil},
		{"chain not reference", "Observation", "code.identifier=x", false, []fhir.Issue{errIssue("invalid", "code.identifier")}, nil},
		{"chain two levels", "Observation", "subject:Patient.organization.name=x", false, []fhir.Issue{errIssue("not-supported", "subject:Patient.organization.name")}, nil},
		{"chain unknown inner lenient", "Observation", "subject:Patient.nope=x", false, nil, []fhir.Issue{warn("subject:Patient.nope")}},
		{"chain unsupported type", "Observation", "subject:Device.identifier=x", false, []fhir.Issue{errIssue("not-supported", "subject:Device.identifier")}, nil},
		{"count", "Patient", "_count=-1", false, []fhir.Issue{errIssue("value", "_count")}, nil},
		{"count twice", "Patient", "_count=1&_count=2", false, []fhir.Issue{errIssue("invalid", "_count")}, nil},
		{"count modifier", "Patient", "_count:missing=1", false, []fhir.Issue{errIssue("invalid", "_count:missing")}, nil},
		{"sort unknown", "Patient", "_sort=nope", false, []fhir.Issue{errIssue("value", "_sort")}, nil},
		{"total", "Patient", "_total=all", false, []fhir.Issue{errIssue("value", "_total")}, nil},
		{"summary", "Patient", "_summary=yes", false, []fhir.Issue{errIssue("value", "_summary")}, nil},
		{"elements", "Patient", "_elements=name,bad-name", false, []fhir.Issue{errIssue("value", "_elements")}, nil},
		{"include wrong source", "Observation", "_include=Patient:organization", false, []fhir.Issue{errIssue("value", "_include")}, nil},
		{"include not a reference", "Observation", "_include=Observation:code", false, []fhir.Issue{errIssue("value", "_include")}, nil},
		{"include bad target", "Observation", "_include=Observation:subject:Practitioner", false, []fhir.Issue{errIssue("value", "_include")}, nil},
		{"include unsupported type", "Observation", "_include:iterate=Medication:ingredient", false, []fhir.Issue{errIssue("value", "_include:iterate")}, nil},
		{"include bad modifier", "Observation", "_include:deep=Observation:subject", false, []fhir.Issue{errIssue("invalid", "_include:deep")}, nil},
		{"revinclude not pointing here", "Patient", "_revinclude=Task:owner:Organization", false, []fhir.Issue{errIssue("value", "_revinclude")}, nil},
		{"revinclude syntax", "Patient", "_revinclude=Observation", false, []fhir.Issue{errIssue("value", "_revinclude")}, nil},
		{"unsupported type", "Medication", "code=x", false, []fhir.Issue{errIssue("not-supported", "Medication")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, issues := parse(t, tt.typ, tt.query, tt.strict)
			if diff := cmp.Diff(tt.issues, issues, ignoreMessage, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseQuery(%s, %q, %v) issues mismatch (-want +got):\n%s", tt.typ, tt.query, tt.strict, diff)
			}
			if diff := cmp.Diff(tt.ignored, q.Ignored, ignoreMessage, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseQuery(%s, %q, %v) ignored mismatch (-want +got):\n%s", tt.typ, tt.query, tt.strict, diff)
			}
			for _, i := range append(issues, q.Ignored...) {
				if i.Path == "" || i.Message == "" {
					t.Errorf("issue without path or message: %+v", i)
				}
			}
		})
	}
}

func TestParseQueryResultParams(t *testing.T) {
	q, issues := parse(t, "Observation",
		"_count=5000&_sort=-date,code&_total=accurate&_summary=count&_elements=status,Observation.code&_elements=subject"+
			"&_include=Observation:subject:Patient&_include=*&_include:iterate=Patient:organization"+
			"&_revinclude=Provenance:target&_revinclude:iterate=Task:focus&_cursor=abc.123&_format=json&status=final", true)
	if len(issues) > 0 {
		t.Fatalf("issues: %+v", issues)
	}
	want := &Query{
		Type:     "Observation",
		Clauses:  []Clause{{Param: sp(t, "Observation", "status"), Values: []Value{{Raw: "final", Code: "final"}}}},
		Sort:     []SortKey{{Param: sp(t, "Observation", "date"), Descending: true}, {Param: sp(t, "Observation", "code")}},
		Count:    1000,
		Total:    "accurate",
		Summary:  "count",
		Elements: []string{"status", "code", "subject"},
		Include: []Include{
			{Source: "Observation", Param: sp(t, "Observation", "subject"), Target: "Patient"},
			{Source: "Observation", Param: SearchParam{Name: "*"}},
			{Source: "Patient", Param: sp(t, "Patient", "organization"), Iterate: true},
		},
		RevInclude: []Include{
			{Source: "Provenance", Param: sp(t, "Provenance", "target")},
			{Source: "Task", Param: sp(t, "Task", "focus"), Iterate: true},
		},
		Cursor: "abc.123",
		Used: map[string][]string{
			"_count":              {"1000"},
			"_sort":               {"-date,code"},
			"_total":              {"accurate"},
			"_summary":            {"count"},
			"_elements":           {"status,Observation.code", "subject"},
			"_include":            {"Observation:subject:Patient", "*"},
			"_include:iterate":    {"Patient:organization"},
			"_revinclude":         {"Provenance:target"},
			"_revinclude:iterate": {"Task:focus"},
			"_cursor":             {"abc.123"},
			"status":              {"final"},
		},
	}
	if diff := cmp.Diff(want, q, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ParseQuery mismatch (-want +got):\n%s", diff)
	}
}

func TestParseQueryCountZero(t *testing.T) {
	q, issues := parse(t, "Task", "_count=0", true)
	if len(issues) > 0 {
		t.Fatalf("issues: %+v", issues)
	}
	if diff := cmp.Diff([]any{0, "count", []string{"0"}}, []any{q.Count, q.Summary, q.Used["_count"]}); diff != "" {
		t.Errorf("_count=0 mismatch (-want +got):\n%s", diff)
	}
}

func TestParseQueryUsedCanonical(t *testing.T) {
	q, _ := parse(t, "Observation", "patient.identifier=x&code=a,b&code=c&subject:Patient=1&bogus=1&_pretty=true", false)
	want := map[string][]string{
		"patient:Patient.identifier": {"x"},
		"code":                       {"a,b", "c"},
		"subject:Patient":            {"1"},
	}
	if diff := cmp.Diff(want, q.Used); diff != "" {
		t.Errorf("Used mismatch (-want +got):\n%s", diff)
	}
}
