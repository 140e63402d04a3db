package mapping

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestProgramOpenAt(t *testing.T) {
	body := []byte(`{"resourceType":"HealthcareService","name":"x","availableTime":[
		{"daysOfWeek":["mon","wed"],"availableStartTime":"09:00:00","availableEndTime":"17:00:00"},
		{"daysOfWeek":["fri"],"availableStartTime":"22:00:00","availableEndTime":"02:00:00"},
		{"daysOfWeek":["sun"],"allDay":true}]}`)
	p, err := ProgramOf("x", body)
	if err != nil {
		t.Fatal(err)
	}
	tz := time.FixedZone("EST", -5*3600)
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 6, day, hh, mm, 0, 0, tz) } // 2026-06-01 is a Monday
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{at(1, 9, 0), true},   // Monday at opening
		{at(1, 16, 59), true}, // Monday before closing
		{at(1, 17, 0), false}, // Monday at closing
		{at(2, 10, 0), false}, // Tuesday
		{at(3, 8, 59), false}, // Wednesday before opening
		{at(5, 23, 0), true},  // Friday night
		{at(6, 1, 30), true},  // past midnight into Saturday
		{at(6, 2, 0), false},  // Saturday at 2
		{at(7, 3, 0), true},   // Sunday, all day
	} {
		if got := p.OpenAt(tc.t); got != tc.want {
			t.Errorf("OpenAt(%s) = %v, want %v", tc.t.Format("Mon 15:04"), got, tc.want)
		}
	}
	none, _ := ProgramOf("y", []byte(`{"resourceType":"HealthcareService"}`))
	if none.HasHours() || none.OpenAt(at(1, 10, 0)) {
		t.Error("a program without hours is open")
	}
}

func TestDistanceKm(t *testing.T) {
	// Toronto City Hall to Montreal City Hall: about 504 km.
	if d := DistanceKm(43.6534, -79.3839, 45.5088, -73.5541); math.Abs(d-504) > 3 {
		t.Errorf("Toronto-Montreal %.1f km, want about 504", d)
	}
	if d := DistanceKm(43.65, -79.38, 43.65, -79.38); d != 0 {
		t.Errorf("same point %.3f km", d)
	}
}

// TestProgramLocations: relative Location references, versioned ones too,
// are the program's locations as Location/id; other targets and absolute
// references (another server's) are not.
func TestProgramLocations(t *testing.T) {
	p, err := ProgramOf("x", []byte(`{"resourceType":"HealthcareService","location":[
		{"reference":"Location/a"},{"reference":"Location/b/_history/3"},{"reference":"Organization/c"},
		{"reference":"https://other.example.org/fhir/Location/d"},{"display":"no reference"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Locations, " "); got != "Location/a Location/b" {
		t.Errorf("Locations = %q, want Location/a Location/b", got)
	}
}
