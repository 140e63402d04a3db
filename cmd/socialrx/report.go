package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	// The zone database in the binary: --tz (default America/Toronto)
	// must work on a host or image without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/mapping"
)

// ReportCmd groups the reports.
type ReportCmd struct {
	Programs ReportProgramsCmd `cmd:"" help:"What works: per program and per need domain, prescriptions, referrals, follow-up answers and days to first contact, with OHIP-billed visits by code. A referral counts for the program it was sent to; entered-in-error records count nowhere."`
}

// ReportProgramsCmd prints the program report (socialrx.ProgramReport).
type ReportProgramsCmd struct {
	From string `required:"" help:"First day of the period (YYYY-MM-DD: from midnight in --tz; or an RFC 3339 time with its offset), by the prescription's authoredOn."`
	To   string `required:"" help:"End of the period, exclusive (YYYY-MM-DD: up to midnight in --tz starting that day; or an RFC 3339 time with its offset)."`
	TZ   string `name:"tz" default:"America/Toronto" help:"Time zone (IANA name: America/Toronto, UTC) whose days --from and --to name when they are dates; an RFC 3339 time keeps its own offset."`
	CSV  bool   `name:"csv" help:"Write CSV (one row per group: total, program, need domain, OHIP fee code) instead of tables."`
	SVG  string `name:"svg" placeholder:"FILE" help:"Also write a bar chart of the pursued and improved rates by program to FILE (SVG)."`
	DatabaseFlag
}

// Run prints the report to standard output.
func (c *ReportProgramsCmd) Run(ctx context.Context) error { return c.run(ctx, os.Stdout) }

func (c *ReportProgramsCmd) run(ctx context.Context, w io.Writer) error {
	return c.runTo(ctx, w, os.Stderr)
}

// runTo writes the report to w; in CSV mode the note on undated
// prescriptions goes to ew, out of the CSV.
func (c *ReportProgramsCmd) runTo(ctx context.Context, w, ew io.Writer) error {
	loc, err := time.LoadLocation(c.TZ)
	if err != nil {
		return fmt.Errorf("%w: --tz %q: not a time zone (an IANA name: America/Toronto, UTC)", errUsage, c.TZ)
	}
	from, err := parseDay(c.From, "--from", loc)
	if err != nil {
		return err
	}
	to, err := parseDay(c.To, "--to", loc)
	if err != nil {
		return err
	}
	if !to.After(from) {
		return fmt.Errorf("%w: --to (%s) must be after --from (%s)", errUsage, c.To, c.From)
	}
	s, err := OpenExistingStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := programReport(ctx, s, from, to)
	if err != nil {
		return err
	}
	if c.SVG != "" {
		if err := writeChartFile(c.SVG, rep); err != nil {
			return err
		}
	}
	if c.CSV {
		if err := writeReportCSV(w, rep); err != nil {
			return err
		}
		if note := undatedNote(rep); note != "" {
			fmt.Fprintln(ew, "note: "+note)
		}
		return nil
	}
	return writeReportTable(w, rep)
}

// undatedNote says how many prescriptions the report left out for want
// of an authoredOn; "" when none.
func undatedNote(rep *socialrx.ProgramReport) string {
	switch rep.Undated {
	case 0:
		return ""
	case 1:
		return "1 prescription has no authoredOn: it is in no period and was left out."
	}
	return fmt.Sprintf("%d prescriptions have no authoredOn: they are in no period and were left out.", rep.Undated)
}

// programReport computes the report and names its groups (programs by
// their resources' names).
func programReport(ctx context.Context, s socialrx.Store, from, to time.Time) (*socialrx.ProgramReport, error) {
	rep, err := s.ProgramReport(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, p := range rep.Programs {
		if p.Key != "" {
			refs = append(refs, p.Key)
		}
	}
	bodies := map[string][]byte{}
	if len(refs) > 0 {
		rs, err := s.ReadMany(ctx, refs)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			bodies[r.Type+"/"+r.ID] = r.Body
		}
	}
	mapping.NameReport(rep, bodies)
	return rep, nil
}

// parseDay reads a date (YYYY-MM-DD: its midnight in loc) or an RFC 3339
// time (its own offset).
func parseDay(s, flag string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: %s %q is not a date (YYYY-MM-DD) or an RFC 3339 time", errUsage, flag, s)
}

// groupLabel is how a group is shown: its name, else its key.
func groupLabel(st socialrx.ReportStats, none string) string {
	switch {
	case st.Name != "":
		return st.Name
	case st.Key != "":
		return st.Key
	}
	return none
}

// noProgram labels prescriptions without a program.
const noProgram = "(no program)"

func pct(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%% (%d/%d)", 100*float64(n)/float64(d), n, d)
}

func mean(sum, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f (n=%d)", float64(sum)/float64(n), n)
}

func days(st socialrx.ReportStats) string {
	if st.Contacted == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f (n=%d)", st.MedianDaysToContact, st.Contacted)
}

