package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/socialrx/socialrx/adapter/httpapi"
)

// TestEvaluateMeasurePeriod: the MeasureReport's period is the one the
// report used. A date is a day of Config.ReportZone (UTC when unset); a
// dateTime keeps its offset and, as periodEnd, includes that instant to its
// precision (R4 Period.end), so 23:59:59-05:00 keeps its last second.
func TestEvaluateMeasurePeriod(t *testing.T) {
	toronto, err := time.LoadLocation("America/Toronto")
	if err != nil {
		t.Fatal(err)
	}
	// Toronto's days: 1 November 2026 begins in daylight time (-04:00), 1
	// December in standard time (-05:00); a dateTime is unaffected.
	check := func(zone string, ts *testServer, cases []struct{ start, end, wantStart, wantEnd string }) {
		t.Helper()
		for _, c := range cases {
			q := url.Values{"periodStart": {c.start}, "periodEnd": {c.end}}
			body := ts.do(t, http.MethodGet, "/fhir/Measure/social-prescribing-effectiveness/$evaluate-measure?"+q.Encode(), "").want(t, http.StatusOK).body
			var mr struct{ Period struct{ Start, End string } }
			if err := json.Unmarshal(body, &mr); err != nil {
				t.Fatal(err)
			}
			if mr.Period.Start != c.wantStart || mr.Period.End != c.wantEnd {
				t.Errorf("%s: periodStart %s, periodEnd %s: period %s to %s, want %s to %s", zone, c.start, c.end, mr.Period.Start, mr.Period.End, c.wantStart, c.wantEnd)
			}
		}
	}
	check("Toronto", newServer(t, httpapi.Config{ReportZone: toronto}), []struct{ start, end, wantStart, wantEnd string }{
		{"2026-11-01", "2026-11-30", "2026-11-01T04:00:00Z", "2026-12-01T04:59:59.999Z"},
		{"2026-11", "2026-11", "2026-11-01T04:00:00Z", "2026-12-01T04:59:59.999Z"},
		{"2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z", "2026-11-01T00:00:00Z", "2026-11-30T23:59:59.999Z"},
	})
	check("UTC", newServer(t, httpapi.Config{}), []struct{ start, end, wantStart, wantEnd string }{
		{"2026-11-01", "2026-11-30", "2026-11-01T00:00:00Z", "2026-11-30T23:59:59.999Z"},
		{"2026-11", "2026-11", "2026-11-01T00:00:00Z", "2026-11-30T23:59:59.999Z"},
		{"2026-11-01T00:00:00-05:00", "2026-11-30T23:59:59-05:00", "2026-11-01T05:00:00Z", "2026-12-01T04:59:59.999Z"},
		{"2026-11-01T00:00:00Z", "2026-11-30T23:59:59.5Z", "2026-11-01T00:00:00Z", "2026-11-30T23:59:59.599Z"},
		{"2026-11-01T00:00:00Z", "2026-12-01T00:00:00.000Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00.000Z"},
	})
}
