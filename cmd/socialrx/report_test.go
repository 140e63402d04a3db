package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/fhir"
)

// reportCase is one prescription of the report scenario: what the clinic
// prescribed, what the program did with the referral and what the person
// said at follow-up. The expected report is computed from these, in the
// test, by the report's definitions.
type reportCase struct {
	program  string   // HealthcareService id; "" none
	need     string   // SDOH CC category code
	domain   string   // its socialrx need domain
	authored string   // day in 2026 (10:00 UTC), or an RFC 3339 time
	statuses []string // the referral Task's statuses in order, one day apart from day 2 on; nil no referral
	pursued  string   // "" no follow-up
	sat      int
	wb       string
	sentTo   string // the referral Task's owner when not owner(program): the program it was sent to before the EMR moved the prescription
}

var reportPrograms = map[string]string{"food-bank": "Weekly grocery hamper program", "walking": "Riverside walking group"}

var reportCases = []reportCase{
	{"food-bank", "food-insecurity", "food", "2026-02-01", []string{"requested", "accepted", "completed"}, "yes", 5, "better", ""},
	{"food-bank", "food-insecurity", "food", "2026-02-10", []string{"requested", "received", "rejected"}, "no", 2, "same", ""},
	{"food-bank", "food-insecurity", "food", "2026-03-05", []string{"requested", "accepted"}, "partly", 4, "better", ""},
	{"food-bank", "food-insecurity", "food", "2026-04-20", []string{"requested"}, "", 0, "", ""},
	{"walking", "social-connection", "social-support", "2026-02-03", []string{"requested", "accepted", "in-progress"}, "yes", 0, "worse", ""},
	{"walking", "social-connection", "social-support", "2026-05-30", nil, "no", 3, "", ""},
	{"walking", "social-connection", "social-support", "2026-08-01", []string{"requested", "accepted"}, "yes", 5, "better", ""}, // after the period
	{"", "food-insecurity", "food", "2026-03-15", nil, "yes", 4, "better", ""},
	{"walking", "social-connection", "social-support", "2026-03-20", []string{"requested", "rejected"}, "no", 0, "", "food-bank"}, // moved from the food bank, which declined it
	{"food-bank", "food-insecurity", "food", "2026-06-30T23:30:00-04:00", nil, "", 0, "", ""},                                     // an evening visit on 30 June in Toronto: 1 July UTC
}

// reportBilled are the ChargeItems of the scenario: code and day.
var reportBilled = [][2]string{{"K005", "2026-02-01"}, {"K013", "2026-02-10"}, {"K005", "2026-03-05"}, {"K033", "2026-08-01"}}

// TestReportPrograms posts the scenario over FHIR (programs, social
// prescriptions, referral Tasks moving through their statuses, follow-up
// responses, ChargeItems), runs `socialrx report programs` against the
// same database and checks its CSV, table and chart against the report
// computed from the scenario.
func TestReportPrograms(t *testing.T) {
	for _, b := range []struct {
		name string
		db   func(t *testing.T) string
	}{{"SQLite", sqliteDatabase}, {"PostgreSQL", func(t *testing.T) string { return pgtest.NewDatabase(t) }}} {
		t.Run(b.name, func(t *testing.T) { testReportPrograms(t, b.db(t)) })
	}
}

func day(s string) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