// writeReportTable writes the report as three tables: programs (with the
// total), need domains, billed visits.
func writeReportTable(out io.Writer, rep *socialrx.ProgramReport) error {
	// The bounds as used, with their offsets: a date is its midnight in
	// --tz, an RFC 3339 time keeps the offset it was given.
	fmt.Fprintf(out, "Prescriptions authored from %s to %s (end exclusive)\n\n", rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339))
	head := "\tPRESCRIPTIONS\tREFERRALS\tACCEPTED\tREJECTED\tCOMPLETED\tPURSUED\tSATISFACTION\tIMPROVED\tDAYS TO FIRST CONTACT\n"
	row := func(w io.Writer, label string, st socialrx.ReportStats) {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", label, st.Prescriptions, st.Referrals, st.Accepted, st.Rejected, st.Completed,
			pct(st.Pursued, st.FollowedUp), mean(st.SatisfactionSum, st.SatisfactionN), pct(st.Improved, st.WellbeingN), days(st))
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprint(w, "PROGRAM"+head)
	for _, st := range rep.Programs {
		row(w, groupLabel(st, noProgram), st)
	}
	row(w, "All programs", rep.Total)
	fmt.Fprintln(w)
	fmt.Fprint(w, "NEED DOMAIN"+head)
	for _, st := range rep.Needs {
		row(w, groupLabel(st, ""), st)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "OHIP FEE CODE\tBILLED VISITS\tDESCRIPTION")
	names := map[string]string{}
	for _, c := range socialrx.OHIPFeeCodes() {
		names[c.Code] = c.Display
	}
	for _, b := range rep.Billed {
		fmt.Fprintf(w, "%s\t%d\t%s\n", b.Code, b.Visits, names[b.Code])
	}
	if len(rep.Billed) == 0 {
		fmt.Fprintln(w, "(none)\t0\t")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nPursued: latest follow-up answered yes or partly, of those followed up. Improved: well-being better, of those who answered.")
	fmt.Fprintln(out, "Satisfaction: mean of 1-5. Days to first contact: median, from authoredOn to the program's first answer to a referral.")
	if note := undatedNote(rep); note != "" {
		fmt.Fprintln(out, "Note: "+note)
	}
	return nil
}

// csvText neutralises a text cell that a spreadsheet would run as a
// formula (CSV injection: a program named "=HYPERLINK(...)"): one that
// starts with =, +, -, @, a tab or a carriage return gets a leading single
// quote, as OWASP advises. Only text from data goes through it, never the
// numbers.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// reportCSVHeader is the CSV header of writeReportCSV.
var reportCSVHeader = []string{"group", "key", "name", "prescriptions", "referrals", "accepted", "rejected", "completed",
	"followed_up", "pursued", "pursued_rate", "satisfaction_n", "mean_satisfaction", "wellbeing_n", "improved", "improved_rate",
	"referred", "contacted", "median_days_to_first_contact", "billed_visits"}

// writeReportCSV writes one row per group: total, each program, each
// need domain, each OHIP fee code billed (its count in billed_visits).
// Rates are fractions (0.625), empty when there is no denominator.
func writeReportCSV(out io.Writer, rep *socialrx.ProgramReport) error {
	w := csv.NewWriter(out)
	if err := w.Write(reportCSVHeader); err != nil {
		return err
	}
	itoa := strconv.Itoa
	frac := func(v float64, ok bool) string {
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
	row := func(group string, st socialrx.ReportStats) error {
		pr, pok := st.PursuedRate()
		ms, mok := st.MeanSatisfaction()
		ir, iok := st.ImprovedRate()
		med := ""
		if st.Contacted > 0 {
			med = strconv.FormatFloat(st.MedianDaysToContact, 'f', 2, 64)
		}
		return w.Write([]string{group, csvText(st.Key), csvText(st.Name), itoa(st.Prescriptions), itoa(st.Referrals), itoa(st.Accepted), itoa(st.Rejected),
			itoa(st.Completed), itoa(st.FollowedUp), itoa(st.Pursued), frac(pr, pok), itoa(st.SatisfactionN), frac(ms, mok),
			itoa(st.WellbeingN), itoa(st.Improved), frac(ir, iok), itoa(st.Referred), itoa(st.Contacted), med, ""})
	}
	if err := row("total", rep.Total); err != nil {
		return err
	}
	for _, st := range rep.Programs {
		if err := row("program", st); err != nil {
			return err
		}
	}
	for _, st := range rep.Needs {
		if err := row("need-domain", st); err != nil {
			return err
		}
	}
	names := map[string]string{}
	for _, c := range socialrx.OHIPFeeCodes() {
		names[c.Code] = c.Display
	}
	for _, b := range rep.Billed {
		rec := make([]string, len(reportCSVHeader))
		rec[0], rec[1], rec[2], rec[len(rec)-1] = "ohip-fee-code", csvText(b.Code), csvText(names[b.Code]), itoa(b.Visits)
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
