package storetest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// searchCase is one search on the fixtures and the ids it must match.
type searchCase struct {
	typ, query string
	want       []string // ids of the matches
	ordered    bool     // want is in the order the query declares (_sort)
	// needs names a parameter of typ the case depends on; the case is
	// skipped when search.LookupParam does not report it (number, quantity
	// and uri parameters are optional).
	needs string
}

// Live fixtures (Patient/p6 is deleted after loading):
//
//	Patient p1 Müller Anna Lena   F 1980-03-15 active  MRN-001
//	Patient p2 Smith John         M 1975-12-01 active  MRN-002
//	Patient p3 Smithson Éloise    - 1980-07-04         clinic C-3
//	Patient p4 García José        M 2001-01-01 inactive MRN-004
//	Patient p5 Nguyen Anh         F 1990-05-20 active
//	Obs o1 p1 8302-2 height 165.5 cm  2024-01-10T09:00Z  final vital-signs e1
//	Obs o2 p1 29463-7 weight 70.25 kg 2024-02-01..2024-02-03 final vital-signs
//	Obs o3 p2 8302-2 (text only) 180 cm 2023-06-15 preliminary
//	Obs o4 absolute URL 72166-2 2024-03-01T11:00Z final social-history
//	Obs o5 p3 88122-7 2024-01-20 final sdoh
//	Obs o6 p6 (deleted) 8867-4 72 /min 2022-08-08 final vital-signs
var searchCases = []searchCase{
	// _id
	{typ: "Patient", query: "_id=p1", want: []string{"p1"}},
	{typ: "Patient", query: "_id=p1,p3", want: []string{"p1", "p3"}},
	{typ: "Patient", query: "_id=p6", want: nil},
	{typ: "Patient", query: "_id=nobody", want: nil},
	{typ: "Patient", query: "", want: []string{"p1", "p2", "p3", "p4", "p5"}},

	// token
	{typ: "Patient", query: "identifier=" + mrnSystem + "|MRN-001", want: []string{"p1"}},
	{typ: "Patient", query: "identifier=MRN-002", want: []string{"p2"}},
	{typ: "Patient", query: "identifier=" + mrnSystem + "|", want: []string{"p1", "p2", "p4"}},
	{typ: "Patient", query: "identifier=http://clinic.example.org/patients|MRN-001", want: nil},
	{typ: "Patient", query: "identifier=|C-3", want: nil},
	{typ: "Patient", query: "gender=female", want: []string{"p1", "p5"}},
	{typ: "Patient", query: "gender:not=male", want: []string{"p1", "p3", "p5"}},
	{typ: "Patient", query: "gender:missing=true", want: []string{"p3"}},
	{typ: "Patient", query: "gender:missing=false", want: []string{"p1", "p2", "p4", "p5"}},
	{typ: "Patient", query: "active=true", want: []string{"p1", "p2", "p5"}},
	{typ: "Patient", query: "active=false", want: []string{"p4"}},
	{typ: "Observation", query: "code=" + loinc + "|8302-2", want: []string{"o1", "o3"}},
	{typ: "Observation", query: "code=8302-2", want: []string{"o1", "o3"}},
	{typ: "Observation", query: "code=" + snomed + "|8302-2", want: nil},
	{typ: "Observation", query: "code=" + loinc + "|", want: []string{"o1", "o2", "o3", "o4", "o5", "o6"}},
	{typ: "Observation", query: "code:not=8302-2", want: []string{"o2", "o4", "o5", "o6"}},
	{typ: "Observation", query: "code:text=body height", want: []string{"o1", "o3"}},
	{typ: "Observation", query: "code:text=BODY", want: []string{"o1", "o2", "o3"}},
	{typ: "Observation", query: "category=vital-signs", want: []string{"o1", "o2", "o6"}},
	{typ: "Observation", query: "category:missing=true", want: []string{"o3"}},
	{typ: "Observation", query: "status=preliminary", want: []string{"o3"}},
	{typ: "Observation", query: "status=final", want: []string{"o1", "o2", "o4", "o5", "o6"}},
	{typ: "Condition", query: "code=|homeless", want: []string{"c3"}},
	{typ: "Condition", query: "code=homeless", want: []string{"c3", "c4"}},
	{typ: "Condition", query: "code=http://example.org/local-codes|", want: []string{"c4"}},
	{typ: "Condition", query: "code=" + snomed + "|733423003", want: []string{"c1"}},
	{typ: "Condition", query: "code:text=homeless", want: []string{"c2", "c3"}},
	{typ: "Condition", query: "clinical-status=active", want: []string{"c1"}},
	{typ: "Condition", query: "clinical-status:missing=true", want: []string{"c3", "c4"}},

	// string: default is case- and accent-insensitive starts-with
	{typ: "Patient", query: "name=mül", want: []string{"p1"}},
	{typ: "Patient", query: "name=MULLER", want: []string{"p1"}},
	{typ: "Patient", query: "name=smith", want: []string{"p2", "p3"}},
	{typ: "Patient", query: "name=anna", want: []string{"p1"}},
	{typ: "Patient", query: "name=ith", want: nil},
	{typ: "Patient", query: "family=smith", want: []string{"p2", "p3"}},
	{typ: "Patient", query: "family=SMITHS", want: []string{"p3"}},
	{typ: "Patient", query: "given=elo", want: []string{"p3"}},
	{typ: "Patient", query: "given=jose", want: []string{"p4"}},
	{typ: "Patient", query: "given=lena", want: []string{"p1"}},
	{typ: "Patient", query: "family:exact=Smith", want: []string{"p2"}},
	{typ: "Patient", query: "family:exact=smith", want: nil},
	{typ: "Patient", query: "family:exact=Müller", want: []string{"p1"}},
	{typ: "Patient", query: "family:exact=Muller", want: nil},
	{typ: "Patient", query: "family:contains=son", want: []string{"p3"}},
	{typ: "Patient", query: "name:contains=ULL", want: []string{"p1"}},
	{typ: "Patient", query: "given:contains=lois", want: []string{"p3"}},

	// date
	{typ: "Patient", query: "birthdate=1980", want: []string{"p1", "p3"}},
	{typ: "Patient", query: "birthdate=1980-03", want: []string{"p1"}},
	{typ: "Patient", query: "birthdate=1980-03-15", want: []string{"p1"}},
	{typ: "Patient", query: "birthdate=ge1980-07-04", want: []string{"p3", "p4", "p5"}},
	{typ: "Patient", query: "birthdate=gt1980-07-04", want: []string{"p4", "p5"}},
	{typ: "Patient", query: "birthdate=le1980-07-04", want: []string{"p1", "p2", "p3"}},
	{typ: "Patient", query: "birthdate=lt1980-07-04", want: []string{"p1", "p2"}},
	{typ: "Patient", query: "birthdate=ne1980", want: []string{"p2", "p4", "p5"}},
	{typ: "Observation", query: "date=2024-01-10", want: []string{"o1"}},
	{typ: "Observation", query: "date=2024", want: []string{"o1", "o2", "o4", "o5"}},
	{typ: "Observation", query: "date=2024-02", want: []string{"o2"}},
	// eq: the search range must contain the Period; 2024-02-02 does not.
	{typ: "Observation", query: "date=2024-02-02", want: nil},
	{typ: "Observation", query: "date=ge2024-02-02", want: []string{"o2", "o4"}},
	{typ: "Observation", query: "date=lt2024-02-02", want: []string{"o1", "o2", "o3", "o5", "o6"}},
	{typ: "Observation", query: "date=gt2024-02-03", want: []string{"o4"}},
	{typ: "Observation", query: "date=lt2024-01-01", want: []string{"o3", "o6"}},

	// reference
	{typ: "Observation", query: "subject=Patient/p1", want: []string{"o1", "o2"}},
	{typ: "Observation", query: "subject=p1", want: []string{"o1", "o2"}},
	{typ: "Observation", query: "patient=Patient/p1", want: []string{"o1", "o2"}},
	{typ: "Observation", query: "subject=Patient/p2,Patient/p3", want: []string{"o3", "o5"}},
	{typ: "Observation", query: "subject=Patient/p6", want: []string{"o6"}},
	{typ: "Observation", query: "subject=" + otherServer, want: []string{"o4"}},
	{typ: "Observation", query: "encounter=Encounter/e1", want: []string{"o1"}},
	{typ: "Condition", query: "subject=Patient/p1", want: []string{"c1"}},
	{typ: "Condition", query: "patient=p2", want: []string{"c2"}},

	// chaining (one level); the deleted p6 never matches a chain
	{typ: "Observation", query: "subject:Patient.identifier=" + mrnSystem + "|MRN-001", want: []string{"o1", "o2"}},
	{typ: "Observation", query: "subject:Patient.identifier=" + mrnSystem + "|MRN-006", want: nil},
	{typ: "Observation", query: "subject:Patient.name=smith", want: []string{"o3", "o5"}},
	{typ: "Observation", query: "subject:Patient.gender=male", want: []string{"o3"}},
	{typ: "Task", query: "owner:Organization.name=valley", want: []string{"t1", "t3"}},

	// quantity and number, when the parameter is there
	{typ: "Observation", query: "value-quantity=gt170|" + ucum + "|cm", want: []string{"o3"}, needs: "value-quantity"},
	{typ: "Observation", query: "value-quantity=165.5|" + ucum + "|cm", want: []string{"o1"}, needs: "value-quantity"},
	{typ: "Observation", query: "value-quantity=lt100||kg", want: []string{"o2"}, needs: "value-quantity"},
	{typ: "Observation", query: "value-quantity=le170", want: []string{"o1", "o2", "o6"}, needs: "value-quantity"},
	{typ: "ChargeItem", query: "factor-override=gt1", want: []string{"ci2"}, needs: "factor-override"},
	{typ: "ChargeItem", query: "factor-override=0.8", want: []string{"ci1"}, needs: "factor-override"},
	{typ: "ChargeItem", query: "factor-override=le1", want: []string{"ci1"}, needs: "factor-override"},

	// uri, when there: exact match, no prefix match
	{typ: "Questionnaire", query: "url=http://example.org/fhir/Questionnaire/hunger-vital-sign", want: []string{"q1"}, needs: "url"},
	{typ: "Questionnaire", query: "url=http://example.org/fhir/Questionnaire/hunger", want: nil, needs: "url"},

	// Task
	{typ: "Task", query: "owner=Organization/org1", want: []string{"t1", "t3"}},
	{typ: "Task", query: "status=in-progress", want: []string{"t2"}},
	{typ: "Task", query: "status=requested,completed", want: []string{sr1FollowUp, sr1PatientTask, "t1", "t3"}},
	{typ: "Task", query: "focus=ServiceRequest/sr1", want: []string{sr1FollowUp, sr1PatientTask, "t1"}},
	{typ: "Task", query: "based-on=ServiceRequest/sr1", want: []string{"t1"}},
	{typ: "Task", query: "part-of=Task/t1", want: []string{"t2"}},
	{typ: "Task", query: "requester=PractitionerRole/role1", want: []string{"t2"}},
	{typ: "Task", query: "requester=Practitioner/pr1", want: []string{sr1PatientTask, "t1", "t3"}},
	{typ: "Task", query: "patient=Patient/p2", want: []string{"t2"}},
	{typ: "Task", query: "owner=Organization/org1&status=completed", want: []string{"t3"}},

	// ServiceRequest
	{typ: "ServiceRequest", query: "performer=Organization/org2", want: []string{"sr2"}},
	{typ: "ServiceRequest", query: "performer:missing=true", want: []string{"sr3"}},
	{typ: "ServiceRequest", query: "requester=Practitioner/pr1", want: []string{"sr1"}},
	{typ: "ServiceRequest", query: "category=" + snomed + "|410606002", want: []string{"sr1", "sr2"}},
	{typ: "ServiceRequest", query: "category=housing-instability", want: []string{"sr3"}},
	{typ: "ServiceRequest", query: "code=" + snomed + "|467771000124109", want: []string{"sr1"}},
	{typ: "ServiceRequest", query: "authored=ge2024-02-01", want: []string{"sr2"}},
	{typ: "ServiceRequest", query: "authored=lt2024-01-01", want: []string{"sr3"}},
	{typ: "ServiceRequest", query: "authored=2024", want: []string{"sr1", "sr2"}},
	{typ: "ServiceRequest", query: "status=active,draft", want: []string{"sr1", "sr3"}},
	{typ: "ServiceRequest", query: "subject=Patient/p3", want: []string{"sr3"}},

	// Encounter
	{typ: "Encounter", query: "subject=Patient/p1", want: []string{"e1"}},
	{typ: "Encounter", query: "patient=Patient/p2", want: []string{"e2"}},
	{typ: "Encounter", query: "status=finished", want: []string{"e1"}},
	{typ: "Encounter", query: "class=AMB", want: []string{"e1"}},
	{typ: "Encounter", query: "date=2024-01-10", want: []string{"e1"}},
	{typ: "Encounter", query: "date=ge2024-02-01", want: []string{"e2"}},

	// AND (repeated parameter, several parameters) and OR (comma)
	{typ: "Patient", query: "birthdate=ge1980-01-01&birthdate=le1980-12-31", want: []string{"p1", "p3"}},
	{typ: "Patient", query: "family=smith&gender=male", want: []string{"p2"}},
	{typ: "Patient", query: "family=smith&family=smiths", want: []string{"p3"}},
	{typ: "Patient", query: "family=smith,nguyen", want: []string{"p2", "p3", "p5"}},
	{typ: "Patient", query: "gender=male,female&birthdate=lt1990", want: []string{"p1", "p2"}},
	{typ: "Observation", query: "code=8302-2,29463-7", want: []string{"o1", "o2", "o3"}},
	{typ: "Observation", query: "code=8302-2&subject=Patient/p1", want: []string{"o1"}},
	{typ: "Observation", query: "code=8302-2&status=final", want: []string{"o1"}},
	// More clauses than the SQL joins one by one: the rest are folded into
	// one INTERSECT (and the negations into one UNION) of index subqueries.
	{typ: "Patient", query: "family=smith,nguyen&family=smith,nguyen&gender=male,female&gender=male,female&birthdate=lt1990&birthdate=lt1990", want: []string{"p2"}},
	{typ: "Patient", query: "birthdate=lt1990&birthdate=lt1990&family=smith,nguyen&family=smith,nguyen&gender=male&gender=female", want: nil},
	{typ: "Patient", query: "family=smith,nguyen&family=smith,nguyen&gender=male,female&gender=male,female&gender:not=unknown&gender:not=male", want: []string{"p5"}},
	{typ: "Patient", query: "family=smith,nguyen&family=smith,nguyen&gender=male,female&gender=male,female&family=smith,nguyen&gender:not=other", want: []string{"p2", "p5"}},

	// _sort
	{typ: "Patient", query: "_sort=birthdate", want: []string{"p2", "p1", "p3", "p5", "p4"}, ordered: true},
	{typ: "Patient", query: "_sort=-birthdate", want: []string{"p4", "p5", "p3", "p1", "p2"}, ordered: true},
	{typ: "Patient", query: "_sort=family", want: []string{"p4", "p1", "p5", "p2", "p3"}, ordered: true},
	{typ: "Patient", query: "_sort=-family", want: []string{"p3", "p2", "p5", "p1", "p4"}, ordered: true},
	{typ: "Patient", query: "gender=male,female&_sort=birthdate", want: []string{"p2", "p1", "p5", "p4"}, ordered: true},
	{typ: "Observation", query: "_sort=date", want: []string{"o6", "o3", "o1", "o5", "o2", "o4"}, ordered: true},
	{typ: "Observation", query: "_sort=-date", want: []string{"o4", "o2", "o5", "o1", "o3", "o6"}, ordered: true},
	{typ: "Patient", query: "_sort=birthdate&_count=2", want: []string{"p2", "p1", "p3", "p5", "p4"}, ordered: true},
	{typ: "Observation", query: "_sort=-date&_count=4", want: []string{"o4", "o2", "o5", "o1", "o3", "o6"}, ordered: true},
}

