package search

import (
	"fmt"
	"strings"
	"time"

	"github.com/socialrx/socialrx/fhir"
)

// available-at: programs open at a moment, by their weekly hours
// (HealthcareService.availableTime). R4 has no such parameter, and
// availableTime has no dates: days of the week and wall-clock times where
// the program is. socialrx indexes each availableTime as ranges of one
// reference week (referenceWeek, a Monday, UTC: Monday 09:00-17:00 is
// 2001-01-01T09:00 to 17:00), one range per day, a range past midnight
// cut in two; and a search value (a dateTime with at least minutes) is
// moved to the same moment of that week, by its own wall clock (the
// client gives the time where the programs are: 2026-12-05T10:30-05:00
// is Saturday 10:30). It is then a date search: eq, the range holding the
// moment (PrefixContains). Programs with no hours are never found by it.
const availableAtParam = "available-at"

// PrefixContains is the Value.Prefix of a date value that matches a stored
// range holding the value's whole range: what available-at means (the
// hours hold the moment). It is not an R4 prefix (R4's eq is the other way
// round: the search range holds the stored one), so no client can send it;
// only available-at's parser sets it.
const PrefixContains = "contains"

// referenceWeek is Monday 2001-01-01 00:00 UTC.
var referenceWeek = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// weekDays are R4's daysOfWeek codes, Monday first.
var weekDays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// availableRanges are the reference-week ranges [low, high] (high the last
// microsecond) of one availableTime element.
func availableRanges(at fhir.Node) [][2]time.Time {
	if at.Kind() != fhir.JSONObject {
		return nil
	}
	days := at.Get("daysOfWeek")
	start, end := 0*time.Minute, 24*time.Hour
	if all, _ := at.Get("allDay").Bool(); !all {
		if s, ok := at.Get("availableStartTime").Str(); ok {
			if d, ok := clockTime(s); ok {
				start = d
			}
		}
		if s, ok := at.Get("availableEndTime").Str(); ok {
			if d, ok := clockTime(s); ok && d > 0 {
				end = d
			}
		}
	}
	var out [][2]time.Time
	add := func(day int, from, to time.Duration) {
		if to <= from {
			return
		}
		base := referenceWeek.AddDate(0, 0, day%7)
		out = append(out, [2]time.Time{base.Add(from), base.Add(to - time.Microsecond)})
	}
	for d := range days.Items() {
		code, _ := d.Str()
		day := dayIndex(code)
		if day < 0 {
			continue
		}
		if end > start {
			add(day, start, end)
			continue
		}
		// Closes after midnight: to the end of the day, then the next
		// morning (Sunday night runs into Monday).
		add(day, start, 24*time.Hour)
		add(day+1, 0, end)
	}
	return out
}

func dayIndex(code string) int {
	for i, d := range weekDays {
		if d == code {
			return i
		}
	}
	return -1
}

// clockTime reads an R4 time (hh:mm:ss, hh:mm accepted) as the duration
// since midnight.
func clockTime(s string) (time.Duration, bool) {
	for _, layout := range []string{"15:04:05", "15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second, true
		}
	}
	return 0, false
}

// parseAvailableAt parses an available-at value: a dateTime to the minute
// or second, with or without an offset; eq is the only prefix.
func parseAvailableAt(raw string) (Value, string) {
	v := Value{Raw: raw, Prefix: PrefixContains}
	s := raw
	// A prefix is one of R4's, before a digit ("xyz" or "soon" is a bad
	// value, not a bad prefix).
	if len(s) > 2 && s[2] >= '0' && s[2] <= '9' && searchPrefixes[s[:2]] {
		if !strings.HasPrefix(s, "eq") {
			return v, "available-at takes no prefix but eq: it finds the programs open at that moment"
		}
		s = s[2:]
	}
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		day := (int(t.Weekday()) + 6) % 7 // Monday 0
		at := referenceWeek.AddDate(0, 0, day).Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
		v.Low, v.High = at, at.Add(time.Minute-time.Microsecond)
		return v, ""
	}
	return v, fmt.Sprintf("invalid available-at value %q: want a dateTime with the time, 2026-12-05T10:30 (the programs' local time)", raw)
}
