package mapping

import (
	"encoding/json"
	"time"

	"github.com/socialrx/socialrx"
)

// consentJSON is the part of an R4 Consent that ConsentFromResource reads.
type consentJSON struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Status       string           `json:"status"`
	Scope        *codeableConcept `json:"scope"`
	Patient      *reference       `json:"patient"`
	Provision    *provisionJSON   `json:"provision"`
}

type provisionJSON struct {
	Type   string `json:"type"`
	Period *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	Actor []struct {
		Reference *reference `json:"reference"`
	} `json:"actor"`
	Action        []codeableConcept `json:"action"`
	SecurityLabel []json.RawMessage `json:"securityLabel"`
	Purpose       []coding          `json:"purpose"`
	Class         []json.RawMessage `json:"class"`
	Code          []json.RawMessage `json:"code"`
	DataPeriod    json.RawMessage   `json:"dataPeriod"`
	Data          []json.RawMessage `json:"data"`
	Provision     []provisionJSON   `json:"provision"`
}

// ConsentFromResource reads an R4 Consent (http://hl7.org/fhir/R4/consent.html)
// for socialrx.ConsentPermits:
//
//   - ID: Consent.id; Status: Consent.status;
//   - Privacy: Consent.scope has a coding
//     http://terminology.hl7.org/CodeSystem/consentscope|patient-privacy;
//   - PatientID: the id of Consent.patient (Patient/<id>, relative or
//     absolute); "" when it names no Patient;
//   - Provision: Consent.provision and its nested provisions: type,
//     period (start; end made exclusive: a date given to the day, month or
//     year ends after its last day, month or year, a dateTime one second
//     after it), actor.reference as "Type/id" (others left out), purpose,
//     action codings, and Narrowed when it has securityLabel, class, code,
//     dataPeriod or data.
//
// Elements it does not read are not checked. Errors are EINVALID for
// malformed JSON, another resourceType or a wrong JSON type in an element
// it reads (the server has validated Consents on write).
func ConsentFromResource(body []byte) (*socialrx.Consent, error) {
	var c consentJSON
	if err := decodeResource(body, "Consent", &c, &c.ResourceType); err != nil {
		return nil, err
	}
	out := &socialrx.Consent{ID: c.ID, Status: c.Status, Privacy: c.Scope.has(socialrx.ConsentScopeSystem, socialrx.ConsentScopePrivacy)}
	if c.Patient != nil {
		if typ, id, ok := refTypeID(c.Patient.Reference); ok && typ == "Patient" {
			out.PatientID = id
		}
	}
	if c.Provision != nil {
		p := provisionOf(*c.Provision, 0)
		out.Provision = &p
	}
	return out, nil
}

func provisionOf(p provisionJSON, depth int) socialrx.ConsentProvision {
	out := socialrx.ConsentProvision{
		Type:     p.Type,
		Narrowed: len(p.SecurityLabel) > 0 || len(p.Class) > 0 || len(p.Code) > 0 || len(p.Data) > 0 || (len(p.DataPeriod) > 0 && string(p.DataPeriod) != "null"),
	}
	if p.Period != nil {
		out.Start, _ = periodBound(p.Period.Start, false)
		out.End, _ = periodBound(p.Period.End, true)
		if p.Period.End != "" && out.End.IsZero() {
			// An end that cannot be read must not leave the rule open: it
			// ends before it starts, so it never applies.
			out.End = time.Unix(0, 0)
		}
	}
	for _, a := range p.Actor {
		if a.Reference == nil {
			continue
		}
		if typ, id, ok := refTypeID(a.Reference.Reference); ok {
			out.Actors = append(out.Actors, typ+"/"+id)
		}
	}
	for _, c := range p.Purpose {
		out.Purposes = append(out.Purposes, socialrx.Coding{System: c.System, Code: c.Code, Display: c.Display})
	}
	for _, a := range p.Action {
		for _, c := range a.Coding {
			out.Actions = append(out.Actions, socialrx.Coding{System: c.System, Code: c.Code, Display: c.Display})
		}
	}
	if depth < 32 {
		for _, c := range p.Provision {
			out.Provisions = append(out.Provisions, provisionOf(c, depth+1))
		}
	}
	return out
}

// periodBound parses a Period.start (end false) or Period.end (end true)
// as an instant; an end is made exclusive by its precision.
func periodBound(s string, end bool) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, l := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{time.RFC3339Nano, func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	} {
		if t, err := time.Parse(l.layout, s); err == nil {
			if end {
				t = l.next(t)
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// ConsentPatient returns the id of the Patient a Consent is about, ""
// when body is not a Consent or names none.
func ConsentPatient(body []byte) string {
	c, err := ConsentFromResource(body)
	if err != nil {
		return ""
	}
	return c.PatientID
}

// Recipients returns the program a referral shares data with, as the
// references socialrx.ConsentPermits matches Consent actors against: each
// of refs (the referral's owner, the prescription's target) and, through
// r, a HealthcareService's providedBy Organization and a PractitionerRole's
// organization. Each reference appears once, in that order.
func Recipients(r Resolver, refs ...string) []string {
	var out []string
	add := func(ref string) {
		typ, id, ok := refTypeID(ref)
		if !ok {
			return
		}
		ref = typ + "/" + id
		for _, o := range out {
			if o == ref {
				return
			}
		}
		out = append(out, ref)
	}
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		add(ref)
		typ, id, ok := refTypeID(ref)
		if !ok || (typ != "HealthcareService" && typ != "PractitionerRole") {
			continue
		}
		b, ok := r.resolve(typ + "/" + id)
		if !ok {
			continue
		}
		var h holder
		if decodeResource(b, typ, &h, &h.ResourceType) != nil {
			continue
		}
		for _, org := range []*reference{h.ProvidedBy, h.Organization} {
			if org != nil && org.Reference != "" {
				add(org.Reference)
			}
		}
	}
	return out
}
