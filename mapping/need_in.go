package mapping

import (
	"github.com/socialrx/socialrx"
)

// condition is the part of an R4 Condition that NeedFromCondition reads.
type condition struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id"`
	ClinicalStatus     *codeableConcept  `json:"clinicalStatus"`
	VerificationStatus *codeableConcept  `json:"verificationStatus"`
	Category           []codeableConcept `json:"category"`
	Code               *codeableConcept  `json:"code"`
	Subject            *reference        `json:"subject"`
	OnsetDateTime      string            `json:"onsetDateTime"`
	OnsetPeriod        *period           `json:"onsetPeriod"`
	RecordedDate       string            `json:"recordedDate"`
}

// NeedFromCondition reads a social need from a Condition (SDOH CC Condition
// profile, US Core Condition Problems and Health Concerns). The bool says
// whether the Condition is a social need at all: it is when a category is
// one of socialCategories (us-core-category sdoh, social-history) or a code
// is in the Condition code tables (ICD-10 / -CM / -CA, SNOMED CT, SDOH CC
// category codes, socialrx need-domain), in Condition.code or, for SDOH CC
// and need-domain codes, in Condition.category.
//
// The domain is decided by the rules in codes_condition.go; a social
// Condition whose codes socialrx does not know is a Need in
// DomainUnspecified, never an error. Need.Code is the coding that decided
// the domain; for DomainUnspecified the first known coding of
// Condition.code, else its first coding with a system and a code, else the
// category coding that made the Condition social.
//
// Not social (e.g. a diabetes Condition), or verificationStatus
// entered-in-error or refuted: (nil, false, nil). Status is the
// clinicalStatus code (condition-clinical), "" when absent. RecordedAt is
// recordedDate, else onsetDateTime, else onsetPeriod.start.
//
// Errors are *socialrx.Error: EINVALID for malformed JSON, a resource that
// is not a Condition or a bad date; EUNPROCESSABLE with the path
// "Condition.subject" for a social Condition without a Patient subject.
func NeedFromCondition(body []byte) (*socialrx.Need, bool, error) {
	var c condition
	if err := decodeResource(body, "Condition", &c, &c.ResourceType); err != nil {
		return nil, false, err
	}
	if c.VerificationStatus.has(systemConditionVer, "entered-in-error") || c.VerificationStatus.has(systemConditionVer, "refuted") {
		return nil, false, nil
	}
	var codes []coding
	if c.Code != nil {
		codes = c.Code.Coding
	}

	social := false
	var known, decided *coding
	domain := socialrx.DomainUnspecified
	// Rule 1: Condition.code.
	for i := range codes {
		row, ok := lookupCondition(codes[i].System, codes[i].Code)
		if !ok {
			continue
		}
		social = true
		if known == nil {
			known = &codes[i]
		}
		if row.Domain != socialrx.DomainUnspecified {
			domain, decided = row.Domain, &codes[i]
			break
		}
	}
	// Rule 2: Condition.category; it also makes the Condition social.
	var socialCat *coding
	for i := range c.Category {
		for j := range c.Category[i].Coding {
			cd := &c.Category[i].Coding[j]
			if isSocialCategory(*cd) {
				social = true
				if socialCat == nil {
					socialCat = cd
				}
				continue
			}
			if cd.System != systemSDOHCC && cd.System != needDomainSystem {
				continue
			}
			row, ok := lookupCondition(cd.System, cd.Code)
			if !ok {
				continue
			}
			social = true
			if socialCat == nil {
				socialCat = cd
			}
			if decided == nil && row.Domain != socialrx.DomainUnspecified {
				domain, decided = row.Domain, cd
			}
		}
	}
	if !social {
		return nil, false, nil
	}
	// Rule 3: unspecified; pick the coding that best names the need.
	if decided == nil {
		decided = known
		for i := range codes {
			if decided == nil && codes[i].System != "" && codes[i].Code != "" {
				decided = &codes[i]
			}
		}
		if decided == nil {
			decided = socialCat
		}
	}

	pid, err := patientID(c.Subject, "Condition.subject")
	if err != nil {
		return nil, false, err
	}
	at, err := firstTime(
		[2]string{c.RecordedDate, "Condition.recordedDate"},
		[2]string{c.OnsetDateTime, "Condition.onsetDateTime"},
		[2]string{periodStart(c.OnsetPeriod), "Condition.onsetPeriod.start"},
	)
	if err != nil {
		return nil, false, err
	}
	n := &socialrx.Need{
		PatientID:  pid,
		Domain:     domain,
		Source:     "Condition/" + c.ID,
		Status:     clinicalStatus(c.ClinicalStatus),
		RecordedAt: at,
	}
	if decided != nil {
		n.Code = socialrx.Coding{System: decided.System, Code: decided.Code, Display: decided.Display}
	}
	return n, true, nil
}

// clinicalStatus returns the condition-clinical code of cc (a coding
// without a system is accepted), or "".
func clinicalStatus(cc *codeableConcept) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if (c.System == systemConditionClinical || c.System == "") && c.Code != "" {
			return c.Code
		}
	}
	return ""
}
