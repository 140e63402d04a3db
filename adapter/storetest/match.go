package storetest

import (
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/socialrx/socialrx"
)

// testMatch: a conditional operation's search (SearchRequest.Match) finds
// no, one or two of the current, live matches (never a deleted one or an
// old version's values), and neither pages nor counts.
func testMatch(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	const sys = "https://health.gov.on.ca/ohip"
	pat := func(ohip string) string {
		return `{"resourceType":"Patient","identifier":[{"system":"` + sys + `","value":"` + ohip + `"}]}`
	}
	mustCreate(t, s, "Patient", "m-one", pat("111"))
	mustCreate(t, s, "Patient", "m-twin-a", pat("222"))
	mustCreate(t, s, "Patient", "m-twin-b", pat("222"))
	mustCreate(t, s, "Patient", "m-triple-a", pat("333"))
	mustCreate(t, s, "Patient", "m-triple-b", pat("333"))
	mustCreate(t, s, "Patient", "m-triple-c", pat("333"))
	mustCreate(t, s, "Patient", "m-gone", pat("444"))
	mustCreate(t, s, "Patient", "m-double", `{"resourceType":"Patient","identifier":[{"type":{"text":"health card"},"system":"`+sys+`","value":"777"},{"type":{"text":"OHIP"},"system":"`+sys+`","value":"777"}]}`)
	mustCreate(t, s, "Patient", "m-other-system", `{"resourceType":"Patient","identifier":[{"system":"https://other.example/mrn","value":"888"}]}`)
	mustCreate(t, s, "Patient", "m-moved", pat("555"))
	mustUpdate(t, s, "Patient", "m-moved", pat("556"), 0)
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { _, err := tx.Delete(ctx, "Patient", "m-gone", 0); return err }); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ohip string
		want []string // nil: any two of the ids given
		any  []string
	}{
		{"111", []string{"m-one"}, nil},
		{"222", []string{"m-twin-a", "m-twin-b"}, nil},
		{"333", nil, []string{"m-triple-a", "m-triple-b", "m-triple-c"}},
		{"444", []string{}, nil},
		{"555", []string{}, nil},
		{"556", []string{"m-moved"}, nil},
		{"999", []string{}, nil},
		{"777", []string{"m-double"}, nil},
		{"888", []string{}, nil},
	} {
		res, err := s.Search(ctx, socialrx.SearchRequest{Type: "Patient", Match: true, Strict: true,
			Params: url.Values{"identifier": {sys + "|" + tt.ohip}}})
		if err != nil {
			t.Fatalf("%s: %v", tt.ohip, err)
		}
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.Type+"/"+m.ID)
			if m.Type != "Patient" || len(m.Body) == 0 || m.VersionID == 0 {
				t.Errorf("%s: match %+v lacks its type, body or version", tt.ohip, m)
			}
		}
		slices.Sort(ids)
		if res.Next != nil || res.Total != -1 {
			t.Errorf("%s: Next %v, Total %d; want no paging and no count", tt.ohip, res.Next, res.Total)
		}
		if tt.any != nil {
			if len(ids) != 2 || ids[0] == ids[1] {
				t.Errorf("%s: got %v, want two of %v", tt.ohip, ids, tt.any)
			}
			for _, id := range ids {
				if !slices.Contains(tt.any, id[len("Patient/"):]) {
					t.Errorf("%s: %s is not a match", tt.ohip, id)
				}
			}
			continue
		}
		want := []string{}
		for _, id := range tt.want {
			want = append(want, "Patient/"+id)
		}
		if !slices.Equal(ids, want) && !(len(ids) == 0 && len(want) == 0) {
			t.Errorf("%s: got %v, want %v", tt.ohip, ids, want)
		}
	}
	testMatchMany(t, s)
}

