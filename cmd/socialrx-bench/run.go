package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"

	"github.com/socialrx/socialrx/cmd/internal/fake"
)

const (
	benchClient = "socialrx-bench"
	benchSecret = "bench-secret"
)

// row is one line of the report.
type row struct {
	scenario, figure, baseline, ratio string
}

// report is what a run measured.
type report struct {
	store  string
	rows   []row
	checks []string // what must hold (lost 0, ...), and whether it did
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nsocialrx-bench, store %s\n\n", r.store)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tbaseline (same run)\tratio")
	for _, x := range r.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.scenario, x.figure, x.baseline, x.ratio)
	}
	_ = tw.Flush()
	for _, c := range r.checks {
		fmt.Fprintln(w, c)
	}
}

// run starts the fakes and the server and measures each scenario in turn;
// progress goes to progress. The report holds what was measured before an
// error.
func run(ctx context.Context, cli CLI, progress io.Writer) (*report, error) {
	if cli.Encounters < 1 || cli.Clients < 1 || cli.Searches < 1 {
		return nil, errors.New("--encounters, --clients and --searches must be at least 1")
	}
	if cli.FailRate < 0 || cli.FailRate >= 1 {
		return nil, errors.New("--fail-rate must be in [0, 1)")
	}
	bin, err := findSocialrx(cli.Socialrx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "socialrx-bench-")
	if err != nil {
		return nil, err
	}
	if cli.Keep {
		fmt.Fprintln(progress, "temp directory (kept):", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	platform := fake.NewPlatform(benchClient, benchSecret)
	platform.FailRate = cli.FailRate
	ps := httptest.NewServer(platform)
	defer ps.Close()
	emr := fake.NewEMR()
	es := httptest.NewServer(emr)
	defer es.Close()
	creds := filepath.Join(dir, "credentials.json")
	if err := writeCredentials(creds, ps.URL); err != nil {
		return nil, err
	}
	database := cli.Database
	store := "PostgreSQL"
	if database == "" {
		database = "sqlite:" + filepath.Join(dir, "socialrx.db")
		store = "SQLite (a fresh file)"
	} else if !strings.HasPrefix(database, "postgres://") && !strings.HasPrefix(database, "postgresql://") {
		return nil, errors.New("--database: empty (SQLite) or a postgres:// URL")
	} else if err := checkEmpty(ctx, database); err != nil {
		return nil, err
	}
	rep := &report{store: store}
	common := []string{"--database", database, "--credentials", creds, "--log-level", "warn", "--audit"}

	// Ingest, with no job workers: the referrals wait in the outbox.
	fmt.Fprintln(progress, "starting socialrx serve --workers 0 ...")
	srv, err := startServer(ctx, bin, filepath.Join(dir, "serve-ingest.log"), append(common, "--workers", "0")...)
	if err != nil {
		return rep, err
	}
	defer func() {
		if srv != nil {
			srv.kill()
		}
	}()
	idle, _, memOK := srv.memory()
	for _, ep := range []struct{ id, addr string }{{"ocean-east", ps.URL + "/fhir"}, {"emr-riverdale", es.URL + "/fhir"}} {
		if st, body, err := call(ctx, "PUT", srv.base+"/Endpoint/"+ep.id, fake.EndpointBody(ep.id, ep.addr)); err != nil || st/100 != 2 {
			return rep, fmt.Errorf("set up Endpoint/%s: %d %.300s %v", ep.id, st, body, err)
		}
	}
	// The shared Organization, PractitionerRole and HealthcareService are
	// created by the first encounter, before the clock starts.
	if st, body, err := call(ctx, "POST", srv.base, fake.Encounter("0")); err != nil || st != http.StatusOK {
		return rep, fmt.Errorf("first encounter: %d %.300s %v", st, body, err)
	}
	cpu0 := srv.cpu()
	in, err := ingest(ctx, srv.base, cli.Encounters, cli.Clients, progress)
	if err != nil {
		return rep, err
	}
	cpu1 := srv.cpu()
	_, ingestPeak, _ := srv.memory()
	base, err := baselineRows(ctx, cli, dir, progress)
	if err != nil {
		return rep, fmt.Errorf("ingest baseline: %w", err)
	}
	rep.rows = append(rep.rows, row{"ingest",
		fmt.Sprintf("%.1f bundles/s, p50 %.1f ms, p99 %.1f ms (%d clients)", in.rate, in.p50, in.p99, cli.Clients),
		fmt.Sprintf("%.1f bundles/s (plain SQL: the Bundle's 6 resources as JSON rows, one transaction each)", base),
		ratio(in.rate, base)})
	if perEnc, ok := cpu0.perItem(cpu1, cli.Encounters); ok {
		rep.rows = append(rep.rows, row{"", "CPU an encounter: " + perEnc, "", ""})
	}
	if err := srv.stop(); err != nil {
		return rep, fmt.Errorf("stop the ingest server: %w", err)
	}
	srv = nil
	if cli.IngestOnly {
		return rep, nil
	}

	// Delivery: the same database, workers on, the backlog drained.
	want := cli.Encounters + 1
	fmt.Fprintf(progress, "starting socialrx serve --workers %d to deliver %d referrals ...\n", cli.Workers, want)
	calls0 := platform.Calls()
	start := time.Now()
	srv, err = startServer(ctx, bin, filepath.Join(dir, "serve-delivery.log"), append(common, "--workers", fmt.Sprint(cli.Workers), "--retry-base", "200ms")...)
	if err != nil {
		return rep, err
	}
	startup := time.Since(start)
	delivered, took, err := awaitDeliveries(ctx, platform, want, start, progress)
	if err != nil {
		return rep, err
	}
	// Resends after the last first delivery would show as duplicates or
	// repeats: give the workers a moment more.
	time.Sleep(time.Second)
	lost, dups, resent := deliveryChecks(platform, want)
	attempts := platform.Calls() - calls0
	posted, err := baselinePosts(ctx, platform.Messages(), cli.Clients, progress)
	if err != nil {
		return rep, fmt.Errorf("delivery baseline: %w", err)
	}
	rate := float64(delivered) / took.Seconds()
	rep.rows = append(rep.rows, row{"delivery",
		fmt.Sprintf("%.1f referrals/s from the server's start (%d in %d calls, the platform failing %.0f%% of them; %d workers)", rate, delivered, attempts, cli.FailRate*100, cli.Workers),
		fmt.Sprintf("%.1f messages/s (plain POSTs of the same messages, no faults)", posted),
		ratio(rate, posted)})
	rep.checks = append(rep.checks,
		check(lost == 0, fmt.Sprintf("lost referrals: %d (of %d)", lost, want)),
		check(dups == 0, fmt.Sprintf("duplicated referrals (a second message id for one referral): %d", dups)),
		fmt.Sprintf("resends the platform recognised by MessageHeader.id: %d", resent))

	// Search and export, on the delivery server (export is a job its
	// workers run).
	search, read, err := searches(ctx, srv.base, cli.Encounters, cli.Searches, cli.Clients, progress)
	if err != nil {
		return rep, fmt.Errorf("search: %w", err)
	}
	rep.rows = append(rep.rows, row{"search",
		fmt.Sprintf("p50 %.1f ms, p99 %.1f ms (%d work-list and look-up searches of %d kinds, %d clients)", search.p50, search.p99, search.n, len(searchQueries), cli.Clients),
		fmt.Sprintf("p99 %.1f ms (as many reads of a Patient by id)", read.p99),
		ratio(search.p99, read.p99)})
	fmt.Fprintln(progress, "export ...")
	exp, err := bulkExport(ctx, srv.base)
	if err != nil {
		return rep, fmt.Errorf("export: %w", err)
	}
	raw, err := rawBulkRead(ctx, cli.Database, dir)
	if err != nil {
		return rep, fmt.Errorf("export baseline: %w", err)
	}
	rep.rows = append(rep.rows, row{"export",
		fmt.Sprintf("%.1f MB/s ($export of every type: %d resources, %.1f MB, kick-off to last byte %.2f s)", exp.mbps(), exp.resources, float64(exp.bytes)/(1<<20), exp.took.Seconds()),
		fmt.Sprintf("%.1f MB/s (the store's own bulk read of %d bodies)", raw.mbps(), raw.resources),
		ratio(exp.mbps(), raw.mbps())})
	_, deliveryPeak, _ := srv.memory()
	if err := srv.stop(); err != nil {
		return rep, fmt.Errorf("stop the delivery server: %w", err)
	}
	srv = nil
	if memOK {
		rep.rows = append(rep.rows, row{"memory",
			fmt.Sprintf("RSS idle %s; peak %s during ingest, %s during delivery, search and export; start-up to ready %.2f s", mb(idle), mb(ingestPeak), mb(deliveryPeak), startup.Seconds()),
			"", ""})
	}
	if lost != 0 || dups != 0 {
		return rep, errors.New("delivery lost or duplicated referrals")
	}
	return rep, nil
}

// ratio formats figure/baseline with three significant digits: a fixed
// number of decimals printed a small but real ratio as "0.000" (delivery
// in a short run whose one referral failed six times in a row, against
// thousands of plain POSTs per second).
func ratio(figure, baseline float64) string {
	return strconv.FormatFloat(figure/baseline, 'g', 3, 64)
}

func check(ok bool, what string) string {
	if ok {
		return "ok    " + what
	}
	return "FAIL  " + what
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// writeCredentials names the fake platform as Endpoint ocean-east's token
// endpoint and client (README, "Credentials").
func writeCredentials(path, platformURL string) error {
	b, err := json.Marshal(map[string]any{"endpoints": map[string]any{
		"ocean-east": map[string]string{"token_url": platformURL + "/oauth2/token", "client_id": benchClient, "client_secret": benchSecret},
	}})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// call sends one request and returns the status and body.
func call(ctx context.Context, method, url, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ingestResult is what the clients measured.
type ingestResult struct {
	rate, p50, p99 float64 // bundles/s, ms
}

// ingest posts n encounters (identifiers 1..n) from clients goroutines.
func ingest(ctx context.Context, base string, n, clients int, progress io.Writer) (ingestResult, error) {
	lat, took, err := runClients(ctx, n, clients, newBar(progress, n, "ingest"), func(i int) error {
		st, body, err := call(ctx, "POST", base, fake.Encounter(fmt.Sprint(i+1)))
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("encounter %d: status %d: %.300s", i+1, st, body)
		}
		return err
	})
	if err != nil {
		return ingestResult{}, err
	}
	return ingestResult{rate: float64(n) / took.Seconds(), p50: quantileMs(lat, 0.5), p99: quantileMs(lat, 0.99)}, nil
}

// awaitDeliveries waits until the platform holds want add-service-request
// messages (first deliveries), or ten minutes pass; it returns how many
// arrived and how long since start.
func awaitDeliveries(ctx context.Context, p *fake.Platform, want int, start time.Time, progress io.Writer) (int, time.Duration, error) {
	bar := newBar(progress, want, "deliver")
	deadline := start.Add(10 * time.Minute)
	last := 0
	for {
		got := countAdds(p.Messages())
		_ = bar.Add(got - last)
		last = got
		if got >= want {
			return got, time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return got, time.Since(start), fmt.Errorf("%d of %d referrals delivered after ten minutes", got, want)
		}
		select {
		case <-ctx.Done():
			return got, time.Since(start), ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

const addEvent = "add-service-request"

func countAdds(ms []fake.Message) int {
	n := 0
	for _, m := range ms {
		if m.Event == addEvent {
			n++
		}
	}
	return n
}

// deliveryChecks counts referrals with no add-service-request message
// (lost), referrals with more than one message id for it (duplicated: a
// receiver could not tell the second from a new referral), and resends
// of a message id the platform already had (recognisable, expected after
// the injected failures).
func deliveryChecks(p *fake.Platform, want int) (lost, dups, resent int) {
	byFocus := map[string]int{}
	for _, m := range p.Messages() {
		if m.Event == addEvent {
			byFocus[m.Focus]++
		}
	}
	for _, n := range byFocus {
		if n > 1 {
			dups += n - 1
		}
	}
	lost = max(0, want-len(byFocus))
	for _, n := range p.Deliveries() {
		resent += n - 1
	}
	return lost, dups, resent
}

func newBar(w io.Writer, total int, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetDescription(what),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// checkEmpty refuses a PostgreSQL database that already holds socialrx's
// tables, before anything starts: the figures are those of an empty
// database, and a run on the last one's data waited ten minutes and
// reported 0 of 2 referrals delivered: the encounters (fake.Encounter) are
// conditional creates on identifiers that are the same in every run, so
// they match the last run's resources, and no new referral is made.
// It opens a pool as the server and the baseline do (pgxpool.New), so that
// a URL carrying the pool's own parameters (pool_max_conns=...) is taken
// here as it is there; pgx.Connect would send them to the server as
// settings and fail.
func checkEmpty(ctx context.Context, database string) error {
	pool, err := pgxpool.New(ctx, database)
	if err != nil {
		return fmt.Errorf("--database: %w", err)
	}
	defer pool.Close()
	var held bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('resources') IS NOT NULL`).Scan(&held); err != nil {
		return fmt.Errorf("--database: %w", err)
	}
	if held {
		return errors.New("--database: the database already holds socialrx's tables (a run before this one?): socialrx-bench measures an empty one; drop and create it (DROP DATABASE ...; CREATE DATABASE ...) or name another")
	}
	return nil
}
