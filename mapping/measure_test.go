package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

func TestMeasuresValid(t *testing.T) {
	ms := Measures()
	if len(ms) != 2 {
		t.Fatalf("%d Measures, want 2", len(ms))
	}
	for _, b := range ms {
		var m struct{ ID, URL, Version, Status string }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if !IsMeasure(m.ID) || m.URL != MeasureBase+m.ID || m.Version != MeasureVersion || m.Status != "active" {
			t.Errorf("Measure %+v", m)
		}
		if issues := fhir.ValidateSchema(b); len(issues) > 0 {
			t.Errorf("Measure/%s against the R4 schema: %+v", m.ID, issues)
		}
	}
}

// TestEvaluateMeasure checks the MeasureReport of a small report: the
// counts and scores of each group and stratum follow from the report's
// figures, and the resource is valid R4.
func TestEvaluateMeasure(t *testing.T) {
	rep := &socialrx.ProgramReport{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Total: socialrx.ReportStats{Prescriptions: 10, Referrals: 6, Accepted: 4, FollowedUp: 8, Pursued: 6, WellbeingN: 3, Improved: 1},
		Programs: []socialrx.ReportStats{{Key: "", Prescriptions: 2, FollowedUp: 2, Pursued: 1},
			{Key: "HealthcareService/hs-1", Name: "Food bank", Prescriptions: 8, Referrals: 6, Accepted: 4, FollowedUp: 6, Pursued: 5, WellbeingN: 3, Improved: 1}},
		Needs:  []socialrx.ReportStats{{Key: "food", Prescriptions: 10, Referrals: 6, Accepted: 4, FollowedUp: 8, Pursued: 6, WellbeingN: 3, Improved: 1}},
		Billed: []socialrx.BilledCount{{Code: "K005", Visits: 3}, {Code: "K013", Visits: 1}}}
	now := time.Date(2026, 7, 2, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{MeasureEffectiveness, MeasureBilledVisits} {
		b := EvaluateMeasure(id, rep, now)
		if issues := fhir.Validate(b, "MeasureReport"); fhir.HasErrors(issues) {
			t.Errorf("%s: MeasureReport not valid R4: %+v", id, issues)
		}
	}
	var mr struct {
		Status, Type, Measure string
		Period                struct{ Start, End string }
		Group                 []struct {
			Code       struct{ Coding []struct{ Code string } }
			Population []struct {
				Code  struct{ Coding []struct{ Code string } }
				Count int
			}
			MeasureScore *struct{ Value float64 }
			Stratifier   []struct {
				Stratum []struct {
					Value struct {
						Coding []struct{ Code string }
					}
					Population   []struct{ Count int }
					MeasureScore *struct{ Value float64 }
				}
			}
		}
	}
	if err := json.Unmarshal(EvaluateMeasure(MeasureEffectiveness, rep, now), &mr); err != nil {
		t.Fatal(err)
	}
	if mr.Status != "complete" || mr.Type != "summary" || mr.Measure != MeasureBase+MeasureEffectiveness+"|1.0.0" ||
		mr.Period.Start != "2026-01-01T00:00:00Z" || mr.Period.End != "2026-06-30T23:59:59.999Z" {
		t.Errorf("header: %+v", mr)
	}
	type line struct {
		Group, Stratum string
		Counts         [3]int
		Score          float64 // -1 none
	}
	var got []line
	for _, g := range mr.Group {
		l := line{Group: g.Code.Coding[0].Code, Score: -1}
		for i, p := range g.Population {
			l.Counts[i] = p.Count
		}
		if g.MeasureScore != nil {
			l.Score = g.MeasureScore.Value
		}
		got = append(got, l)
		for _, st := range g.Stratifier {
			for _, s := range st.Stratum {
				l := line{Group: g.Code.Coding[0].Code, Stratum: s.Value.Coding[0].Code, Score: -1}
				for i, p := range s.Population {
					l.Counts[i] = p.Count
				}
				if s.MeasureScore != nil {
					l.Score = s.MeasureScore.Value
				}
				got = append(got, l)
			}
		}
	}
	// Computed from rep above by the group definitions: initial population,
	// denominator, numerator; score numerator/denominator to 4 places.
	want := []line{
		{"pursued", "", [3]int{10, 8, 6}, 0.75},
		{"pursued", "none", [3]int{2, 2, 1}, 0.5},
		{"pursued", "HealthcareService/hs-1", [3]int{8, 6, 5}, 0.8333},
		{"pursued", "food", [3]int{10, 8, 6}, 0.75},
		{"wellbeing-improved", "", [3]int{10, 3, 1}, 0.3333},
		{"wellbeing-improved", "none", [3]int{2, 0, 0}, -1},
		{"wellbeing-improved", "HealthcareService/hs-1", [3]int{8, 3, 1}, 0.3333},
		{"wellbeing-improved", "food", [3]int{10, 3, 1}, 0.3333},
		{"referral-accepted", "", [3]int{6, 6, 4}, 0.6667},
		{"referral-accepted", "none", [3]int{0, 0, 0}, -1},
		{"referral-accepted", "HealthcareService/hs-1", [3]int{6, 6, 4}, 0.6667},
		{"referral-accepted", "food", [3]int{6, 6, 4}, 0.6667},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MeasureReport groups (-want +got):\n%s", diff)
	}
}