// wantReportRows computes the CSV rows (group, key, prescriptions,
// referrals, accepted, rejected, completed, followed_up, pursued,
// satisfaction_n, wellbeing_n, improved, contacted, median days, referred) of the
// scenario over [from, to).
func wantReportRows(from, to time.Time) [][]string {
	type acc struct {
		n        [11]int
		days     []float64
		referred int
	}
	groups := map[[2]string]*acc{}
	get := func(g, k string) *acc {
		if groups[[2]string{g, k}] == nil {
			groups[[2]string{g, k}] = &acc{}
		}
		return groups[[2]string{g, k}]
	}
	for _, c := range reportCases {
		at := day(c.authored)
		if at.Before(from) || !at.Before(to) {
			continue
		}
		var v [11]int
		v[0] = 1
		contact := -1.0
		if c.statuses != nil {
			v[1] = 1
			last := c.statuses[len(c.statuses)-1]
			v[2] = b2i(slices.Contains([]string{"accepted", "on-hold", "in-progress", "completed"}, last))
			v[3] = b2i(last == "rejected")
			v[4] = b2i(last == "completed")
			for i, st := range c.statuses {
				if slices.Contains([]string{"accepted", "rejected", "on-hold", "in-progress", "completed"}, st) {
					contact = float64(1 + i) // status i is set on day 1+i after authoredOn
					break
				}
			}
		}
		if c.pursued != "" {
			v[5] = 1
			v[6] = b2i(c.pursued == "yes" || c.pursued == "partly")
			if c.sat > 0 {
				v[7], v[8] = 1, c.sat
			}
			if c.wb != "" {
				v[9], v[10] = 1, b2i(c.wb == "better")
			}
		}
		add := func(g, k string, v [11]int, contact float64) {
			a := get(g, k)
			a.referred += min(v[1], 1)
			for i := range v {
				a.n[i] += v[i]
			}
			if contact >= 0 {
				a.days = append(a.days, contact)
			}
		}
		add("total", "", v, contact)
		add("need-domain", c.domain, v, contact)
		// By program: the prescription and its follow-up under its
		// program, the referral under the program it was sent to.
		program := ""
		if c.program != "" {
			program = "HealthcareService/" + c.program
		}
		mine := v
		mine[1], mine[2], mine[3], mine[4] = 0, 0, 0, 0
		add("program", program, mine, -1)
		if c.statuses != nil {
			sent := c.sentTo
			if sent == "" {
				sent = owner(c.program)
			}
			var ref [11]int
			copy(ref[1:5], v[1:5])
			add("program", "HealthcareService/"+sent, ref, contact)
		}
	}
	var out [][]string
	for k, a := range groups {
		med := ""
		if n := len(a.days); n > 0 {
			sort.Float64s(a.days)
			m := a.days[n/2]
			if n%2 == 0 {
				m = (a.days[n/2-1] + a.days[n/2]) / 2
			}
			med = strconv.FormatFloat(m, 'f', 2, 64)
		}
		row := []string{k[0], k[1]}
		for i, x := range a.n {
			if i == 8 { // the satisfaction sum is checked as the mean
				continue
			}
			row = append(row, strconv.Itoa(x))
		}
		mean := ""
		if a.n[7] > 0 {
			mean = strconv.FormatFloat(float64(a.n[8])/float64(a.n[7]), 'f', 4, 64)
		}
		out = append(out, append(row, mean, strconv.Itoa(len(a.days)), med, strconv.Itoa(a.referred)))
	}
	order := map[string]int{"total": 0, "program": 1, "need-domain": 2}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return order[out[i][0]] < order[out[j][0]]
		}
		return out[i][1] < out[j][1]
	})
	return out
}

// owner is the referral Task's owner: the program, else the food bank.
// sentTo is the owner of c's referral Task.
func sentTo(c reportCase) string {
	if c.sentTo != "" {
		return c.sentTo
	}
	return owner(c.program)
}

