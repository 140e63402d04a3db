package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socialrx/socialrx/adapter/auth"
	"github.com/socialrx/socialrx/adapter/httpapi"
	"github.com/socialrx/socialrx/adapter/jobs"
	"github.com/socialrx/socialrx/adapter/postgres"
	"github.com/socialrx/socialrx/adapter/workflow"
)

// ServeCmd runs the service until SIGINT or SIGTERM.
type ServeCmd struct {
	Listen                string        `env:"SOCIALRX_LISTEN" default:"${default_listen}" help:"Address to listen on; one that is not loopback (127.0.0.1, ::1, localhost) needs authentication (--auth-issuer or --api-token-file) or --insecure-no-auth."`
	OpsListen             string        `env:"SOCIALRX_OPS_LISTEN" placeholder:"HOST:PORT" help:"Address of /healthz, /readyz and /metrics (no authentication). Empty: on --listen while authentication is off, nowhere once it is on."`
	AuthIssuer            string        `env:"SOCIALRX_AUTH_ISSUER" placeholder:"URL" help:"Issuer of the SMART Backend Services access tokens (JWT) to accept; turns authentication on. Needs --auth-jwks-url or --auth-jwks-file."`
	AuthAudience          string        `env:"SOCIALRX_AUTH_AUDIENCE" placeholder:"URL" help:"Audience (aud) access tokens must name: this server as the authorisation server knows it. Default: --base-url."`
	AuthJWKSURL           string        `name:"auth-jwks-url" env:"SOCIALRX_AUTH_JWKS_URL" placeholder:"URL" help:"JWK Set URL of the authorisation server (https, or http on loopback; cached, fetched again for an unknown key id at most every 30s, and every 15m)."`
	AuthJWKSFile          string        `env:"SOCIALRX_AUTH_JWKS_FILE" placeholder:"FILE" help:"JWK Set of the authorisation server as a file, instead of --auth-jwks-url (a new key needs a restart)."`
	AuthTokenEndpoint     string        `env:"SOCIALRX_AUTH_TOKEN_ENDPOINT" placeholder:"URL" help:"Token endpoint of the authorisation server, published in /.well-known/smart-configuration and the CapabilityStatement."`
	APITokenFile          string        `env:"SOCIALRX_API_TOKEN_FILE" placeholder:"FILE" help:"File of static API tokens (hashed, each with a name and scopes; make them with 'socialrx token new'); turns authentication on."`
	BaseURL               string        `env:"SOCIALRX_BASE_URL" placeholder:"URL" help:"Public URL of /fhir for links (Location, fullUrl, paging; e.g. https://rx.example.org/fhir). Empty: built from the request's Host when it is loopback, the listen address or in --allowed-hosts."`
	AllowedHosts          []string      `env:"SOCIALRX_ALLOWED_HOSTS" placeholder:"HOST[:PORT]" help:"Host header values (name, or name:port) that links may be built from when --base-url is not set, besides loopback and the listen address. A /fhir request with any other Host gets 421 Misdirected Request. With --base-url set and this empty, Host is not checked."`
	MaxBodyBytes          int64         `env:"SOCIALRX_MAX_BODY_BYTES" default:"${default_max_body_bytes}" help:"Largest request body accepted, in bytes."`
	MaxBundleEntries      int           `env:"SOCIALRX_MAX_BUNDLE_ENTRIES" default:"${default_max_bundle_entries}" help:"Most entries a transaction or batch Bundle may have; more get 413."`
	MaxResponseBytes      int64         `env:"SOCIALRX_MAX_RESPONSE_BYTES" default:"${default_max_response_bytes}" help:"Most bytes of resources a transaction or batch response carries: past it a transaction gets 413 (nothing stored), and in a batch the read that would pass it and every later read get 413 per entry."`
	MaxSearchParams       int           `env:"SOCIALRX_MAX_SEARCH_PARAMS" default:"${default_max_search_params}" help:"Most parameters one search may have (a repeated name counts each time; at most ${most_search_params}); more get 400."`
	MaxSearchValues       int           `env:"SOCIALRX_MAX_SEARCH_VALUES" default:"${default_max_search_values}" help:"Most values one search may have in all its parameters, each comma-separated value counted (at most ${most_search_values}); more get 400."`
	RequestTimeout        time.Duration `env:"SOCIALRX_REQUEST_TIMEOUT" default:"${default_request_timeout}" help:"Deadline of each request, passed down to the database (PostgreSQL stops the statement, SQLite interrupts it); a request past it gets 503 with an OperationOutcome (issue code timeout)."`
	InsecureNoAuth        bool          `env:"SOCIALRX_INSECURE_NO_AUTH" help:"Serve on a non-loopback --listen address with no authentication configured (refused without this flag)."`
	ShutdownTimeout       time.Duration `env:"SOCIALRX_SHUTDOWN_TIMEOUT" default:"${default_shutdown_timeout}" help:"Time in-flight requests get to finish on SIGINT/SIGTERM."`
	AutoMigrate           bool          `env:"SOCIALRX_AUTO_MIGRATE" help:"Upgrade an existing database whose schema is behind (an empty database is always set up)."`
	Credentials           string        `env:"SOCIALRX_CREDENTIALS" placeholder:"FILE" help:"JSON file with the secrets of each Endpoint (OAuth2 client credentials, inbound bearer tokens); see the README."`
	EMREndpoint           string        `env:"SOCIALRX_EMR_ENDPOINT" placeholder:"URL" help:"FHIR base URL of the default EMR that referral status changes, appointments and messages are written back to."`
	Audit                 bool          `env:"SOCIALRX_AUDIT" default:"${default_audit}" negatable:"" help:"Record an AuditEvent of every read, search, write, export and outbound message (searchable at /fhir/AuditEvent); --no-audit turns the audit trail off (development, benchmarks)."`
	RequireConsent        bool          `env:"SOCIALRX_REQUIRE_CONSENT" help:"Send a warm hand-off or navigator referral to the program only while an active patient-privacy Consent of the patient permits it; otherwise hold it (Task on-hold, Task?work-list=consent-needed) until one is recorded."`
	Workers               int           `env:"SOCIALRX_WORKERS" default:"${default_workers}" help:"Background jobs (deliveries, write-backs, reminders) run at once in this process; 0 runs none."`
	BusyDeliveryRate      float64       `env:"SOCIALRX_BUSY_DELIVERY_RATE" default:"${default_busy_delivery_rate}" help:"Deliveries started a second while the API is answering requests (each waits for its turn at most half of --job-timeout), so that a backlog does not slow the API; idle, delivery runs at the workers' full speed; 0 bounds nothing."`
	RetryBase             time.Duration `env:"SOCIALRX_RETRY_BASE" default:"${default_retry_base}" help:"First retry delay of a failed delivery; each further retry doubles it, up to ${retry_max}."`
	JobTimeout            time.Duration `env:"SOCIALRX_JOB_TIMEOUT" default:"${default_job_timeout}" help:"Longest one delivery attempt may run; a job left running by a process that died is picked up again after 1.5 times this, plus up to about 30s for River's leader election and rescue interval."`
	HTTPTimeout           time.Duration `env:"SOCIALRX_HTTP_TIMEOUT" default:"${default_http_timeout}" help:"Timeout of each outbound HTTP call (platforms, EMRs, token endpoints)."`
	PollEvery             time.Duration `env:"SOCIALRX_POLL_EVERY" default:"${default_poll_every}" help:"How often platforms that cannot push (hl7-fhir-rest Endpoints with open referrals) are polled for Task changes."`
	ExportDir             string        `env:"SOCIALRX_EXPORT_DIR" default:"${default_export_dir}" help:"Directory of Bulk Data export files ($export), one directory per export; every serve process of one database must see the same directory."`
	ExportExpiry          time.Duration `env:"SOCIALRX_EXPORT_EXPIRY" default:"${default_export_expiry}" help:"How long a finished export's files and status are kept before a cleanup job removes them."`
	LinkKeyFile           string        `env:"SOCIALRX_LINK_KEY_FILE" placeholder:"FILE" help:"Key that signs the links in patient reminders (32 random bytes, hex); made on first start when the file does not exist. Default: link.key beside the SQLite database, socialrx-data/link.key with PostgreSQL. Every serve process of one database needs the same file."`
	LinkTTL               time.Duration `env:"SOCIALRX_LINK_TTL" default:"${default_link_ttl}" help:"How long the link in a patient reminder works (at least 1h)."`
	StaleAfter            time.Duration `env:"SOCIALRX_STALE_AFTER" default:"${default_stale_after}" help:"How long after its last verification a directory program is stale: a prescription to it gets a warning, and the daily check lists it (Task?code=verify-program)."`
	FollowUpEscalateAfter time.Duration `env:"SOCIALRX_FOLLOW_UP_ESCALATE_AFTER" default:"${default_escalate_after}" help:"How long after the reminder an unanswered follow-up becomes a staff call Task (Task?work-list=call-patient)."`
	TZ                    string        `name:"tz" env:"SOCIALRX_TZ" default:"${default_tz}" help:"Time zone (IANA name: America/Toronto, UTC) whose days the date-only periods of $evaluate-measure name, as socialrx report programs --tz."`
	DebugAddr             string        `env:"SOCIALRX_DEBUG_ADDR" placeholder:"HOST:PORT" help:"Serve Go's profiler (net/http/pprof, /debug/pprof/) on this loopback address; off when empty."`
	DatabaseFlag
	LogFlags
}

