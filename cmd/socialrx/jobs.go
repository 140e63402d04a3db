package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/socialrx/socialrx/adapter/emr"
	"github.com/socialrx/socialrx/adapter/ereferral"
	"github.com/socialrx/socialrx/adapter/jobs"
	"github.com/socialrx/socialrx/adapter/postgres"
	"github.com/socialrx/socialrx/adapter/sqlite"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// startJobs starts the background workers on the store's own database:
// deliveries to platforms (ereferral), write-backs to EMRs (emr) and
// follow-up reminders. audit, when not nil, records each delivery attempt
// (an AuditEvent in the transaction that records its outcome).
func startJobs(ctx context.Context, store Store, cfg Config, creds *CredentialsFile, rc *reach, source string, log *slog.Logger, reg prometheus.Registerer, audit *workflow.Auditor, share *jobs.Share) (*jobs.Runner, error) {
	jc := jobs.DefaultConfig()
	jc.Registry = reg
	jc.Store = store
	wopts := cfg.Workflow()
	wopts.Reach = rc.opts
	wopts.Audit = audit
	jc.Workflow = workflow.New(store, wopts)
	jc.Notifiers = rc.notifiers
	platform := ereferral.New(creds, ereferral.Options{UserAgent: "socialrx/" + version, Timeout: cfg.HTTPTimeout})
	jc.Platform, jc.Poller = platform, platform
	if cfg.PollEvery != 0 {
		jc.PollEvery = cfg.PollEvery
	}
	jc.EMR = emr.New(creds, emr.Options{UserAgent: "socialrx/" + version, Timeout: cfg.HTTPTimeout})
	jc.SourceURL = source
	jc.EMRAddress = cfg.EMREndpoint
	jc.Workers = cfg.Workers
	jc.Share = share
	jc.ExportDir, jc.ExportExpiry = cfg.ExportDir, cfg.ExportExpiry
	jc.Logger = log
	if cfg.RetryBase > 0 {
		jc.Retry.BackoffBase = cfg.RetryBase
	}
	if cfg.JobTimeout > 0 {
		jc.JobTimeout = cfg.JobTimeout
		jc.RescueAfter = cfg.JobTimeout + cfg.JobTimeout/2
	}
	// The job runner works on detached context: ctx ends on SIGTERM, and
	// Close stops the runner (letting running jobs finish) after the HTTP
	// server has drained.
	ctx = context.WithoutCancel(ctx)
	switch s := store.(type) {
	case *sqlite.Store:
		return jobs.Start(ctx, riversqlite.New(s.DB()), jc)
	case *postgres.Store:
		return jobs.Start(ctx, riverpgxv5.New(s.Pool()), jc)
	}
	return nil, fmt.Errorf("jobs: unsupported store %T", store)
}
