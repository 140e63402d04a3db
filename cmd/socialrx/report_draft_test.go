package main

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/pgtest"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// TestReportLeavesOutDrafts (audit of issue 14, finding 1): the draft
// alternative socialrx suggests at a "try something else" follow-up is
// no prescription until the clinician confirms it (activates it): the
// program report and the effectiveness MeasureReport count it nowhere
// before, and count it for the suggested program after, on both stores.
func TestReportLeavesOutDrafts(t *testing.T) {
	for _, be := range encounterBackends {
		t.Run(be.name, func(t *testing.T) { testReportLeavesOutDrafts(t, be.database(t)) })
	}
}

func testReportLeavesOutDrafts(t *testing.T, database string) {
	m := startMain(t, database)
	put := func(path, body string) {
		t.Helper()
		if resp, b := do(t, "PUT", m.URL()+"/fhir/"+path, []byte(body)); resp.StatusCode/100 != 2 {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, truncate(b))
		}
	}
	food := `"category":[{"coding":[{"system":"` + fuSys + `need-domain","code":"food"}]}]`
	for _, id := range []string{"food-bank", "food-pantry"} {
		put("HealthcareService/"+id, `{"resourceType":"HealthcareService","id":"`+id+`","active":true,"name":"`+id+`",`+food+`}`)
	}
	for _, sr := range []string{"sr-a", "sr-b"} {
		put("Patient/pt-"+sr, `{"resourceType":"Patient","id":"pt-`+sr+`"}`)
		put("ServiceRequest/"+sr, `{"resourceType":"ServiceRequest","id":"`+sr+`","status":"active","intent":"order",`+food+`,
"code":{"coding":[{"system":"http://snomed.info/sct","code":"710925007","display":"Provision of food"}]},
"subject":{"reference":"Patient/pt-`+sr+`"},"authoredOn":"2026-11-20T12:00:00Z","performer":[{"reference":"HealthcareService/food-bank"}]}`)
	}
	qr := fuQR("sr-a", "pt-sr-a", fuLink("pursued", fuAnswer("follow-up-pursued", "no")),
		fuLink("next-step", fuAnswer("follow-up-next-step", "try-alternative")))
	resp, body := do(t, "POST", m.URL()+"/fhir/QuestionnaireResponse", []byte(qr))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("answer: %d %s", resp.StatusCode, truncate(body))
	}
	qrID := decodeJSON(t, body)["id"].(string)
	altID := workflow.OutcomeIDsFor(qrID, "https://riverdale-fht.example/oscar/sid/follow-up", "FU-1").Alternative()
	resp, body = do(t, "GET", m.URL()+"/fhir/ServiceRequest/"+altID, nil)
	alt := decodeJSON(t, body)
	if resp.StatusCode != http.StatusOK || alt["status"] != "draft" || !strings.Contains(mustJSON(alt["performer"]), "HealthcareService/food-pantry") {
		t.Fatalf("alternative: %d %s; want a draft for the food pantry", resp.StatusCode, truncate(body))
	}

	// The draft is authored now: a period to 2100 holds it.
	programs := func() map[string]string {
		t.Helper()
		var out bytes.Buffer
		c := &ReportProgramsCmd{From: "2026-11-01", To: "2100-01-01", TZ: "UTC", CSV: true, DatabaseFlag: DatabaseFlag{Database: database}}
		if err := c.run(t.Context(), &out); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range recs[1:] {
			if r[0] == "program" || r[0] == "total" {
				got[r[0]+" "+r[1]] = r[3]
			}
		}
		return got
	}
	measure := func() string {
		t.Helper()
		resp, body := do(t, "GET", m.URL()+"/fhir/Measure/social-prescribing-effectiveness/$evaluate-measure?periodStart=2026-11-01&periodEnd=2099-12-31", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("$evaluate-measure: %d %s", resp.StatusCode, truncate(body))
		}
		return string(body)
	}
	if got := programs(); got["total "] != "2" || got["program HealthcareService/food-bank"] != "2" || got["program HealthcareService/food-pantry"] != "" {
		t.Errorf("report with the draft unconfirmed: %v; want 2 prescriptions, both the food bank's, none for the pantry", got)
	}
	if mr := measure(); strings.Contains(mr, "HealthcareService/food-pantry") || !strings.Contains(mr, "HealthcareService/food-bank") {
		t.Errorf("MeasureReport with the draft unconfirmed has a food pantry stratum (or no food bank one): %s", truncate([]byte(mr)))
	}

	// The clinician confirms it: now it counts, for the pantry.
	setPrescriptionStatus(t, m, altID, "active")
	if got := programs(); got["total "] != "3" || got["program HealthcareService/food-pantry"] != "1" {
		t.Errorf("report with the alternative confirmed: %v; want 3 prescriptions, 1 for the pantry", got)
	}
	if mr := measure(); !strings.Contains(mr, "HealthcareService/food-pantry") {
		t.Errorf("MeasureReport with the alternative confirmed has no food pantry stratum: %s", truncate([]byte(mr)))
	}
}

