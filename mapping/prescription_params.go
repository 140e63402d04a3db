package mapping

import (
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
)

// PrescriptionParameters returns the result of the $prescription operation
// on ServiceRequest/p.ID: what socialrx knows of a social prescription
// beyond its ServiceRequest, which is stored as the client sent it. A FHIR
// R4 Parameters resource:
//
//	prescription   valueReference  ServiceRequest/{id}
//	form           valueCoding     socialrx prescription-form
//	formDerived    valueBoolean    true when socialrx derived the form
//	channel        valueCoding     socialrx prescription-channel (when known)
//	needDomain     valueCoding     socialrx need-domain, one per domain
//	status         valueCode       ServiceRequest.status
//	target         valueReference  the program or person (when set)
//	followUp       part: due (valueDateTime), channel (valueCoding,
//	               follow-up-channel), status (valueCode)
//	referral       part: task (valueReference), status (valueCode),
//	               deliveryState (valueCode, when socialrx delivers it),
//	               flag (valueString, when a platform made an illegal move)
//	outcome        part, the latest answered follow-up (when there is
//	               one): response (valueReference QuestionnaireResponse),
//	               answered (valueDateTime), pursued, wellbeing, nextStep
//	               (valueCoding, socialrx follow-up-* code systems),
//	               satisfaction (valueInteger 1-5), each when answered;
//	               followUpsAnswered (valueInteger) how many were
//
// The outcome is what an analyst needs of "did it work" beside the need
// domain and form (issue 13: derived facts in the export).
func PrescriptionParameters(rec socialrx.PrescriptionRecord) []byte {
	p, followUps, referrals := rec.Prescription, rec.FollowUps, rec.Referrals
	type coding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	type ref struct {
		Reference string `json:"reference"`
	}
	type param struct {
		Name           string  `json:"name"`
		ValueReference *ref    `json:"valueReference,omitempty"`
		ValueCoding    *coding `json:"valueCoding,omitempty"`
		ValueBoolean   *bool   `json:"valueBoolean,omitempty"`
		ValueCode      string  `json:"valueCode,omitempty"`
		ValueDateTime  string  `json:"valueDateTime,omitempty"`
		ValueString    string  `json:"valueString,omitempty"`
		ValueInteger   *int    `json:"valueInteger,omitempty"`
		Part           []param `json:"part,omitempty"`
	}
	code := func(system, c, display string) *coding {
		return &coding{System: socialrx.CodeSystemBase + system, Code: c, Display: display}
	}
	derived := p.FormDerived
	ps := []param{{Name: "prescription", ValueReference: &ref{"ServiceRequest/" + p.ID}}}
	if p.Form != "" {
		ps = append(ps, param{Name: "form", ValueCoding: code("prescription-form", string(p.Form), p.Form.Display())},
			param{Name: "formDerived", ValueBoolean: &derived})
	}
	if p.Channel != "" {
		ps = append(ps, param{Name: "channel", ValueCoding: code("prescription-channel", string(p.Channel), p.Channel.Display())})
	}
	for _, d := range p.Needs {
		ps = append(ps, param{Name: "needDomain", ValueCoding: code("need-domain", string(d), d.Display())})
	}
	if p.Status != "" {
		ps = append(ps, param{Name: "status", ValueCode: p.Status})
	}
	if p.Target != "" {
		ps = append(ps, param{Name: "target", ValueReference: &ref{p.Target}})
	}
	for _, f := range followUps {
		var part []param
		if !f.Due.IsZero() {
			part = append(part, param{Name: "due", ValueDateTime: f.Due.UTC().Format(time.RFC3339)})
		}
		if f.Channel != "" {
			part = append(part, param{Name: "channel", ValueCoding: code("follow-up-channel", string(f.Channel), f.Channel.Display())})
		}
		if f.Status != "" {
			part = append(part, param{Name: "status", ValueCode: f.Status})
		}
		ps = append(ps, param{Name: "followUp", Part: part})
	}
	for _, r := range referrals {
		part := []param{{Name: "task", ValueReference: &ref{"Task/" + r.ID}}, {Name: "status", ValueCode: string(r.Status)}}
		if r.DeliveryState != "" {
			part = append(part, param{Name: "deliveryState", ValueCode: r.DeliveryState})
		}
		if r.DeliveryState == socialrx.DeliveryHeld {
			part = append(part, param{Name: "consentHold", ValueCoding: code("referral-hold", r.DeliveryError, socialrx.HoldDisplay(r.DeliveryError))})
		}
		if r.Flag != "" {
			part = append(part, param{Name: "flag", ValueString: r.Flag})
		}
		ps = append(ps, param{Name: "referral", Part: part})
	}
	if res, ok := rec.Outcome(); ok {
		part := []param{{Name: "response", ValueReference: &ref{"QuestionnaireResponse/" + res.ResponseID}}}
		if !res.AnsweredAt.IsZero() {
			part = append(part, param{Name: "answered", ValueDateTime: res.AnsweredAt.UTC().Format(time.RFC3339)})
		}
		if res.Pursued != "" {
			part = append(part, param{Name: "pursued", ValueCoding: code("follow-up-pursued", string(res.Pursued), displayOf("follow-up-pursued", string(res.Pursued)))})
		}
		if res.Satisfaction > 0 {
			n := res.Satisfaction
			part = append(part, param{Name: "satisfaction", ValueInteger: &n})
		}
		if res.Wellbeing != "" {
			part = append(part, param{Name: "wellbeing", ValueCoding: code("follow-up-wellbeing", string(res.Wellbeing), displayOf("follow-up-wellbeing", string(res.Wellbeing)))})
		}
		if res.NextStep != "" {
			part = append(part, param{Name: "nextStep", ValueCoding: code("follow-up-next-step", string(res.NextStep), displayOf("follow-up-next-step", string(res.NextStep)))})
		}
		answered := len(rec.Results)
		part = append(part, param{Name: "followUpsAnswered", ValueInteger: &answered})
		ps = append(ps, param{Name: "outcome", Part: part})
	}
	b, _ := json.Marshal(struct {
		ResourceType string  `json:"resourceType"`
		Parameter    []param `json:"parameter"`
	}{"Parameters", ps}) // plain values only: always marshals
	return b
}