// Config turns the flags into a Config.
func (c *ServeCmd) Config() Config {
	cfg := DefaultConfig()
	cfg.Listen = c.Listen
	cfg.Database = c.Database
	cfg.BaseURL = c.BaseURL
	cfg.AllowedHosts = c.AllowedHosts
	cfg.MaxBodyBytes = c.MaxBodyBytes
	cfg.RequestTimeout = c.RequestTimeout
	cfg.InsecureNoAuth = c.InsecureNoAuth
	cfg.MaxBundleEntries = c.MaxBundleEntries
	cfg.MaxResponseBytes = c.MaxResponseBytes
	cfg.MaxSearchParams = c.MaxSearchParams
	cfg.MaxSearchValues = c.MaxSearchValues
	cfg.ShutdownTimeout = c.ShutdownTimeout
	cfg.AutoMigrate = c.AutoMigrate
	cfg.Credentials = c.Credentials
	cfg.EMREndpoint = c.EMREndpoint
	cfg.RequireConsent = c.RequireConsent
	cfg.Audit = c.Audit
	cfg.Workers = c.Workers
	cfg.BusyDeliveryRate = c.BusyDeliveryRate
	cfg.RetryBase = c.RetryBase
	cfg.JobTimeout = c.JobTimeout
	cfg.HTTPTimeout = c.HTTPTimeout
	cfg.PollEvery = c.PollEvery
	cfg.ExportDir = c.ExportDir
	cfg.ExportExpiry = c.ExportExpiry
	cfg.DebugAddr = c.DebugAddr
	cfg.ReportZone = c.TZ
	cfg.LinkKeyFile = c.LinkKeyFile
	cfg.LinkTTL = c.LinkTTL
	cfg.FollowUpEscalateAfter = c.FollowUpEscalateAfter
	cfg.ProgramStaleAfter = c.StaleAfter
	cfg.OpsListen = c.OpsListen
	cfg.AuthIssuer = c.AuthIssuer
	cfg.AuthAudience = c.AuthAudience
	cfg.AuthJWKSURL = c.AuthJWKSURL
	cfg.AuthJWKSFile = c.AuthJWKSFile
	cfg.AuthTokenEndpoint = c.AuthTokenEndpoint
	cfg.APITokenFile = c.APITokenFile
	cfg.LogLevel = c.LogLevel
	cfg.LogFormat = c.LogFormat
	return cfg
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (c *ServeCmd) Run(ctx context.Context) error {
	cfg := c.Config()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	m := NewMain(cfg, newLogger(cfg.LogLevel, cfg.LogFormat))
	setServeGC(m.Logger)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	err := m.Close()
	if err == nil {
		m.Logger.Info("stopped")
	}
	return err
}

// Main is the running program: the store, the HTTP server and its listener.
// The end-to-end tests use it directly with a temp database and port 0.
type Main struct {
	Config Config
	Logger *slog.Logger

	Store Store
	audit *workflow.Auditor // nil with --no-audit
	jobs  *jobs.Runner
	share *jobs.Share // nil with --busy-delivery-rate 0
	// stopStats stops the PostgreSQL store's statistics keeper.
	stopStats func()
	server    *http.Server
	listener  net.Listener
	served    chan error
	debug     *http.Server // serve --debug-addr (debug.go)
	debugLn   net.Listener
	ops       *http.Server // serve --ops-listen
	opsLn     net.Listener
	opsDone   chan error

	// connState, when set (by tests), is called on every connection state change.
	connState func(net.Conn, http.ConnState)
}

// NewMain returns a Main for cfg; nothing is opened until Run.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Main{Config: cfg, Logger: logger}
}

