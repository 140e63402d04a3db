package socialrx

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now2026 = time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)

func TestDefaultFollowUpIntervals(t *testing.T) {
	d := DefaultFollowUpIntervals()
	want := map[Form]time.Duration{FormSelfDirected: 14 * 24 * time.Hour, FormWarmHandoff: 21 * 24 * time.Hour, FormNavigator: 30 * 24 * time.Hour}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	d[FormNavigator] = time.Hour
	if DefaultFollowUpIntervals()[FormNavigator] != 30*24*time.Hour {
		t.Error("changing the returned map changed the defaults")
	}
}

func TestFollowUpDue(t *testing.T) {
	day := 24 * time.Hour
	custom := map[Form]time.Duration{FormWarmHandoff: 7 * day, FormNavigator: 0}
	tests := []struct {
		name      string
		form      Form
		authored  time.Time
		intervals map[Form]time.Duration
		want      time.Time
	}{
		{"self-directed default", FormSelfDirected, now2026, nil, now2026.Add(14 * day)},
		{"warm hand-off default", FormWarmHandoff, now2026, nil, now2026.Add(21 * day)},
		{"navigator default", FormNavigator, now2026, nil, now2026.Add(30 * day)},
		{"configured", FormWarmHandoff, now2026, custom, now2026.Add(7 * day)},
		{"configured zero takes the default", FormNavigator, now2026, custom, now2026.Add(30 * day)},
		{"missing from the configuration", FormSelfDirected, now2026, custom, now2026.Add(14 * day)},
		{"unknown form: the shortest default", "other", now2026, nil, now2026.Add(14 * day)},
		{"no authoredOn", FormNavigator, time.Time{}, nil, time.Time{}},
	}
	for _, tt := range tests {
		got := FollowUpDue(Prescription{Form: tt.form, AuthoredOn: tt.authored}, tt.intervals)
		if !got.Equal(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
