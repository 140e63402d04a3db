// Command socialrx-bench measures a socialrx server it starts, from
// outside, as an EMR and a referral platform see it, and prints each
// figure beside a baseline measured in the same run and their ratio
// (design.md, "Benchmarks"):
//
//	ingest    encounter transaction Bundles posted by concurrent clients to
//	          `socialrx serve --workers 0` (bundles/s, p50, p99), against
//	          plain SQL writing each Bundle's resources as JSON rows, one
//	          transaction a Bundle, on the same kind of store
//	delivery  the referrals that ingest queued, delivered by a restarted
//	          `socialrx serve` to an in-process Ocean-style platform that
//	          fails a share of calls (referrals/s; lost and duplicated must
//	          be 0), against plain HTTP POSTs of the same messages to a
//	          platform without faults
//	search    work lists and look-ups a practice runs (p50, p99), against
//	          reads of one resource by id in the same run
//	export    a system-level $export (kick-off, polling, downloads: MB/s),
//	          against the store's own bulk read of the same bodies (COPY on
//	          PostgreSQL, one SELECT on SQLite)
//	memory    the server's resident set idle, and its peak during ingest and
//	          during the rest
//
// The server is the socialrx binary (beside this one, on $PATH, or
// --socialrx), on a fresh SQLite file (the default) or an empty PostgreSQL
// database (--database postgres://...). testing.B benchmarks measure the
// rest (mapping, import, audit, search at 100k: docs/performance.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the command line.
type CLI struct {
	Socialrx   string  `help:"The socialrx binary to start (default: the one beside socialrx-bench, else on $PATH)." type:"path" placeholder:"PATH"`
	Database   string  `help:"Database the server uses: empty for a fresh SQLite file in a temp directory, or the URL of an empty PostgreSQL database (its tables are created by the server; the baseline's table is dropped after)." placeholder:"URL"`
	Encounters int     `default:"2000" help:"Encounter Bundles to post (each a new patient with a warm hand-off: 6 resources, one referral to deliver)."`
	Clients    int     `default:"8" help:"Concurrent clients posting encounters (and posting the delivery baseline's messages)."`
	FailRate   float64 `default:"0.1" help:"Share of delivery attempts the platform answers 503 (retried by socialrx)."`
	Workers    int     `default:"20" help:"--workers of the server during delivery."`
	Searches   int     `default:"100" help:"Runs of each search (and as many reads by id, the baseline)."`
	Keep       bool    `help:"Keep the temp directory (database, server logs) and print its path."`
	IngestOnly bool    `help:"Measure ingest (and its baseline) only: for quick comparisons of two builds."`
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli, kong.Name("socialrx-bench"),
		kong.Description("Measure a socialrx server from outside: ingest, delivery, search, export and memory, each against a baseline measured in the same run."))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := run(ctx, cli, os.Stderr)
	if report != nil {
		report.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "socialrx-bench:", err)
		kctx.Exit(1)
	}
}
