package httpapi

import (
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// careDateParams are, per type of the patient compartment, the date search
// parameters that give a resource's care date for Patient/$everything's
// start and end (R4 leaves "care date" to the server): the first of them
// that has a value decides. What happened or was decided for the patient
// comes first (an Observation's effective time, a prescription's
// authoredOn, a Task's authoredOn), then when it was recorded or is due.
// A type not listed, or a resource with none of its parameters, has no
// care date and is kept: a range narrows the dated record, it does not
// hide the undated part of it (a Consent without dateTime, a Condition
// without onset). The Patient is always kept; the resources the kept ones
// reference come as includes, as without a range.
var careDateParams = map[string][]string{
	"Appointment":           {"date"},
	"ChargeItem":            {"occurrence", "entered-date"},
	"Communication":         {"sent", "received"},
	"CommunicationRequest":  {"authored", "occurrence"},
	"Condition":             {"onset-date", "recorded-date"},
	"Consent":               {"date", "period"},
	"DocumentReference":     {"period", "date"},
	"Encounter":             {"date"},
	"Goal":                  {"start-date", "target-date"},
	"MeasureReport":         {"period", "date"},
	"Observation":           {"date"},
	"Procedure":             {"date"},
	"Provenance":            {"when", "recorded"},
	"QuestionnaireResponse": {"authored"},
	"ServiceRequest":        {"authored", "occurrence"},
	"Task":                  {"authored-on", "period"},
}

// careRange is a care date range, [low, high] in UTC at microseconds, as
// the search index keeps dates; the zero careRange keeps everything.
type careRange struct {
	set       bool
	low, high time.Time
}

var (
	careMin = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	careMax = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// careRangeOf parses $everything's start and end (periodBound: a FHIR
// date, YYYY, YYYY-MM or YYYY-MM-DD, in UTC, or a dateTime): start is the
// first moment of its date, end the last of its own (end=2026-01 runs to
// the end of January). Either may be left out.
func careRangeOf(start, end string) (careRange, error) {
	if start == "" && end == "" {
		return careRange{}, nil
	}
	r := careRange{set: true, low: careMin, high: careMax}
	if start != "" {
		lo, err := periodBound(start, "start", false, time.UTC)
		if err != nil {
			return r, err
		}
		r.low = lo.UTC().Truncate(time.Microsecond)
	}
	if end != "" {
		hi, err := periodBound(end, "end", true, time.UTC) // exclusive
		if err != nil {
			return r, err
		}
		r.high = hi.UTC().Truncate(time.Microsecond).Add(-time.Microsecond)
	}
	if r.high.Before(r.low) {
		return r, issueError(socialrx.EINVALID, "end", "end is before start")
	}
	return r, nil
}

// holds reports whether res is in the range: its care date overlaps it,
// or it has none (see careDateParams).
func (r careRange) holds(res *socialrx.Resource) bool {
	if !r.set {
		return true
	}
	params := careDateParams[res.Type]
	if len(params) == 0 {
		return true
	}
	entries, err := search.Index(res.Type, res.Body)
	if err != nil {
		return true // a stored body is JSON; nothing to judge it by otherwise
	}
	for _, p := range params {
		dated := false
		for _, e := range entries {
			if e.Param != p || e.Type != search.ParamDate {
				continue
			}
			dated = true
			if !e.High.Before(r.low) && !e.Low.After(r.high) {
				return true
			}
		}
		if dated {
			return false
		}
	}
	return true
}
