package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/socialrx/socialrx/adapter/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// buildSocialrx builds the socialrx binary into a temp directory (the
// bench starts it as a process, as an operator would).
func buildSocialrx(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "socialrx")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/socialrx/socialrx/cmd/socialrx").CombinedOutput()
	if err != nil {
		t.Fatalf("go build socialrx: %v\n%s", err, out)
	}
	return bin
}

// TestBench runs socialrx-bench end to end on a small load, on both
// stores: the server takes every encounter, the platform (failing a
// quarter of the calls) gets each referral once, and the report holds
// each scenario with a baseline and a ratio.
func TestBench(t *testing.T) {
	bin := buildSocialrx(t)
	for _, store := range []struct{ name, database string }{
		{"SQLite", ""},
		{"PostgreSQL", "postgres"},
	} {
		t.Run(store.name, func(t *testing.T) {
			cli := CLI{Socialrx: bin, Encounters: 40, Clients: 4, FailRate: 0.25, Workers: 4, Searches: 5}
			if store.database != "" {
				cli.Database = pgtest.NewDatabase(t) // skips without PostgreSQL unless SOCIALRX_REQUIRE_PG
			}
			rep, err := run(t.Context(), cli, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep.print(&out)
			t.Log(out.String())
			rows := map[string]row{}
			for _, r := range rep.rows {
				rows[r.scenario] = r
			}
			for _, name := range []string{"ingest", "delivery", "search", "export"} {
				r, ok := rows[name]
				if !ok {
					t.Fatalf("no %s row: %s", name, out.String())
				}
				ratio, err := strconv.ParseFloat(r.ratio, 64)
				if err != nil || ratio <= 0 {
					t.Errorf("%s ratio %q, want a positive number", name, r.ratio)
				}
			}
			if !strings.Contains(rows["delivery"].figure, "41 in ") {
				t.Errorf("delivery %q, want all 41 referrals (40 and the first encounter's)", rows["delivery"].figure)
			}
			// Every resource the server holds is exported: at least each
			// encounter's 6 and the follow-up Task, and the Endpoints.
			if !strings.Contains(rows["export"].figure, "resources") {
				t.Errorf("export row %q", rows["export"].figure)
			}
			if runtime.GOOS == "linux" && !strings.HasPrefix(rows["memory"].figure, "RSS idle ") {
				t.Errorf("memory row %q", rows["memory"].figure)
			}
			if runtime.GOOS == "linux" {
				checkCPURow(t, rows[""].figure)
			}
			for _, c := range rep.checks {
				if strings.HasPrefix(c, "FAIL") {
					t.Error(c)
				}
			}
			if !strings.Contains(out.String(), "ok    lost referrals: 0 (of 41)") {
				t.Errorf("report without the lost-referrals check:\n%s", out.String())
			}
		})
	}
}

// TestBenchRefusesBadFlags: flags that cannot run are refused before
// anything starts.
func TestBenchRefusesBadFlags(t *testing.T) {
	for _, cli := range []CLI{
		{Socialrx: "/nonexistent", Encounters: 0, Clients: 1, Searches: 1},
		{Socialrx: "/nonexistent", Encounters: 1, Clients: 1, Searches: 0},
		{Socialrx: "/nonexistent", Encounters: 1, Clients: 1, Searches: 1, FailRate: 1},
		{Socialrx: "/nonexistent", Encounters: 1, Clients: 1, Searches: 1, Database: "mysql://x"},
	} {
		if _, err := run(t.Context(), cli, io.Discard); err == nil {
			t.Errorf("%+v: no error", cli)
		}
	}
}

// TestRatio: a ratio keeps three significant digits however small, so a
// slow but real figure never reads as zero.
func TestRatio(t *testing.T) {
	for _, c := range []struct {
		figure, baseline float64
		want             string
	}{
		{1.8, 4159.4, "0.000433"},
		{132.7, 712.8, "0.186"},
		{48.9, 9.6, "5.09"},
		{300, 300, "1"},
	} {
		if got := ratio(c.figure, c.baseline); got != c.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", c.figure, c.baseline, got, c.want)
		}
	}
}

// TestBenchRefusesUsedDatabase: a PostgreSQL database that holds
// socialrx's tables (the last run's) is refused before anything starts,
// not found out ten minutes into the delivery.
func TestBenchRefusesUsedDatabase(t *testing.T) {
	db := pgtest.NewDatabase(t) // skips without PostgreSQL unless SOCIALRX_REQUIRE_PG
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	cli := CLI{Socialrx: buildSocialrx(t), Encounters: 1, Clients: 1, Searches: 1, Workers: 1, Database: db}
	if _, err := conn.Exec(t.Context(), `CREATE TABLE resources (id text)`); err != nil {
		t.Fatal(err)
	}
	_, err = run(t.Context(), cli, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already holds socialrx's tables") {
		t.Fatalf("a used database: %v, want a refusal", err)
	}
	// An empty database named with the pool's own parameters, as serve
	// takes it, passes the check.
	empty := pgtest.NewDatabase(t)
	sep := "?"
	if strings.Contains(empty, "?") {
		sep = "&"
	}
	if err := checkEmpty(t.Context(), empty+sep+"pool_max_conns=4"); err != nil {
		t.Errorf("an empty database with pool_max_conns in its URL: %v, want it taken", err)
	}
}

// checkCPURow: the ingest's CPU row names the three figures, the server's
// and the machine's above zero (tens of encounters take the server tens
// of milliseconds; /proc counts in 10 ms ticks), the bench's at least zero
// and the machine's at least the other two together.
func checkCPURow(t *testing.T, figure string) {
	t.Helper()
	var server, bench, machine float64
	if _, err := fmt.Sscanf(figure, "CPU an encounter: server %f ms, bench %f ms, whole machine %f ms", &server, &bench, &machine); err != nil {
		t.Fatalf("CPU row %q: %v", figure, err)
	}
	if server <= 0 || bench < 0 || machine <= 0 {
		t.Errorf("CPU row %q: want the server's and the machine's above zero", figure)
	}
	// Ticks are read at slightly different moments: allow one 10 ms tick
	// each, spread over the encounters, before calling the sum wrong.
	if machine+0.5 < server+bench {
		t.Errorf("CPU row %q: the machine's is less than the server's and the bench's together", figure)
	}
}

// TestBenchIngestOnly: --ingest-only reports ingest (and its CPU) and
// stops there.
func TestBenchIngestOnly(t *testing.T) {
	cli := CLI{Socialrx: buildSocialrx(t), Encounters: 60, Clients: 2, FailRate: 0.1, Workers: 1, Searches: 1, IngestOnly: true}
	rep, err := run(t.Context(), cli, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var scenarios []string
	for _, r := range rep.rows {
		scenarios = append(scenarios, r.scenario)
	}
	want := []string{"ingest"}
	if runtime.GOOS == "linux" {
		want = append(want, "")
		checkCPURow(t, rep.rows[1].figure)
	}
	if !slices.Equal(scenarios, want) {
		t.Errorf("rows %q, want %q", scenarios, want)
	}
}
