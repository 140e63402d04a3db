package mapping

import (
	"encoding/json"
	"strconv"

	"github.com/socialrx/socialrx"
)

// BilledVisitFromChargeItem reads the OHIP fee code billed for a visit
// from a ChargeItem (R4 ChargeItem: code, subject, context, occurrence[x],
// enteredDate, status). A ChargeItem records the billing of an encounter
// in FHIR without being a claim; socialrx submits none (docs/mapping.md,
// "OHIP billing").
//
//   - code.coding with system socialrx.OHIPFeeCodeSystem: the fee code;
//     a code that is not one of socialrx.OHIPFeeCodes is EUNPROCESSABLE
//     naming ChargeItem.code.coding[i].code (every such coding is
//     reported); two different OHIP codes on one ChargeItem likewise
//     (ChargeItem.code.coding[i]: one ChargeItem is one billed code);
//   - subject: PatientID when it is Patient/<id>;
//   - context: EncounterID when it is Encounter/<id>;
//   - OccurredAt: occurrenceDateTime, else occurrencePeriod.start, else
//     enteredDate.
//
// ok is false (and v nil) when the ChargeItem has no OHIP coding: it is
// stored and nothing more.
func BilledVisitFromChargeItem(id string, body []byte) (v *socialrx.BilledVisit, ok bool, err error) {
	var ci struct {
		Status string `json:"status"`
		Code   *struct {
			Coding []struct {
				System string `json:"system"`
				Code   string `json:"code"`
			} `json:"coding"`
		} `json:"code"`
		Subject            *reference `json:"subject"`
		Context            *reference `json:"context"`
		OccurrenceDateTime string     `json:"occurrenceDateTime"`
		OccurrencePeriod   *period    `json:"occurrencePeriod"`
		EnteredDate        string     `json:"enteredDate"`
	}
	if err := json.Unmarshal(body, &ci); err != nil {
		return nil, false, issueErr(socialrx.EINVALID, "structure", "ChargeItem", "invalid JSON")
	}
	if ci.Code == nil {
		return nil, false, nil
	}
	var issues []socialrx.Issue
	code := ""
	for i, c := range ci.Code.Coding {
		if c.System != socialrx.OHIPFeeCodeSystem {
			continue
		}
		path := "ChargeItem.code.coding[" + strconv.Itoa(i) + "]"
		switch {
		case !socialrx.IsOHIPFeeCode(c.Code):
			issues = append(issues, socialrx.Issue{Severity: socialrx.SeverityError, Code: "code-invalid", Path: path + ".code",
				Message: strconv.Quote(c.Code) + " is not an OHIP fee code socialrx accepts (" + socialrx.OHIPFeeCodeSystem + ")"})
		case code != "" && c.Code != code:
			issues = append(issues, socialrx.Issue{Severity: socialrx.SeverityError, Code: "business-rule", Path: path,
				Message: "a ChargeItem bills one OHIP fee code: " + code + " and " + c.Code + " given"})
		default:
			code = c.Code
		}
	}
	if len(issues) > 0 {
		return nil, false, &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "chargeitem: invalid OHIP fee code", Issues: issues}
	}
	if code == "" {
		return nil, false, nil
	}
	v = &socialrx.BilledVisit{ChargeItemID: id, Code: code, Status: ci.Status}
	if ci.Subject != nil {
		if typ, pid, ok := refTypeID(ci.Subject.Reference); ok && typ == "Patient" {
			v.PatientID = pid
		}
	}
	if ci.Context != nil {
		if typ, eid, ok := refTypeID(ci.Context.Reference); ok && typ == "Encounter" {
			v.EncounterID = eid
		}
	}
	start := ""
	if ci.OccurrencePeriod != nil {
		start = ci.OccurrencePeriod.Start
	}
	if v.OccurredAt, err = firstTime([2]string{ci.OccurrenceDateTime, "ChargeItem.occurrenceDateTime"},
		[2]string{start, "ChargeItem.occurrencePeriod.start"}, [2]string{ci.EnteredDate, "ChargeItem.enteredDate"}); err != nil {
		return nil, false, err
	}
	if v.OccurredAt.IsZero() {
		// Billed visits are counted by date: one without any would be
		// stored and never counted.
		return nil, false, &socialrx.Error{Code: socialrx.EUNPROCESSABLE, Message: "chargeitem: OHIP-billed visit without a date",
			Issues: []socialrx.Issue{{Severity: socialrx.SeverityError, Code: "required", Path: "ChargeItem.occurrence[x]",
				Message: "a ChargeItem with an OHIP fee code needs occurrenceDateTime, occurrencePeriod.start or enteredDate: the report counts billed visits by date"}}}
	}
	return v, true, nil
}
