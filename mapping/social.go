package mapping

import (
	"encoding/json"
	"strings"
)

// IsSocialServiceRequest reports whether a ServiceRequest is a social
// prescription that socialrx reads into the domain, rather than an ordinary
// clinical order (a lab test, an imaging study, a surgical referral), which
// socialrx stores as it is without a prescription. A ServiceRequest is social
// when any of these holds:
//   - a category coding in one of socialrx's code systems (prescription form,
//     channel, need domain), an SDOH Clinical Care category code, US Core
//     category sdoh or social-history, or SNOMED CT 410606002 "Social service
//     procedure" (the category the SDOH CC ServiceRequest examples carry);
//   - a code in the SDOH CC temporary code system;
//   - a reasonCode that the Condition tables know as a social need
//     (ICD-10 Z55–Z65, the SNOMED CT SDOH findings, SDOH CC categories);
//   - a reasonReference to a Condition that NeedFromCondition reads as a
//     social need (resolved through r);
//   - a performer that is a navigator or link-worker PractitionerRole.
//
// A body that is not a readable ServiceRequest is not social: the store's
// own checks (fhir.Decode) refuse malformed input before this is asked.
func IsSocialServiceRequest(body []byte, r Resolver) bool {
	var sr serviceRequest
	if err := json.Unmarshal(body, &sr); err != nil || sr.ResourceType != "ServiceRequest" {
		return false
	}
	for _, cat := range sr.Category {
		for _, c := range cat.Coding {
			if isSocialServiceCategory(c.System, c.Code) {
				return true
			}
		}
	}
	if sr.Code != nil {
		for _, c := range sr.Code.Coding {
			if c.System == systemSDOHCC {
				return true
			}
		}
	}
	for _, cc := range sr.ReasonCode {
		if _, known := reasonDomain(cc); known {
			return true
		}
	}
	for _, ref := range sr.ReasonReference {
		typ, _, ok := refTypeID(ref.Reference)
		if !ok || typ != "Condition" {
			continue
		}
		if b, ok := r.resolve(ref.Reference); ok {
			if _, social, err := NeedFromCondition(b); err == nil && social {
				return true
			}
		}
	}
	for _, p := range sr.Performer {
		if typ, id, ok := refTypeID(p.Reference); ok && typ == "PractitionerRole" {
			if lookReach(typ+"/"+id, r).navigator {
				return true
			}
		}
	}
	return false
}

// isSocialServiceCategory reports whether a ServiceRequest.category coding
// marks a social prescription.
func isSocialServiceCategory(system, code string) bool {
	switch {
	case strings.HasPrefix(system, "http://socialrx.dev/fhir/CodeSystem/"):
		return true
	case system == systemSDOHCC:
		return true
	case system == systemSNOMED && code == socialServiceProcedure.Code:
		return true
	}
	return isSocialCategory(coding{System: system, Code: code})
}
