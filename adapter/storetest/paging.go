package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// day returns the date n days after 1950-01-01, as a FHIR date.
func day(n int) string {
	return time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n).Format(time.DateOnly)
}

// pages reads a search page by page, passing Next back as the next
// request's Params, and checks page sizes and Total on every page.
func pages(t *testing.T, s socialrx.Store, typ, query string, pageSize, total int, between func(page int)) []socialrx.Resource {
	t.Helper()
	var out []socialrx.Resource
	params := mustParseQuery(t, query)
	for page := 1; ; page++ {
		res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: typ, Params: params, Strict: true})
		if err != nil {
			t.Fatalf("%s?%s: page %d (params %v): %v", typ, query, page, params, err)
		}
		if total >= 0 && res.Total != total {
			t.Errorf("%s?%s: page %d has Total %d, want %d", typ, query, page, res.Total, total)
		}
		if len(res.Matches) > pageSize {
			t.Errorf("%s?%s: page %d holds %d matches, more than _count %d", typ, query, page, len(res.Matches), pageSize)
		}
		if res.Next != nil && len(res.Matches) != pageSize {
			t.Errorf("%s?%s: page %d holds %d matches and has a Next; want full pages of %d before the last", typ, query, page, len(res.Matches), pageSize)
		}
		out = append(out, res.Matches...)
		if res.Next == nil {
			return out
		}
		if page == maxPages {
			t.Fatalf("%s?%s: still a Next after %d pages", typ, query, maxPages)
		}
		if between != nil {
			between(page)
		}
		params = res.Next
	}
}