func owner(program string) string {
	if program == "" {
		return "food-bank"
	}
	return program
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func testReportPrograms(t *testing.T, database string) {
	m := startMain(t, database)
	put := func(path, body string) {
		t.Helper()
		resp, b := do(t, "PUT", m.URL()+"/fhir/"+path, []byte(body))
		if resp.StatusCode/100 != 2 {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, truncate(b))
		}
	}
	for id, name := range reportPrograms {
		put("HealthcareService/"+id, `{"resourceType":"HealthcareService","id":"`+id+`","active":true,"name":"`+name+`"}`)
	}
	put("Practitioner/dr-1", `{"resourceType":"Practitioner","id":"dr-1"}`)
	for i, c := range reportCases {
		pt, sr := fmt.Sprintf("pt-%d", i), fmt.Sprintf("sr-%d", i)
		put("Patient/"+pt, `{"resourceType":"Patient","id":"`+pt+`"}`)
		performer := ""
		if c.program != "" {
			performer = `,"performer":[{"reference":"HealthcareService/` + c.program + `"}]`
		}
		at := day(c.authored)
		put("ServiceRequest/"+sr, `{"resourceType":"ServiceRequest","id":"`+sr+`","status":"active","intent":"order",
"category":[{"coding":[{"system":"http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes","code":"`+c.need+`"}]}],
"code":{"coding":[{"system":"http://snomed.info/sct","code":"710925007","display":"Provision of food"}]},"subject":{"reference":"Patient/`+pt+`"},"requester":{"reference":"Practitioner/dr-1"},"authoredOn":"`+at.Format(time.RFC3339)+`"`+performer+`}`)
		for j, st := range c.statuses {
			reason := ""
			if st == "rejected" {
				reason = `,"statusReason":{"text":"no capacity"}`
			}
			put("Task/rt-"+strconv.Itoa(i), `{"resourceType":"Task","id":"rt-`+strconv.Itoa(i)+`","status":"`+st+`","intent":"order",
"code":{"coding":[{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"fulfill"}]},"focus":{"reference":"ServiceRequest/`+sr+`"},
"for":{"reference":"Patient/`+pt+`"},"requester":{"reference":"Practitioner/dr-1"},"authoredOn":"`+at.Format(time.RFC3339)+`","lastModified":"`+at.AddDate(0, 0, 1+j).Format(time.RFC3339)+`",
"owner":{"reference":"HealthcareService/`+sentTo(c)+`"}`+reason+`}`)
		}
		if c.pursued == "" {
			continue
		}
		items := []string{fuLink("pursued", fuAnswer("follow-up-pursued", c.pursued))}
		if c.sat > 0 {
			items = append(items, fuLink("satisfaction", `{"valueInteger":`+strconv.Itoa(c.sat)+`}`))
		}
		if c.wb != "" {
			items = append(items, fuLink("wellbeing", fuAnswer("follow-up-wellbeing", c.wb)))
		}
		items = append(items, fuLink("next-step", fuAnswer("follow-up-next-step", "keep-going")))
		qr := strings.Replace(fuQR(sr, pt, items...), `"value":"FU-1"`, `"value":"FU-`+strconv.Itoa(i)+`"`, 1)
		qr = strings.Replace(qr, `"authored":"2026-12-10T15:00:00Z"`, `"authored":"`+at.AddDate(0, 0, 20).Format(time.RFC3339)+`"`, 1)
		put("QuestionnaireResponse/qr-"+strconv.Itoa(i), strings.Replace(qr, `{"resourceType":"QuestionnaireResponse",`,
			`{"resourceType":"QuestionnaireResponse","id":"qr-`+strconv.Itoa(i)+`",`, 1))
	}
	chargeItem := func(id, code, date string) string {
		return `{"resourceType":"ChargeItem","id":"` + id + `","status":"billed","code":{"coding":[{"system":"` + socialrx.OHIPFeeCodeSystem + `","code":"` + code + `"}]},
"subject":{"reference":"Patient/pt-0"},"context":{"reference":"Encounter/enc-1"},"occurrenceDateTime":"` + date + `"}`
	}
	for i, b := range reportBilled {
		put("ChargeItem/ci-"+strconv.Itoa(i), chargeItem("ci-"+strconv.Itoa(i), b[0], b[1]))
	}
	// An OHIP code not in the list: 422 naming the path, nothing stored.
	resp, body := do(t, "PUT", m.URL()+"/fhir/ChargeItem/ci-bad", []byte(chargeItem("ci-bad", "K999", "2026-02-01")))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "ChargeItem.code.coding[0].code") || !strings.Contains(string(body), "K999") {
		t.Errorf("ChargeItem with K999: %d %s; want 422 naming ChargeItem.code.coding[0].code", resp.StatusCode, truncate(body))
	}
	if resp, _ := do(t, "GET", m.URL()+"/fhir/ChargeItem/ci-bad", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the refused ChargeItem was stored: GET %d", resp.StatusCode)
	}

	// The command's days are America/Toronto's (--tz), and so are the
	// Measures' (serve --tz, the same default).
	toronto, err := time.LoadLocation("America/Toronto")
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, toronto), time.Date(2026, 7, 1, 0, 0, 0, 0, toronto)
	utcFrom, utcTo := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	svg := filepath.Join(t.TempDir(), "programs.svg")
	cmd := &ReportProgramsCmd{From: "2026-01-01", To: "2026-07-01", TZ: "America/Toronto", CSV: true, SVG: svg, DatabaseFlag: DatabaseFlag{Database: database}}
	if err := cmd.run(t.Context(), &out); err != nil {
		t.Fatalf("report programs --csv: %v", err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], reportCSVHeader) {
		t.Fatalf("header %v", recs[0])
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var got [][]string
	billed := map[string]string{}
	names := map[string]string{}
	for _, r := range recs[1:] {
		if r[0] == "ohip-fee-code" {
			billed[r[1]] = r[col["billed_visits"]]
			continue
		}
		names[r[1]] = r[2]
		var row []string
		for _, h := range []string{"group", "key", "prescriptions", "referrals", "accepted", "rejected", "completed", "followed_up", "pursued",
			"satisfaction_n", "wellbeing_n", "improved", "mean_satisfaction", "contacted", "median_days_to_first_contact", "referred"} {
			row = append(row, r[col[h]])
		}
		got = append(got, row)
	}
	if diff := cmp.Diff(wantReportRows(from, to), got); diff != "" {
		t.Errorf("report rows (-want computed from the scenario, +got from the CSV):\n%s", diff)
	}
	wantBilled := map[string]string{}
	for _, b := range reportBilled {
		if at := day(b[1]); !at.Before(from) && at.Before(to) {
			n, _ := strconv.Atoi(wantBilled[b[0]])
			wantBilled[b[0]] = strconv.Itoa(n + 1)
		}
	}
	if diff := cmp.Diff(wantBilled, billed); diff != "" {
		t.Errorf("billed visits by code (-want +got):\n%s", diff)
	}
	if names["HealthcareService/food-bank"] != reportPrograms["food-bank"] || names["food"] != socialrx.DomainFood.Display() {
		t.Errorf("names: %v", names)
	}

	// The table and the chart name the programs and show the rates.
	out.Reset()
	cmd.CSV, cmd.SVG = false, ""
	if err := cmd.run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Prescriptions authored from 2026-01-01T00:00:00-05:00 to 2026-07-01T00:00:00-04:00 (end exclusive)",
		"Weekly grocery hamper program", "Riverside walking group", "(no program)", "All programs",
		"67% (2/3)", "K005", "NEED DOMAIN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table does not show %q:\n%s", want, out.String())
		}
	}
	chart, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "Weekly grocery hamper program", "Pursued: 67% (2/3)", "Well-being improved: 67% (2/3)", "</svg>"} {
		if !strings.Contains(string(chart), want) {
			t.Errorf("chart does not show %q:\n%s", want, chart)
		}
	}
	// The same figures as a MeasureReport: the pursued group's strata by
	// program carry the CSV's followed_up (denominator) and pursued
	// (numerator) of each program.
	resp, body = do(t, "GET", m.URL()+"/fhir/Measure/social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-06-30", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("$evaluate-measure: %d %s", resp.StatusCode, truncate(body))
	}
	if issues := fhir.Validate(body, "MeasureReport"); fhir.HasErrors(issues) {
		t.Errorf("MeasureReport is not valid R4: %+v", issues)
	}
	if dir := os.Getenv("SOCIALRX_REPORT_ARTIFACTS"); dir != "" { // for /work/shared/tools/fhir-validate (docs/mapping.md)
		_ = os.WriteFile(filepath.Join(dir, "measurereport-"+strings.ToLower(strings.SplitN(t.Name(), "/", 2)[1])+".json"), body, 0o644)
	}
	var mr struct {
		Status, Type string
		Group        []struct {
			Code       struct{ Coding []struct{ Code string } }
			Population []struct{ Count int }
			Stratifier []struct {
				Code    []struct{ Coding []struct{ Code string } }
				Stratum []struct {
					Value      struct{ Coding []struct{ Code string } }
					Population []struct{ Count int }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &mr); err != nil {
		t.Fatal(err)
	}
	gotStrata, wantStrata := map[string][3]int{}, map[string][3]int{}
	for _, r := range wantReportRows(from, to) {
		if r[0] == "program" {
			key := r[1]
			if key == "" {
				key = "none"
			}
			atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
			wantStrata[key] = [3]int{atoi(r[2]), atoi(r[7]), atoi(r[8])}
		}
	}
	if mr.Status != "complete" || mr.Type != "summary" || len(mr.Group) != 5 || mr.Group[0].Code.Coding[0].Code != "pursued" {
		t.Fatalf("MeasureReport: %s", truncate(body))
	}
	for _, st := range mr.Group[0].Stratifier[0].Stratum {
		gotStrata[st.Value.Coding[0].Code] = [3]int{st.Population[0].Count, st.Population[1].Count, st.Population[2].Count}
	}
	if diff := cmp.Diff(wantStrata, gotStrata); diff != "" {
		t.Errorf("pursued by program (-want from the scenario, +got from the MeasureReport):\n%s", diff)
	}
	// The experience Measure by program: prescriptions, those with a value,
	// and the mean satisfaction / median days of the scenario.
	resp, body = do(t, "GET", m.URL()+"/fhir/Measure/social-prescribing-experience/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-06-30", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("$evaluate-measure experience: %d %s", resp.StatusCode, truncate(body))
	}
	if issues := fhir.Validate(body, "MeasureReport"); fhir.HasErrors(issues) {
		t.Errorf("experience MeasureReport is not valid R4: %+v", issues)
	}
	var xr struct {
		Group []struct {
			Code       struct{ Coding []struct{ Code string } }
			Stratifier []struct {
				Stratum []struct {
					Value        struct{ Coding []struct{ Code string } }
					Population   []struct{ Count int }
					MeasureScore *struct{ Value float64 }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &xr); err != nil || len(xr.Group) != 2 {
		t.Fatalf("experience MeasureReport: %v %s", err, truncate(body))
	}
	gotX, wantX := map[string]string{}, map[string]string{}
	for _, r := range wantReportRows(from, to) {
		if r[0] != "program" {
			continue
		}
		key := r[1]
		if key == "" {
			key = "none"
		}
		wantX["satisfaction "+key] = r[2] + " " + r[9] + " " + r[12]
		wantX["days-to-first-contact "+key] = r[15] + " " + r[13] + " " + r[14] // initial population: those referred
	}
	for _, g := range xr.Group {
		for _, st := range g.Stratifier[0].Stratum {
			score := ""
			if st.MeasureScore != nil {
				prec := 4
				if g.Code.Coding[0].Code == "days-to-first-contact" {
					prec = 2
				}
				score = strconv.FormatFloat(st.MeasureScore.Value, 'f', prec, 64)
			}
			gotX[g.Code.Coding[0].Code+" "+st.Value.Coding[0].Code] = fmt.Sprintf("%d %d %s", st.Population[0].Count, st.Population[1].Count, score)
		}
	}
	if diff := cmp.Diff(wantX, gotX); diff != "" {
		t.Errorf("experience by program (-want from the scenario, +got from the MeasureReport):\n%s", diff)
	}
	resp, body = do(t, "POST", m.URL()+"/fhir/Measure/ohip-billed-visits/$evaluate-measure", []byte(`{"resourceType":"Parameters","parameter":[
{"name":"periodStart","valueDate":"2026-01-01"},{"name":"periodEnd","valueDate":"2026-06-30"}]}`), "Content-Type", "application/fhir+json")
	var compact bytes.Buffer
	_ = json.Compact(&compact, body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(compact.String(), `"code":"K005","display":"Primary mental health care, individual care (per unit)"}]},"population":[{"code":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/measure-population","code":"initial-population","display":"Initial Population"}]},"count":`+wantBilled["K005"]+`}`) {
		t.Errorf("POST ohip-billed-visits: %d %s", resp.StatusCode, truncate(body))
	}
	for _, c := range []struct {
		query  string
		status int
		want   string
	}{
		{"social-prescribing-effectiveness/$evaluate-measure?periodEnd=2026-06-30", 400, "periodStart is required"},
		{"social-prescribing-effectiveness/$evaluate-measure?periodStart=last-year&periodEnd=2026-06-30", 400, "not a FHIR date"},
		{"social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-07-01&periodEnd=2026-01-01", 400, "must be after"},
		{"social-prescribing-effectiveness/$evaluate-measure?periodStart=0000-01-01&periodEnd=2026-01-01", 400, "the year must be 0001 or later"},
		{"social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-01-01T10:00Z&periodEnd=2026-06-30", 400, "needs seconds and a time zone"},
		{"no-such-measure/$evaluate-measure?periodStart=2026-01-01&periodEnd=2026-06-30", 404, "not one of socialrx's Measures"},
	} {
		resp, body := do(t, "GET", m.URL()+"/fhir/Measure/"+c.query, nil)
		if resp.StatusCode != c.status || !strings.Contains(string(body), "OperationOutcome") || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s; want %d saying %q", c.query, resp.StatusCode, truncate(body), c.status, c.want)
		}
	}

	bad := &ReportProgramsCmd{From: "2026-07-01", To: "2026-01-01", TZ: "UTC", DatabaseFlag: DatabaseFlag{Database: database}}
	if err := bad.run(t.Context(), &out); err == nil || !strings.Contains(err.Error(), "--to") {
		t.Errorf("a period that ends before it starts: %v", err)
	}
	badTZ := &ReportProgramsCmd{From: "2026-01-01", To: "2026-07-01", TZ: "Mars/Olympus", DatabaseFlag: DatabaseFlag{Database: database}}
	if err := badTZ.run(t.Context(), &out); err == nil || !strings.Contains(err.Error(), "--tz") {
		t.Errorf("an unknown --tz: %v", err)
	}

	// The same dates as UTC days leave out the evening visit of 30 June
	// (1 July UTC); RFC 3339 bounds keep their offset, also in the header.
	total := func(from, to, tz string) (string, string) {
		t.Helper()
		var csvOut, table bytes.Buffer
		c := &ReportProgramsCmd{From: from, To: to, TZ: tz, CSV: true, DatabaseFlag: DatabaseFlag{Database: database}}
		if err := c.run(t.Context(), &csvOut); err != nil {
			t.Fatal(err)
		}
		c.CSV = false
		if err := c.run(t.Context(), &table); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&csvOut).ReadAll()
		if err != nil || len(recs) < 2 || recs[1][0] != "total" {
			t.Fatalf("CSV: %v %v", recs, err)
		}
		head, _, _ := strings.Cut(table.String(), "\n")
		return recs[1][3], head
	}
	for _, c := range []struct{ from, to, tz, want, head string }{
		{"2026-01-01", "2026-07-01", "UTC", wantReportRows(utcFrom, utcTo)[0][2],
			"Prescriptions authored from 2026-01-01T00:00:00Z to 2026-07-01T00:00:00Z (end exclusive)"},
		{"2026-01-01T00:00:00-05:00", "2026-07-01T00:00:00-04:00", "UTC", wantReportRows(from, to)[0][2],
			"Prescriptions authored from 2026-01-01T00:00:00-05:00 to 2026-07-01T00:00:00-04:00 (end exclusive)"},
	} {
		if n, head := total(c.from, c.to, c.tz); n != c.want || head != c.head {
			t.Errorf("--from %s --to %s --tz %s: %s prescriptions, header %q; want %s, %q", c.from, c.to, c.tz, n, head, c.want, c.head)
		}
	}
	if wantReportRows(from, to)[0][2] == wantReportRows(utcFrom, utcTo)[0][2] {
		t.Error("test bug: the Toronto and UTC periods count the same prescriptions")
	}
}
