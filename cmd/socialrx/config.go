package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/auth"
	"github.com/socialrx/socialrx/adapter/ereferral"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/adapter/jobs"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// Config is everything serve needs. DefaultConfig gives values that let
// `socialrx serve` run with no configuration at all; flags and SOCIALRX_*
// environment variables override them (see the CLI structs in main.go,
// whose defaults are DefaultConfig's, through cliVars).
type Config struct {
	Listen         string        // host:port; port 0 picks a free one
	Database       string        // "sqlite:PATH", a bare PATH, or a postgres:// URL
	BaseURL        string        // absolute URL of /fhir as clients see it; "" derives it from each request
	AllowedHosts   []string      // Host values links may be built from besides loopback and the listen address (httpapi.Config.AllowedHosts)
	MaxBodyBytes   int64         // largest request body accepted
	RequestTimeout time.Duration // deadline of each request, down to the database; the HTTP server's timeouts follow from it
	InsecureNoAuth bool          // allow a non-loopback Listen with no authentication configured
	DebugAddr      string        // loopback host:port of the pprof server; "" for none
	// OpsListen is the host:port of /healthz, /readyz and /metrics; ""
	// serves them on Listen while authentication is off, and nowhere once
	// it is on (they are never on the authenticated public listener).
	OpsListen string

	// Authentication of the REST API (adapter/auth). Neither AuthIssuer nor
	// APITokenFile set: no authentication, allowed on a loopback Listen
	// only (or with InsecureNoAuth).
	//
	// AuthIssuer is the SMART authorisation server whose JWT access tokens
	// are accepted; its keys are at AuthJWKSURL or in AuthJWKSFile; tokens
	// must be for AuthAudience (default BaseURL). AuthTokenEndpoint is
	// published in /.well-known/smart-configuration.
	AuthIssuer, AuthAudience, AuthJWKSURL, AuthJWKSFile, AuthTokenEndpoint string
	// APITokenFile holds static API tokens, hashed (auth.TokenFile).
	APITokenFile string
	// Per-request limits (httpapi.Config): entries of a transaction or
	// batch Bundle, bytes of resources in its response, parameters and
	// values of one search.
	MaxBundleEntries int
	MaxResponseBytes int64
	MaxSearchParams  int
	MaxSearchValues  int
	ShutdownTimeout  time.Duration // how long in-flight requests get to finish on SIGINT/SIGTERM
	AutoMigrate      bool          // migrate a database whose schema is behind (an empty one is always set up)
	LogLevel         string        // debug, info, warn, error
	LogFormat        string        // text or json

	// Credentials is the credentials file of the Endpoints (see
	// CredentialsFile); "" means none: outbound calls carry no token and
	// $process-messages refuses every caller.
	Credentials string
	// EMREndpoint is the FHIR base URL of the default EMR that referral
	// changes are written back to when the requester's Organization has no
	// hl7-fhir-rest Endpoint; "" means none.
	EMREndpoint string
	// RequireConsent sends a warm hand-off or navigator referral to the
	// program only while a Consent of the patient permits it (README,
	// "Consent"); off by default.
	RequireConsent bool
	// Audit records the audit trail (README, "Audit"); on by default.
	Audit bool
	// Workers is how many background jobs (deliveries, reminders) run at
	// once in this process; 0 runs none (another process works them).
	Workers int
	// BusyDeliveryRate is how many deliveries start a second while the
	// API is answering requests (jobs.Share); 0 bounds nothing.
	BusyDeliveryRate float64
	// Job timings; zero takes adapter/jobs defaults (tests shorten them).
	RetryBase, JobTimeout time.Duration
	// HTTPTimeout bounds each outbound call; zero takes the clients'
	// default (30 s).
	HTTPTimeout time.Duration
	// PollEvery is how often hl7-fhir-rest platforms are polled; zero
	// takes the default (1 minute).
	PollEvery time.Duration
	// ExportDir holds the files of Bulk Data exports ($export), one
	// directory per export; shared by every serve process of one
	// database. ExportExpiry is how long a finished export's files and
	// status are kept.
	ExportDir    string
	ExportExpiry time.Duration

	// Reaching the patient (README "Reaching the patient"). LinkKeyFile
	// holds the key that signs the patient form links (made on first
	// start when absent; every serve process of one database needs the
	// same file); LinkTTL is how long a link works; FollowUpEscalateAfter
	// how long after the reminder an unanswered follow-up becomes a staff
	// call. SMTP, the SMS gateway, the form's public URL and the clinic's
	// name are in the credentials file's "notifiers" section.
	LinkKeyFile           string
	LinkTTL               time.Duration
	FollowUpEscalateAfter time.Duration
	// ProgramStaleAfter is how long after its last verification a program
	// of the directory is stale: a prescription to it gets a warning and
	// the daily check lists it.
	ProgramStaleAfter time.Duration
	// ReportZone is the IANA time zone whose days the date-only periods of
	// $evaluate-measure name (as report programs --tz).
	ReportZone string
}

