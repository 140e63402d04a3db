package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// TestFindPrograms: after an import, `socialrx programs` lists the active
// programs for a need near a place, nearest first, with their distance,
// on both stores; --lang and --open-now narrow it.
func TestFindPrograms(t *testing.T) {
	for _, b := range encounterBackends {
		t.Run(b.name, func(t *testing.T) {
			s := openTestStore(t, b.database(t))
			for _, src := range []string{"json", "tabular", "ndjson/services.ndjson"} {
				if _, err := ImportHSDS(t.Context(), s, "../../testdata/hsds/"+src, 100, nil); err != nil {
					t.Fatal(err)
				}
			}
			tz := time.FixedZone("EST", -5*3600)
			tuesday10 := time.Date(2026, 6, 2, 10, 0, 0, 0, tz)
			for _, tc := range []struct {
				name string
				q    ProgramQuery
				now  time.Time
				want []string
			}{
				{"all within 10 km", ProgramQuery{Lat: 43.65, Lon: -79.38, WithinK: 10, Limit: 20}, tuesday10,
					[]string{"Weekly Good Food Market", "Walking Group at the Park", "Rent Bank and Eviction Prevention", "Tax Clinic for Low-Income Residents"}},
				{"food within 5 km", ProgramQuery{Need: socialrx.DomainFood, Lat: 43.65, Lon: -79.38, WithinK: 5, Limit: 20}, tuesday10,
					[]string{"Weekly Good Food Market"}},
				{"inactive ones too", ProgramQuery{Need: socialrx.DomainHousing, Lat: 43.65, Lon: -79.38, WithinK: 10, Inactive: true, Limit: 20}, tuesday10,
					[]string{"Rent Bank and Eviction Prevention", "Housing Search Workshop"}},
				{"in Cantonese", ProgramQuery{Lat: 43.65, Lon: -79.38, WithinK: 10, Lang: "yue", Limit: 20}, tuesday10,
					[]string{"Walking Group at the Park"}},
				{"open on Tuesday at 10", ProgramQuery{Lat: 43.65, Lon: -79.38, WithinK: 10, OpenNow: true, Limit: 20}, tuesday10,
					[]string{"Weekly Good Food Market"}},
				{"open on Tuesday at 8:30", ProgramQuery{Lat: 43.65, Lon: -79.38, WithinK: 10, OpenNow: true, Limit: 20}, tuesday10.Add(-90 * time.Minute),
					[]string{"Walking Group at the Park"}},
				{"limit", ProgramQuery{Lat: 43.65, Lon: -79.38, WithinK: 10, Limit: 1}, tuesday10,
					[]string{"Weekly Good Food Market"}},
				{"nothing that far north", ProgramQuery{Lat: 60, Lon: -79.38, WithinK: 10, Limit: 20}, tuesday10, nil},
			} {
				rows, err := FindPrograms(t.Context(), s, tc.q, tc.now)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				prev := 0.0
				for _, r := range rows {
					got = append(got, r.Name)
					if r.DistanceKm < prev || r.DistanceKm > tc.q.WithinK {
						t.Errorf("%s: %s at %.2f km after %.2f km, within %v", tc.name, r.Name, r.DistanceKm, prev, tc.q.WithinK)
					}
					prev = r.DistanceKm
				}
				if !cmp.Equal(tc.want, got) {
					t.Errorf("%s (-want +got):\n%s", tc.name, cmp.Diff(tc.want, got))
				}
			}
			rows, err := FindPrograms(t.Context(), s, ProgramQuery{Need: socialrx.DomainFood, Lat: 43.65, Lon: -79.38, WithinK: 5, Limit: 5}, tuesday10)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			printPrograms(&out, rows, false)
			for _, want := range []string{"KM", "3.1", "Weekly Good Food Market", "+1 (416) 555-0101 ext. 12", "en,fr", "has-capacity", "2026-06-01"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestProgramsFlags(t *testing.T) {
	for _, tc := range []struct {
		cmd  ProgramsCmd
		km   float64
		fail bool
	}{
		{ProgramsCmd{Near: "43.65,-79.38", Within: "5km", Limit: 20}, 5, false},
		{ProgramsCmd{Near: "43.65, -79.38", Within: "800m", Limit: 20}, 0.8, false},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "2mi", Limit: 20}, 3.218688, false},
		{ProgramsCmd{Need: "food", Near: "43.65,-79.38", Within: "5", Limit: 20}, 5, false},
		{ProgramsCmd{Need: "snacks", Near: "43.65,-79.38", Within: "5km", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65", Within: "5km", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "91,0", Within: "5km", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "far", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "900km", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "5km", Limit: 0}, 0, true},
		{ProgramsCmd{Near: "NaN,-79.38", Within: "5km", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,NaN", Within: "5km", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "NaNkm", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "+Infm", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "1.5 km", Limit: 20}, 1.5, false},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "3[mi_i]", Limit: 20}, 4.828032, false},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "0km", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "5furlongs", Limit: 20}, 0, true},
		{ProgramsCmd{Near: "43.65,-79.38", Within: "-5km", Limit: 20}, 0, true},
	} {
		q, err := tc.cmd.query()
		if (err != nil) != tc.fail || (!tc.fail && (q.WithinK < tc.km-1e-9 || q.WithinK > tc.km+1e-9)) {
			t.Errorf("%+v: %v km, %v; want %v km, fail %v", tc.cmd, q.WithinK, err, tc.km, tc.fail)
		}
	}
}
