package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// measureReads are the types whose data $evaluate-measure reads: besides
// the Measure itself, the principal must be allowed to read each (the
// report is an aggregate of them).
var measureReads = []string{"Measure", "ServiceRequest", "Task", "QuestionnaireResponse", "ChargeItem", "HealthcareService"}

// handleEvaluateMeasure answers GET or POST
// /fhir/Measure/:id/$evaluate-measure?periodStart=&periodEnd= on one of
// socialrx's shipped Measures (mapping.Measures) with a summary
// MeasureReport (mapping.EvaluateMeasure) of the program report over the
// period (Store.ProgramReport). periodStart and periodEnd are FHIR dates
// or dateTimes. A date is a day (month, year) in Config.ReportZone (UTC
// when unset; serve's --tz, America/Toronto by default): a date end
// includes its whole day (2026-06-30 in UTC ends at 2026-07-01T00:00:00Z,
// in Toronto at 2026-07-01T04:00:00Z). A dateTime keeps its
// offset and, as an end, includes that instant to its precision, as R4
// Period.end does ("the end value includes any matching date/time"):
// 2026-11-30T23:59:59-05:00 includes that whole second, up to
// 2026-12-01T05:00:00Z exclusive. On POST they may
// come in the query, a form body, or a Parameters resource
// (valueDate/valueDateTime). A missing or bad period is 400; a Measure
// that is not a shipped one is 404.
func (s *Server) handleEvaluateMeasure(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if typ != "Measure" {
		return issueError(socialrx.ENOTFOUND, "", "$evaluate-measure is an operation on Measure, not %s", typ)
	}
	if !mapping.IsMeasure(id) {
		return issueError(socialrx.ENOTFOUND, "", "Measure/%s is not one of socialrx's Measures (%s)", id, strings.Join(mapping.MeasureIDs, ", "))
	}
	ctx := c.Request().Context()
	if p := socialrx.PrincipalFrom(ctx); p.Access != nil {
		for _, t := range measureReads {
			if !p.Permits(socialrx.InteractionRead, t) {
				return forbiddenError(socialrx.InteractionRead, t)
			}
		}
	}
	start, end, err := measureParams(c)
	if err != nil {
		return err
	}
	zone := s.cfg.ReportZone
	if zone == nil {
		zone = time.UTC
	}
	from, err := periodBound(start, "periodStart", false, zone)
	if err != nil {
		return err
	}
	to, err := periodBound(end, "periodEnd", true, zone)
	if err != nil {
		return err
	}
	if !to.After(from) {
		return issueError(socialrx.EINVALID, "periodEnd", "periodEnd (%s) must be after periodStart (%s)", end, start)
	}
	n := noteOf(c)
	n.entity, n.operation = "Measure/"+id, "$evaluate-measure"
	rep, err := s.store.ProgramReport(ctx, from, to)
	if err != nil {
		return err
	}
	if id != mapping.MeasureBilledVisits { // stratified by program
		// Programs are named from their resources, only those of types the
		// client may read (a performer may be an Organization or a
		// PractitionerRole as well as a HealthcareService); the others
		// keep their reference alone.
		principal := socialrx.PrincipalFrom(ctx)
		var refs []string
		for _, p := range rep.Programs {
			typ, _, _ := strings.Cut(p.Key, "/")
			if p.Key != "" && (principal.Access == nil || principal.Permits(socialrx.InteractionRead, typ)) {
				refs = append(refs, p.Key)
			}
		}
		bodies := map[string][]byte{}
		if len(refs) > 0 {
			rs, err := s.store.ReadMany(ctx, refs)
			if err != nil {
				return err
			}
			for _, r := range rs {
				bodies[r.Type+"/"+r.ID] = r.Body
			}
		}
		mapping.NameReport(rep, bodies)
	}
	return s.writeFHIR(c, http.StatusOK, mapping.EvaluateMeasure(id, rep, time.Now()))
}

// measureParams returns periodStart and periodEnd from the query, a form
// body or (POST, JSON) a Parameters resource.
func measureParams(c echo.Context) (start, end string, err error) {
	r := c.Request()
	q := r.URL.Query()
	start, end = q.Get("periodStart"), q.Get("periodEnd")
	if r.Method != http.MethodPost {
		return start, end, nil
	}
	ct := strings.ToLower(r.Header.Get(echo.HeaderContentType))
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if start == "" {
			start = c.FormValue("periodStart")
		}
		if end == "" {
			end = c.FormValue("periodEnd")
		}
	case strings.Contains(ct, "json"):
		if err := requireJSON(r); err != nil {
			return "", "", err
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return "", "", err
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			return start, end, nil
		}
		var p struct {
			ResourceType string `json:"resourceType"`
			Parameter    []struct {
				Name          string `json:"name"`
				ValueDate     string `json:"valueDate"`
				ValueDateTime string `json:"valueDateTime"`
			} `json:"parameter"`
		}
		if json.Unmarshal(b, &p) != nil || p.ResourceType != "Parameters" {
			return "", "", issueError(socialrx.EINVALID, "Parameters", "the body must be a Parameters resource with periodStart and periodEnd")
		}
		for _, prm := range p.Parameter {
			v := prm.ValueDate
			if v == "" {
				v = prm.ValueDateTime
			}
			switch prm.Name {
			case "periodStart":
				if start == "" {
					start = v
				}
			case "periodEnd":
				if end == "" {
					end = v
				}
			}
		}
	}
	return start, end, nil
}

// periodBound reads a period bound: a FHIR date (YYYY, YYYY-MM,
// YYYY-MM-DD, UTC) or dateTime. As an end, a date means the end of that
// year, month or day (the next one's first instant), a dateTime the end
// of its last digit (the next second, or the next millisecond for
// .123): the exclusive end of the report's period.
func periodBound(v, name string, isEnd bool, zone *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, issueError(socialrx.EINVALID, name, "%s is required (a date, 2026-01-01, or a dateTime)", name)
	}
	for _, l := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{time.RFC3339Nano, nil},
	} {
		t, err := time.ParseInLocation(l.layout, v, zone) // an RFC 3339 time keeps its offset
		if err != nil {
			continue
		}
		if t.Year() < 1 {
			return time.Time{}, issueError(socialrx.EINVALID, name, "%s %q: the year must be 0001 or later", name, v)
		}
		if isEnd && l.next != nil {
			t = l.next(t)
		} else if isEnd {
			t = t.Add(dateTimeUnit(v))
		}
		return t, nil
	}
	if strings.Contains(v, "T") {
		return time.Time{}, issueError(socialrx.EINVALID, name, "%s %q is not a FHIR dateTime: it needs seconds and a time zone (2026-01-01T00:00:00Z or 2026-01-01T00:00:00-05:00), or give a date (2026-01-01)", name, v)
	}
	return time.Time{}, issueError(socialrx.EINVALID, name, "%s %q is not a FHIR date or dateTime", name, v)
}

// dateTimeUnit is the precision of the RFC 3339 dateTime v: a second, or
// 10^-n of one for n fraction digits.
func dateTimeUnit(v string) time.Duration {
	unit := time.Second
	if i := strings.IndexByte(v, '.'); i >= 0 {
		for _, c := range v[i+1:] {
			if c < '0' || c > '9' || unit == time.Nanosecond {
				break
			}
			unit /= 10
		}
	}
	return unit
}