// Run opens the database (setting up an empty one), starts listening and
// serves in the background. It returns once the server accepts connections.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	kind, target, _ := ParseDatabase(m.Config.Database)
	authn, err := newAuthenticator(m.Config, m.Logger)
	if err != nil {
		return err
	}
	var creds *CredentialsFile
	if m.Config.Credentials != "" {
		var err error
		if creds, err = LoadCredentials(m.Config.Credentials); err != nil {
			return err
		}
	}
	store, err := OpenStore(ctx, m.Config.Database)
	if err != nil {
		return err
	}
	m.Store = store
	if err := prepareSchema(ctx, store, m.Config.AutoMigrate, m.Logger); err != nil {
		return err
	}
	if n, err := seedTerminology(ctx, store); err != nil {
		return fmt.Errorf("store socialrx terminology: %w", err)
	} else if n > 0 {
		m.Logger.Info("stored socialrx CodeSystems and ValueSets", "written", n)
	}
	if k, ok := store.(statsKeeper); ok {
		m.stopStats = k.KeepStatistics(postgres.StatsEvery, m.Logger)
	}
	if l, ok := store.(logged); ok {
		l.SetLogger(m.Logger) // SQLite: failed WAL checkpoints
	}

	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Listen, err)
	}
	m.listener = ln
	// What was bound, not the name again: Validate resolved the name once,
	// and net.Listen resolved it a second time (an /etc/hosts changed in
	// between would have slipped through).
	if !boundLoopback(ln.Addr()) && authn == nil {
		if !m.Config.InsecureNoAuth {
			_ = ln.Close()
			return fmt.Errorf("listen on %s: bound %s, not a loopback address, and no authentication is configured: configure it or pass --insecure-no-auth", m.Config.Listen, ln.Addr())
		}
		m.Logger.Warn("serving on a non-loopback address with no authentication of the REST API (--insecure-no-auth): anyone who can reach it can read and change every resource",
			"listen", ln.Addr().String())
	}

	hcfg := httpapi.DefaultConfig()
	hcfg.BaseURL = m.Config.BaseURL
	hcfg.AllowedHosts = listenHosts(m.Config, ln.Addr())
	hcfg.MaxBodyBytes = m.Config.MaxBodyBytes
	hcfg.RequestTimeout = m.Config.RequestTimeout
	hcfg.MaxBundleEntries = m.Config.MaxBundleEntries
	hcfg.MaxResponseBytes = m.Config.MaxResponseBytes
	hcfg.MaxSearchParams = m.Config.MaxSearchParams
	hcfg.MaxSearchValues = m.Config.MaxSearchValues
	hcfg.Version = version
	hcfg.InboundAuth = creds.InboundEndpoint
	if authn != nil {
		hcfg.Auth = authn
		hcfg.SMART = httpapi.SMARTConfig{Issuer: m.Config.AuthIssuer, TokenEndpoint: m.Config.AuthTokenEndpoint, JWKSURI: m.Config.AuthJWKSURL}
	}
	rc, err := newReach(m.Config, creds, "http://"+ln.Addr().String(), m.Logger)
	if err != nil {
		_ = ln.Close()
		return err
	}
	hcfg.OpsApart = m.Config.OpsListen != ""
	hcfg.Workflow = m.Config.Workflow()
	hcfg.Workflow.Reach = rc.opts
	if m.Config.Audit {
		m.audit = workflow.NewAuditor(store, workflow.AuditorOptions{Logger: m.Logger})
		hcfg.Workflow.Audit = m.audit
	}
	hcfg.ExportDir = m.Config.ExportDir
	if hcfg.ReportZone, err = time.LoadLocation(m.Config.ReportZone); err != nil {
		_ = ln.Close()
		return fmt.Errorf("--tz %q: not a time zone (an IANA name: America/Toronto, UTC)", m.Config.ReportZone)
	}
	if err := hcfg.Validate(); err != nil {
		_ = ln.Close()
		return err
	}
	if m.Config.BusyDeliveryRate > 0 {
		// The count of requests in flight costs a lock per request.
		m.share = jobs.NewShare(m.Config.BusyDeliveryRate)
		hcfg.Activity = m.share
	}
	api := httpapi.New(store, hcfg, m.Logger)
	if m.audit != nil {
		registerAuditMetrics(api.Registry(), m.audit)
	}
	if m.Config.Workers > 0 {
		source := m.Config.BaseURL
		if source == "" {
			source = m.URL() + "/fhir"
		}
		if m.jobs, err = startJobs(ctx, store, m.Config, creds, rc, source, m.Logger, api.Registry(), m.audit, m.share); err != nil {
			_ = ln.Close()
			return err
		}
	}
	readHeader, read, write, idle := m.Config.ServerTimeouts()
	m.server = &http.Server{
		Handler:           withForm(api.Handler(), rc.formHandler(workflow.New(store, hcfg.Workflow), m.Logger)),
		ReadHeaderTimeout: readHeader,
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       idle,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
		ConnState:         m.connState,
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	if err := m.startOps(api); err != nil {
		return err
	}
	if m.Config.DebugAddr != "" {
		if m.debug, m.debugLn, err = startDebug(m.Config.DebugAddr); err != nil {
			return err
		}
		m.Logger.Info("profiler serving", "url", "http://"+m.debugLn.Addr().String()+"/debug/pprof/")
	}

	where := target
	if kind == KindPostgres {
		where = redactDSN(target)
	}
	m.Logger.Info("socialrx serving", "version", version, "url", m.URL()+"/fhir", "database", kind, "at", where, "authentication", authn != nil)
	return nil
}

