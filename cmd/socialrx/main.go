// Command socialrx is the socialrx binary: the FHIR R4 service for social
// prescribing (serve), its database set-up (migrate), FHIR validation of
// files (validate), static API tokens (token new) and its version.
//
// main is tiny: flags and environment are parsed by kong into the command
// structs below, which fill a Config; Main wires the concrete adapters.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// CLI is the command line. Each flag can also come from the SOCIALRX_*
// environment variable named beside it; a flag wins over the environment.
type CLI struct {
	Serve    ServeCmd    `cmd:"" help:"Run the FHIR service (SQLite in ./socialrx-data by default; no set-up needed)."`
	Migrate  MigrateCmd  `cmd:"" help:"Create or upgrade the database schema, then exit."`
	Version  VersionCmd  `cmd:"" help:"Print the version and exit."`
	Validate ValidateCmd `cmd:"" help:"Check FHIR JSON files (.json, .ndjson; directories recursively) as $validate does; exit 1 if any fails."`
	Jobs     JobsCmd     `cmd:"" help:"List outbound messages (eReferral deliveries and EMR write-backs) and their state."`
	Demo     DemoCmd     `cmd:"" help:"Run the whole loop on a temp database with an in-process platform, EMR and mail server, and print it: the warm hand-off (referral, appointment, write-backs), then the follow-up (reminder email, the patient's form answered, the outcome written back) and the program report."`
	Token    TokenCmd    `cmd:"" help:"Make static API tokens for --api-token-file."`
	Export   ExportCmd   `cmd:"" help:"Write resources from the database as NDJSON files, one per type (what $export writes), with a progress bar."`
	Report   ReportCmd   `cmd:"" help:"Reports from the database: socialrx report programs --from 2026-01-01 --to 2026-07-01 [--csv] [--svg FILE]."`
	Import   ImportCmd   `cmd:"" help:"Load data from outside formats: import hsds (an Open Referral program directory)."`
	Programs ProgramsCmd `cmd:"" help:"List the directory's programs for a need near a place, nearest first."`
}

// DatabaseFlag is shared by the commands that open the database.
type DatabaseFlag struct {
	Database string `env:"SOCIALRX_DATABASE" default:"${default_database}" help:"Where data lives: sqlite:PATH (embedded, the default) or a postgres:// URL."`
}

// LogFlags are shared by the commands that log.
type LogFlags struct {
	LogLevel  string `env:"SOCIALRX_LOG_LEVEL" default:"${default_log_level}" enum:"debug,info,warn,error" help:"Log level: debug, info, warn, error."`
	LogFormat string `env:"SOCIALRX_LOG_FORMAT" default:"${default_log_format}" enum:"text,json" help:"Log format: text or json."`
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("socialrx"),
		kong.Description("socialrx: a FHIR R4 integration adapter for social prescribing.\n\n"+
			"Start here:  socialrx serve   (then open http://127.0.0.1:8080/fhir/metadata)\n"+
			"Every flag can also be set with the SOCIALRX_* environment variable named in its help."),
		kong.UsageOnError(),
		cliVars(DefaultConfig()),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	err := kctx.Run(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "socialrx: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// cliVars are the variables the CLI structs' defaults (`default:"${...}"`)
// and help are read from: cfg's values (DefaultConfig), so that a default
// is written once. Durations are written as a person would ("2m", not
// "2m0s").
func cliVars(cfg Config) kong.Vars {
	return kong.Vars{
		"default_listen":             cfg.Listen,
		"default_database":           cfg.Database,
		"default_max_body_bytes":     strconv.FormatInt(cfg.MaxBodyBytes, 10),
		"default_request_timeout":    shortDuration(cfg.RequestTimeout),
		"default_max_bundle_entries": strconv.Itoa(cfg.MaxBundleEntries),
		"default_max_response_bytes": strconv.FormatInt(cfg.MaxResponseBytes, 10),
		"default_max_search_params":  strconv.Itoa(cfg.MaxSearchParams),
		"default_max_search_values":  strconv.Itoa(cfg.MaxSearchValues),
		"most_search_params":         strconv.Itoa(search.MaxParams),
		"most_search_values":         strconv.Itoa(search.MaxValues),
		"default_shutdown_timeout":   shortDuration(cfg.ShutdownTimeout),
		"default_log_level":          cfg.LogLevel,
		"default_log_format":         cfg.LogFormat,
		"default_workers":            strconv.Itoa(cfg.Workers),
		"default_busy_delivery_rate": strconv.FormatFloat(cfg.BusyDeliveryRate, 'g', -1, 64),
		"default_audit":              strconv.FormatBool(cfg.Audit),
		"default_retry_base":         shortDuration(cfg.RetryBase),
		"default_job_timeout":        shortDuration(cfg.JobTimeout),
		"default_http_timeout":       shortDuration(cfg.HTTPTimeout),
		"default_poll_every":         shortDuration(cfg.PollEvery),
		"default_export_dir":         cfg.ExportDir,
		"default_export_expiry":      shortDuration(cfg.ExportExpiry),
		"default_link_ttl":           shortDuration(cfg.LinkTTL),
		"default_escalate_after":     shortDuration(cfg.FollowUpEscalateAfter),
		"default_stale_after":        shortDuration(cfg.ProgramStaleAfter),
		"default_tz":                 cfg.ReportZone,
		"retry_max":                  shortDuration(socialrx.DefaultRetryPolicy().BackoffMax),
	}
}

// shortDuration is d as time.ParseDuration reads it, without zero units at
// the end: "2m", "1h", "1m30s", "500ms".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run() error {
	fmt.Println("socialrx", version, "(FHIR R4 4.0.1)")
	return nil
}
