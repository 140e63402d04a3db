package socialrx

import "time"

// CodeSystemBase is the canonical base of socialrx's own code systems, served
// as CodeSystem resources (e.g. CodeSystemBase+"need-domain").
const CodeSystemBase = "http://socialrx.dev/fhir/CodeSystem/"

// NeedDomain is one of the ten areas of need of the Ontario guide for health
// professionals on social prescribing, plus DomainUnspecified for a social
// need whose code socialrx does not know. Codes are those of the code system
// CodeSystemBase+"need-domain".
type NeedDomain string

// The need domains.
const (
	DomainMentalHealth       NeedDomain = "mental-health-substance-use"
	DomainSocialSupport      NeedDomain = "social-support" // isolation, loneliness
	DomainFinances           NeedDomain = "finances"       // income, tax, benefits
	DomainHousing            NeedDomain = "housing"
	DomainPhysicalActivity   NeedDomain = "physical-activity"
	DomainCreativeExpression NeedDomain = "creative-expression" // arts, culture, nature
	DomainDailyLiving        NeedDomain = "daily-living"        // ADL / IADL
	DomainChildcare          NeedDomain = "childcare"
	DomainMedicationCoverage NeedDomain = "medication-coverage"
	DomainFood               NeedDomain = "food"
	DomainUnspecified        NeedDomain = "unspecified"
)

// Need is a confirmed social problem of a patient in one domain, held in FHIR
// as a Condition (SDOH CC Condition profile).
type Need struct {
	PatientID  string     // Patient id (the reference's id part)
	Domain     NeedDomain // DomainUnspecified when the code is not one socialrx knows
	Code       Coding     // the code that established the need (ICD-10-CA, SNOMED CT, SDOH CC category)
	Source     string     // "Condition/<id>"
	Status     string     // Condition.clinicalStatus: active, recurrence, relapse, inactive, remission, resolved
	RecordedAt time.Time  // Condition.recordedDate or onset, zero when absent
}

// Coding is a code in a code system (FHIR Coding, without version).
type Coding struct {
	System  string
	Code    string
	Display string
}

// AllNeedDomains returns the need domains in the order of the Ontario guide
// (the ten areas of need), followed by DomainUnspecified. The slice is new on
// every call: callers may change it.
func AllNeedDomains() []NeedDomain {
	return []NeedDomain{
		DomainMentalHealth,
		DomainSocialSupport,
		DomainFinances,
		DomainHousing,
		DomainPhysicalActivity,
		DomainCreativeExpression,
		DomainDailyLiving,
		DomainChildcare,
		DomainMedicationCoverage,
		DomainFood,
		DomainUnspecified,
	}
}

// Valid reports whether d is one of AllNeedDomains (DomainUnspecified
// included; the empty string is not valid).
func (d NeedDomain) Valid() bool { return d.Display() != "" }

// Display returns the English display of d used in the need-domain
// CodeSystem and in Codings, or "" when d is not a known domain.
func (d NeedDomain) Display() string {
	switch d {
	case DomainMentalHealth:
		return "Mental health and substance use"
	case DomainSocialSupport:
		return "Social support (isolation, loneliness)"
	case DomainFinances:
		return "Finances (income, tax, benefits)"
	case DomainHousing:
		return "Housing"
	case DomainPhysicalActivity:
		return "Physical activity"
	case DomainCreativeExpression:
		return "Creative expression (arts, culture, nature)"
	case DomainDailyLiving:
		return "Activities of daily living (ADL/IADL)"
	case DomainChildcare:
		return "Childcare"
	case DomainMedicationCoverage:
		return "Medication coverage"
	case DomainFood:
		return "Food"
	case DomainUnspecified:
		return "Unspecified social need"
	}
	return ""
}
