package search

import (
	"time"

	"github.com/socialrx/socialrx/fhir"
)

// searchDateMin and searchDateMax are the bounds of the date ranges in
// IndexEntry: a Period without a start begins at searchDateMin, one without
// an end (still going on) ends at searchDateMax.
var (
	searchDateMin = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	searchDateMax = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// dateNodeRange returns the instant range of a date, dateTime or instant
// string, a Period or a Timing (from its earliest to its latest event, or its
// repeat.boundsPeriod).
func dateNodeRange(v fhir.Node) (low, high time.Time, ok bool) {
	switch v.Kind() {
	case fhir.JSONString:
		s, _ := v.Str()
		return parseDateRange(s)
	case fhir.JSONObject:
		if ev := v.Get("event"); ev.Kind() == fhir.JSONArray {
			for x := range ev.Items() {
				s, _ := x.Str()
				if l, h, ok1 := parseDateRange(s); ok1 {
					if !ok || l.Before(low) {
						low = l
					}
					if !ok || h.After(high) {
						high = h
					}
					ok = true
				}
			}
			return low, high, ok
		}
		if rep := v.Get("repeat"); rep.Kind() == fhir.JSONObject {
			if bp := rep.Get("boundsPeriod"); bp.Kind() == fhir.JSONObject {
				return periodRange(bp)
			}
			return low, high, false
		}
		return periodRange(v)
	}
	return low, high, false
}

// periodRange returns the range of a Period: a missing start is
// searchDateMin, a missing end searchDateMax; a Period with neither, or with
// an unreadable bound, has no range.
func periodRange(p fhir.Node) (low, high time.Time, ok bool) {
	start, hasStart := p.Get("start").Str()
	end, hasEnd := p.Get("end").Str()
	if !hasStart && !hasEnd {
		return low, high, false
	}
	low, high = searchDateMin, searchDateMax
	if hasStart {
		if low, _, ok = parseDateRange(start); !ok {
			return low, high, false
		}
	}
	if hasEnd {
		if _, high, ok = parseDateRange(end); !ok {
			return low, high, false
		}
	}
	return low, high, true
}

// parseDateRange parses a FHIR date, dateTime or instant, or a date search
// value (which may stop at minutes): YYYY, YYYY-MM, YYYY-MM-DD,
// YYYY-MM-DDThh:mm[:ss[.fff...]][Z|(+|-)hh:mm]. It returns the range of
// instants the value covers at its precision, in UTC, at microsecond
// resolution: "2020-03" covers 2020-03-01T00:00:00 to
// 2020-03-31T23:59:59.999999. A time without a zone is taken as UTC.
func parseDateRange(s string) (low, high time.Time, ok bool) {
	num := func(i, n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok := num(0, 4)
	if !ok || year < 1 {
		return low, high, false
	}
	if len(s) == 4 {
		low = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		return low, low.AddDate(1, 0, 0).Add(-time.Microsecond), true
	}
	if s[4] != '-' {
		return low, high, false
	}
	month, ok := num(5, 2)
	if !ok || month < 1 || month > 12 {
		return low, high, false
	}
	if len(s) == 7 {
		low = time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
		return low, low.AddDate(0, 1, 0).Add(-time.Microsecond), true
	}
	if len(s) < 10 || s[7] != '-' {
		return low, high, false
	}
	day, ok := num(8, 2)
	if !ok || day < 1 || day > daysIn(year, month) {
		return low, high, false
	}
	if len(s) == 10 {
		low = time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
		return low, low.AddDate(0, 0, 1).Add(-time.Microsecond), true
	}
	if s[10] != 'T' || len(s) < 16 || s[13] != ':' {
		return low, high, false
	}
	hour, ok1 := num(11, 2)
	minute, ok2 := num(14, 2)
	if !ok1 || !ok2 || hour > 23 || minute > 59 {
		return low, high, false
	}
	i := 16
	sec, nsec := 0, 0
	span := time.Minute
	if i < len(s) && s[i] == ':' {
		if sec, ok = num(i+1, 2); !ok || sec > 59 {
			return low, high, false
		}
		i += 3
		span = time.Second
		if i < len(s) && s[i] == '.' {
			j := i + 1
			digits := 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				if digits < 6 {
					nsec = nsec*10 + int(s[j]-'0')
					digits++
				}
				j++
			}
			if j == i+1 {
				return low, high, false
			}
			span = time.Microsecond
			for d := digits; d < 6; d++ {
				nsec *= 10
				span *= 10
			}
			nsec *= 1000
			i = j
		}
	}
	loc := time.UTC
	switch {
	case i == len(s):
	case s[i] == 'Z' && i+1 == len(s):
	case (s[i] == '+' || s[i] == '-') && len(s) == i+6 && s[i+3] == ':':
		zh, ok1 := num(i+1, 2)
		zm, ok2 := num(i+4, 2)
		if !ok1 || !ok2 || zh > 14 || zm > 59 {
			return low, high, false
		}
		off := zh*3600 + zm*60
		if s[i] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return low, high, false
	}
	low = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc).UTC()
	return low, low.Add(span - time.Microsecond), true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