// testMatchMany: MatchMany (socialrx.MatchManyTx, where a store has it)
// answers each Match search as Search does, in one call, in the order
// asked, inside a transaction that sees its own writes; a request it cannot
// run (not a Match search, an invalid condition) gets nil.
func testMatchMany(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	const sys = "https://health.gov.on.ca/ohip"
	err := s.Transact(ctx, func(tx socialrx.Tx) error {
		mm, ok := tx.(socialrx.MatchManyTx)
		if !ok {
			t.Errorf("%T has no MatchMany (both stores have it)", tx)
			return nil
		}
		if _, err := tx.Create(ctx, "Patient", "m-new-in-tx", []byte(`{"resourceType":"Patient","identifier":[{"system":"`+sys+`","value":"123"}]}`)); err != nil {
			return err
		}
		req := func(typ, param, value string) socialrx.SearchRequest {
			return socialrx.SearchRequest{Type: typ, Match: true, Strict: true, Params: url.Values{param: {value}}}
		}
		reqs := []socialrx.SearchRequest{
			req("Patient", "identifier", sys+"|111"),
			req("Patient", "identifier", sys+"|222"),
			req("Patient", "identifier", sys+"|999"),
			req("Patient", "identifier", sys+"|123"),
			req("Patient", "no-such-param", "x"),
			{Type: "Patient", Params: url.Values{"identifier": {sys + "|111"}}}, // not Match
			req("Organization", "identifier", sys+"|111"),
			req("Patient", "identifier", sys+"|777"),
			req("Patient", "identifier", sys+"|111"),
			// Deleted, an old version's value, more than two matches.
			req("Patient", "identifier", sys+"|444"),
			req("Patient", "identifier", sys+"|555"),
			req("Patient", "identifier", sys+"|556"),
			req("Patient", "identifier", sys+"|333"),
			// Conditions that are not one system|code token, between
			// those that are (PostgreSQL answers the two kinds apart).
			req("Patient", "identifier", "111"),
			req("Patient", "identifier", "|111"),
			req("Patient", "identifier", sys+"|"),
			req("Patient", "_id", "m-one"),
			req("Patient", "identifier:not", sys+"|111"),
			{Type: "Patient", Match: true, Strict: true, Params: url.Values{"identifier": {sys + "|222"}, "_id": {"m-twin-a"}}},
			req("Patient", "identifier", sys+"|222,"+sys+"|111"),
			req("Patient", "identifier", sys+"|888"),
		}
		got, err := mm.MatchMany(ctx, reqs)
		if err != nil {
			return err
		}
		if len(got) != len(reqs) {
			t.Fatalf("MatchMany: %d results for %d requests", len(got), len(reqs))
		}
		for i, r := range reqs {
			if !r.Match || r.Params.Has("no-such-param") {
				if got[i] != nil {
					t.Errorf("request %d (%v): a result %+v; want nil", i, r.Params, got[i])
				}
				continue
			}
			one, err := tx.Search(ctx, r)
			if err != nil {
				return err
			}
			if got[i] == nil {
				t.Errorf("request %d (%v): nil; want what Search answers", i, r.Params)
				continue
			}
			idsOf := func(res *socialrx.SearchResult) []string {
				var ids []string
				for _, m := range res.Matches {
					ids = append(ids, m.Type+"/"+m.ID+"/"+strconv.FormatInt(m.VersionID, 10)+"/"+strconv.Itoa(len(m.Body)))
				}
				slices.Sort(ids)
				return ids
			}
			if r.Params.Get("identifier") == sys+"|333" || r.Params.Has("identifier:not") {
				// Any two of the matches.
				if n := len(got[i].Matches); n != 2 || got[i].Matches[0].ID == got[i].Matches[1].ID || len(one.Matches) != 2 {
					t.Errorf("request %d (%v): MatchMany %v, Search %d matches; want two different", i, r.Params, idsOf(got[i]), len(one.Matches))
				}
				continue
			}
			if a, b := idsOf(got[i]), idsOf(one); !slices.Equal(a, b) {
				t.Errorf("request %d (%v): MatchMany %v, Search %v", i, r.Params, a, b)
			}
			if got[i].Total != -1 || got[i].Next != nil {
				t.Errorf("request %d: Total %d, Next %v; want no count, no paging", i, got[i].Total, got[i].Next)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
