// Package jobs runs socialrx's durable background work on River
// (riverqueue), on the same database as the data: delivering outbox
// messages (eReferral messages to platforms, write-backs to EMRs) and
// follow-up reminders. Jobs are inserted by the workflow (adapter/workflow)
// through the store, in the transaction of the write that causes them; this
// package works them, and records what they did through the workflow.
// Retries, back-off and dead letters are River's, by socialrx.RetryPolicy
// (retry.go in the root package): the HTTP clients behind socialrx.Platform
// and socialrx.EMR make one attempt each.
//
// One Runner per process; several processes on one PostgreSQL database share
// the work safely (River locks each job), so a message is sent by one of
// them at a time.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// Config configures a Runner. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	Store socialrx.Store
	// Workflow records what the jobs do (delivery outcomes, polled
	// Tasks, hand-off Tasks), with the same settings as the API's;
	// required.
	Workflow *workflow.Workflow

	Platform socialrx.Platform // nil: platform messages fail as "no platform client"
	EMR      socialrx.EMR      // nil: write-backs fail as "no EMR client"
	Poller   socialrx.Poller   // nil: platforms are not polled
	// Notifiers send reminders to patients by channel (email, text); a
	// channel without one is not chosen (workflow.ReachOptions.Auto must
	// agree), and a reminder queued for it fails over to a staff call.
	Notifiers map[socialrx.ContactChannel]socialrx.Notifier
	// SourceURL is socialrx's own FHIR base (MessageHeader.source.endpoint).
	SourceURL string
	// EMRAddress is the FHIR base of the default EMR (serve --emr-endpoint),
	// for write-backs to socialrx.EMRDefaultEndpointID.
	EMRAddress string

	Workers int // concurrent jobs in this process (default 20)
	// Share, when set, bounds how fast deliveries start while the API is
	// answering requests (share.go); nil: as fast as Workers take them.
	Share *Share
	// Retry is when a failed job is retried and when a message is
	// dead-lettered; its zero fields take socialrx.DefaultRetryPolicy's.
	// The attempt limit River holds on each delivery job, from
	// sqlstore.DeliverOpts, applies too.
	Retry socialrx.RetryPolicy
	// BlockedWait is how long a message waits before looking again when an
	// earlier message of its referral is still pending (default 1s).
	BlockedWait time.Duration
	// PollInterval is how often idle workers look for new jobs when the
	// database cannot notify them (SQLite), and how soon a job retried
	// within the next few seconds is picked up (default 50ms: an idle
	// process runs 20 small queries a second).
	PollInterval time.Duration
	// PollEvery is how often hl7-fhir-rest platforms with open referrals
	// are polled for Task changes (default 1m, at least 1s; negative:
	// never).
	PollEvery time.Duration
	// JobTimeout bounds one attempt (default 2m); RescueAfter is when a job
	// left running by a process that died is picked up again (default
	// JobTimeout + 1m).
	JobTimeout, RescueAfter time.Duration

	// ExportDir holds the files of Bulk Data exports (one directory per
	// export); exports fail when it is empty. ExportExpiry is how long a
	// finished export is kept (export.DefaultExpiry if 0); ExportSlice how
	// long one run of an export job works before it snoozes
	// (export.DefaultSlice if 0, at most half of JobTimeout);
	// ExportCleanupEvery how often expired exports are removed (default
	// 1m; negative: never).
	ExportDir          string
	ExportExpiry       time.Duration
	ExportSlice        time.Duration
	ExportCleanupEvery time.Duration
	// StaleProgramsEvery is how often the directory's stale programs are
	// listed for staff (job stale_programs; default daily, negative: never).
	StaleProgramsEvery time.Duration

	// Registry, when set, receives the delivery metrics (metrics.go).
	Registry prometheus.Registerer

	Logger *slog.Logger
	Now    func() time.Time
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		Workers:      20,
		Retry:        socialrx.DefaultRetryPolicy(),
		BlockedWait:  time.Second,
		PollInterval: 50 * time.Millisecond,
		JobTimeout:   2 * time.Minute,
		PollEvery:    time.Minute,
	}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	if c.Workers <= 0 {
		c.Workers = d.Workers
	}
	if c.Retry.MaxAttempts <= 0 {
		c.Retry.MaxAttempts = d.Retry.MaxAttempts
	}
	if c.Retry.MaxAge <= 0 {
		c.Retry.MaxAge = d.Retry.MaxAge
	}
	if c.Retry.BackoffBase <= 0 {
		c.Retry.BackoffBase = d.Retry.BackoffBase
	}
	if c.Retry.BackoffMax <= 0 {
		c.Retry.BackoffMax = d.Retry.BackoffMax
	}
	if c.Retry.Jitter <= 0 {
		c.Retry.Jitter = d.Retry.Jitter
	}
	if c.Retry.RetryAfterCap <= 0 {
		c.Retry.RetryAfterCap = d.Retry.RetryAfterCap
	}
	if c.BlockedWait <= 0 {
		c.BlockedWait = d.BlockedWait
	}
	if c.PollInterval <= 0 {
		c.PollInterval = d.PollInterval
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = d.JobTimeout
	}
	if c.PollEvery == 0 {
		c.PollEvery = d.PollEvery
	}
	if c.PollEvery > 0 && c.PollEvery < time.Second {
		c.PollEvery = time.Second // River's uniqueness by period is at least 1s
	}
	if c.RescueAfter <= c.JobTimeout {
		c.RescueAfter = c.JobTimeout + time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ExportSlice <= 0 {
		c.ExportSlice = export.DefaultSlice
	}
	c.ExportSlice = min(c.ExportSlice, c.JobTimeout/2)
	if c.ExportCleanupEvery == 0 {
		c.ExportCleanupEvery = time.Minute
	}
	if c.StaleProgramsEvery == 0 {
		c.StaleProgramsEvery = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Runner works jobs until Stop.
type Runner struct {
	stop func(ctx context.Context) error
}

// Start starts working jobs on driver's database (riversqlite or
// riverpgxv5 over the store's own connections) in the background.
func Start[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg Config) (*Runner, error) {
	cfg.defaults()
	if cfg.Store == nil {
		return nil, socialrx.Errorf(socialrx.EINVALID, "jobs: no store")
	}
	if cfg.Workflow == nil {
		// A workflow made here would not know the server's settings (the
		// default EMR, follow-up intervals): the caller passes the one
		// the API uses.
		return nil, socialrx.Errorf(socialrx.EINVALID, "jobs: no workflow")
	}
	m := newMetrics(cfg.Registry)
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{cfg: cfg, endpoints: endpointCache{now: cfg.Now}, m: m})
	river.AddWorker(workers, &reminderWorker{cfg: cfg})
	river.AddWorker(workers, &escalationWorker{cfg: cfg})
	river.AddWorker(workers, &handoffWorker{cfg: cfg})
	river.AddWorker(workers, &pollWorker{cfg: cfg, m: m})
	river.AddWorker(workers, &exportWorker{cfg: cfg, runner: export.NewRunner(export.Options{
		Store: cfg.Store, Dir: cfg.ExportDir, Expiry: cfg.ExportExpiry, Slice: cfg.ExportSlice, Now: cfg.Now, Logger: cfg.Logger,
	})})
	river.AddWorker(workers, &exportCleanupWorker{cfg: cfg})
	river.AddWorker(workers, &staleProgramsWorker{cfg: cfg})
	var periodic []*river.PeriodicJob
	if cfg.ExportCleanupEvery > 0 && cfg.ExportDir != "" {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.ExportCleanupEvery),
			func() (river.JobArgs, *river.InsertOpts) {
				return exportCleanupArgs{}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: max(cfg.ExportCleanupEvery, time.Second)}}
			}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	if cfg.StaleProgramsEvery > 0 {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.StaleProgramsEvery),
			func() (river.JobArgs, *river.InsertOpts) {
				// Not unique: the check also runs at every start (programs
				// imported, then served, are on the work list at once; a
				// uniqueness period of a day made a restart the same day
				// skip it). Periodic jobs are inserted by the leader only,
				// and a second run is harmless: each Task has a derived id
				// (workflow.CheckStalePrograms).
				return staleProgramsArgs{}, &river.InsertOpts{MaxAttempts: 3}
			}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	if cfg.PollEvery > 0 && cfg.Poller != nil {
		// Periodic jobs are inserted by the leader only: one poll at a time
		// across processes.
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.PollEvery),
			func() (river.JobArgs, *river.InsertOpts) {
				return socialrx.PollArgs{}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: max(cfg.PollEvery, time.Second)}}
			}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	client, err := river.NewClient(driver, &river.Config{
		PeriodicJobs:      periodic,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
		FetchPollInterval: cfg.PollInterval,
		// River fetches at most once per cooldown: with its default (100
		// ms) a process starts at most Workers/0.1s jobs per second, which
		// capped delivery at ~150 referrals/s (docs/performance.md).
		FetchCooldown:        min(cfg.PollInterval, 5*time.Millisecond),
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          &retryPolicy{policy: cfg.Retry, now: cfg.Now},
		Logger:               quietLogger(cfg.Logger),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("jobs: start: %w", err)
	}
	cfg.Logger.Info("job workers started", "workers", cfg.Workers)
	return &Runner{stop: client.Stop}, nil
}

// Stop stops fetching new jobs and waits for running ones to finish, or
// for ctx to end (jobs cut short are retried later, by this process or
// another).
func (r *Runner) Stop(ctx context.Context) error {
	if r == nil || r.stop == nil {
		return nil
	}
	return r.stop(ctx)
}

// quietLogger raises River's own logging to warnings: its info lines are
// per-job noise. River logs job kinds and ids, never arguments' PHI (our
// arguments hold ids only).
func quietLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{l.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}

func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}

// retryPolicy is River's retry policy of every job: the delay of
// socialrx.RetryPolicy.Backoff after the job's attempt, jitter drawn here.
type retryPolicy struct {
	policy socialrx.RetryPolicy
	now    func() time.Time
}

func (r *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return r.now().Add(r.policy.Backoff(job.Attempt, rand.Float64()))
}

// reminderArgs mirror sqlstore.FollowUpReminderArgs (kind
// followup_reminder), which this package cannot import.
type reminderArgs struct {
	PrescriptionID string `json:"prescription_id"`
}

func (reminderArgs) Kind() string { return "followup_reminder" }