// Workflow returns the workflow settings of c: write-backs go to the
// default EMR when one is configured; sharing is gated on Consent when
// required.
func (c Config) Workflow() workflow.Options {
	return workflow.Options{DefaultEMR: c.EMREndpoint != "", RequireConsent: c.RequireConsent, ProgramStaleAfter: c.ProgramStaleAfter}
}

// DefaultDatabase is the embedded SQLite file used when nothing is configured.
const DefaultDatabase = "sqlite:" + "socialrx-data/socialrx.db"

// DefaultReportZone is the time zone of report periods given as dates: the
// Ontario practices socialrx is built for.
const DefaultReportZone = "America/Toronto"

// DefaultExportDir is where export files go when nothing is configured:
// beside the default database.
const DefaultExportDir = "socialrx-data/exports"

// DefaultBusyDeliveryRate is how many deliveries start a second while the
// API is busy (serve --busy-delivery-rate; BenchmarkIngestDuringDelivery,
// docs/performance.md). It drains 72,000 messages an hour however busy
// the API is; idle, delivery runs at the workers' full speed.
const DefaultBusyDeliveryRate = 20

// LinkKey returns the link key file: LinkKeyFile, or when it is empty
// link.key beside the SQLite database file, or socialrx-data/link.key
// (relative to the working directory) with PostgreSQL.
func (c Config) LinkKey() string {
	if c.LinkKeyFile != "" {
		return c.LinkKeyFile
	}
	if kind, target, err := ParseDatabase(c.Database); err == nil && kind == KindSQLite {
		return filepath.Join(filepath.Dir(target), "link.key")
	}
	return filepath.Join("socialrx-data", "link.key")
}

