package search

import (
	"net/url"
	"testing"
	"time"

	"github.com/socialrx/socialrx/fhir"
)

func TestSocialrxSearchParams(t *testing.T) {
	p, ok := LookupParam("Task", "due-date")
	if !ok {
		t.Fatal("Task due-date is not served")
	}
	if p.Type != ParamDate || p.URL != SearchParameterBase+"Task-due-date" {
		t.Errorf("due-date = %+v", p)
	}
	task := `{"resourceType":"Task","id":"f1","status":"requested","intent":"order","restriction":{"period":{"end":"2026-12-09"}}}`
	entries, err := Index("Task", []byte(task))
	if err != nil {
		t.Fatal(err)
	}
	var got []IndexEntry
	for _, e := range entries {
		if e.Param == "due-date" {
			got = append(got, e)
		}
	}
	if len(got) != 1 {
		t.Fatalf("due-date entries = %+v, want one", got)
	}
	wantLow := time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)
	if !got[0].Low.Equal(wantLow) || !got[0].High.After(wantLow) || got[0].High.Day() != 9 {
		t.Errorf("due-date range = [%s, %s], want the whole of 2026-12-09", got[0].Low, got[0].High)
	}
	q, issues := ParseQuery("Task", url.Values{"due-date": {"le2026-12-10"}}, true)
	if fhir.HasErrors(issues) || len(q.Clauses) != 1 || q.Clauses[0].Values[0].Prefix != "le" {
		t.Errorf("ParseQuery due-date: %+v %+v", q, issues)
	}
}
