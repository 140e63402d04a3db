package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// MinSearchLimit is the lowest MaxSearchParams and MaxSearchValues may be:
// the workflow's own searches use up to 3 of each.
const MinSearchLimit = 5

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 10 << 20

// DefaultRequestTimeout is the deadline of one request when
// Config.RequestTimeout is 0.
const DefaultRequestTimeout = 60 * time.Second

// Defaults of the per-request limits (see Config).
const (
	DefaultMaxBundleEntries = 1000
	DefaultMaxResponseBytes = 32 << 20
)

// Config configures a Server. The zero value of each field means its default.
type Config struct {
	// Activity, when set, is told of every API request while it runs
	// (Enter before, Leave after): the job runner's jobs.Share, which
	// holds deliveries back while the API is busy.
	Activity Activity
	// BaseURL is the absolute FHIR base used in links, fullUrl and Location
	// (e.g. "https://fhir.example.org/fhir"). Empty: derived from each
	// request as http(s)://Host/fhir, for the hosts AllowedHosts admits
	// only; set it when serving behind a proxy.
	BaseURL string
	// AllowedHosts are the Host header values a /fhir request may carry
	// when links are built from it: "name" (any port) or "name:port".
	// Loopback hosts (localhost, 127.0.0.0/8, ::1) are always allowed. A
	// request to /fhir with any other Host is answered 421 Misdirected
	// Request (an OperationOutcome), so that no link ever names a host the
	// client made up. With BaseURL set and AllowedHosts empty, Host is not
	// checked: links come from BaseURL.
	AllowedHosts []string
	// MaxBodyBytes limits request bodies; larger ones get 413. Default 10 MiB.
	MaxBodyBytes int64
	// RequestTimeout is the deadline of each request, passed down to the
	// database in the request's context; a request that runs out of time
	// gets 503 with an OperationOutcome (issue code timeout). Default 60 s.
	RequestTimeout time.Duration
	// MaxBundleEntries is the most entries a transaction or batch Bundle
	// may have; more get 413. Default DefaultMaxBundleEntries.
	MaxBundleEntries int
	// MaxResponseBytes bounds the resources a transaction or batch
	// response carries (see bundle.go). Default DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxSearchParams and MaxSearchValues are the search limits
	// (search.Limits) of every search the server runs, conditional ones
	// included; beyond them a search is 400. Default and most:
	// search.MaxParams and search.MaxValues.
	MaxSearchParams, MaxSearchValues int
	// Version is the software version written in the CapabilityStatement.
	Version string
	// ReadyCheck, when set, is called by /readyz after Store.Ping.
	ReadyCheck func(ctx context.Context) error
	// Registry, when set, receives the server's metrics (one Server per
	// registry: a second registration panics); otherwise the Server makes
	// its own registry, with Go and process collectors.
	Registry *prometheus.Registry
	// Rules are socialrx's own checks run by $validate after the FHIR
	// checks (see fhir.Validate). Default: none.
	Rules []fhir.Rule
	// InboundAuth authenticates platforms calling $process-messages; nil
	// refuses every call with 401.
	InboundAuth InboundAuth
	// Auth authenticates the bearer token of every /fhir request except
	// the CapabilityStatement and $process-messages, and the routes check
	// its principal's scopes (auth.go). nil: no authentication, everything
	// permitted (the development mode, on loopback only).
	Auth Authenticator
	// SMART describes the authorisation server whose tokens Auth accepts
	// (/.well-known/smart-configuration, CapabilityStatement security).
	SMART SMARTConfig
	// OpsApart serves /healthz, /readyz and /metrics on OpsHandler only,
	// not on Handler. They are always apart when Auth is set: the public
	// listener then serves nothing unauthenticated but the
	// CapabilityStatement and SMART discovery.
	OpsApart bool
	// Workflow configures what writes cause (follow-up intervals, the
	// default EMR); every write goes through the workflow.
	Workflow workflow.Options
	// ExportDir is where Bulk Data export files are (written by the
	// export jobs, adapter/jobs); empty: $export answers 501.
	ExportDir string
	// ReportZone is the time zone whose days (months, years) a date-only
	// $evaluate-measure periodStart or periodEnd names; nil: UTC. serve
	// sets it from --tz (America/Toronto by default), as socialrx report
	// programs reads --from and --to, so both count the same days.
	ReportZone *time.Location
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:     DefaultMaxBodyBytes,
		RequestTimeout:   DefaultRequestTimeout,
		MaxBundleEntries: DefaultMaxBundleEntries,
		MaxResponseBytes: DefaultMaxResponseBytes,
		MaxSearchParams:  search.MaxParams,
		MaxSearchValues:  search.MaxValues,
		Version:          "dev",
	}
}

