package search

import (
	"net/url"
	"testing"
)

func TestParseNear(t *testing.T) {
	for _, tc := range []struct {
		raw          string
		lat, lon, km float64
		bad          bool
	}{
		{"43.65|-79.38|5|km", 43.65, -79.38, 5, false},
		{"43.65|-79.38|5", 43.65, -79.38, 5, false},
		{"43.65|-79.38", 43.65, -79.38, NearDefaultKm, false},
		{"43.65|-79.38||km", 43.65, -79.38, NearDefaultKm, false},
		{"43.65|-79.38|2500|m", 43.65, -79.38, 2.5, false},
		{"43.65|-79.38|2|[mi_i]", 43.65, -79.38, 3.218688, false},
		{"-90|180|0", -90, 180, 0, false},
		{"90.1|0|5", 0, 0, 0, true},
		{"0|-180.5|5", 0, 0, 0, true},
		{"43.65", 0, 0, 0, true},
		{"43.65|-79.38|5|km|x", 0, 0, 0, true},
		{"43.65|-79.38|5|parsec", 0, 0, 0, true},
		{"43.65|-79.38|-5", 0, 0, 0, true},
		{"43.65|-79.38|501", 0, 0, 0, true},
		{"a|b", 0, 0, 0, true},
	} {
		q, issues := ParseQuery("Location", url.Values{"near": {tc.raw}}, true)
		if tc.bad {
			if len(issues) == 0 {
				t.Errorf("near=%s: no issue", tc.raw)
			} else if issues[0].Path != "near" {
				t.Errorf("near=%s: issue path %q", tc.raw, issues[0].Path)
			}
			continue
		}
		if len(issues) > 0 || len(q.Clauses) != 1 {
			t.Errorf("near=%s: issues %v", tc.raw, issues)
			continue
		}
		v := q.Clauses[0].Values[0]
		if v.Lat != tc.lat || v.Lon != tc.lon || v.DistanceKm < tc.km-1e-9 || v.DistanceKm > tc.km+1e-9 {
			t.Errorf("near=%s: %v|%v|%v km, want %v|%v|%v", tc.raw, v.Lat, v.Lon, v.DistanceKm, tc.lat, tc.lon, tc.km)
		}
	}
	// Chained from HealthcareService.location.
	q, issues := ParseQuery("HealthcareService", url.Values{"location.near": {"43.65|-79.38|5"}}, true)
	if len(issues) > 0 || len(q.Clauses) != 1 || q.Clauses[0].Chain == nil || q.Clauses[0].Chain.Clause.Param.Name != "near" {
		t.Errorf("location.near: %+v %v", q, issues)
	}
}

func TestIndexPosition(t *testing.T) {
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"resourceType":"Location","position":{"latitude":43.65,"longitude":-79.38}}`, 1},
		{`{"resourceType":"Location","position":{"latitude":43.65}}`, 0},
		{`{"resourceType":"Location","position":{"latitude":100,"longitude":0}}`, 0},
		{`{"resourceType":"Location","position":{"latitude":"43","longitude":"-79"}}`, 0},
		{`{"resourceType":"Location"}`, 0},
	} {
		es, err := Index("Location", []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if e.Param == "near" {
				n++
				if e.Type != ParamSpecial || e.Lat != 43.65 || e.Lon != -79.38 {
					t.Errorf("%s: entry %+v", tc.body, e)
				}
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d near entries, want %d", tc.body, n, tc.want)
		}
	}
}
