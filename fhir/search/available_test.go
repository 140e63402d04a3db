package search

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAvailableRanges(t *testing.T) {
	day := func(d, h, m int) time.Time {
		return referenceWeek.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	last := func(d, h, m int) time.Time { return day(d, h, m).Add(-time.Microsecond) }
	for _, tc := range []struct {
		name string
		in   map[string]any
		want [][2]time.Time
	}{
		{"weekdays 9-17", map[string]any{"daysOfWeek": []any{"mon", "wed"}, "availableStartTime": "09:00:00", "availableEndTime": "17:00:00"},
			[][2]time.Time{{day(0, 9, 0), last(0, 17, 0)}, {day(2, 9, 0), last(2, 17, 0)}}},
		{"all day sunday", map[string]any{"daysOfWeek": []any{"sun"}, "allDay": true, "availableStartTime": "09:00:00"},
			[][2]time.Time{{day(6, 0, 0), last(7, 0, 0)}}},
		{"past midnight, sunday into monday", map[string]any{"daysOfWeek": []any{"sun"}, "availableStartTime": "22:00:00", "availableEndTime": "02:00:00"},
			[][2]time.Time{{day(6, 22, 0), last(7, 0, 0)}, {day(0, 0, 0), last(0, 2, 0)}}},
		{"no end: to midnight", map[string]any{"daysOfWeek": []any{"fri"}, "availableStartTime": "18:30:00"},
			[][2]time.Time{{day(4, 18, 30), last(5, 0, 0)}}},
		{"unknown day and no days", map[string]any{"daysOfWeek": []any{"someday"}}, nil},
		{"not an object", nil, nil},
	} {
		var in any = tc.in
		if tc.in == nil {
			in = "09:00"
		}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		got := availableRanges(treeOf(t, string(b)))
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if !got[i][0].Equal(tc.want[i][0]) || !got[i][1].Equal(tc.want[i][1]) {
				t.Errorf("%s: range %d = %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

func TestParseAvailableAt(t *testing.T) {
	sat1030 := referenceWeek.AddDate(0, 0, 5).Add(10*time.Hour + 30*time.Minute)
	for _, tc := range []struct {
		raw  string
		low  time.Time
		fail bool
	}{
		{"2026-12-05T10:30", sat1030, false},          // a Saturday, wall clock
		{"2026-12-05T10:30:59-05:00", sat1030, false}, // its own wall clock, not UTC
		{"eq2026-12-05T10:30Z", sat1030, false},
		{"2026-12-07T00:00", referenceWeek, false}, // Monday midnight
		{"2026-12-05", time.Time{}, true},          // no time
		{"gt2026-12-05T10:30", time.Time{}, true},
		{"soon", time.Time{}, true},
		{"xyz", time.Time{}, true},
		{"leisure", time.Time{}, true},
	} {
		v, msg := parseAvailableAt(tc.raw)
		// A bad value is named as a bad value, a prefix other than eq as
		// a prefix (audit of issue 14: "xyz" got "takes no prefix but eq").
		if tc.fail && strings.Contains(msg, "prefix") != strings.HasPrefix(tc.raw, "gt") {
			t.Errorf("%q: message %q", tc.raw, msg)
		}
		if (msg != "") != tc.fail {
			t.Errorf("%q: message %q, fail %v", tc.raw, msg, tc.fail)
			continue
		}
		if !tc.fail && (!v.Low.Equal(tc.low) || !v.High.Equal(tc.low.Add(time.Minute-time.Microsecond)) || v.Prefix != PrefixContains) {
			t.Errorf("%q: %v..%v %s, want %v", tc.raw, v.Low, v.High, v.Prefix, tc.low)
		}
	}
}

// TestAvailableAtIndexed: the parameter is served on HealthcareService and
// Index gives one date entry per day range of its hours.
func TestAvailableAtIndexed(t *testing.T) {
	body := []byte(`{"resourceType":"HealthcareService","id":"h","availableTime":[{"daysOfWeek":["mon","tue"],"availableStartTime":"09:00:00","availableEndTime":"12:00:00"},{"daysOfWeek":["sat"],"allDay":true}]}`)
	entries, err := Index("HealthcareService", body)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, e := range entries {
		if e.Param == availableAtParam {
			n++
			if e.Type != ParamDate || e.Low.Before(referenceWeek) || !e.High.Before(referenceWeek.AddDate(0, 0, 7)) {
				t.Errorf("entry %+v", e)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d available-at entries, want 3", n)
	}
}