// newAuthenticator returns the authenticator of the REST API that cfg
// configures, or nil when it configures none.
func newAuthenticator(cfg Config, log *slog.Logger) (*auth.Authenticator, error) {
	if !cfg.AuthEnabled() {
		return nil, nil
	}
	a := &auth.Authenticator{}
	if cfg.APITokenFile != "" {
		tf, err := auth.LoadTokenFile(cfg.APITokenFile)
		if err != nil {
			return nil, err
		}
		a.Tokens = tf
	}
	if cfg.AuthIssuer != "" {
		jc := cfg.JWTConfig()
		jc.Logger = log
		v, err := auth.NewJWTVerifier(jc)
		if err != nil {
			return nil, err
		}
		a.JWT = v
	}
	return a, nil
}

// startOps serves /healthz, /readyz and /metrics on --ops-listen, when set.
func (m *Main) startOps(api *httpapi.Server) error {
	if m.Config.OpsListen == "" {
		if m.Config.AuthEnabled() {
			m.Logger.Info("/healthz, /readyz and /metrics are not served: authentication is on and --ops-listen is not set")
		}
		return nil
	}
	ln, err := net.Listen("tcp", m.Config.OpsListen)
	if err != nil {
		return fmt.Errorf("listen on %s (--ops-listen): %w", m.Config.OpsListen, err)
	}
	m.opsLn = ln
	m.ops = &http.Server{Handler: api.OpsHandler(), ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn)}
	m.opsDone = make(chan error, 1)
	go func() { m.opsDone <- m.ops.Serve(ln) }()
	m.Logger.Info("operations serving", "url", m.OpsURL())
	return nil
}