// Validate reports a configuration that New cannot use.
func (c Config) Validate() error {
	if c.MaxBodyBytes < 0 {
		return socialrx.Errorf(socialrx.EINVALID, "httpapi: max body bytes must not be negative")
	}
	if c.RequestTimeout < 0 {
		return socialrx.Errorf(socialrx.EINVALID, "httpapi: request timeout must not be negative")
	}
	for _, h := range c.AllowedHosts {
		if _, _, err := parseAllowedHost(h); err != nil {
			return err
		}
	}
	if c.MaxBundleEntries < 0 || c.MaxResponseBytes < 0 {
		return socialrx.Errorf(socialrx.EINVALID, "httpapi: max bundle entries and max response bytes must not be negative")
	}
	if c.MaxSearchParams != 0 && (c.MaxSearchParams < MinSearchLimit || c.MaxSearchParams > search.MaxParams) {
		return socialrx.Errorf(socialrx.EINVALID, "httpapi: max search parameters must be between %d and %d", MinSearchLimit, search.MaxParams)
	}
	if c.MaxSearchValues != 0 && (c.MaxSearchValues < MinSearchLimit || c.MaxSearchValues > search.MaxValues) {
		return socialrx.Errorf(socialrx.EINVALID, "httpapi: max search values must be between %d and %d", MinSearchLimit, search.MaxValues)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return socialrx.Errorf(socialrx.EINVALID, "httpapi: base url must be an absolute http(s) url")
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return socialrx.Errorf(socialrx.EINVALID, "httpapi: base url must have no query, fragment or user info")
		}
	}
	return nil
}

// Server is the FHIR REST API. Create it with New; serve Handler().
type Server struct {
	cfg      Config
	store    socialrx.Store     // instrumented: counts store errors by code
	wf       *workflow.Workflow // every write goes through it, over store
	log      *slog.Logger
	echo     *echo.Echo
	metrics  *metrics
	registry *prometheus.Registry
	routes   []route
	hosts    *hostSet // hosts links may be built from (see Config.AllowedHosts)
	started  time.Time
	matched  *matchMemory // conditions that matched a stored resource (match.go)
}

// New returns a Server over store. Zero fields of cfg take their defaults;
// cfg must pass Validate (New panics otherwise: a wiring bug). A nil logger
// discards logs.
func New(store socialrx.Store, cfg Config, logger *slog.Logger) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	def := DefaultConfig()
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = def.RequestTimeout
	}
	if cfg.MaxBundleEntries == 0 {
		cfg.MaxBundleEntries = def.MaxBundleEntries
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = def.MaxResponseBytes
	}
	if cfg.MaxSearchParams == 0 {
		cfg.MaxSearchParams = def.MaxSearchParams
	}
	if cfg.MaxSearchValues == 0 {
		cfg.MaxSearchValues = def.MaxSearchValues
	}
	if cfg.Version == "" {
		cfg.Version = def.Version
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := newMetrics(reg)
	s := &Server{
		cfg:      cfg,
		store:    &instrumentedStore{Store: store, m: m, lim: search.Limits{Params: cfg.MaxSearchParams, Values: cfg.MaxSearchValues}},
		log:      logger,
		metrics:  m,
		registry: reg,
		started:  time.Now().UTC(),
		matched:  newMatchMemory(matchMemorySize),
	}
	s.hosts = newHostSet(cfg)
	s.wf = workflow.New(s.store, cfg.Workflow)
	s.routes = s.fhirRoutes()
	s.echo = s.newEcho()
	return s
}

// Handler returns the http.Handler of the public listener: the FHIR
// routes, SMART discovery and, unless they are apart (Config.OpsApart,
// Config.Auth), the operations routes.
func (s *Server) Handler() http.Handler { return s.echo }

// OpsHandler returns the http.Handler of the operations routes alone:
// /healthz, /readyz and /metrics, without authentication.
func (s *Server) OpsHandler() http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Pre(headAsGet)
	e.Use(headAgain, s.requestID, s.accessLog, s.recover)
	s.addOps(e)
	return e
}

// opsApart reports whether the operations routes are left off Handler.
func (s *Server) opsApart() bool { return s.cfg.OpsApart || s.cfg.Auth != nil }

// addOps adds the operations routes to e.
func (s *Server) addOps(e *echo.Echo) {
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler(s.registry)))
}

// Registry returns the Prometheus registry holding the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// route is one FHIR interaction the server answers. The CapabilityStatement
// is generated from this table, so it lists exactly what is routed.
type route struct {
	method string
	path   string // below /fhir
	// interactions are CapabilityStatement codes: per resource type
	// (read, vread, update, delete, history-instance, history-type, create,
	// search-type) when system is false, else system ones (transaction,
	// batch, history-system).
	interactions []string
	system       bool
	// types, when set, are the only resource types a type-level
	// operation applies to (the CapabilityStatement lists it on those).
	types []string
	// access is who may call the route; need is what the principal must
	// be allowed on the route's :type, or on every type for a route
	// without one (see auth.go). A route with neither checks in its
	// handler (Bundles) or needs authentication only ($validate).
	access access
	need   []socialrx.Interaction
	// audit is the restful-interaction code the route's AuditEvents get
	// (audit.go); "" for a route that is not audited.
	audit   string
	handler echo.HandlerFunc
}