// TestReportUndated (audit of issue 14, finding 4): a prescription without
// authoredOn is in no period; the report says how many it left out, under
// the table and, with --csv, on stderr (the CSV unchanged).
func TestReportUndated(t *testing.T) {
	database := sqliteDatabase(t)
	m := startMain(t, database)
	put := func(path, body string) {
		t.Helper()
		if resp, b := do(t, "PUT", m.URL()+"/fhir/"+path, []byte(body)); resp.StatusCode/100 != 2 {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, truncate(b))
		}
	}
	put("Patient/pt-1", `{"resourceType":"Patient","id":"pt-1"}`)
	for i, authored := range []string{`,"authoredOn":"2026-02-01T10:00:00Z"`, "", ""} {
		id := "sr-" + string(rune('a'+i))
		put("ServiceRequest/"+id, `{"resourceType":"ServiceRequest","id":"`+id+`","status":"active","intent":"order",
"category":[{"coding":[{"system":"`+fuSys+`need-domain","code":"food"}]}],"code":{"text":"food support"},
"subject":{"reference":"Patient/pt-1"}`+authored+`}`)
	}
	c := &ReportProgramsCmd{From: "2026-01-01", To: "2026-07-01", TZ: "UTC", DatabaseFlag: DatabaseFlag{Database: database}}
	var table, errOut bytes.Buffer
	if err := c.runTo(t.Context(), &table, &errOut); err != nil {
		t.Fatal(err)
	}
	const note = "2 prescriptions have no authoredOn: they are in no period and were left out."
	if !strings.Contains(table.String(), "Note: "+note) || errOut.Len() != 0 {
		t.Errorf("table: %s\nstderr: %s\nwant the note under the table", table.String(), errOut.String())
	}
	c.CSV = true
	var csvOut bytes.Buffer
	if err := c.runTo(t.Context(), &csvOut, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(csvOut.String(), "authoredOn") || strings.TrimSpace(errOut.String()) != "note: "+note {
		t.Errorf("CSV: %s\nstderr: %q\nwant the note on stderr only", csvOut.String(), errOut.String())
	}
}

// TestReportCSVFormula (audit of issue 14, finding 5): a program name a
// spreadsheet would run as a formula is written with a leading quote.
func TestReportCSVFormula(t *testing.T) {
	rep := &socialrx.ProgramReport{Programs: []socialrx.ReportStats{
		{Key: "HealthcareService/x", Name: `=HYPERLINK("http://evil.example","click")`, Prescriptions: 1},
		{Key: "HealthcareService/y", Name: "+1", Prescriptions: 1},
		{Key: "HealthcareService/z", Name: "-2", Prescriptions: 1},
		{Key: "HealthcareService/w", Name: "@SUM(A1)", Prescriptions: 1},
		{Key: "HealthcareService/t", Name: "\tTAB", Prescriptions: 1},
		{Key: "HealthcareService/r", Name: "\rCR", Prescriptions: 1},
		{Key: "HealthcareService/ok", Name: "Food bank = good", Prescriptions: 1},
	}}
	var out bytes.Buffer
	if err := writeReportCSV(&out, rep); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`'=HYPERLINK("http://evil.example","click")`, "'+1", "'-2", "'@SUM(A1)", "'\tTAB", "'\rCR", "Food bank = good"}
	for i, w := range want {
		if got := recs[2+i][2]; got != w {
			t.Errorf("name %d: %q, want %q", i, got, w)
		}
	}
}

// TestReadOnlyCommandsCreateNothing (audit of issue 14, finding 3): report
// programs, programs, jobs and export against a SQLite file that does not
// exist fail naming the path and create nothing; against an empty one
// they say it has no schema and leave it empty.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, want string
	}{{missing, "does not exist"}, {empty, "has no socialrx schema"}} {
		db := DatabaseFlag{Database: "sqlite:" + c.path}
		for name, run := range map[string]func() error{
			"report programs": func() error {
				return (&ReportProgramsCmd{From: "2026-01-01", To: "2026-02-01", TZ: "UTC", DatabaseFlag: db}).run(t.Context(), &bytes.Buffer{})
			},
			"programs": func() error {
				return (&ProgramsCmd{Near: "43.65,-79.38", Within: "5km", Limit: 20, TZ: "UTC", DatabaseFlag: db}).Run(t.Context())
			},
			"jobs": func() error { return (&JobsCmd{Limit: 10, DatabaseFlag: db}).Run(t.Context()) },
			"export": func() error {
				return (&ExportCmd{Out: filepath.Join(dir, "out"), Quiet: true, DatabaseFlag: db}).Run(t.Context())
			},
		} {
			err := run()
			if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s on %s: %v; want an error naming the path, saying %q", name, c.path, err, c.want)
			}
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a database was created at %s: %v", missing, err)
	}
	if st, err := os.Stat(empty); err != nil || st.Size() != 0 {
		t.Errorf("the empty database was written: %v %v", st, err)
	}
}

// TestReadOnlyCommandsWriteNothing (review of session 15): a database that
// exists but is not socialrx's (a SQLite file of another program, an empty
// PostgreSQL database) is refused before anything writes to it: goose would
// create its version table, and the SQLite store would switch the file to
// WAL and make an audit file beside it.
func TestReadOnlyCommandsWriteNothing(t *testing.T) {
	foreign := filepath.Join(t.TempDir(), "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (n TEXT)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	before, err := os.ReadFile(foreign)
	if err != nil {
		t.Fatal(err)
	}
	pg := pgtest.NewDatabase(t)
	for _, database := range []string{"sqlite:" + foreign, pg} {
		err := (&ReportProgramsCmd{From: "2026-01-01", To: "2026-02-01", TZ: "UTC", DatabaseFlag: DatabaseFlag{Database: database}}).run(t.Context(), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "has no socialrx schema") {
			t.Errorf("report programs on %.40s: %v; want no socialrx schema", database, err)
		}
	}
	after, err := os.ReadFile(foreign)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the foreign SQLite file was written (%d bytes before, %d after, %v)", len(before), len(after), err)
	}
	if entries, _ := filepath.Glob(foreign + "?*"); len(entries) > 0 {
		t.Errorf("files made beside the foreign database: %v", entries)
	}
	conn, err := pgx.Connect(t.Context(), pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var made bool
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&made); err != nil || made {
		t.Errorf("the empty PostgreSQL database got goose's version table (%v, %v)", made, err)
	}
}
