package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
	"github.com/socialrx/socialrx/mapping"
)

// ProgramsCmd is `socialrx programs`: the directory's programs for a need
// near a place, nearest first.
type ProgramsCmd struct {
	Need     string `placeholder:"DOMAIN" help:"Need domain (food, housing, finances, social-support, physical-activity, creative-expression, daily-living, childcare, medication-coverage, mental-health-substance-use)."`
	Near     string `required:"" placeholder:"LAT,LON" help:"Where the person is, as decimal degrees: 43.65,-79.38."`
	Within   string `default:"5km" placeholder:"DISTANCE" help:"How far to look: 5km, 800m or 3mi (at most 500km)."`
	Lang     string `placeholder:"CODE" help:"Only programs offered in this language (BCP 47 code: fr, en, pt...)."`
	OpenNow  bool   `help:"Only programs open now by their hours (availableTime, read in --tz)."`
	TZ       string `name:"tz" default:"America/Toronto" help:"Time zone of the programs' hours, for --open-now."`
	Inactive bool   `help:"Include inactive programs."`
	Limit    int    `default:"20" help:"How many programs to list."`
	DatabaseFlag
}

// ProgramRow is one line of the programs table.
type ProgramRow struct {
	mapping.Program
	DistanceKm float64
	OpenNow    bool
}

// Run lists the programs.
func (c *ProgramsCmd) Run(ctx context.Context) error {
	q, err := c.query()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	loc, err := time.LoadLocation(c.TZ)
	if err != nil {
		return fmt.Errorf("%w: --tz %q: not a time zone", errUsage, c.TZ)
	}
	s, err := OpenExistingStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer s.Close()
	rows, err := FindPrograms(ctx, s, q, time.Now().In(loc))
	if err != nil {
		return err
	}
	printPrograms(os.Stdout, rows, c.OpenNow)
	return nil
}

// ProgramQuery is a directory search: a need, a place, how far.
type ProgramQuery struct {
	Need              socialrx.NeedDomain
	Lat, Lon, WithinK float64
	Lang              string
	OpenNow           bool
	Inactive          bool
	Limit             int
}

func (c *ProgramsCmd) query() (ProgramQuery, error) {
	q := ProgramQuery{Need: socialrx.NeedDomain(c.Need), Lang: c.Lang, OpenNow: c.OpenNow, Inactive: c.Inactive, Limit: c.Limit}
	if c.Need != "" && (!q.Need.Valid() || q.Need == socialrx.DomainUnspecified) {
		return q, fmt.Errorf("--need %q: not a need domain", c.Need)
	}
	latS, lonS, ok := strings.Cut(c.Near, ",")
	var err1, err2 error
	q.Lat, err1 = strconv.ParseFloat(strings.TrimSpace(latS), 64)
	q.Lon, err2 = strconv.ParseFloat(strings.TrimSpace(lonS), 64)
	// Written as "not inside" so that NaN (which ParseFloat accepts) fails.
	if !ok || err1 != nil || err2 != nil || !(q.Lat >= -90 && q.Lat <= 90 && q.Lon >= -180 && q.Lon <= 180) {
		return q, fmt.Errorf("--near %q: want latitude,longitude in decimal degrees", c.Near)
	}
	// A number and a unit of near's ("5km", "800m", "3mi"; km when none).
	w := strings.ToLower(strings.TrimSpace(c.Within))
	i := strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || r == '[' })
	if i < 0 {
		i = len(w)
	}
	d, ok := search.NearDistanceKm(strings.TrimSpace(w[:i]), w[i:])
	if !ok || d == 0 {
		return q, fmt.Errorf("--within %q: want a distance such as 5km, 800m or 3mi, at most %gkm", c.Within, search.NearMaxKm)
	}
	q.WithinK = d
	if q.Limit < 1 || q.Limit > 1000 {
		return q, fmt.Errorf("--limit must be 1 to 1000")
	}
	return q, nil
}

// FindPrograms searches the directory (HealthcareService?location.near=
// &need-domain=&communication=&active=true, nearest first) and reads the
// programs' locations for their distance; with OpenNow, keeps those open
// at now (its zone is the programs' zone).
func FindPrograms(ctx context.Context, s socialrx.Resources, q ProgramQuery, now time.Time) ([]ProgramRow, error) {
	params := url.Values{
		"location.near": {strconv.FormatFloat(q.Lat, 'f', -1, 64) + "|" + strconv.FormatFloat(q.Lon, 'f', -1, 64) + "|" + strconv.FormatFloat(q.WithinK, 'f', -1, 64) + "|km"},
		"_total":        {"none"},
	}
	if q.Need != "" {
		params.Set("need-domain", string(q.Need))
	}
	if q.Lang != "" {
		params.Set("communication", q.Lang)
	}
	if !q.Inactive {
		params.Set("active", "true")
	}
	// Open-now filters after the search: read more than asked.
	count := q.Limit
	if q.OpenNow {
		count = min(q.Limit*5, 1000)
	}
	params.Set("_count", strconv.Itoa(count))
	res, err := s.Search(ctx, socialrx.SearchRequest{Type: "HealthcareService", Params: params})
	if err != nil {
		return nil, err
	}
	var refs []string
	programs := make([]mapping.Program, 0, len(res.Matches))
	for _, m := range res.Matches {
		p, err := mapping.ProgramOf(m.ID, m.Body)
		if err != nil {
			continue
		}
		programs = append(programs, p)
		refs = append(refs, p.Locations...)
	}
	locs, err := s.ReadMany(ctx, refs)
	if err != nil {
		return nil, err
	}
	dist := map[string]float64{}
	for _, l := range locs {
		if lat, lon, ok := mapping.LocationPosition(l.Body); ok {
			dist["Location/"+l.ID] = mapping.DistanceKm(q.Lat, q.Lon, lat, lon)
		}
	}
	var out []ProgramRow
	for _, p := range programs {
		row := ProgramRow{Program: p, DistanceKm: -1, OpenNow: p.OpenAt(now)}
		for _, l := range p.Locations {
			if d, ok := dist[l]; ok && (row.DistanceKm < 0 || d < row.DistanceKm) {
				row.DistanceKm = d
			}
		}
		if q.OpenNow && !row.OpenNow {
			continue
		}
		out = append(out, row)
		if len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func printPrograms(w io.Writer, rows []ProgramRow, openNow bool) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no programs found")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KM\tPROGRAM\tPHONE\tLANGUAGES\tCOST\tCAPACITY\tVERIFIED\tOPEN NOW\tID")
	for _, r := range rows {
		open := "no"
		switch {
		case r.OpenNow:
			open = "yes"
		case !r.HasHours():
			open = "?"
		}
		fmt.Fprintf(tw, "%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.DistanceKm, clip(r.Name, 40), dash(r.Phone), dash(strings.Join(r.Languages, ",")),
			dash(clip(r.Cost, 20)), dash(r.Capacity), dash(r.LastVerified), open, "HealthcareService/"+r.ID)
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
