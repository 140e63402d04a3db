package search

// SearchParameterBase is the canonical base of socialrx's own
// SearchParameter definitions.
const SearchParameterBase = "http://socialrx.dev/fhir/SearchParameter/"

// socialrxCodeSystemBase is the canonical base of socialrx's code systems
// (socialrx.CodeSystemBase; package search does not import the root).
const socialrxCodeSystemBase = "http://socialrx.dev/fhir/CodeSystem/"

// socialrxSearchParams are search parameters socialrx defines beyond R4, for
// the work lists of social prescribing. They are merged into the R4 table,
// served like any other parameter and listed in the CapabilityStatement
// with their definition URL.
var socialrxSearchParams = map[string][]SearchParam{
	// R4's near (type special): generated R4 tables leave special
	// parameters out; this one socialrx serves, on its own index kind
	// (sqlstore: kind 'g', migration 00007). near=latitude|longitude|distance|units.
	"Location": {
		{Name: "near", Type: ParamSpecial, Resource: "Location", Expression: "Location.position", URL: "http://hl7.org/fhir/SearchParameter/Location-near"},
	},
	// The program directory (issue 14): programs found by need, language,
	// cost and eligibility text, last verification and capacity.
	"HealthcareService": {
		{Name: "need-domain", Type: ParamToken, Resource: "HealthcareService", URL: SearchParameterBase + "HealthcareService-need-domain",
			Expression: "HealthcareService.category.coding.where(system='" + socialrxCodeSystemBase + "need-domain') | HealthcareService.type.coding.where(system='" + socialrxCodeSystemBase + "need-domain') | HealthcareService.specialty.coding.where(system='" + socialrxCodeSystemBase + "need-domain')"},
		{Name: "communication", Type: ParamToken, Resource: "HealthcareService", URL: SearchParameterBase + "HealthcareService-communication",
			Expression: "HealthcareService.communication"},
		{Name: "eligibility", Type: ParamString, Resource: "HealthcareService", URL: SearchParameterBase + "HealthcareService-eligibility",
			Expression: "HealthcareService.eligibility.comment"},
		{Name: "cost", Type: ParamString, Resource: "HealthcareService", URL: SearchParameterBase + "HealthcareService-cost",
			Expression: "HealthcareService.extension('http://socialrx.dev/fhir/StructureDefinition/cost').valueString"},
		{Name: "last-verified", Type: ParamDate, Resource: "HealthcareService", URL: SearchParameterBase + "HealthcareService-last-verified",
			Expression: "HealthcareService.extension('http://socialrx.dev/fhir/StructureDefinition/last-verified').valueDate"},
		{Name: "capacity", Type: ParamToken, Resource: "HealthcareService", URL: SearchParameterBase + "HealthcareService-capacity",
			Expression: "HealthcareService.extension('http://socialrx.dev/fhir/StructureDefinition/capacity').extension('status').valueCode"},
		// Open at a moment by the weekly hours (available.go):
		// HealthcareService?available-at=2026-12-05T10:30.
		{Name: availableAtParam, Type: ParamDate, Resource: "HealthcareService", URL: SearchParameterBase + "HealthcareService-available-at",
			Expression:  "HealthcareService.availableTime",
			Description: "Programs open at a moment by their weekly hours (availableTime: daysOfWeek, allDay, availableStartTime, availableEndTime). The value is a dateTime with the time (2026-12-05T10:30, an offset allowed); its wall clock is compared with the hours, which are the program's local time. No prefix but eq. Programs without hours are not found."},
	},
	"ServiceRequest": {
		// What socialrx derived of a social prescription (issue 12: the
		// client's ServiceRequest is stored as sent; the derived facts are
		// kept beside it and found by these parameters).
		{Name: "prescription-form", Type: ParamToken, Resource: "ServiceRequest", Derived: true, URL: SearchParameterBase + "ServiceRequest-prescription-form",
			Expression: "The form of a social prescription (" + socialrxCodeSystemBase + "prescription-form: self-directed, warm-handoff, navigator), as sent in ServiceRequest.category or derived from its performer"},
		{Name: "prescription-channel", Type: ParamToken, Resource: "ServiceRequest", Derived: true, URL: SearchParameterBase + "ServiceRequest-prescription-channel",
			Expression: "How a social prescription reaches the program (" + socialrxCodeSystemBase + "prescription-channel: ocean-ereferral, efax, phone, in-person, self), as sent or derived from the performer's Endpoints"},
		{Name: "need-domain", Type: ParamToken, Resource: "ServiceRequest", Derived: true, URL: SearchParameterBase + "ServiceRequest-need-domain",
			Expression: "The areas of need a social prescription addresses (" + socialrxCodeSystemBase + "need-domain), from its category, code and reason Conditions"},
	},
	"Task": {
		// The staff work list of warm hand-offs no platform carries: the
		// referral Tasks of eFax and phone prescriptions, whether the EMR
		// sent the Task or socialrx created it: Task?work-list=send-fax;
		// and the referrals held until the patient's Consent permits
		// sharing them (serve --require-consent): consent-needed; the
		// rejected referrals not re-referred: rejected-unhandled; the
		// follow-up's staff Tasks: call-patient, print-letter. Keep the
		// list in step with workflow.WorkLists (a test checks it).
		{Name: "work-list", Type: ParamToken, Resource: "Task", Derived: true, URL: SearchParameterBase + "Task-work-list",
			Expression: "The staff work list a Task is on (" + socialrxCodeSystemBase + "task-code): send-fax, call-to-confirm, a fax or phone hand-off's referral Task, from its prescription's channel; consent-needed, a referral held for the patient's consent; rejected-unhandled, a referral its program rejected while the prescription has no newer referral; call-patient, print-letter, a follow-up's staff Task for reaching the patient"},
		// The due date of a follow-up or patient Task. socialrx writes it in
		// Task.restriction.period.end ("when the task should be done by",
		// as the SDOH Clinical Care IG's patient Tasks do); R4 has no
		// parameter on that element. Work list: Task?code=...|follow-up&due-date=le2026-12-01&owner=...
		{Name: "due-date", Type: ParamDate, Resource: "Task", Expression: "Task.restriction.period.end", URL: SearchParameterBase + "Task-due-date"},
		// The delivery state socialrx writes on a referral Task whose
		// eReferral message failed for good (dead-lettered), so staff find
		// hand-offs that never arrived: Task?delivery-state=failed.
		{Name: "delivery-state", Type: ParamToken, Resource: "Task", Expression: "Task.extension('http://socialrx.dev/fhir/StructureDefinition/delivery-state').valueCode", URL: SearchParameterBase + "Task-delivery-state"},
	},
}
