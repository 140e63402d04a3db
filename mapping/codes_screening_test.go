package mapping

import (
	"fmt"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
)

var panelOf = map[socialrx.Instrument]string{
	socialrx.InstrumentHungerVitalSign: "88121-9",
	socialrx.InstrumentAHCHRSN:         "96777-8",
	socialrx.InstrumentPRAPARE:         "93025-5",
}

// answerObs is a panel Observation of instrument in with one component.
func answerObs(in socialrx.Instrument, item, value string) []byte {
	return obsJSON(fmt.Sprintf(`,"code":{"coding":[{"system":"http://loinc.org","code":%q}]},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":%q}]},%s}]`,
		panelOf[in], item, value))
}

// TestScreeningRows maps every answer row of every item, inside its
// instrument's panel, and checks the finding against the row.
func TestScreeningRows(t *testing.T) {
	for _, it := range screeningItems {
		for _, a := range it.Answers {
			t.Run(string(it.Instrument)+"/"+it.Code+"/"+a.Code, func(t *testing.T) {
				got, err := FindingsFromObservation(answerObs(it.Instrument, it.Code, `"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"`+a.Code+`"}]}`))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 {
					t.Fatalf("got %d findings, want 1", len(got))
				}
				wantDomain := it.Domain
				if a.Domain != "" {
					wantDomain = a.Domain
				}
				wantPos := a.Positive
				switch it.Rule {
				case ruleSumAtLeast:
					wantPos = float64(a.Score) >= it.Threshold
				case ruleProductBelow: // one item alone decides only when it is 0
					wantPos = a.Score == 0
				}
				f := got[0]
				if f.Instrument != it.Instrument || f.ItemCode != it.Code || f.AnswerCode != a.Code || f.Domain != wantDomain || f.Positive != wantPos {
					t.Errorf("got %+v, want instrument %s item %s answer %s domain %s positive %v", f, it.Instrument, it.Code, a.Code, wantDomain, wantPos)
				}
			})
		}
		if len(it.Answers) == 0 { // numeric items
			t.Run(string(it.Instrument)+"/"+it.Code+"/numeric", func(t *testing.T) {
				got, err := FindingsFromObservation(answerObs(it.Instrument, it.Code, `"valueQuantity":{"value":1000}`))
				if err != nil || len(got) != 1 {
					t.Fatalf("got %v, %v; want one finding", got, err)
				}
				wantPos := it.Rule == ruleValueAtLeast // 1000 reaches every threshold; products/not scored stay negative
				if got[0].Domain != it.Domain || got[0].Positive != wantPos || got[0].AnswerCode != "" {
					t.Errorf("got %+v, want domain %s positive %v", got[0], it.Domain, wantPos)
				}
			})
		}
	}
}

// TestScreeningExpectations states, independently of the tables, what the
// issue and the instruments' guides ask for the main rows.
func TestScreeningExpectations(t *testing.T) {
	type row struct {
		in           socialrx.Instrument
		item, answer string
		domain       socialrx.NeedDomain
		positive     bool
	}
	hvs, ahc, pra := socialrx.InstrumentHungerVitalSign, socialrx.InstrumentAHCHRSN, socialrx.InstrumentPRAPARE
	rows := []row{
		{hvs, "88122-7", "LA28397-0", socialrx.DomainFood, true},
		{hvs, "88122-7", "LA6729-3", socialrx.DomainFood, true},
		{hvs, "88122-7", "LA28398-8", socialrx.DomainFood, false},
		{hvs, "88123-5", "LA15775-2", socialrx.DomainFood, false},
		{hvs, "88124-3", "LA19952-3", socialrx.DomainFood, true},
		{hvs, "88124-3", "LA19983-8", socialrx.DomainFood, false},
		{pra, "93031-3", "LA30125-1", socialrx.DomainFood, true},
		{pra, "93031-3", "LA30124-4", socialrx.DomainFinances, true},
		{pra, "93031-3", "LA30127-7", socialrx.DomainChildcare, true},
		{pra, "93031-3", "LA30128-5", socialrx.DomainMedicationCoverage, true},
		{pra, "93031-3", "LA30122-8", socialrx.DomainUnspecified, false},
		{pra, "71802-3", "LA30190-5", socialrx.DomainHousing, true},
		{pra, "71802-3", "LA30189-7", socialrx.DomainHousing, false},
		{pra, "93033-9", "LA33-6", socialrx.DomainHousing, true},
		{pra, "93030-5", "LA32-8", socialrx.DomainDailyLiving, false},
		{pra, "93029-7", "LA27722-0", socialrx.DomainSocialSupport, true},
		{pra, "93038-8", "LA13914-9", socialrx.DomainMentalHealth, true},
		{pra, "67875-5", "LA30136-8", socialrx.DomainFinances, false},
		{pra, "76437-3", "LA30194-7", socialrx.DomainMedicationCoverage, true},
		{ahc, "71802-3", "LA31995-6", socialrx.DomainHousing, true},
		{ahc, "71802-3", "LA31993-1", socialrx.DomainHousing, false},
		{ahc, "96778-6", "LA9-3", socialrx.DomainHousing, false},
		{ahc, "96778-6", "LA28580-1", socialrx.DomainHousing, true},
		{ahc, "93030-5", "LA33-6", socialrx.DomainDailyLiving, true},
		{ahc, "96779-4", "LA32002-0", socialrx.DomainFinances, true},
		{ahc, "76513-1", "LA31980-8", socialrx.DomainFinances, false},
		{ahc, "76513-1", "LA22683-9", socialrx.DomainFinances, true},
		{ahc, "96780-2", "LA31983-2", socialrx.DomainFinances, false},
		{ahc, "96781-0", "LA31976-6", socialrx.DomainDailyLiving, false},
		{ahc, "96781-0", "LA31978-2", socialrx.DomainDailyLiving, true},
		{ahc, "93159-2", "LA10044-8", socialrx.DomainSocialSupport, true},
		{ahc, "95618-5", "LA16644-9", socialrx.DomainUnspecified, false},
		{ahc, "93159-2", "LA9933-8", socialrx.DomainSocialSupport, true},
		{ahc, "44255-8", "LA6571-9", socialrx.DomainMentalHealth, true},
		{ahc, "68517-2", "LA6270-8", socialrx.DomainMentalHealth, false},
		{ahc, "96842-0", "LA18934-2", socialrx.DomainMentalHealth, true},
		{ahc, "95530-2", "LA26460-8", socialrx.DomainMentalHealth, true},
		{ahc, "68524-8", "LA18876-5", socialrx.DomainMentalHealth, true},
		{ahc, "89555-7", "LA6111-4", socialrx.DomainPhysicalActivity, true},
		{ahc, "89555-7", "LA10137-0", socialrx.DomainPhysicalActivity, false},
		{ahc, "69861-3", "LA33-6", socialrx.DomainDailyLiving, true},
	}
	for _, r := range rows {
		got, err := FindingsFromObservation(answerObs(r.in, r.item, `"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"`+r.answer+`"}]}`))
		if err != nil || len(got) != 1 {
			t.Fatalf("%v: got %v, %v", r, got, err)
		}
		if got[0].Domain != r.domain || got[0].Positive != r.positive || got[0].Instrument != r.in {
			t.Errorf("%s %s=%s: got domain %s positive %v instrument %s, want %s %v %s", r.in, r.item, r.answer, got[0].Domain, got[0].Positive, got[0].Instrument, r.domain, r.positive, r.in)
		}
	}
}