// OpsURL is the http:// address of --ops-listen ("" when not set).
func (m *Main) OpsURL() string {
	if m.opsLn == nil {
		return ""
	}
	return "http://" + m.opsLn.Addr().String()
}

// listenHosts are the hosts links may be built from (httpapi's
// AllowedHosts): the configured ones, and the listen address as given and
// as bound (with the real port), unless it listens on every interface
// (then no one address is the server's). Only when --base-url is set and
// nothing is listed is Host left unchecked.
func listenHosts(cfg Config, addr net.Addr) []string {
	hosts := append([]string(nil), cfg.AllowedHosts...)
	if cfg.BaseURL != "" && len(hosts) == 0 {
		return nil
	}
	host, _, _ := net.SplitHostPort(cfg.Listen)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return hosts
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return append(hosts, net.JoinHostPort(host, port), addr.String())
}

// URL is the http:// address the server listens on (with the real port when
// Listen asked for port 0).
func (m *Main) URL() string {
	if m.listener == nil {
		return ""
	}
	return "http://" + m.listener.Addr().String()
}

// Close stops accepting connections, lets in-flight requests finish within
// Config.ShutdownTimeout, and closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.debug != nil {
		_ = m.debug.Close()
		m.debug = nil
	}
	if m.ops != nil {
		_ = m.ops.Close()
		<-m.opsDone
		m.ops = nil
	}
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		cancel()
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.server = nil
	}
	if m.jobs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if err := m.jobs.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop jobs: %w", err))
		}
		cancel()
		m.jobs = nil
	}
	if m.stopStats != nil {
		m.stopStats()
		m.stopStats = nil
	}
	if m.audit != nil {
		// After the server and the jobs: what they recorded is written
		// before the database closes.
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if err := m.audit.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("write the audit trail: %w", err))
		}
		cancel()
		m.audit = nil
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
		m.Store = nil
	}
	return errors.Join(errs...)
}

