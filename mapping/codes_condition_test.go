package mapping

import (
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
)

// conditionFor is a social-category-free Condition coded system|code.
func conditionFor(system, code string) []byte {
	return condJSON(`,"code":{"coding":[{"system":"` + system + `","code":"` + code + `"}]}`)
}

// TestConditionRows maps a Condition per row of every Condition table
// (every ICD-10 system for ICD rows) and checks domain and social.
func TestConditionRows(t *testing.T) {
	check := func(t *testing.T, system string, r conditionCode) {
		t.Helper()
		n, ok, err := NeedFromCondition(conditionFor(system, r.Code))
		if err != nil || !ok {
			t.Fatalf("got ok %v err %v, want a need", ok, err)
		}
		if n.Domain != r.Domain || n.Code.Code != r.Code || n.Code.System != system {
			t.Errorf("got %+v, want domain %s", n, r.Domain)
		}
	}
	for _, r := range icd10Codes {
		for _, sys := range icd10Systems {
			t.Run("icd/"+sys+"/"+r.Code, func(t *testing.T) { check(t, sys, r) })
		}
	}
	for _, r := range snomedCodes {
		t.Run("sct/"+r.Code, func(t *testing.T) { check(t, systemSNOMED, r) })
	}
	for _, r := range sdohccCodes {
		t.Run("sdohcc/"+r.Code, func(t *testing.T) { check(t, systemSDOHCC, r) })
		// In Condition.category the same codes make the Condition social.
		t.Run("sdohcc-category/"+r.Code, func(t *testing.T) {
			n, ok, err := NeedFromCondition(condJSON(`,"category":[{"coding":[{"system":"` + systemSDOHCC + `","code":"` + r.Code + `"}]}]`))
			if err != nil || !ok || n.Domain != r.Domain {
				t.Errorf("got %+v %v %v, want domain %s", n, ok, err, r.Domain)
			}
		})
	}
	for _, d := range socialrx.AllNeedDomains() {
		t.Run("need-domain/"+string(d), func(t *testing.T) {
			check(t, needDomainSystem, conditionCode{Code: string(d), Domain: d})
		})
	}
	for _, c := range socialCategories {
		t.Run("category/"+c.System+"/"+c.Code, func(t *testing.T) {
			n, ok, err := NeedFromCondition(condJSON(`,"category":[{"coding":[{"system":"` + c.System + `","code":"` + c.Code + `"}]}]`))
			if err != nil || !ok || n.Domain != socialrx.DomainUnspecified {
				t.Errorf("got %+v %v %v, want an unspecified need", n, ok, err)
			}
		})
	}
}

// TestConditionExpectations states, independently of the tables, the
// mappings the issue names.
func TestConditionExpectations(t *testing.T) {
	icd := "http://hl7.org/fhir/sid/icd-10"
	tests := []struct {
		system, code string
		want         socialrx.NeedDomain
	}{
		{icd, "Z59.0", socialrx.DomainHousing},
		{icd, "Z59.1", socialrx.DomainHousing},
		{icd, "Z59.4", socialrx.DomainFood},
		{icd, "Z59.5", socialrx.DomainFinances},
		{icd, "Z59.6", socialrx.DomainFinances},
		{icd, "Z59.7", socialrx.DomainFinances},
		{icd, "Z60.2", socialrx.DomainSocialSupport},
		{icd, "Z60.4", socialrx.DomainSocialSupport},
		{icd, "Z56.0", socialrx.DomainFinances},
		{icd, "Z56.9", socialrx.DomainFinances},
		{icd, "Z63.0", socialrx.DomainSocialSupport},
		{icd, "Z55.9", socialrx.DomainUnspecified},
		{icd, "Z65.1", socialrx.DomainUnspecified},
		{"https://fhir.infoway-inforoute.ca/CodeSystem/icd10ca", "z59.4", socialrx.DomainFood},
		{systemSNOMED, "733423003", socialrx.DomainFood},
		{systemSNOMED, "32911000", socialrx.DomainHousing},
		{systemSNOMED, "73438004", socialrx.DomainFinances},
		{systemSNOMED, "422650009", socialrx.DomainSocialSupport},
		{systemSDOHCC, "utility-insecurity", socialrx.DomainFinances},
		{systemSDOHCC, "transportation-insecurity", socialrx.DomainDailyLiving},
		{systemSDOHCC, "food-insecurity", socialrx.DomainFood},
		{systemSDOHCC, "housing-instability", socialrx.DomainHousing},
		{systemSDOHCC, "homelessness", socialrx.DomainHousing},
		{systemSDOHCC, "inadequate-housing", socialrx.DomainHousing},
		{systemSDOHCC, "financial-insecurity", socialrx.DomainFinances},
		{systemSDOHCC, "material-hardship", socialrx.DomainFinances},
		{systemSDOHCC, "employment-status", socialrx.DomainFinances},
		{systemSDOHCC, "social-connection", socialrx.DomainSocialSupport},
	}
	for _, tt := range tests {
		row, ok := lookupCondition(tt.system, tt.code)
		if !ok || row.Domain != tt.want {
			t.Errorf("lookupCondition(%s, %s) = %+v %v, want %s", tt.system, tt.code, row, ok, tt.want)
		}
	}
	for _, c := range []struct{ system, code string }{
		{icd, "E11.9"}, {icd, "Z00.0"}, {icd, "Z5"}, {systemSNOMED, "44054006"}, {systemSDOHCC, "nope"},
		{systemSNOMED, "428024001"}, // Clinical trial participant (person), not "Low income"
		{needDomainSystem, "nope"}, {"http://example.org", "Z59.0"}, {icd, ""},
	} {
		if row, ok := lookupCondition(c.system, c.code); ok {
			t.Errorf("lookupCondition(%s, %s) = %+v, want unknown", c.system, c.code, row)
		}
	}
}

func TestConditionTables(t *testing.T) {
	for name, rows := range map[string][]conditionCode{"icd": icd10Codes, "snomed": snomedCodes, "sdohcc": sdohccCodes} {
		seen := map[string]bool{}
		for _, r := range rows {
			k := r.Code
			if name == "icd" {
				k = normICD(k)
			}
			if seen[k] || r.Code == "" || r.Display == "" || r.Source == "" || !r.Domain.Valid() {
				t.Errorf("%s: bad or duplicate row %+v", name, r)
			}
			seen[k] = true
		}
	}
	// Every 3-character category Z55-Z65 has a fallback row.
	for c := 55; c <= 65; c++ {
		code := "Z" + string(rune('0'+c/10)) + string(rune('0'+c%10))
		if _, ok := findCode(icd10Codes, code); !ok {
			t.Errorf("no category row for %s", code)
		}
	}
	if got := normICD(" z59.4 "); got != strings.TrimSpace("Z594") {
		t.Errorf("normICD = %q", got)
	}
}
