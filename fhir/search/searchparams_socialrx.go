package search

// SearchParameterBase is the canonical base of socialrx's own
// SearchParameter definitions.
const SearchParameterBase = "http://socialrx.dev/fhir/SearchParameter/"

// socialrxSearchParams are search parameters socialrx defines beyond R4, for
// the work lists of social prescribing. They are merged into the R4 table,
// served like any other parameter and listed in the CapabilityStatement
// with their definition URL.
var socialrxSearchParams = map[string][]SearchParam{
	"Task": {
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
