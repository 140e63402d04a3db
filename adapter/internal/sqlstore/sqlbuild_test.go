package sqlstore

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialrx/socialrx/fhir/search"
)

// TestWhereAtTheLimits: the condition of a search at search.MaxParams
// parameters and search.MaxValues values has a bounded shape, whatever the
// mix: at most joinedClauses semi-joins (PostgreSQL's planning time grew
// faster than linearly in them: 200 repeated name= ran 52 s) plus one
// INTERSECT and one UNION, a shallow nesting (SQLite refuses an expression
// tree deeper than 1000: 400 OR-ed values did) and a number of arguments
// linear in the values.
func TestWhereAtTheLimits(t *testing.T) {
	n := search.MaxParams
	var many, spread, mixed []string
	for i := range n {
		many = append(many, fmt.Sprintf("name=n%d", i))
		switch i % 3 {
		case 0:
			mixed = append(mixed, fmt.Sprintf("identifier=s|n%d", i))
		case 1:
			mixed = append(mixed, fmt.Sprintf("birthdate=ge19%02d", i))
		default:
			mixed = append(mixed, fmt.Sprintf("gender:not=g%d", i))
		}
	}
	vals := make([]string, search.MaxValues-n+1)
	for i := range vals {
		vals[i] = fmt.Sprintf("v%d", i)
	}
	spread = append(append([]string{}, many[1:]...), "name="+strings.Join(vals, ","))
	wide := []string{"birthdate=" + strings.TrimSuffix(strings.Repeat("ge2000-01-01,", search.MaxValues), ",")}
	for name, q := range map[string][]string{"repeated": many, "spread": spread, "mixed": mixed, "wide": wide} {
		t.Run(name, func(t *testing.T) {
			params, err := url.ParseQuery(strings.Join(q, "&"))
			if err != nil {
				t.Fatal(err)
			}
			query, issues := search.ParseQuery("Patient", params, true)
			if len(issues) > 0 {
				t.Fatalf("ParseQuery: %+v", issues)
			}
			b := &builder{now: time.Now()}
			where, err := b.where("Patient", query.Clauses)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(where, "AND r.id IN (") + strings.Count(where, "AND r.id NOT IN ("); got > joinedClauses+2 {
				t.Errorf("%d subqueries joined to resources, want at most %d", got, joinedClauses+2)
			}
			if d := depth(where); d > 8 {
				t.Errorf("parentheses nest %d deep, want at most 8", d)
			}
			if got, most := len(b.args), 4*search.MaxValues+2*search.MaxParams+2; got > most {
				t.Errorf("%d arguments, want at most %d", got, most)
			}
			if len(where) > 200_000 {
				t.Errorf("condition is %d bytes, want at most 200,000", len(where))
			}
		})
	}
}

// TestWhereFewClausesUnchanged: up to joinedClauses index clauses keep one
// semi-join each (the plans the benchmarks measured).
func TestWhereFewClausesUnchanged(t *testing.T) {
	params, _ := url.ParseQuery("subject=Patient/1&code=http://loinc.org|1&status=final&category=x")
	query, issues := search.ParseQuery("Observation", params, true)
	if len(issues) > 0 {
		t.Fatalf("ParseQuery: %+v", issues)
	}
	b := &builder{}
	where, err := b.where("Observation", query.Clauses)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(where, "INTERSECT") || strings.Count(where, "AND r.id IN (") != 4 {
		t.Errorf("four clauses: want four semi-joins and no INTERSECT, got %s", where)
	}
}

// depth is the deepest nesting of parentheses in s.
func depth(s string) int {
	d, most := 0, 0
	for _, c := range s {
		switch c {
		case '(':
			d++
			most = max(most, d)
		case ')':
			d--
		}
	}
	return most
}
