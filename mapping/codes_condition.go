package mapping

import (
	"strings"

	"github.com/socialrx/socialrx"
)

// Condition code tables: which codes make a Condition a social need, and
// in which need domain. docs/mapping.md prints these tables.
//
// Rules, in the order NeedFromCondition applies them:
//  1. a coding of Condition.code found in a table below with a domain other
//     than unspecified decides the domain (codings in the order sent);
//  2. otherwise a coding of Condition.category that names a domain (SDOH CC
//     category codes, socialrx need-domain codes);
//  3. otherwise, if the Condition is social at all (a category of
//     socialCategories, or any code below, unspecified ones included), the
//     domain is unspecified.
//
// ICD-10 codes are compared without the dot and in upper case; the longest
// row that prefixes the code wins, so "Z59.41" (ICD-10-CM) falls back to
// Z59.4 and an unknown "Z60.9" to the category row Z60.

// ICD-10 systems: WHO, ICD-10-CM (US) and ICD-10-CA (Canada; Infoway's URI
// and the hl7.org style one).
var icd10Systems = []string{
	"http://hl7.org/fhir/sid/icd-10",
	"http://hl7.org/fhir/sid/icd-10-cm",
	"https://fhir.infoway-inforoute.ca/CodeSystem/icd10ca",
	"http://hl7.org/fhir/sid/icd-10-ca",
}

// conditionCode is one row of a Condition code table.
type conditionCode struct {
	Code    string
	Display string
	Domain  socialrx.NeedDomain
	Source  string
}

const (
	srcICD   = "ICD-10 (WHO 2019) chapter XXI, Z55-Z65"
	srcICDCM = "ICD-10-CM (FY2024)"
)