// testSearch loads the fixtures in one store and runs every search case on
// it, then the result parameters, includes and strict/lenient handling.
func testSearch(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	loaded := load(t, s, searchFixtures)
	mustDelete(t, s, "Patient", "p6")

	t.Run("Params", func(t *testing.T) {
		for _, c := range searchCases {
			t.Run(c.typ+"?"+c.query, func(t *testing.T) {
				t.Parallel()
				if c.needs != "" {
					if _, ok := search.LookupParam(c.typ, c.needs); !ok {
						t.Skipf("search.LookupParam does not report %s %s", c.typ, c.needs)
					}
				}
				matches, _, first := searchAll(t, s, c.typ, c.query)
				got := ids(matches)
				if dups := duplicates(got); len(dups) > 0 {
					t.Errorf("matches appear more than once: %v", dups)
				}
				want := c.want
				if !c.ordered {
					got = sorted(got)
					want = sorted(want)
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("matches (-want +got):\n%s", diff)
				}
				if first.Total != len(c.want) {
					t.Errorf("Total %d, want %d", first.Total, len(c.want))
				}
				// Matches are the current versions.
				for _, m := range matches {
					if l := loaded[key(m)]; l != nil && key(m) != "Patient/p6" {
						sameResource(t, "match "+key(m), l, &m)
					}
				}
			})
		}
	})

	t.Run("SortLastUpdated", func(t *testing.T) {
		t.Parallel()
		for _, desc := range []bool{false, true} {
			query := "_sort=_lastUpdated"
			if desc {
				query = "_sort=-_lastUpdated"
			}
			matches, _, _ := searchAll(t, s, "Observation", query+"&_count=4")
			if diff := cmp.Diff([]string{"o1", "o2", "o3", "o4", "o5", "o6"}, sorted(ids(matches))); diff != "" {
				t.Errorf("%s: matches (-want +got):\n%s", query, diff)
			}
			for i := 1; i < len(matches); i++ {
				a, b := matches[i-1].LastUpdated, matches[i].LastUpdated
				if (!desc && b.Before(a)) || (desc && a.Before(b)) {
					t.Errorf("%s: %s (%s) comes before %s (%s)", query, key(matches[i-1]), a, key(matches[i]), b)
				}
			}
			for _, m := range matches {
				sameResource(t, query+": match "+key(m), loaded[key(m)], &m)
			}
		}
	})

	t.Run("Count", func(t *testing.T) {
		t.Parallel()
		res := searchPage(t, s, "Patient", "_count=2")
		if len(res.Matches) != 2 || res.Total != 5 || res.Next == nil {
			t.Errorf("_count=2: %d matches, Total %d, Next %v; want 2 matches, Total 5 and a Next", len(res.Matches), res.Total, res.Next)
		}
		res = searchPage(t, s, "Patient", "_count=5")
		if len(res.Matches) != 5 || res.Next != nil {
			t.Errorf("_count=5 with 5 matches: %d matches, Next %v; want 5 and no Next", len(res.Matches), res.Next)
		}
	})

	t.Run("TotalNone", func(t *testing.T) {
		t.Parallel()
		res := searchPage(t, s, "Patient", "_total=none")
		if res.Total != -1 {
			t.Errorf("_total=none: Total %d, want -1", res.Total)
		}
		if got := sorted(ids(res.Matches)); !slices.Equal(got, []string{"p1", "p2", "p3", "p4", "p5"}) {
			t.Errorf("_total=none: matches %v, want p1..p5", got)
		}
	})

	t.Run("SummaryCount", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			query string
			want  int
		}{
			{"_summary=count", 5},
			{"family=smith&_summary=count", 2},
			{"family=nobody&_summary=count", 0},
			{"_summary=count&_sort=birthdate", 5},
			{"_summary=count&_count=1", 5},
		} {
			res := searchPage(t, s, "Patient", c.query)
			if len(res.Matches) != 0 || res.Total != c.want {
				t.Errorf("%s: %d matches, Total %d; want no matches, Total %d", c.query, len(res.Matches), res.Total, c.want)
			}
		}
	})

	t.Run("Include", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			typ, query    string
			matches, incl []string // Type/ID
		}{
			{"Observation", "_id=o1&_include=Observation:subject", []string{"Observation/o1"}, []string{"Patient/p1"}},
			{"Observation", "subject=Patient/p1&_include=Observation:subject", []string{"Observation/o1", "Observation/o2"}, []string{"Patient/p1"}},
			{"Observation", "_id=o4&_include=Observation:subject", []string{"Observation/o4"}, nil},
			{"Observation", "_id=o6&_include=Observation:subject", []string{"Observation/o6"}, nil},
			{"Observation", "_id=o1&_include=Observation:*", []string{"Observation/o1"}, []string{"Encounter/e1", "Patient/p1"}},
			{"Patient", "_id=p1&_revinclude=Observation:subject", []string{"Patient/p1"}, []string{"Observation/o1", "Observation/o2"}},
			{"Patient", "_id=p1,p2&_revinclude=Observation:subject", []string{"Patient/p1", "Patient/p2"}, []string{"Observation/o1", "Observation/o2", "Observation/o3"}},
			{"Patient", "_id=p4&_revinclude=Observation:subject", []string{"Patient/p4"}, nil},
			{"Task", "_id=t2&_include=Task:part-of", []string{"Task/t2"}, []string{"Task/t1"}},
			{"Task", "_id=t1,t2&_include=Task:part-of", []string{"Task/t1", "Task/t2"}, nil},
			{"Task", "_id=t1,t3&_include=Task:owner", []string{"Task/t1", "Task/t3"}, []string{"Organization/org1"}},
			{"Task", "_id=t1&_include=Task:owner&_include=Task:requester", []string{"Task/t1"}, []string{"Organization/org1", "Practitioner/pr1"}},
			{"Task", "_id=t2&_revinclude=Task:part-of", []string{"Task/t2"}, nil},
			{"Task", "_id=t1&_revinclude=Task:part-of", []string{"Task/t1"}, []string{"Task/t2"}},
		}
		for _, c := range cases {
			matches, included, _ := searchAll(t, s, c.typ, c.query)
			if diff := cmp.Diff(sorted(c.matches), sorted(keys(matches))); diff != "" {
				t.Errorf("%s?%s: matches (-want +got):\n%s", c.typ, c.query, diff)
			}
			got := keys(included)
			if dups := duplicates(got); len(dups) > 0 {
				t.Errorf("%s?%s: included more than once: %v", c.typ, c.query, dups)
			}
			if diff := cmp.Diff(sorted(c.incl), sorted(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s?%s: included (-want +got):\n%s", c.typ, c.query, diff)
			}
			for _, in := range included {
				if slices.Contains(keys(matches), key(in)) {
					t.Errorf("%s?%s: %s is both a match and included", c.typ, c.query, key(in))
				}
				if in.Deleted || in.Body == nil {
					t.Errorf("%s?%s: included %s is deleted or has no body", c.typ, c.query, key(in))
				}
				if l := loaded[key(in)]; l != nil {
					sameResource(t, c.query+": included "+key(in), l, &in)
				}
			}
		}
	})

	t.Run("StrictAndLenient", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		_, err := s.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=smith&foo=bar"), Strict: true})
		wantCode(t, "strict search with an unknown parameter", err, socialrx.EINVALID)
		if !hasIssueFor(socialrx.ErrorIssues(err), "foo") {
			t.Errorf("strict search with an unknown parameter: issues %+v, want one whose Path names foo", socialrx.ErrorIssues(err))
		}

		res, err := s.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=smith&foo=bar")})
		if err != nil {
			t.Fatalf("lenient search with an unknown parameter: %v", err)
		}
		if got := sorted(ids(res.Matches)); !slices.Equal(got, []string{"p2", "p3"}) {
			t.Errorf("lenient search: matches %v, want [p2 p3] (foo ignored, family applied)", got)
		}
		if !hasIssueFor(res.Ignored, "foo") {
			t.Errorf("lenient search: Ignored %+v, want an issue whose Path names foo", res.Ignored)
		}
		if hasIssueFor(res.Ignored, "family") {
			t.Errorf("lenient search: Ignored %+v names family, which was applied", res.Ignored)
		}
		if _, ok := res.Self["foo"]; ok {
			t.Errorf("lenient search: Self %v keeps the ignored foo", res.Self)
		}
		if _, ok := res.Self["family"]; !ok {
			t.Errorf("lenient search: Self %v lacks family", res.Self)
		}

		for _, bad := range []struct{ query, param string }{
			{"birthdate=1980-13-45", "birthdate"},
			{"birthdate=notadate", "birthdate"},
			{"family=smith&birthdate=ge1980-02-30", "birthdate"},
			{"family:bogus=smith", "family"},
		} {
			for _, strict := range []bool{true, false} {
				_, err := s.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, bad.query), Strict: strict})
				what := "search " + bad.query
				if !strict {
					what += " (lenient)"
				}
				wantCode(t, what, err, socialrx.EINVALID)
				if err != nil && !hasIssueFor(socialrx.ErrorIssues(err), bad.param) {
					t.Errorf("%s: issues %+v, want one whose Path names %s", what, socialrx.ErrorIssues(err), bad.param)
				}
			}
		}
	})
}

// ids returns the IDs of resources, in order.
func ids(rs []socialrx.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