// statsKeeper is a store that keeps its planner statistics up to date
// itself (PostgreSQL: adapter/postgres stats.go).
type statsKeeper interface {
	KeepStatistics(every time.Duration, log *slog.Logger) (stop func())
}

// logged is a store that reports failures of its background work to a
// logger (SQLite: adapter/sqlite checkpoint.go).
type logged interface {
	SetLogger(l *slog.Logger)
}

// analyzer is a store that analyses the tables a large write changed
// (PostgreSQL), so that an import is searched well at once.
type analyzer interface {
	Analyze(ctx context.Context) ([]string, error)
}

func newLogger(level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// registerAuditMetrics publishes the audit trail's counts: events written,
// dropped (buffer full past its wait: each also logged as an error), lost
// (the database could not write them: each logged too) and waiting.
func registerAuditMetrics(reg prometheus.Registerer, a *workflow.Auditor) {
	counter := func(name, help string, f func(workflow.AuditStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(a.Stats())) })
	}
	reg.MustRegister(
		counter("socialrx_audit_written_total", "AuditEvents written.", func(s workflow.AuditStats) uint64 { return s.Written }),
		counter("socialrx_audit_dropped_total", "AuditEvents dropped because the audit buffer stayed full (each logged as an error).", func(s workflow.AuditStats) uint64 { return s.Dropped }),
		counter("socialrx_audit_failed_total", "AuditEvents the database could not write (each logged as an error).", func(s workflow.AuditStats) uint64 { return s.Failed }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "socialrx_audit_queued", Help: "AuditEvents waiting in the buffer to be written."}, func() float64 { return float64(a.Stats().Queued) }),
	)
}