// icd10Codes holds ICD-10 rows: a row per 3-character category Z55-Z65 (the
// fallback) and rows for the subcodes that decide differently or that the
// issue names. Rows that only ICD-10-CM has say so in Source.
var icd10Codes = []conditionCode{
	{Code: "Z55", Display: "Problems related to education and literacy", Domain: socialrx.DomainUnspecified, Source: srcICD + "; no guide domain"},

	{Code: "Z56", Display: "Problems related to employment and unemployment", Domain: socialrx.DomainFinances, Source: srcICD},
	{Code: "Z56.0", Display: "Unemployment, unspecified", Domain: socialrx.DomainFinances, Source: srcICD},
	{Code: "Z56.1", Display: "Change of job", Domain: socialrx.DomainFinances, Source: srcICD},
	{Code: "Z56.2", Display: "Threat of job loss", Domain: socialrx.DomainFinances, Source: srcICD},
	{Code: "Z56.3", Display: "Stressful work schedule", Domain: socialrx.DomainMentalHealth, Source: srcICD + "; work stress"},
	{Code: "Z56.4", Display: "Discord with boss and workmates", Domain: socialrx.DomainMentalHealth, Source: srcICD + "; work stress"},
	{Code: "Z56.5", Display: "Uncongenial work", Domain: socialrx.DomainMentalHealth, Source: srcICD + "; work stress"},
	{Code: "Z56.6", Display: "Other physical and mental strain related to work", Domain: socialrx.DomainMentalHealth, Source: srcICD + "; work stress"},
	{Code: "Z56.7", Display: "Other and unspecified problems related to employment", Domain: socialrx.DomainFinances, Source: srcICD},

	{Code: "Z57", Display: "Occupational exposure to risk factors", Domain: socialrx.DomainUnspecified, Source: srcICD + "; no guide domain"},
	{Code: "Z58", Display: "Problems related to physical environment", Domain: socialrx.DomainUnspecified, Source: srcICD + "; no guide domain"},

	{Code: "Z59", Display: "Problems related to housing and economic circumstances", Domain: socialrx.DomainHousing, Source: srcICD + "; economic subcodes have rows"},
	{Code: "Z59.0", Display: "Homelessness", Domain: socialrx.DomainHousing, Source: srcICD},
	{Code: "Z59.1", Display: "Inadequate housing", Domain: socialrx.DomainHousing, Source: srcICD},
	{Code: "Z59.2", Display: "Discord with neighbours, lodgers and landlord", Domain: socialrx.DomainHousing, Source: srcICD},
	{Code: "Z59.3", Display: "Problems related to living in residential institution", Domain: socialrx.DomainHousing, Source: srcICD},
	{Code: "Z59.4", Display: "Lack of adequate food", Domain: socialrx.DomainFood, Source: srcICD},
	{Code: "Z59.41", Display: "Food insecurity", Domain: socialrx.DomainFood, Source: srcICDCM},
	{Code: "Z59.5", Display: "Extreme poverty", Domain: socialrx.DomainFinances, Source: srcICD},
	{Code: "Z59.6", Display: "Low income", Domain: socialrx.DomainFinances, Source: srcICD},
	{Code: "Z59.7", Display: "Insufficient social insurance and welfare support", Domain: socialrx.DomainFinances, Source: srcICD},
	{Code: "Z59.8", Display: "Other problems related to housing and economic circumstances", Domain: socialrx.DomainFinances, Source: srcICD + "; WHO inclusions are foreclosure, problems with creditors"},
	{Code: "Z59.81", Display: "Housing instability, housed", Domain: socialrx.DomainHousing, Source: srcICDCM},
	{Code: "Z59.82", Display: "Transportation insecurity", Domain: socialrx.DomainDailyLiving, Source: srcICDCM + "; transportation -> daily living (IADL)"},
	{Code: "Z59.86", Display: "Financial insecurity", Domain: socialrx.DomainFinances, Source: srcICDCM},
	{Code: "Z59.87", Display: "Material hardship", Domain: socialrx.DomainFinances, Source: srcICDCM},

	{Code: "Z60", Display: "Problems related to social environment", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z60.0", Display: "Problems of adjustment to life-cycle transitions", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z60.1", Display: "Atypical parenting situation", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z60.2", Display: "Living alone", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z60.3", Display: "Acculturation difficulty", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z60.4", Display: "Social exclusion and rejection", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z60.5", Display: "Target of perceived adverse discrimination and persecution", Domain: socialrx.DomainUnspecified, Source: srcICD + "; no guide domain"},

	{Code: "Z61", Display: "Problems related to negative life events in childhood", Domain: socialrx.DomainMentalHealth, Source: srcICD + " (not in ICD-10-CM)"},
	{Code: "Z62", Display: "Other problems related to upbringing", Domain: socialrx.DomainChildcare, Source: srcICD + "; parenting and child supports"},
	{Code: "Z62.0", Display: "Inadequate parental supervision and control", Domain: socialrx.DomainChildcare, Source: srcICD},

	{Code: "Z63", Display: "Other problems related to primary support group, including family circumstances", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z63.2", Display: "Inadequate family support", Domain: socialrx.DomainSocialSupport, Source: srcICD},
	{Code: "Z63.4", Display: "Disappearance and death of family member", Domain: socialrx.DomainSocialSupport, Source: srcICD + "; bereavement support"},
	{Code: "Z63.6", Display: "Dependent relative needing care at home", Domain: socialrx.DomainDailyLiving, Source: srcICD + "; caregiver and home support"},

	{Code: "Z64", Display: "Problems related to certain psychosocial circumstances", Domain: socialrx.DomainUnspecified, Source: srcICD + "; no guide domain"},
	{Code: "Z65", Display: "Problems related to other psychosocial circumstances", Domain: socialrx.DomainUnspecified, Source: srcICD + "; legal, crime, disaster: no guide domain"},

	// Outside Z55-Z65: the only ICD-10 paths to some guide domains.
	{Code: "Z72.3", Display: "Lack of physical exercise", Domain: socialrx.DomainPhysicalActivity, Source: srcICD + ", Z72"},
	{Code: "Z74.1", Display: "Need for assistance with personal care", Domain: socialrx.DomainDailyLiving, Source: srcICD + ", Z74"},
	{Code: "Z74.2", Display: "Need for assistance at home and no other household member able to render care", Domain: socialrx.DomainDailyLiving, Source: srcICD + ", Z74"},
	{Code: "Z91.120", Display: "Patient's intentional underdosing of medication regimen due to financial hardship", Domain: socialrx.DomainMedicationCoverage, Source: srcICDCM + ", Z91.12"},
}

// snomedCodes holds SNOMED CT findings used for social needs by the SDOH CC
// IG (its examples and value sets) and a few more for guide domains the IG
// does not cover.
var snomedCodes = []conditionCode{
	{Code: "733423003", Display: "Food insecurity", Domain: socialrx.DomainFood, Source: "SNOMED CT; SDOH CC SDOHCC-ConditionFoodInsecurityExample"},
	{Code: "699653008", Display: "Inadequate oral food intake for physiological needs", Domain: socialrx.DomainFood, Source: "SNOMED CT; SDOH CC SDOHCC-ObservationAssessmentInadequateFoodIntakeExample"},
	{Code: "32911000", Display: "Homeless", Domain: socialrx.DomainHousing, Source: "SNOMED CT; SDOH CC SDOHCC-ConditionHomelessExample"},
	{Code: "105531004", Display: "Housing unsatisfactory", Domain: socialrx.DomainHousing, Source: "SNOMED CT (International 2021 expansion); SDOH CC category inadequate-housing"},
	{Code: "1156191002", Display: "Housing instability", Domain: socialrx.DomainHousing, Source: "SNOMED CT (US edition); SDOH CC category housing-instability"},
	{Code: "73438004", Display: "Unemployed", Domain: socialrx.DomainFinances, Source: "SNOMED CT; SDOH CC SDOHCC-ConditionUnemployedExample"},
	{Code: "160695008", Display: "Transport too expensive", Domain: socialrx.DomainFinances, Source: "SNOMED CT; SDOH CC SDOHCC-ObservationAssessmentTransportTooExpensiveExample (categories transportation and financial insecurity: the cost is the problem)"},
	{Code: "422650009", Display: "Social isolation", Domain: socialrx.DomainSocialSupport, Source: "SNOMED CT; SDOH CC SDOHCC-ObservationAssessmentSocialIsolationExample"},
	{Code: "105529008", Display: "Lives alone", Domain: socialrx.DomainSocialSupport, Source: "SNOMED CT; social connection"},
	{Code: "415510005", Display: "Sedentary lifestyle", Domain: socialrx.DomainPhysicalActivity, Source: "SNOMED CT; guide domain physical activity"},
}

// sdohccCodes holds the SDOH CC category codes
// (SDOHCC-CodeSystemTemporaryCodes, STU 2.3; every code and display checked
// against HL7/fhir-sdoh-clinicalcare tag 2.3.0,
// input/fsh/codesystems/SDOHCCCodeSystemTemporaryCodes.fsh), used in Condition.category
// (and sometimes Condition.code) to name the SDOH domain.
var sdohccCodes = []conditionCode{
	{Code: "food-insecurity", Display: "Food Insecurity", Domain: socialrx.DomainFood, Source: "SDOH CC STU 2.3"},
	{Code: "housing-instability", Display: "Housing Instability", Domain: socialrx.DomainHousing, Source: "SDOH CC STU 2.3"},
	{Code: "homelessness", Display: "Homelessness", Domain: socialrx.DomainHousing, Source: "SDOH CC STU 2.3"},
	{Code: "inadequate-housing", Display: "Inadequate Housing", Domain: socialrx.DomainHousing, Source: "SDOH CC STU 2.3"},
	{Code: "financial-insecurity", Display: "Financial Insecurity", Domain: socialrx.DomainFinances, Source: "SDOH CC STU 2.3"},
	{Code: "material-hardship", Display: "Material Hardship", Domain: socialrx.DomainFinances, Source: "SDOH CC STU 2.3"},
	{Code: "employment-status", Display: "Employment Status", Domain: socialrx.DomainFinances, Source: "SDOH CC STU 2.3"},
	{Code: "utility-insecurity", Display: "Utility Insecurity", Domain: socialrx.DomainFinances, Source: "SDOH CC STU 2.3; utilities -> finances (bill assistance)"},
	{Code: "social-connection", Display: "Social Connection", Domain: socialrx.DomainSocialSupport, Source: "SDOH CC STU 2.3"},
	{Code: "stress", Display: "Stress", Domain: socialrx.DomainMentalHealth, Source: "SDOH CC STU 2.3"},
	{Code: "health-insurance-coverage-status", Display: "Health Insurance Coverage Status", Domain: socialrx.DomainMedicationCoverage, Source: "SDOH CC STU 2.3; closest guide domain"},
	{Code: "medical-cost-burden", Display: "Medical Cost Burden", Domain: socialrx.DomainMedicationCoverage, Source: "SDOH CC STU 2.3; closest guide domain"},
	{Code: "transportation-insecurity", Display: "Transportation Insecurity", Domain: socialrx.DomainDailyLiving, Source: "SDOH CC STU 2.3; transportation -> daily living (IADL)"},
	{Code: "educational-attainment", Display: "Educational Attainment", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "veteran-status", Display: "Veteran Status", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "intimate-partner-violence", Display: "Intimate Partner Violence", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "elder-abuse", Display: "Elder Abuse", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "personal-health-literacy", Display: "Personal Health Literacy", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "digital-literacy", Display: "Digital Literacy", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "digital-access", Display: "Digital Access", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "incarceration-status", Display: "Incarceration Status", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3; no guide domain"},
	{Code: "sdoh-category-unspecified", Display: "SDOH Category Unspecified", Domain: socialrx.DomainUnspecified, Source: "SDOH CC STU 2.3"},
}

// socialCategory is a Condition.category coding that makes a Condition a
// social one, whatever its code.
type socialCategory struct {
	System  string
	Code    string
	Display string
	Source  string
}

var socialCategories = []socialCategory{
	{System: systemUSCoreCategory, Code: "sdoh", Display: "SDOH", Source: "US Core 7.0.0 us-core-category (SDOH CC Condition profile)"},
	{System: systemObsCategory, Code: "social-history", Display: "Social History", Source: "FHIR R4 observation-category"},
	{System: systemUSCoreCategory, Code: "social-history", Display: "Social History", Source: "US Core (older releases used it on Condition)"},
}

// needDomainSystem is socialrx's own need-domain code system; its codes
// are the domains, accepted in Condition.code and Condition.category for
// the guide domains without an SDOH CC code (physical activity, creative
// expression, childcare, ADL).
const needDomainSystem = socialrx.CodeSystemBase + "need-domain"

// lookupCondition returns the row of a coding in the Condition code tables
// (ICD-10 family, SNOMED CT, SDOH CC, socialrx need-domain), or ok false.
func lookupCondition(system, code string) (conditionCode, bool) {
	if code == "" {
		return conditionCode{}, false
	}
	switch {
	case isICD10System(system):
		return lookupICD10(code)
	case system == systemSNOMED:
		return findCode(snomedCodes, code)
	case system == systemSDOHCC:
		return findCode(sdohccCodes, code)
	case system == needDomainSystem:
		d := socialrx.NeedDomain(code)
		if !d.Valid() {
			return conditionCode{}, false
		}
		return conditionCode{Code: code, Display: d.Display(), Domain: d, Source: "socialrx need-domain"}, true
	}
	return conditionCode{}, false
}

func isICD10System(system string) bool {
	for _, s := range icd10Systems {
		if s == system {
			return true
		}
	}
	return false
}

func findCode(rows []conditionCode, code string) (conditionCode, bool) {
	for _, r := range rows {
		if r.Code == code {
			return r, true
		}
	}
	return conditionCode{}, false
}

// normICD returns an ICD-10 code without dots and spaces, in upper case
// ("z59.4" and "Z594" both give "Z594").
func normICD(code string) string {
	return strings.ToUpper(strings.NewReplacer(".", "", " ", "").Replace(code))
}

// lookupICD10 returns the longest row of icd10Codes that prefixes code
// (compared with normICD).
func lookupICD10(code string) (conditionCode, bool) {
	n := normICD(code)
	best, bestLen := conditionCode{}, 0
	for _, r := range icd10Codes {
		rn := normICD(r.Code)
		if len(rn) > bestLen && strings.HasPrefix(n, rn) {
			best, bestLen = r, len(rn)
		}
	}
	return best, bestLen > 0
}

// isSocialCategory reports whether c is one of socialCategories.
func isSocialCategory(c coding) bool {
	for _, s := range socialCategories {
		if s.System == c.System && s.Code == c.Code {
			return true
		}
	}
	return false
}
