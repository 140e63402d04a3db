package storetest

import (
	"fmt"
	"math"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// Program directory searches (issue 14): near on Location.position (R4
// near: latitude|longitude|distance|units), chained from HealthcareService
// through location, sorted by distance and paged; the directory's own
// parameters (need-domain, communication, cost, eligibility,
// last-verified, capacity).

// dirPlace is a test location: name and offset from the centre in km
// (north, east).
type dirPlace struct {
	id           string
	north, east  float64
	domain, lang string
	cost         string
}

// Centre: Toronto City Hall.
const dirLat, dirLon = 43.6534, -79.3839

func placeAt(north, east float64) (lat, lon float64) {
	const kmPerDeg = 6371.0088 * math.Pi / 180
	lat = dirLat + north/kmPerDeg
	lon = dirLon + east/(kmPerDeg*math.Cos(dirLat*math.Pi/180))
	return lat, lon
}

var dirPlaces = []dirPlace{
	{"near1", 1, 0, "food", "fr", "Free"},                // 1 km
	{"near2", 0, -2.5, "food", "en", "Pay what you can"}, // 2.5 km
	{"near3", 3, 3, "housing", "fr", ""},                 // 4.24 km
	{"edge", 0, 4.9, "food", "en", ""},                   // 4.9 km
	{"out1", 5.2, 0, "food", "fr", ""},                   // 5.2 km: outside 5 km
	{"out2", 3.6, 3.6, "food", "fr", ""},                 // 5.09 km: in the box, outside the circle
	{"far", 100, 0, "food", "fr", ""},                    // 100 km
}

func testDirectory(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	for _, p := range dirPlaces {
		lat, lon := placeAt(p.north, p.east)
		mustCreate(t, s, "Location", "loc-"+p.id, fmt.Sprintf(`{"resourceType":"Location","status":"active","name":"%s","position":{"latitude":%.6f,"longitude":%.6f}}`, p.id, lat, lon))
		cost := ""
		if p.cost != "" {
			cost = fmt.Sprintf(`"extension":[{"url":"http://socialrx.dev/fhir/StructureDefinition/cost","valueString":%q}],`, p.cost)
		}
		mustCreate(t, s, "HealthcareService", "hs-"+p.id, fmt.Sprintf(`{"resourceType":"HealthcareService",%s"active":true,"name":"%s",
			"category":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"%s"}]}],
			"communication":[{"coding":[{"system":"urn:ietf:bcp:47","code":"%s"}]}],
			"location":[{"reference":"Location/loc-%s"}]}`, cost, p.id, p.domain, p.lang, p.id))
	}
	mustCreate(t, s, "Location", "loc-nowhere", `{"resourceType":"Location","status":"active","name":"no position"}`)
	mustCreate(t, s, "HealthcareService", "hs-verified", `{"resourceType":"HealthcareService","active":false,"name":"verified",
		"extension":[{"url":"http://socialrx.dev/fhir/StructureDefinition/last-verified","valueDate":"2026-01-15"},
		{"url":"http://socialrx.dev/fhir/StructureDefinition/capacity","extension":[{"url":"status","valueCode":"no-capacity"}]}],
		"eligibility":[{"comment":"Adults over 55 living in Toronto"}]}`)

	near := fmt.Sprintf("%f|%f|5|km", dirLat, dirLon)
	search := func(typ string, params url.Values) []string {
		t.Helper()
		res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: typ, Params: params, Strict: true})
		if err != nil {
			t.Fatalf("%s?%s: %v", typ, params.Encode(), err)
		}
		return ids(res.Matches)
	}
	for _, tc := range []struct {
		name   string
		typ    string
		params url.Values
		want   []string
	}{
		{"near, nearest first", "Location", url.Values{"near": {near}}, []string{"loc-near1", "loc-near2", "loc-near3", "loc-edge"}},
		{"near in metres", "Location", url.Values{"near": {fmt.Sprintf("%f|%f|3000|m", dirLat, dirLon)}}, []string{"loc-near1", "loc-near2"}},
		{"near in miles", "Location", url.Values{"near": {fmt.Sprintf("%f|%f|1|[mi_i]", dirLat, dirLon)}}, []string{"loc-near1"}},
		{"near, default distance 25 km", "Location", url.Values{"near": {fmt.Sprintf("%f|%f", dirLat, dirLon)}},
			[]string{"loc-near1", "loc-near2", "loc-near3", "loc-edge", "loc-out2", "loc-out1"}},
		{"chained from the program", "HealthcareService", url.Values{"location.near": {near}}, []string{"hs-near1", "hs-near2", "hs-near3", "hs-edge"}},
		{"by need and place", "HealthcareService", url.Values{"location.near": {near}, "need-domain": {"food"}}, []string{"hs-near1", "hs-near2", "hs-edge"}},
		{"by need, place and language", "HealthcareService", url.Values{"location.near": {near}, "need-domain": {"food"}, "communication": {"fr"}}, []string{"hs-near1"}},
		{"an explicit _sort wins", "HealthcareService", url.Values{"location.near": {near}, "_sort": {"-name"}}, []string{"hs-near3", "hs-near2", "hs-near1", "hs-edge"}},
		{"cost text", "HealthcareService", url.Values{"cost:contains": {"what you"}}, []string{"hs-near2"}},
		{"eligibility text", "HealthcareService", url.Values{"eligibility:contains": {"over 55"}}, []string{"hs-verified"}},
		{"not verified since", "HealthcareService", url.Values{"last-verified": {"lt2026-06-01"}}, []string{"hs-verified"}},
		{"capacity", "HealthcareService", url.Values{"capacity": {"no-capacity"}}, []string{"hs-verified"}},
	} {
		if got := search(tc.typ, tc.params); !cmp.Equal(tc.want, got) {
			t.Errorf("%s: %s?%s (-want +got):\n%s", tc.name, tc.typ, tc.params.Encode(), cmp.Diff(tc.want, got))
		}
	}

	// Paging keeps the distance order: pages of one.
	params := url.Values{"location.near": {near}, "_count": {"1"}}
	var paged []string
	for range 10 {
		res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "HealthcareService", Params: params})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, ids(res.Matches)...)
		if res.Total != 4 {
			t.Errorf("paged near: total %d, want 4", res.Total)
		}
		if res.Next == nil {
			break
		}
		params = res.Next
	}
	if want := []string{"hs-near1", "hs-near2", "hs-near3", "hs-edge"}; !cmp.Equal(want, paged) {
		t.Errorf("paged near (-want +got):\n%s", cmp.Diff(want, paged))
	}

	// A moved location moves its program.
	lat, lon := placeAt(0.2, 0)
	mustUpdate(t, s, "Location", "loc-far", fmt.Sprintf(`{"resourceType":"Location","status":"active","name":"far","position":{"latitude":%.6f,"longitude":%.6f}}`, lat, lon), 0)
	if got, want := search("HealthcareService", url.Values{"location.near": {near}}), []string{"hs-far", "hs-near1", "hs-near2", "hs-near3", "hs-edge"}; !cmp.Equal(want, got) {
		t.Errorf("after the move (-want +got):\n%s", cmp.Diff(want, got))
	}

	// Bad near values are refused, naming the parameter.
	for _, bad := range []string{"100|0|5|km", "43.6", "43.6|-79.4|5|furlongs", "43.6|-79.4|-1", "43.6|-79.4|501|km", "north|west"} {
		_, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "Location", Params: url.Values{"near": {bad}}})
		if socialrx.ErrorCode(err) != socialrx.EINVALID {
			t.Errorf("near=%s: %v, want EINVALID", bad, err)
		}
	}
}
