package search

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx/fhir"
)

// repeated is name=prefix0&name=prefix1&... n times.
func repeated(name, prefix string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%s=%s%d", name, prefix, i)
	}
	return strings.Join(parts, "&")
}

// alternatives is name=prefix0,prefix1,... with n values.
func alternatives(name, prefix string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return name + "=" + strings.Join(parts, ",")
}

// TestParseQueryLimits: the probes of issue 12 (400 comma-separated values,
// 500 repeated name=, a NUL byte in a value) are error issues naming the
// parameter, so the stores answer them with 400 before any SQL; the
// maximum itself parses.
func TestParseQueryLimits(t *testing.T) {
	errIssue := func(code, path string) fhir.Issue { return fhir.Issue{Severity: "error", Code: code, Path: path} }
	tests := []struct {
		name, typ, query string
		issues           []fhir.Issue
	}{
		{"400 comma-separated values", "Patient", alternatives("name", "n", 400), []fhir.Issue{errIssue("too-costly", "name")}},
		{"500 repeated name", "Patient", repeated("name", "n", 500), []fhir.Issue{errIssue("too-costly", "name")}},
		{"200 repeated name", "Patient", repeated("name", "n", 200), []fhir.Issue{errIssue("too-costly", "name")}},
		{"one parameter too many", "Patient", repeated("name", "n", MaxParams+1), []fhir.Issue{errIssue("too-costly", "name")}},
		{"one value too many", "Patient", alternatives("name", "n", MaxValues+1), []fhir.Issue{errIssue("too-costly", "name")}},
		{"values add up over parameters", "Patient", alternatives("family", "f", MaxValues/2) + "&" + alternatives("given", "g", MaxValues/2+1), []fhir.Issue{errIssue("too-costly", "given")}},
		{"result parameters count", "Patient", repeated("_include", "Patient:organization", MaxParams+1), []fhir.Issue{errIssue("too-costly", "_include")}},
		{"at most MaxParams", "Patient", repeated("name", "n", MaxParams), nil},
		{"at most MaxValues", "Patient", alternatives("name", "n", MaxValues), nil},
		{"format and pretty not counted", "Patient", repeated("name", "n", MaxParams) + "&_format=json&_pretty=true", nil},
		// A search at the limit can still be paged (_cursor) and used as a
		// conditional match (the server adds _count=2 and _total=none).
		{"paging and match parameters not counted", "Patient", repeated("name", "n", MaxParams) + "&_cursor=abc&_count=2&_total=none", nil},
		{"NUL in an uncounted parameter", "Patient", "_cursor=a%00b", []fhir.Issue{errIssue("value", "_cursor")}},
		{"NUL in a string value", "Patient", "name=x%00y", []fhir.Issue{errIssue("value", "name")}},
		{"NUL in an identifier", "Patient", "identifier=http://x|a%00b", []fhir.Issue{errIssue("value", "identifier")}},
		{"NUL in _id", "Patient", "_id=x%00y", []fhir.Issue{errIssue("value", "_id")}},
		{"NUL in a chained value", "Observation", "subject:Patient.name=x%00", []fhir.Issue{errIssue("value", "subject")}},
		{"NUL in a name", "Patient", "na%00me=x", []fhir.Issue{errIssue("value", "(invalid name)")}},
		{"too many sort keys", "Patient", "_sort=" + strings.TrimSuffix(strings.Repeat("name,", MaxSortKeys+1), ","), []fhir.Issue{errIssue("too-costly", "_sort")}},
		{"MaxSortKeys sort keys", "Patient", "_sort=" + strings.TrimSuffix(strings.Repeat("name,", MaxSortKeys), ","), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				_, issues := parse(t, tt.typ, tt.query, strict)
				if diff := cmp.Diff(tt.issues, issues, ignoreMessage, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("ParseQuery(%s, strict %v) issues mismatch (-want +got):\n%s", tt.typ, strict, diff)
				}
				for _, i := range issues {
					if strings.ContainsRune(i.Message, 0) || strings.Contains(i.Message, "n399") {
						t.Errorf("issue message echoes a value: %q", i.Message)
					}
				}
			}
		})
	}
}

func TestCheckLimitsLower(t *testing.T) {
	q, _ := url.ParseQuery("family=a,b&given=c&gender=male")
	if is := CheckLimits(q, Limits{Params: 3, Values: 4}); len(is) != 0 {
		t.Errorf("CheckLimits at the limits = %+v, want none", is)
	}
	if is := CheckLimits(q, Limits{Params: 2}); len(is) != 1 || is[0].Path != "given" || is[0].Code != "too-costly" {
		t.Errorf("CheckLimits(Params 2) = %+v, want one too-costly issue at given", is)
	}
	if is := CheckLimits(q, Limits{Values: 3}); len(is) != 1 || is[0].Path != "given" {
		t.Errorf("CheckLimits(Values 3) = %+v, want one issue at given", is)
	}
	if is := CheckLimits(q, Limits{Params: MaxParams * 10}); len(is) != 0 {
		t.Errorf("CheckLimits above the maximum = %+v, want none (the maximum applies)", is)
	}
}