// Shorthands for route.need.
var (
	needC  = []socialrx.Interaction{socialrx.InteractionCreate}
	needR  = []socialrx.Interaction{socialrx.InteractionRead}
	needU  = []socialrx.Interaction{socialrx.InteractionUpdate}
	needD  = []socialrx.Interaction{socialrx.InteractionDelete}
	needDS = []socialrx.Interaction{socialrx.InteractionDelete, socialrx.InteractionSearch}
	needS  = []socialrx.Interaction{socialrx.InteractionSearch}
	needUS = []socialrx.Interaction{socialrx.InteractionUpdate, socialrx.InteractionSearch}
)

// fhirRoutes is the routing table of the FHIR base.
func (s *Server) fhirRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/metadata", system: true, access: accessOpen, handler: s.handleCapabilities},
		{method: http.MethodPost, path: "", interactions: []string{"transaction", "batch"}, system: true, audit: "transaction", handler: s.handleBundle},
		{method: http.MethodGet, path: "/_history", interactions: []string{"history-system"}, system: true, need: needS, audit: "history-system", handler: s.handleHistory},
		{method: http.MethodGet, path: "/:type", interactions: []string{"search-type"}, need: needS, audit: "search-type", handler: s.handleSearch},
		{method: http.MethodPost, path: "/:type/_search", need: needS, audit: "search-type", handler: s.handleSearch},
		{method: http.MethodGet, path: "/:type/_search", need: needS, audit: "search-type", handler: s.handleSearch},
		{method: http.MethodPost, path: "/:type", interactions: []string{"create"}, need: needC, audit: "create", handler: s.handleCreate},
		{method: http.MethodPut, path: "/:type", need: needUS, audit: "update", handler: s.handleConditionalUpdate},
		{method: http.MethodGet, path: "/:type/_history", interactions: []string{"history-type"}, need: needS, audit: "history-type", handler: s.handleHistory},
		{method: http.MethodGet, path: "/:type/:id", interactions: []string{"read"}, need: needR, audit: "read", handler: s.handleRead},
		{method: http.MethodPut, path: "/:type/:id", interactions: []string{"update"}, need: needU, audit: "update", handler: s.handleUpdate},
		{method: http.MethodDelete, path: "/:type/:id", interactions: []string{"delete"}, need: needD, audit: "delete", handler: s.handleDelete},
		{method: http.MethodDelete, path: "/:type", need: needDS, audit: "delete", handler: s.handleConditionalDelete},
		{method: http.MethodPatch, path: "/:type/:id", interactions: []string{"patch"}, need: needU, audit: "patch", handler: s.handlePatch},
		{method: http.MethodGet, path: "/:type/:id/_history", interactions: []string{"history-instance"}, need: needR, audit: "history-instance", handler: s.handleHistory},
		{method: http.MethodGet, path: "/:type/:id/_history/:vid", interactions: []string{"vread"}, need: needR, audit: "vread", handler: s.handleVRead},
		{method: http.MethodPost, path: "/$validate", system: true, handler: s.handleValidate},
		{method: http.MethodPost, path: "/$process-messages", system: true, access: accessOwn, handler: s.handleProcessMessages},
		{method: http.MethodPost, path: "/:type/$validate", handler: s.handleValidate},
		{method: http.MethodGet, path: "/:type/:id/$prescription", types: []string{"ServiceRequest"}, need: needR, audit: "operation", handler: s.handlePrescription},
		{method: http.MethodGet, path: "/:type/:id/$everything", types: []string{"Patient"}, need: needR, audit: "operation", handler: s.handleEverything},
		// Measure is the :type; the handler also checks read on the types
		// the report aggregates (measureReads).
		{method: http.MethodGet, path: "/:type/:id/$evaluate-measure", types: []string{"Measure"}, need: needR, audit: "operation", handler: s.handleEvaluateMeasure},
		{method: http.MethodPost, path: "/:type/:id/$evaluate-measure", types: []string{"Measure"}, need: needR, audit: "operation", handler: s.handleEvaluateMeasure},
		{method: http.MethodGet, path: "/$export", system: true, audit: "operation", handler: s.handleExportKickoff},
		{method: http.MethodGet, path: "/:type/$export", types: []string{"Patient"}, audit: "operation", handler: s.handleExportKickoff},
		{method: http.MethodGet, path: "/:type/:id/$export", types: []string{"Group"}, audit: "operation", handler: s.handleExportKickoff},
	}
}

