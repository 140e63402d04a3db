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
	if len(ms) != len(MeasureIDs) {
		t.Fatalf("%d Measures, want %d", len(ms), len(MeasureIDs))
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
		Total: socialrx.ReportStats{Prescriptions: 10, Referrals: 6, Accepted: 4, Rejected: 1, Completed: 2, FollowedUp: 8, Pursued: 6, WellbeingN: 3, Improved: 1},
		Programs: []socialrx.ReportStats{{Key: "", Prescriptions: 2, FollowedUp: 2, Pursued: 1},
			{Key: "HealthcareService/hs-1", Name: "Food bank", Prescriptions: 8, Referrals: 6, Accepted: 4, Rejected: 1, Completed: 2, FollowedUp: 6, Pursued: 5, WellbeingN: 3, Improved: 1}},
		Needs:  []socialrx.ReportStats{{Key: "food", Prescriptions: 10, Referrals: 6, Accepted: 4, Rejected: 1, Completed: 2, FollowedUp: 8, Pursued: 6, WellbeingN: 3, Improved: 1}},
		Billed: []socialrx.BilledCount{{Code: "K005", Visits: 3}, {Code: "K013", Visits: 1}}}
	now := time.Date(2026, 7, 2, 9, 0, 0, 0, time.UTC)
	for _, id := range MeasureIDs {
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
	if mr.Status != "complete" || mr.Type != "summary" || mr.Measure != MeasureBase+MeasureEffectiveness+"|1.4.0" ||
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
		{"referral-rejected", "", [3]int{6, 6, 1}, 0.1667},
		{"referral-rejected", "none", [3]int{0, 0, 0}, -1},
		{"referral-rejected", "HealthcareService/hs-1", [3]int{6, 6, 1}, 0.1667},
		{"referral-rejected", "food", [3]int{6, 6, 1}, 0.1667},
		{"referral-completed", "", [3]int{6, 6, 2}, 0.3333},
		{"referral-completed", "none", [3]int{0, 0, 0}, -1},
		{"referral-completed", "HealthcareService/hs-1", [3]int{6, 6, 2}, 0.3333},
		{"referral-completed", "food", [3]int{6, 6, 2}, 0.3333},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MeasureReport groups (-want +got):\n%s", diff)
	}
}

// TestEvaluateExperience checks the continuous-variable MeasureReport: per
// group and stratum the prescriptions, those with a value, and the mean
// satisfaction or median days as a UCUM Quantity; no score where nobody
// has a value.
func TestEvaluateExperience(t *testing.T) {
	rep := &socialrx.ProgramReport{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Total: socialrx.ReportStats{Prescriptions: 10, SatisfactionN: 3, SatisfactionSum: 11, Referred: 6, Contacted: 4, MedianDaysToContact: 2.5},
		Programs: []socialrx.ReportStats{{Key: "", Prescriptions: 2},
			{Key: "HealthcareService/hs-1", Name: "Food bank", Prescriptions: 8, SatisfactionN: 3, SatisfactionSum: 11, Referred: 5, Contacted: 4, MedianDaysToContact: 2.5}},
		Needs: []socialrx.ReportStats{{Key: "food", Prescriptions: 10, SatisfactionN: 2, SatisfactionSum: 9, Referred: 3, Contacted: 1, MedianDaysToContact: 7}}}
	b := EvaluateMeasure(MeasureExperience, rep, time.Date(2026, 7, 2, 9, 0, 0, 0, time.UTC))
	if issues := fhir.ValidateSchema(b); len(issues) > 0 {
		t.Errorf("MeasureReport against the R4 schema: %+v", issues)
	}
	var mr struct {
		Measure string
		Group   []struct {
			Code         struct{ Coding []struct{ Code string } }
			Population   []struct{ Count int }
			MeasureScore *struct {
				Value        float64
				Code, System string
			}
			Stratifier []struct {
				Stratum []struct {
					Value        struct{ Coding []struct{ Code string } }
					Population   []struct{ Count int }
					MeasureScore *struct {
						Value        float64
						Code, System string
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &mr); err != nil {
		t.Fatal(err)
	}
	if mr.Measure != MeasureBase+MeasureExperience+"|"+MeasureVersion {
		t.Errorf("measure = %q", mr.Measure)
	}
	type line struct {
		Group, Stratum string
		Counts         [2]int
		Score          float64 // -1 none
		Unit           string
	}
	var got []line
	add := func(group, stratum string, pops []struct{ Count int }, sc *struct {
		Value        float64
		Code, System string
	}) {
		l := line{Group: group, Stratum: stratum, Score: -1}
		for i, p := range pops {
			l.Counts[i] = p.Count
		}
		if sc != nil {
			l.Score, l.Unit = sc.Value, sc.System+"#"+sc.Code
		}
		got = append(got, l)
	}
	for _, g := range mr.Group {
		add(g.Code.Coding[0].Code, "", g.Population, g.MeasureScore)
		for _, st := range g.Stratifier {
			for _, s := range st.Stratum {
				add(g.Code.Coding[0].Code, s.Value.Coding[0].Code, s.Population, s.MeasureScore)
			}
		}
	}
	const score, days = "http://unitsofmeasure.org#{score}", "http://unitsofmeasure.org#d"
	want := []line{
		{"satisfaction", "", [2]int{10, 3}, 3.6667, score},
		{"satisfaction", "none", [2]int{2, 0}, -1, ""},
		{"satisfaction", "HealthcareService/hs-1", [2]int{8, 3}, 3.6667, score},
		{"satisfaction", "food", [2]int{10, 2}, 4.5, score},
		// The initial population is the prescriptions referred (Referred).
		{"days-to-first-contact", "", [2]int{6, 4}, 2.5, days},
		{"days-to-first-contact", "none", [2]int{0, 0}, -1, ""},
		{"days-to-first-contact", "HealthcareService/hs-1", [2]int{5, 4}, 2.5, days},
		{"days-to-first-contact", "food", [2]int{3, 1}, 7, days},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("experience MeasureReport (-want +got):\n%s", diff)
	}
}