// testPaging proves that _count pages cover every match exactly once in the
// declared order.
func testPaging(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	// Ten matches written in an order unlike their birth dates, with
	// genders that tie, and four that do not match.
	order := []int{7, 2, 9, 0, 5, 3, 8, 1, 6, 4}
	var want []string // ids by birth date
	for i := range 10 {
		want = append(want, fmt.Sprintf("pg%d", i))
	}
	var written []string
	for _, i := range order {
		gender := []string{"female", "male", "other"}[i%3]
		id := fmt.Sprintf("pg%d", i)
		mustCreate(t, s, "Patient", id, fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":"Pager","given":["N%d"]}],"gender":%q,"birthDate":%q}`, i, gender, day(100*i)))
		written = append(written, id)
	}
	for i := range 4 {
		mustCreate(t, s, "Patient", fmt.Sprintf("other%d", i), patientBody("Otherfamily", "O", day(100*i+50)))
	}

	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	// gender ascending (female, male, other: pgN has gender N%3), then
	// birth date descending (pgN is the Nth by birth date).
	var byGender []string
	for _, g := range []int{0, 1, 2} {
		for i := 9; i >= 0; i-- {
			if i%3 == g {
				byGender = append(byGender, fmt.Sprintf("pg%d", i))
			}
		}
	}
	for _, c := range []struct {
		query string
		count int
		want  []string // nil: any order
	}{
		{"family=pager&_sort=birthdate&_count=3", 3, want},
		{"family=pager&_sort=-birthdate&_count=3", 3, reversed},
		{"family=pager&_sort=_lastUpdated&_count=3", 3, written},
		{"family=pager&_count=3", 3, nil},
		{"family=pager&_sort=gender&_count=3", 3, nil},
		{"family=pager&_sort=gender,-birthdate&_count=4", 4, byGender},
	} {
		got := pages(t, s, "Patient", c.query, c.count, 10, nil)
		gotIDs := ids(got)
		if dups := duplicates(gotIDs); len(dups) > 0 {
			t.Errorf("Patient?%s: on more than one page: %v", c.query, dups)
		}
		if diff := cmp.Diff(want, sorted(gotIDs)); diff != "" {
			t.Errorf("Patient?%s: matches across pages (-want +got):\n%s", c.query, diff)
		}
		if c.want != nil {
			if diff := cmp.Diff(c.want, gotIDs); diff != "" {
				t.Errorf("Patient?%s: order across pages (-want +got):\n%s", c.query, diff)
			}
		}
		if strings.HasPrefix(c.query, "family=pager&_sort=gender&") {
			for i := 1; i < len(got); i++ {
				if g0, g1 := gender(t, got[i-1]), gender(t, got[i]); g1 < g0 {
					t.Errorf("Patient?%s: %s (%s) before %s (%s)", c.query, got[i-1].ID, g0, got[i].ID, g1)
				}
			}
		}
	}
}

// gender returns the gender in a Patient's body.
func gender(t *testing.T, r socialrx.Resource) string {
	t.Helper()
	g, _ := mustDecode(t, key(r), r.Body)["gender"].(string)
	return g
}

// testPagingStableUnderWrites proves that paging is stable while writes
// continue: every resource that matched when paging began and is not
// touched appears on exactly one page, and no resource appears twice, while
// new matches are created and other resources updated and deleted, both
// between the page reads and concurrently with them.
func testPagingStableUnderWrites(t *testing.T, open func(t *testing.T) socialrx.Store) {
	for _, query := range []string{
		"family=stable&_sort=birthdate&_count=4",
		"family=stable&_sort=-_lastUpdated&_count=4",
		"family=stable&_count=4",
	} {
		t.Run(query, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			const n = 24
			for i := range n {
				mustCreate(t, s, "Patient", fmt.Sprintf("s%02d", i), patientBody("Stable", fmt.Sprintf("S%d", i), day(10*i+5)))
			}
			for i := range 8 {
				mustCreate(t, s, "Patient", fmt.Sprintf("o%02d", i), patientBody("Otherfam", "O", day(10*i)))
				mustCreate(t, s, "Observation", fmt.Sprintf("obs%02d", i), obsBody(fmt.Sprintf("Patient/s%02d", i), "8302-2", "Body height", "2024-01-01", `"valueQuantity":{"value":170,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}`))
			}
			// Matches touched while paging: every fourth is updated (its sort
			// key moved to the end), the one after it deleted.
			touched := make(map[string]bool)
			var bumps, deletes []string
			for i := 3; i < n; i += 4 {
				bumps = append(bumps, fmt.Sprintf("s%02d", i))
				deletes = append(deletes, fmt.Sprintf("s%02d", i-3))
				touched[fmt.Sprintf("s%02d", i)] = true
				touched[fmt.Sprintf("s%02d", i-3)] = true
			}

			// A concurrent writer: new matches and changes to other resources.
			done := make(chan struct{})
			var (
				wg     sync.WaitGroup
				once   sync.Once
				bgErr  error
				bgOps  int
				stopAt = 60
			)
			stop := func() { once.Do(func() { close(done); wg.Wait() }) }
			defer stop()
			wg.Go(func() {
				for i := 0; i < stopAt; i++ {
					select {
					case <-done:
						return
					default:
					}
					var err error
					switch i % 3 {
					case 0:
						_, err = txCreate(s, t, "Patient", fmt.Sprintf("bg%03d", i), patientBody("Stable", "Bg", day(3*i)))
					case 1:
						_, _, err = txUpdate(s, t, "Patient", fmt.Sprintf("o%02d", i%8), patientBody("Otherfam", fmt.Sprintf("U%d", i), day(i)), 0)
					case 2:
						_, _, err = txUpdate(s, t, "Observation", fmt.Sprintf("obs%02d", i%8), obsBody("Patient/s00", "8302-2", "Body height", day(i), `"valueQuantity":{"value":171,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}`), 0)
					}
					if err != nil {
						bgErr = fmt.Errorf("background write %d: %w", i, err)
						return
					}
					bgOps++
				}
			})

			between := func(page int) {
				t.Helper()
				// A new match sorting first and one sorting last.
				mustCreate(t, s, "Patient", fmt.Sprintf("new-early%d", page), patientBody("Stable", "New", day(-100-page)))
				mustCreate(t, s, "Patient", fmt.Sprintf("new-late%d", page), patientBody("Stable", "New", day(10000+page)))
				if k := page - 1; k < len(bumps) {
					mustUpdate(t, s, "Patient", bumps[k], patientBody("Stable", "Bumped", day(20000+page)), 0)
					mustDelete(t, s, "Patient", deletes[k])
				}
				// Other resources.
				mustUpdate(t, s, "Patient", fmt.Sprintf("o%02d", page%8), patientBody("Otherfam", "Changed", day(page)), 0)
				mustDelete(t, s, "Patient", fmt.Sprintf("o%02d", (page+4)%8))
				mustDelete(t, s, "Observation", fmt.Sprintf("obs%02d", page%8))
			}
			got := pages(t, s, "Patient", query, 4, -1, between)
			stop()
			if bgErr != nil {
				t.Errorf("concurrent writer: %v", bgErr)
			}
			t.Logf("%d matches read across pages, %d concurrent writes", len(got), bgOps)

			gotIDs := ids(got)
			for _, id := range duplicates(gotIDs) {
				if strings.HasPrefix(id, "s") && !touched[id] {
					t.Errorf("%s matched at the start, was not changed, and is on more than one page", id)
				} else {
					t.Errorf("%s, written while paging, is on more than one page", id)
				}
			}
			var missing []string
			for i := range n {
				id := fmt.Sprintf("s%02d", i)
				if !touched[id] && !slices.Contains(gotIDs, id) {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 {
				t.Errorf("untouched matches missing from every page: %v (pages held %v)", missing, gotIDs)
			}
			for _, m := range got {
				if m.Type != "Patient" || strings.HasPrefix(m.ID, "o") {
					t.Errorf("a page holds %s, which never matched", key(m))
				}
			}
			if query == "family=stable&_sort=birthdate&_count=4" {
				// The untouched matches keep their order.
				var untouched, want []string
				for _, id := range gotIDs {
					if len(id) == 3 && id[0] == 's' && !touched[id] {
						untouched = append(untouched, id)
					}
				}
				want = sorted(untouched)
				if diff := cmp.Diff(want, untouched); diff != "" {
					t.Errorf("untouched matches out of birth date order (-want +got):\n%s", diff)
				}
			}
		})
	}
}