// TestScreeningTables checks the tables themselves.
func TestScreeningTables(t *testing.T) {
	seen := map[string]bool{}
	for _, it := range screeningItems {
		key := string(it.Instrument) + "|" + it.Code
		if seen[key] {
			t.Errorf("%s: duplicate row", key)
		}
		seen[key] = true
		if !it.Instrument.Valid() || !it.Domain.Valid() || !isLOINCCode(it.Code) || it.Display == "" || it.Source == "" {
			t.Errorf("%s: incomplete row %+v", key, it)
		}
		// Answer lists: required for ruleAnswer and ruleSumAtLeast, allowed
		// for ruleProductBelow (LOINC-coded numbers), absent otherwise.
		if needs := it.Rule == ruleAnswer || it.Rule == ruleSumAtLeast; (needs && len(it.Answers) == 0) || (!needs && it.Rule != ruleProductBelow && len(it.Answers) > 0) {
			t.Errorf("%s: rule %d with %d answers", key, it.Rule, len(it.Answers))
		}
		if (it.Rule == ruleSumAtLeast || it.Rule == ruleProductBelow) != (it.Group != "") {
			t.Errorf("%s: group %q with rule %d", key, it.Group, it.Rule)
		}
		answers := map[string]bool{}
		for _, a := range it.Answers {
			if answers[a.Code] || !strings.HasPrefix(a.Code, "LA") || a.Display == "" || (a.Domain != "" && !a.Domain.Valid()) {
				t.Errorf("%s: bad answer row %+v", key, a)
			}
			answers[a.Code] = true
		}
	}
	for _, p := range screeningPanels {
		if !isLOINCCode(p.Code) || !p.Instrument.Valid() || p.Source == "" || len(itemsByCode[p.Code]) > 0 {
			t.Errorf("bad panel row %+v", p)
		}
	}
	for _, q := range screeningQuestionnaires {
		if questionnaireInstrument(q.URL+"|2.3.0") != q.Instrument {
			t.Errorf("questionnaire %s not found with a version", q.URL)
		}
	}
	if got := questionnaireInstrument("http://example.org/Questionnaire/96777-8"); got != socialrx.InstrumentAHCHRSN {
		t.Errorf("questionnaire by panel code = %q, want AHC", got)
	}
}

func TestLookupItem(t *testing.T) {
	tests := []struct {
		code   string
		ctx    socialrx.Instrument
		answer string
		want   socialrx.Instrument
	}{
		{"88122-7", "", "LA28397-0", socialrx.InstrumentHungerVitalSign},
		{"88122-7", socialrx.InstrumentAHCHRSN, "LA28397-0", socialrx.InstrumentAHCHRSN},
		{"71802-3", "", "LA31993-1", socialrx.InstrumentAHCHRSN},
		{"71802-3", "", "LA30189-7", socialrx.InstrumentPRAPARE},
		{"71802-3", "", "", socialrx.InstrumentPRAPARE},
		{"93030-5", "", "LA33-6", socialrx.InstrumentAHCHRSN},
		{"93031-3", socialrx.InstrumentAHCHRSN, "LA30125-1", socialrx.InstrumentPRAPARE},
	}
	for _, tt := range tests {
		got := lookupItem(tt.code, tt.ctx, tt.answer)
		if got == nil || got.Instrument != tt.want {
			t.Errorf("lookupItem(%s, %q, %s) = %v, want %s", tt.code, tt.ctx, tt.answer, got, tt.want)
		}
	}
	if lookupItem("8867-4", "", "") != nil {
		t.Error("unknown code found")
	}
	for s, want := range map[string]bool{"88122-7": true, "1-2": true, "88122": false, "88122-77": false, "a8122-7": false, "": false, "12345678-9": false} {
		if isLOINCCode(s) != want {
			t.Errorf("isLOINCCode(%q) = %v", s, !want)
		}
	}
}