// newEcho builds the Echo instance: middleware, error handler and routes.
func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	// Before routing: [base]/ is [base], [base]/Patient/ is [base]/Patient.
	e.Pre(trimTrailingSlash)
	e.Pre(headAsGet)
	// Outermost first: the request id is known to every later step, the
	// access log and metrics see the final status, recover turns a panic
	// into an error the error handler answers, a Host that links must not
	// name is refused before any work, and the deadline covers the rest.
	e.Use(headAgain, s.requestID, s.accessLog, s.recover, s.active, s.checkHost, s.limitBody, s.deadline)

	if !s.opsApart() {
		s.addOps(e)
	}
	// SMART discovery: below the FHIR base, as SMART asks, and the root.
	e.GET("/fhir/.well-known/smart-configuration", s.handleSMARTConfiguration)
	e.GET("/.well-known/smart-configuration", s.handleSMARTConfiguration)

	// negotiate and authorize are added per route, not to the group:
	// group middleware makes Echo register catch-all routes that turn 405
	// into 404.
	for _, r := range s.routes {
		e.Add(r.method, "/fhir"+r.path, r.handler, wholeSegments, s.auditRoute(r.audit), s.authorize(r), s.negotiate)
	}
	// The fixed names below the base would otherwise reach the /:type and
	// /:type/:id routes with another method (PUT /fhir/metadata would be a
	// conditional update of type "metadata": 404); they get 405 and Allow.
	allowed := map[string][]string{}
	for _, r := range s.routes {
		if fixedPath(r.path) {
			allowed[r.path] = append(allowed[r.path], r.method)
		}
	}
	s.addExportRoutes(e)
	for path, methods := range allowed {
		slices.Sort(methods)
		allow := strings.Join(methods, ", ")
		for _, m := range otherMethods(methods) {
			e.Add(m, "/fhir"+path, methodNotAllowed(allow))
		}
	}
	return e
}

// fixedPath reports whether a route path below the base is a fixed name
// that the parameter routes could also match (metadata, _history,
// $process-messages, Type/$validate, ...).
func fixedPath(path string) bool {
	last := path[strings.LastIndex(path, "/")+1:]
	return path != "" && (strings.HasPrefix(last, "$") || strings.HasPrefix(last, "_") || path == "/metadata")
}

// routedMethods are the methods the FHIR routes answer; a fixed path gets
// 405 for those of them it does not take.
var routedMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}

func otherMethods(taken []string) []string {
	var out []string
	for _, m := range routedMethods {
		if !slices.Contains(taken, m) {
			out = append(out, m)
		}
	}
	return out
}

// methodNotAllowed answers 405 with the Allow header.
func methodNotAllowed(allow string) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(echo.ContextKeyHeaderAllow, allow)
		return errorf(socialrx.ENOTALLOWED, "method not allowed here; allowed: %s", allow)
	}
}

// trimTrailingSlash removes one trailing slash from a path below /fhir, so
// that clients that join "[base]/" + "" or "Patient/" reach the same
// routes.
func trimTrailingSlash(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		if len(u.Path) > len("/fhir") && strings.HasPrefix(u.Path, "/fhir/") && strings.HasSuffix(u.Path, "/") && !strings.HasSuffix(u.Path, "//") {
			u.Path = strings.TrimSuffix(u.Path, "/")
			if u.RawPath != "" {
				u.RawPath = strings.TrimSuffix(u.RawPath, "/")
			}
		}
		return next(c)
	}
}

// headAsGet routes HEAD as GET (HTTP: HEAD is GET without the body;
// proxies and health checks use it for ETags): Echo routes by the method of
// the request it was given, so it is GET while the route is found, and
// HEAD again (headAgain, the first middleware after routing) while the
// handler runs, so that net/http drops the body it writes.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			r.Method = http.MethodGet
			c.Set(ctxHead, true)
		}
		return next(c)
	}
}

// headAgain undoes headAsGet once the route is found.
func headAgain(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if head, _ := c.Get(ctxHead).(bool); head {
			c.Request().Method = http.MethodHead
		}
		return next(c)
	}
}

// ctxHead marks a HEAD request routed as GET.
const ctxHead = "socialrx.head"

// baseURL returns the FHIR base for links: Config.BaseURL, or derived from
// the request.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// errorf is a shorthand for socialrx.Errorf.
func errorf(code, format string, args ...any) error {
	return socialrx.Errorf(code, format, args...)
}

// issueError returns an *socialrx.Error with one issue at path.
func issueError(code, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &socialrx.Error{Code: code, Message: msg, Issues: []socialrx.Issue{{
		Severity: socialrx.SeverityError, Code: issueCode(code), Path: path, Message: msg,
	}}}
}
