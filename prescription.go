package socialrx

import "time"

// Form is how a support is prescribed (the Ontario guide's three forms),
// coded in CodeSystemBase+"prescription-form".
type Form string

// The forms of prescription.
const (
	FormSelfDirected Form = "self-directed" // point the person to a support
	FormWarmHandoff  Form = "warm-handoff"  // refer them (eReferral, e-fax, call)
	FormNavigator    Form = "navigator"     // refer to a social prescribing navigator / link worker
)

// Channel is how a prescription reaches the program, coded in
// CodeSystemBase+"prescription-channel".
type Channel string

// The channels.
const (
	ChannelOceanEReferral Channel = "ocean-ereferral"
	ChannelEFax           Channel = "efax"
	ChannelPhone          Channel = "phone"
	ChannelInPerson       Channel = "in-person"
	ChannelSelf           Channel = "self" // the person contacts the program themselves
)

// ContactChannel is the person's preferred way to be followed up, coded in
// CodeSystemBase+"follow-up-channel".
type ContactChannel string

// The follow-up contact channels.
const (
	ContactEmail ContactChannel = "email"
	ContactText  ContactChannel = "text"
	ContactPhone ContactChannel = "phone"
	ContactMail  ContactChannel = "mail"
)

// Prescription is a social prescription, held in FHIR as a ServiceRequest
// (SDOH CC ServiceRequest profile) with its Task(s).
type Prescription struct {
	ID        string // the ServiceRequest id
	PatientID string
	Form      Form
	// FormDerived is true when the EMR did not send the form and socialrx
	// derived it (and wrote the derived category back on the ServiceRequest).
	FormDerived bool
	Needs       []NeedDomain
	NeedRefs    []string // "Condition/<id>" from ServiceRequest.reasonReference
	Code        Coding   // what is prescribed (ServiceRequest.code)
	// Target is the program or person: "HealthcareService/<id>",
	// "Organization/<id>" or "PractitionerRole/<id>"; "" for a
	// self-directed prescription without a pointer.
	Target      string
	Channel     Channel
	Status      string // ServiceRequest.status: draft, active, on-hold, revoked, completed, entered-in-error
	RequesterID string // "PractitionerRole/<id>" or "Practitioner/<id>"
	AuthoredOn  time.Time
	Identifiers []Coding // ServiceRequest.identifier as System/Code pairs (Code holds the value)
	FollowUp    *FollowUp
}

// FollowUp is the required follow-up of a prescription, held in FHIR as a
// Task (code socialrx follow-up) focused on the ServiceRequest.
type FollowUp struct {
	PrescriptionID string
	PatientID      string
	Due            time.Time
	Channel        ContactChannel
	Owner          string // "Practitioner/<id>", "PractitionerRole/<id>", "Organization/<id>"
	Status         string // Task.status
}

// AllForms returns the forms of prescription in the guide's order. The slice
// is new on every call.
func AllForms() []Form { return []Form{FormSelfDirected, FormWarmHandoff, FormNavigator} }

// Valid reports whether f is one of AllForms (the empty string is not valid).
func (f Form) Valid() bool { return f.Display() != "" }

// Display returns the English display of f used in the prescription-form
// CodeSystem and in Codings, or "" when f is not a known form.
func (f Form) Display() string {
	switch f {
	case FormSelfDirected:
		return "Self-directed (point to a support)"
	case FormWarmHandoff:
		return "Warm hand-off"
	case FormNavigator:
		return "Navigator referral"
	}
	return ""
}

// AllChannels returns the channels, electronic first. The slice is new on
// every call.
func AllChannels() []Channel {
	return []Channel{ChannelOceanEReferral, ChannelEFax, ChannelPhone, ChannelInPerson, ChannelSelf}
}

// Valid reports whether c is one of AllChannels (the empty string is not
// valid; Prescription.Validate allows an unset Channel where the form does).
func (c Channel) Valid() bool { return c.Display() != "" }

// Display returns the English display of c used in the prescription-channel
// CodeSystem and in Codings, or "" when c is not a known channel.
func (c Channel) Display() string {
	switch c {
	case ChannelOceanEReferral:
		return "Ocean eReferral"
	case ChannelEFax:
		return "eFax"
	case ChannelPhone:
		return "Phone call"
	case ChannelInPerson:
		return "In person"
	case ChannelSelf:
		return "Self (the person contacts the program)"
	}
	return ""
}

// AllContactChannels returns the follow-up contact channels in the order of
// the design (email, text, phone, mail). The slice is new on every call.
func AllContactChannels() []ContactChannel {
	return []ContactChannel{ContactEmail, ContactText, ContactPhone, ContactMail}
}

// Valid reports whether c is one of AllContactChannels (the empty string is
// not valid).
func (c ContactChannel) Valid() bool { return c.Display() != "" }

// Display returns the English display of c used in the follow-up-channel
// CodeSystem and in Codings, or "" when c is not a known channel.
func (c ContactChannel) Display() string {
	switch c {
	case ContactEmail:
		return "Email"
	case ContactText:
		return "Text message"
	case ContactPhone:
		return "Phone"
	case ContactMail:
		return "Mail"
	}
	return ""
}

// The derived search parameters (Fact.Param) of a prescription's
// ServiceRequest.
const (
	FactPrescriptionForm    = "prescription-form"
	FactPrescriptionChannel = "prescription-channel"
	FactNeedDomain          = "need-domain"
)

// Facts returns what socialrx knows of p beyond what its ServiceRequest
// says in so many words, as searchable facts: its form, its channel (when
// known) and each need domain, coded in socialrx's code systems. They are
// kept beside the ServiceRequest (ProjectionTx.PutFacts), never written
// into it: a client reads back exactly what it wrote.
func (p *Prescription) Facts() []Fact {
	var out []Fact
	if p.Form != "" {
		out = append(out, Fact{Param: FactPrescriptionForm, System: CodeSystemBase + "prescription-form", Code: string(p.Form)})
	}
	if p.Channel != "" {
		out = append(out, Fact{Param: FactPrescriptionChannel, System: CodeSystemBase + "prescription-channel", Code: string(p.Channel)})
	}
	for _, d := range p.Needs {
		out = append(out, Fact{Param: FactNeedDomain, System: CodeSystemBase + "need-domain", Code: string(d)})
	}
	return out
}