// DefaultConfig returns the defaults documented in the README and shown
// by --help. Those of the background jobs and outbound calls are the
// adapters' own (jobs.DefaultConfig, whose retry timings are
// socialrx.DefaultRetryPolicy's; the outbound clients' Options), not
// written again here.
func DefaultConfig() Config {
	jc := jobs.DefaultConfig()
	hc := httpapi.DefaultConfig()
	return Config{
		Listen:           "127.0.0.1:8080",
		Database:         DefaultDatabase,
		MaxBodyBytes:     hc.MaxBodyBytes,
		RequestTimeout:   hc.RequestTimeout,
		MaxBundleEntries: hc.MaxBundleEntries,
		MaxResponseBytes: hc.MaxResponseBytes,
		MaxSearchParams:  hc.MaxSearchParams,
		MaxSearchValues:  hc.MaxSearchValues,
		ShutdownTimeout:  30 * time.Second,
		LogLevel:         "info",
		LogFormat:        "text",
		Workers:          jc.Workers,
		BusyDeliveryRate: DefaultBusyDeliveryRate,
		RetryBase:        jc.Retry.BackoffBase,
		JobTimeout:       jc.JobTimeout,
		HTTPTimeout:      ereferral.Options{}.WithDefaults().Timeout,
		PollEvery:        jc.PollEvery,
		RequireConsent:   false,
		Audit:            true,
		ExportDir:        DefaultExportDir,
		ExportExpiry:     export.DefaultExpiry,
		LinkTTL:          socialrx.DefaultLinkTTL,

		FollowUpEscalateAfter: socialrx.DefaultEscalateAfter,
		ProgramStaleAfter:     socialrx.DefaultProgramStaleAfter,
		ReportZone:            DefaultReportZone,
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen address %q: want host:port: %w", c.Listen, err)
	}
	if err := checkDebugAddr(c.DebugAddr); err != nil {
		return err
	}
	if _, err := time.LoadLocation(c.ReportZone); err != nil {
		return fmt.Errorf("--tz %q: not a time zone (an IANA name: America/Toronto, UTC)", c.ReportZone)
	}
	if err := c.validateAuth(); err != nil {
		return err
	}
	if !c.InsecureNoAuth && !c.AuthEnabled() && !LoopbackListen(c.Listen) {
		return fmt.Errorf("listen address %q is not a loopback address, and no authentication is configured: "+
			"anyone who can reach it could read and change every resource. Configure authentication (--auth-issuer with --auth-jwks-url, or --api-token-file), "+
			"listen on 127.0.0.1 (behind a proxy that authenticates), "+
			"or pass --insecure-no-auth (SOCIALRX_INSECURE_NO_AUTH=true) to serve it anyway", c.Listen)
	}
	if c.OpsListen != "" {
		if _, _, err := net.SplitHostPort(c.OpsListen); err != nil {
			return fmt.Errorf("ops listen address %q: want host:port: %w", c.OpsListen, err)
		}
	}
	if _, _, err := ParseDatabase(c.Database); err != nil {
		return err
	}
	if c.RequestTimeout <= 0 {
		return fmt.Errorf("request timeout %s: must be positive", c.RequestTimeout)
	}
	hc := httpapi.Config{AllowedHosts: c.AllowedHosts}
	if err := hc.Validate(); err != nil {
		return fmt.Errorf("allowed hosts: %w", err)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > fhir.MaxDocumentBytes {
		return fmt.Errorf("max body bytes %d: must be at least 1024 and below 256 MiB (%d, the largest document the FHIR parser reads)", c.MaxBodyBytes, int64(fhir.MaxDocumentBytes))
	}
	if c.MaxBundleEntries < 1 {
		return fmt.Errorf("max bundle entries %d: must be at least 1", c.MaxBundleEntries)
	}
	if c.MaxResponseBytes < 1024 {
		return fmt.Errorf("max response bytes %d: must be at least 1024", c.MaxResponseBytes)
	}
	if c.MaxSearchParams < httpapi.MinSearchLimit || c.MaxSearchParams > search.MaxParams {
		return fmt.Errorf("max search params %d: must be between %d and %d", c.MaxSearchParams, httpapi.MinSearchLimit, search.MaxParams)
	}
	if c.MaxSearchValues < httpapi.MinSearchLimit || c.MaxSearchValues > search.MaxValues {
		return fmt.Errorf("max search values %d: must be between %d and %d", c.MaxSearchValues, httpapi.MinSearchLimit, search.MaxValues)
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("shutdown timeout %s: must not be negative", c.ShutdownTimeout)
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("base URL %q: must start with http:// or https://", c.BaseURL)
	}
	if c.EMREndpoint != "" && !strings.HasPrefix(c.EMREndpoint, "http://") && !strings.HasPrefix(c.EMREndpoint, "https://") {
		return fmt.Errorf("EMR endpoint %q: must be the FHIR base URL, starting with http:// or https://", c.EMREndpoint)
	}
	if c.RetryBase < 0 || c.JobTimeout < 0 || c.HTTPTimeout < 0 {
		return fmt.Errorf("retry base, job timeout and HTTP timeout must not be negative")
	}
	if c.JobTimeout > 0 && c.HTTPTimeout > 0 && c.JobTimeout < 4*c.HTTPTimeout {
		return fmt.Errorf("job timeout %s: must be at least 4 times the HTTP timeout %s (a send may fetch a token, call, refresh the token and call again)", c.JobTimeout, c.HTTPTimeout)
	}
	if c.PollEvery != 0 && c.PollEvery < time.Second {
		return fmt.Errorf("poll interval %s: must be at least 1s", c.PollEvery)
	}
	if c.ExportDir == "" {
		return fmt.Errorf("export directory: must not be empty")
	}
	if c.ExportExpiry < time.Minute {
		return fmt.Errorf("export expiry %s: must be at least 1m", c.ExportExpiry)
	}
	if c.LinkTTL < time.Hour {
		return fmt.Errorf("link TTL %s: must be at least 1h", c.LinkTTL)
	}
	if c.ProgramStaleAfter < 24*time.Hour {
		return fmt.Errorf("stale after %s: must be at least 24h", c.ProgramStaleAfter)
	}
	if c.FollowUpEscalateAfter < time.Second {
		return fmt.Errorf("follow-up escalate after %s: must be at least 1s", c.FollowUpEscalateAfter)
	}
	if c.Workers < 0 {
		return fmt.Errorf("workers %d: must not be negative", c.Workers)
	}
	if !(c.BusyDeliveryRate >= 0) || math.IsInf(c.BusyDeliveryRate, 0) || (c.BusyDeliveryRate > 0 && c.BusyDeliveryRate < 1.0/60) {
		return fmt.Errorf("busy delivery rate %g: must be 0 (no bound) or at least one a minute (0.0167)", c.BusyDeliveryRate)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log format %q: want text or json", c.LogFormat)
	}
	return nil
}

// AuthEnabled reports whether the REST API authenticates its clients.
func (c Config) AuthEnabled() bool { return c.AuthIssuer != "" || c.APITokenFile != "" }

// JWTConfig is the configuration of the access token verifier, when
// AuthIssuer is set.
func (c Config) JWTConfig() auth.JWTConfig {
	aud := c.AuthAudience
	if aud == "" {
		aud = strings.TrimRight(c.BaseURL, "/")
	}
	return auth.JWTConfig{Issuer: c.AuthIssuer, Audience: aud, JWKSURL: c.AuthJWKSURL, JWKSFile: c.AuthJWKSFile}
}

// validateAuth checks the authentication settings.
func (c Config) validateAuth() error {
	if c.AuthIssuer == "" {
		if c.AuthAudience != "" || c.AuthJWKSURL != "" || c.AuthJWKSFile != "" || c.AuthTokenEndpoint != "" {
			return fmt.Errorf("--auth-audience, --auth-jwks-url, --auth-jwks-file and --auth-token-endpoint need --auth-issuer")
		}
		return nil
	}
	jc := c.JWTConfig()
	if jc.Audience == "" {
		return fmt.Errorf("--auth-issuer needs --auth-audience (or --base-url): the FHIR base URL the authorisation server names in its tokens' aud")
	}
	if err := jc.Validate(); err != nil {
		return err
	}
	if c.AuthTokenEndpoint != "" && !strings.HasPrefix(c.AuthTokenEndpoint, "https://") && !strings.HasPrefix(c.AuthTokenEndpoint, "http://") {
		return fmt.Errorf("--auth-token-endpoint %q: want an absolute URL", c.AuthTokenEndpoint)
	}
	return nil
}

// Database kinds.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// ParseDatabase splits a --database value into its kind and the path or DSN.
func ParseDatabase(s string) (kind, target string, err error) {
	switch {
	case s == "":
		return "", "", fmt.Errorf("database: empty; want sqlite:PATH or postgres://...")
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return KindPostgres, s, nil
	case strings.HasPrefix(s, "sqlite:"):
		p := strings.TrimPrefix(s, "sqlite:")
		p = strings.TrimPrefix(p, "//")
		if p == "" {
			return "", "", fmt.Errorf("database %q: sqlite needs a file path", s)
		}
		return KindSQLite, filepath.Clean(p), nil
	case strings.Contains(s, "://"):
		return "", "", fmt.Errorf("database %q: unknown scheme; want sqlite:PATH or postgres://...", redactDSN(s))
	default:
		return KindSQLite, filepath.Clean(s), nil
	}
}

// redactDSN hides a password in a URL so it can be logged or shown.
func redactDSN(s string) string {
	at := strings.LastIndex(s, "@")
	scheme := strings.Index(s, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return s
	}
	userinfo := s[scheme+3 : at]
	if colon := strings.Index(userinfo, ":"); colon >= 0 {
		return s[:scheme+3] + userinfo[:colon] + ":xxxxx" + s[at:]
	}
	return s
}

// LoopbackListen reports whether a listen address (host:port) is reachable
// from this machine only: a loopback IP (127.0.0.0/8, ::1), or localhost or
// a name below it (RFC 6761) that resolves to loopback addresses only
// (/etc/hosts may say otherwise). An empty host (":8080") listens on every
// interface; any other name is taken as reachable from elsewhere.
func LoopbackListen(listen string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return loopbackListen(ctx, listen, net.DefaultResolver.LookupHost)
}

// boundLoopback reports whether a listener's address is a loopback one.
func boundLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// loopbackListen is LoopbackListen with lookup resolving names.
func loopbackListen(ctx context.Context, listen string, lookup func(ctx context.Context, host string) ([]string, error)) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || !httpapi.IsLoopbackHost(host) {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return true // a literal loopback IP
	}
	addrs, err := lookup(ctx, host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// HTTP server timeouts. A request's own deadline (RequestTimeout) starts
// once its header is read and covers reading the body and the database
// work; the server's read timeout covers the header and that, and its
// write timeout leaves writeMargin after the deadline to send the answer
// (a 503 timeout OperationOutcome included).
const (
	readHeaderTimeout = 10 * time.Second
	writeMargin       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// ServerTimeouts returns the http.Server timeouts for c: read header, read
// (whole request), write (whole exchange), idle.
func (c Config) ServerTimeouts() (readHeader, read, write, idle time.Duration) {
	read = readHeaderTimeout + c.RequestTimeout
	return readHeaderTimeout, read, read + writeMargin, idleTimeout
}
