package mapping

import (
	"encoding/json"
	"math"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// Program is what a program listing shows of a HealthcareService and its
// Locations: read-only, from the stored JSON (HealthcareService, R4 and
// the extensions of hsds_in.go).
type Program struct {
	ID           string
	Name         string
	Active       bool
	Phone        string   // the first phone telecom
	Languages    []string // communication codes (or texts)
	Cost         string   // ExtCost
	LastVerified string   // ExtLastVerified, a date
	Capacity     string   // ExtCapacity status
	Locations    []string // "Location/id"
	hours        []availability
}

type availability struct {
	days       []string
	start, end string // hh:mm:ss, "" for open-ended
	allDay     bool
}

// ProgramOf reads a HealthcareService's JSON.
func ProgramOf(id string, body []byte) (Program, error) {
	var hs struct {
		Name      string
		Active    *bool
		Extension []struct {
			URL         string
			ValueString string
			ValueDate   string
			Extension   []struct {
				URL       string
				ValueCode string
			}
		}
		Telecom []struct {
			System, Value string
		}
		Communication []struct {
			Coding []coding
			Text   string
		}
		Location      []reference
		AvailableTime []struct {
			DaysOfWeek         []string
			AllDay             bool
			AvailableStartTime string
			AvailableEndTime   string
		}
	}
	if err := json.Unmarshal(body, &hs); err != nil {
		return Program{}, err
	}
	p := Program{ID: id, Name: hs.Name, Active: hs.Active == nil || *hs.Active}
	for _, e := range hs.Extension {
		switch e.URL {
		case ExtCost:
			p.Cost = e.ValueString
		case ExtLastVerified:
			p.LastVerified = e.ValueDate
		case ExtCapacity:
			for _, s := range e.Extension {
				if s.URL == "status" {
					p.Capacity = s.ValueCode
				}
			}
		}
	}
	for _, t := range hs.Telecom {
		if t.System == "phone" && p.Phone == "" {
			p.Phone = t.Value
		}
	}
	for _, c := range hs.Communication {
		switch {
		case len(c.Coding) > 0 && c.Coding[0].Code != "":
			p.Languages = append(p.Languages, c.Coding[0].Code)
		case c.Text != "":
			p.Languages = append(p.Languages, c.Text)
		}
	}
	for _, l := range hs.Location {
		// Location/id, also versioned (Location/id/_history/2): kept as
		// Location/id, the form the store reads. An absolute reference
		// names another server's Location: not ours to read.
		if r, err := fhir.ParseReference(l.Reference); err == nil && r.Kind == fhir.RefRelative && r.Type == "Location" && r.ID != "" {
			p.Locations = append(p.Locations, "Location/"+r.ID)
		}
	}
	for _, a := range hs.AvailableTime {
		p.hours = append(p.hours, availability{days: a.DaysOfWeek, start: a.AvailableStartTime, end: a.AvailableEndTime, allDay: a.AllDay})
	}
	return p, nil
}

// Status is the program's availability for the domain's checks
// (socialrx.ProgramStatus); a last-verified value that is not a date
// counts as none.
func (p Program) Status() socialrx.ProgramStatus {
	s := socialrx.ProgramStatus{Active: p.Active, Capacity: p.Capacity}
	if t, err := time.Parse(time.DateOnly, p.LastVerified); err == nil {
		s.LastVerified = t
	}
	return s
}

// HasHours reports whether the program gives its hours (availableTime).
func (p Program) HasHours() bool { return len(p.hours) > 0 }

// OpenAt reports whether the program is open at t by its availableTime.
// R4's availableTime has no time zone: the times are wall-clock times
// where the program is, so t must be in that zone (the caller's --tz);
// an entry without days applies every day, one without times all day
// (allDay or none given), and an end before the start runs past
// midnight. A program without availableTime is not known to be open:
// false.
func (p Program) OpenAt(t time.Time) bool {
	day := [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}[t.Weekday()]
	prev := [...]string{"sat", "sun", "mon", "tue", "wed", "thu", "fri"}[t.Weekday()]
	clock := t.Format("15:04:05")
	for _, a := range p.hours {
		on := func(d string) bool { return len(a.days) == 0 || contains(a.days, d) }
		switch {
		case a.allDay || (a.start == "" && a.end == ""):
			if on(day) {
				return true
			}
		case a.end != "" && a.start != "" && a.end < a.start: // past midnight
			if (on(day) && clock >= a.start) || (on(prev) && clock < a.end) {
				return true
			}
		default:
			if on(day) && (a.start == "" || clock >= a.start) && (a.end == "" || clock < a.end) {
				return true
			}
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// LocationPosition reads Location.position; ok is false without one or
// with a latitude or longitude out of range.
func LocationPosition(body []byte) (lat, lon float64, ok bool) {
	var l struct {
		Position *struct {
			Latitude  *float64
			Longitude *float64
		}
	}
	if json.Unmarshal(body, &l) != nil || l.Position == nil || l.Position.Latitude == nil || l.Position.Longitude == nil {
		return 0, 0, false
	}
	lat, lon = *l.Position.Latitude, *l.Position.Longitude
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) { // not a place: as if absent
		return 0, 0, false
	}
	return lat, lon, true
}

// DistanceKm is the great-circle distance between two points (haversine,
// mean earth radius 6371.0088 km).
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// TaskVerifyProgram is the task-code of the staff Task asking to check a
// program that has not been verified for too long (the daily stale
// programs check): Task?code=verify-program&status=requested is the work
// list.
const TaskVerifyProgram = "verify-program"

// VerifyProgramTask is the Task socialrx writes for a stale program:
// status requested, intent order, code task-code|verify-program, focus the
// HealthcareService, authoredOn now, and a description naming the date it
// was last verified (the program's name is directory data, not PHI).
func VerifyProgramTask(programRef, name, lastVerified string, now time.Time) []byte {
	task := map[string]any{
		"resourceType": "Task",
		"status":       "requested",
		"intent":       "order",
		"code":         map[string]any{"coding": []any{map[string]any{"system": socialrx.CodeSystemBase + "task-code", "code": TaskVerifyProgram, "display": "Check that a directory program is still offered: not verified for too long"}}},
		"focus":        map[string]any{"reference": programRef},
		"authoredOn":   now.UTC().Format(time.RFC3339),
		"description":  "Check that \"" + name + "\" is still offered and update its details; last verified on " + lastVerified + ".",
	}
	b, _ := json.Marshal(task) // strings and maps only
	return b
}

// VerifyProgramFocus returns the program reference a verify-program Task
// is about (its focus), "" when it has none.
func VerifyProgramFocus(task []byte) string {
	var t struct {
		Focus struct{ Reference string } `json:"focus"`
	}
	if json.Unmarshal(task, &t) != nil {
		return ""
	}
	return t.Focus.Reference
}

// CloseVerifyProgramTask returns task (a verify-program Task) with status
// set to status (completed or cancelled), statusReason text reason and
// lastModified now; every other element as it was.
func CloseVerifyProgramTask(task []byte, status, reason string, now time.Time) ([]byte, error) {
	o, err := fhir.ParseObject(task)
	if err != nil {
		return nil, err
	}
	s, _ := json.Marshal(status)
	r, _ := json.Marshal(map[string]string{"text": reason})
	lm, _ := json.Marshal(now.UTC().Format(time.RFC3339))
	o.Set("status", s)
	o.SetAfter("statusReason", r, "status")
	o.Set("lastModified", lm)
	return o.Bytes(), nil
}
